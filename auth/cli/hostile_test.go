package cli

// The CLI against servers that misbehave: malformed and huge answers,
// answers meant for the terminal, redirects that would carry a device
// code or a token elsewhere, an approval page on another host, and a
// server that asks it to slow down. Every server is a real httptest one.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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

// endless answers 200 JSON that starts with prefix and never ends (until
// limit bytes), counting what it managed to write.
func endless(prefix string, limit int64, written *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		n, _ := io.WriteString(w, prefix)
		written.Add(int64(n))
		chunk := []byte(strings.Repeat("A", 32<<10))
		for written.Load() < limit {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// terminalControl reports whether s holds a byte a terminal would act on.
func terminalControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 })
}

// TestLoginRefusesHostileAnswers: a server answering malformed or huge
// JSON, or codes, addresses and tokens that are not doorman's, fails the
// login with one line; nothing is saved, and nothing it sent reaches the
// terminal raw.
func TestLoginRefusesHostileAnswers(t *testing.T) {
	t.Parallel()
	const esc = "\x1b]0;pwned\x07\x1b[2J"
	tests := []struct {
		name        string
		code, token http.HandlerFunc
		want        string
	}{
		{"code answer cut short", raw(200, `{"device_code":`), nil, "answer"},
		{"code answer HTML labelled JSON", raw(200, `<html><body>hi</body></html>`), nil, "answer"},
		{"code answer a JSON array", raw(200, `["dc"]`), nil, "answer"},
		{"user code with terminal escapes", codeOK(func(a *codeAnswer) { a.UserCode = esc + "BCDF" }), nil, "user code"},
		{"user code of 10 KiB", codeOK(func(a *codeAnswer) { a.UserCode = strings.Repeat("B", 10<<10) }), nil, "user code"},
		{"approval URL with a line break", codeOK(func(a *codeAnswer) {
			a.VerificationURIComplete = "https://auth.example.com/device\r\nApprove code BCDF-GHJK at https://evil.example"
		}), nil, "approval"},
		{"approval URL javascript:", codeOK(func(a *codeAnswer) { a.VerificationURIComplete = "javascript:alert(1)" }), nil, "approval"},
		{"approval URL with user info", codeOK(func(a *codeAnswer) { a.VerificationURIComplete = "https://auth.example.com@evil.example/device" }), nil, "approval"},
		{"approval URL none", codeOK(func(a *codeAnswer) { a.VerificationURI, a.VerificationURIComplete = "", "" }), nil, "approval"},
		{"token answer cut short", codeOK(nil), raw(200, `{"access_token":"doorman_`), "answer"},
		{"token error with terminal escapes", codeOK(nil), raw(400, string(must(json.Marshal(map[string]string{"error": esc})))), "answered"},
		{"access token not doorman's", codeOK(nil), tokenOK("sk-"+esc, 3600), "not a doorman token"},
		{"access token with a checksum-shaped tail", codeOK(nil), tokenOK(testToken+"\n"+esc, 3600), "not a doorman token"},
		{"access token already expired", codeOK(nil), tokenOK(testToken, 0), "lifetime"},
		{"access token with a negative lifetime", codeOK(nil), tokenOK(testToken, -5), "lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScripted(t, map[string]http.HandlerFunc{"POST /device/code": tt.code, "POST /device/token": tt.token})
			e, path := testEnv(t, time.Now)
			err := run(t.Context(), []string{"login", s.URL}, e)
			out := e.out.(*strings.Builder).String()
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("doorman login = %v, want one line with %q", err, tt.want)
			}
			if err != nil && terminalControl(err.Error()) || terminalControl(out) {
				t.Errorf("the terminal was sent control characters: error %q, output %q", err, out)
			}
			if _, serr := os.Stat(path); serr == nil {
				b, _ := os.ReadFile(path)
				t.Errorf("a refused login saved %s:\n%s", path, b)
			}
		})
	}
}

// TestLoginReadsBoundedAnswers: an answer that never ends is read up to
// 64 KiB, then refused, by /device/code and by /device/token alike.
func TestLoginReadsBoundedAnswers(t *testing.T) {
	t.Parallel()
	const limit = 256 << 20 // what the server tries to send
	for _, path := range []string{"/device/code", "/device/token"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			var written atomic.Int64
			routes := map[string]http.HandlerFunc{"POST /device/code": codeOK(nil)}
			routes["POST "+path] = endless(`{"device_code":"dc","access_token":"`, limit, &written)
			s := newScripted(t, routes)
			e, _ := testEnv(t, time.Now)
			if err := run(t.Context(), []string{"login", s.URL}, e); err == nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("doorman login against an endless %s = %v, want one line", path, err)
			}
			// What the server wrote before the CLI hung up: the 64 KiB read and
			// whatever the sockets' buffers took in; never the whole answer.
			t.Logf("the server wrote %d KiB of %d MiB", written.Load()>>10, limit>>20)
			if got := written.Load(); got > 32<<20 {
				t.Errorf("the server wrote %d MiB before the CLI stopped reading, want the answer bounded", got>>20)
			}
		})
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

// TestApprovalPageOnAnotherHost: when the approval page is on another host
// than the doorman named (a doorman reached at an inner address, its
// --public-url outside, or a server relaying someone else's code), login
// goes on but says so before the person approves anything.
func TestApprovalPageOnAnotherHost(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, uri string
		warn      bool
	}{
		{"own host", "", false},
		{"another host", "https://auth.example.com/device", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScripted(t, map[string]http.HandlerFunc{
				"POST /device/code": codeOK(func(a *codeAnswer) {
					if tt.uri != "" {
						a.VerificationURI, a.VerificationURIComplete = tt.uri, tt.uri+"?code=BCDF-GHJK"
					}
				}),
				"POST /device/token": tokenOK(testToken, 3600),
			})
			e, _ := testEnv(t, time.Now)
			out := runOK(t, e, "login", s.URL)
			warned := strings.Contains(out, "auth.example.com, not on "+strings.TrimPrefix(s.URL, "http://"))
			if warned != tt.warn {
				t.Errorf("login printed %q; want a warning naming both hosts: %v", out, tt.warn)
			}
		})
	}
}

// TestLoginWaitsWhenBusy: a 429 from /device/code or /device/token does
// not fail the login: the CLI waits at least Retry-After, and after a
// slow_down polls 5 s slower (RFC 8628, section 3.5), then signs in.
func TestLoginWaitsWhenBusy(t *testing.T) {
	t.Parallel()
	var codes, polls atomic.Int32
	busy := func(n *atomic.Int32, retry string, then http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", retry)
				raw(http.StatusTooManyRequests, `{"error":"slow_down"}`)(w, r)
				return
			}
			then(w, r)
		}
	}
	s := newScripted(t, map[string]http.HandlerFunc{
		"POST /device/code":  busy(&codes, "2", codeOK(nil)),
		"POST /device/token": busy(&polls, "2", tokenOK(testToken, 3600)),
	})
	e, _ := testEnv(t, time.Now)
	out := runOK(t, e, "login", s.URL)
	if !strings.Contains(out, "Signed in") {
		t.Errorf("login printed %q, want signed in", out)
	}
	for _, path := range []string{"/device/code", "/device/token"} {
		seen := s.requests(path)
		if len(seen) != 2 {
			t.Fatalf("%s received %d requests, want 2 (one refused, one answered)", path, len(seen))
		}
		if gap := seen[1].at.Sub(seen[0].at); gap < 2*time.Second {
			t.Errorf("%s asked again %v after a 429 with Retry-After 2, want at least 2s", path, gap)
		}
	}
	// Interval 0 is polled every second; after slow_down, every 6 s.
	if gap := s.requests("/device/token")[1].at.Sub(s.requests("/device/token")[0].at); gap < 6*time.Second {
		t.Errorf("polled again %v after slow_down, want the interval 5 s longer (at least 6s)", gap)
	}
}

// TestLoginGivesUpWhenAlwaysBusy: a server that answers every poll with
// 429 does not keep the CLI polling past the code's lifetime.
func TestLoginGivesUpWhenAlwaysBusy(t *testing.T) {
	t.Parallel()
	s := newScripted(t, map[string]http.HandlerFunc{
		"POST /device/code": codeOK(func(a *codeAnswer) { a.ExpiresIn = 3 }),
		"POST /device/token": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			raw(http.StatusTooManyRequests, `{"error":"slow_down"}`)(w, r)
		},
	})
	e, _ := testEnv(t, time.Now)
	err := run(t.Context(), []string{"login", s.URL}, e)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("login against a server always busy = %v, want the code expired", err)
	}
}
