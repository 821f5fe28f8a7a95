package cli

// The CLI against servers that misbehave: redirects that would carry a
// device code or a token elsewhere. Every server is a real httptest one.

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// seenRequest is one request a scripted server received.
type seenRequest struct {
	at         time.Time
	path, auth string
	form       url.Values
}

// scripted is a stand-in doorman whose routes the test writes; it records
// every request.
type scripted struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func newScripted(t *testing.T, routes map[string]http.HandlerFunc) *scripted {
	t.Helper()
	s := &scripted{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		s.mu.Lock()
		s.seen = append(s.seen, seenRequest{at: time.Now(), path: r.URL.Path, auth: r.Header.Get("Authorization"), form: r.PostForm})
		s.mu.Unlock()
		if h := routes[r.Method+" "+r.URL.Path]; h != nil {
			h(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// requests returns the requests s received for path ("" for all).
func (s *scripted) requests(path string) []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seenRequest
	for _, r := range s.seen {
		if path == "" || r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// codeOK answers /device/code as doorman does, the approval page on the
// server's own host; edit changes the answer.
func codeOK(edit func(a *codeAnswer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uri := "http://" + r.Host + "/device"
		a := codeAnswer{DeviceCode: "dc", UserCode: "BCDF-GHJK", VerificationURI: uri,
			VerificationURIComplete: uri + "?code=BCDF-GHJK", ExpiresIn: 600, Interval: 0}
		if edit != nil {
			edit(&a)
		}
		writeJSON(w, http.StatusOK, a)
	}
}

// tokenOK answers /device/token with the token tok, for expiresIn seconds.
func tokenOK(tok string, expiresIn int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": expiresIn})
	}
}

// raw answers status with body as JSON.
func raw(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// TestNoRedirects: a server that redirects /device/code, /device/token or
// /tokens/revoke to another origin gets an error naming the redirect; the
// other origin never sees a request, so neither the device code nor the
// token travel there.
func TestNoRedirects(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, path := range []string{"/device/code", "/device/token", "/tokens/revoke"} {
			t.Run(fmt.Sprint(status, path), func(t *testing.T) {
				t.Parallel()
				other := newScripted(t, map[string]http.HandlerFunc{
					"POST /device/code": codeOK(nil), "POST /device/token": tokenOK(testToken, 3600), "POST /tokens/revoke": raw(200, `{"revoked":true}`),
				})
				routes := map[string]http.HandlerFunc{"POST /device/code": codeOK(nil), "POST /device/token": tokenOK(testToken, 3600)}
				routes["POST "+path] = func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, other.URL+path, status)
				}
				s := newScripted(t, routes)
				e, _ := testEnv(t, time.Now)
				args := []string{"login", s.URL}
				if path == "/tokens/revoke" {
					saveFor(t, e, s.URL, time.Now().Add(time.Hour))
					args = []string{"logout", s.URL}
				}
				err := run(t.Context(), args, e)
				if err == nil || !strings.Contains(err.Error(), "redirect") || strings.Contains(err.Error(), "\n") {
					t.Errorf("doorman %s with %s redirected = %v, want one line naming the redirect", args[0], path, err)
				}
				if seen := other.requests(""); len(seen) != 0 {
					t.Errorf("the other origin received %d requests (first: %s form %v Authorization %q), want none", len(seen), seen[0].path, seen[0].form, seen[0].auth)
				}
				if path == "/tokens/revoke" {
					if out := runOK(t, e, "token", s.URL); out != testToken+"\n" {
						t.Errorf("after a redirected logout, doorman token = %q, want the token kept", out)
					}
				}
			})
		}
	}
}
