package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testToken = "doorman_0123456789abcdefghijABCDEFGHIJ01234567"

// fakeDoorman answers the device endpoints: /device/code, then /device/token
// with the errors in polls (one per poll) and then a token, and
// /tokens/revoke with revokeStatus.
type fakeDoorman struct {
	*httptest.Server
	polls        []string
	polled       atomic.Int32
	revoked      atomic.Int32
	revokeStatus int
}

func newFakeDoorman(t *testing.T, polls ...string) *fakeDoorman {
	f := &fakeDoorman{polls: polls, revokeStatus: http.StatusOK}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /device/code", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("list") != "gpt4" {
			http.Error(w, "want list=gpt4", http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, codeAnswer{DeviceCode: "dc", UserCode: "BCDF-GHJK",
			VerificationURI: "https://auth.example.com/device", VerificationURIComplete: "https://auth.example.com/device?code=BCDF-GHJK", ExpiresIn: 600, Interval: 0})
	})
	mux.HandleFunc("POST /device/token", func(w http.ResponseWriter, r *http.Request) {
		n := int(f.polled.Add(1)) - 1
		if r.FormValue("grant_type") != grantType || r.FormValue("device_code") != "dc" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		} else if n < len(f.polls) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": f.polls[n]})
		} else {
			writeJSON(w, http.StatusOK, map[string]any{"access_token": testToken, "token_type": "Bearer", "expires_in": 3600})
		}
	})
	mux.HandleFunc("POST /tokens/revoke", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+testToken {
			f.revoked.Add(1)
		}
		writeJSON(w, f.revokeStatus, map[string]bool{"revoked": f.revokeStatus == http.StatusOK})
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// testEnv runs commands with XDG_CONFIG_HOME in a new directory, at the
// time now.
func testEnv(t *testing.T, now func() time.Time) (env, string) {
	dir := t.TempDir()
	vars := map[string]string{"XDG_CONFIG_HOME": dir}
	return env{getenv: func(k string) string { return vars[k] }, out: &strings.Builder{},
		client: &http.Client{Timeout: 5 * time.Second}, now: now}, filepath.Join(dir, "doorman", "credentials.json")
}

func runOK(t *testing.T, e env, args ...string) string {
	t.Helper()
	b := e.out.(*strings.Builder)
	b.Reset()
	if err := run(t.Context(), args, e); err != nil {
		t.Fatalf("doorman %s = %v", strings.Join(args, " "), err)
	}
	return b.String()
}

// TestLoginTokenLogout: login polls through pending and slow_down, saves
// the token (file 0600, directory 0700), token prints it, logout ends it
// on the server and forgets it.
func TestLoginTokenLogout(t *testing.T) {
	t.Parallel()
	f := newFakeDoorman(t, "authorization_pending", "slow_down")
	e, path := testEnv(t, time.Now)
	out := runOK(t, e, "login", f.URL+"/", "--list", "gpt4")
	if !strings.Contains(out, "https://auth.example.com/device?code=BCDF-GHJK") || !strings.Contains(out, "BCDF-GHJK") {
		t.Errorf("login printed %q, want the URL and the code", out)
	}
	if got := f.polled.Load(); got != 3 {
		t.Errorf("login polled %d times, want 3", got)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("stat %s = %v, %v; want mode %v", p, fi.Mode(), err, want)
		}
	}
	if out := runOK(t, e, "token", f.URL); out != testToken+"\n" {
		t.Errorf("doorman token = %q, want the token", out)
	}
	if out := runOK(t, e, "token"); out != testToken+"\n" {
		t.Errorf("doorman token (the one URL saved) = %q, want the token", out)
	}
	runOK(t, e, "logout")
	if f.revoked.Load() != 1 {
		t.Error("logout did not revoke the token on the server")
	}
	if err := run(t.Context(), []string{"token"}, e); err == nil {
		t.Error("doorman token after logout = nil, want an error")
	}
}

// TestFailureLines: every failure is one line naming what went wrong.
func TestFailureLines(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	tests := []struct {
		name  string
		polls []string
		setup func(t *testing.T, e env, f *fakeDoorman) // before the command
		args  func(f *fakeDoorman) []string
		want  string
	}{
		{"no token", nil, nil, func(*fakeDoorman) []string { return []string{"token"} }, "no token saved"},
		{"no token for that url", nil, nil, func(*fakeDoorman) []string { return []string{"token", "https://other.example"} }, "no token for https://other.example"},
		{"expired", nil, func(t *testing.T, e env, f *fakeDoorman) {
			saveFor(t, e, f.URL, time.Now().Add(-time.Minute))
		}, func(f *fakeDoorman) []string { return []string{"token", f.URL} }, "expired"},
		{"unreachable", nil, nil, func(*fakeDoorman) []string { return []string{"login", dead.URL, "--list", "gpt4"} }, "cannot reach"},
		{"denied", []string{"access_denied"}, nil, func(f *fakeDoorman) []string { return []string{"login", f.URL, "--list", "gpt4"} }, "denied"},
		{"code expired", []string{"expired_token"}, nil, func(f *fakeDoorman) []string { return []string{"login", f.URL, "--list", "gpt4"} }, "code expired"},
		{"device sign-in off", nil, nil, func(f *fakeDoorman) []string { return []string{"login", f.URL + "/nothing", "--list", "gpt4"} }, "does not offer"},
		{"bad url", nil, nil, func(*fakeDoorman) []string { return []string{"login", "auth.example.com"} }, "not a doorman URL"},
		{"no url", nil, nil, func(*fakeDoorman) []string { return []string{"login"} }, "give the doorman's URL"},
		{"logout unreachable", nil, func(t *testing.T, e env, f *fakeDoorman) {
			saveFor(t, e, dead.URL, time.Now().Add(time.Hour))
		}, func(*fakeDoorman) []string { return []string{"logout"} }, "the token is kept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeDoorman(t, tt.polls...)
			e, _ := testEnv(t, time.Now)
			if tt.setup != nil {
				tt.setup(t, e, f)
			}
			err := run(t.Context(), tt.args(f), e)
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("doorman %v = %v, want one line with %q", tt.args(f), err, tt.want)
			}
		})
	}
}

// saveFor saves testToken for server, expiring at expires.
func saveFor(t *testing.T, e env, server string, expires time.Time) {
	t.Helper()
	path, err := credentialsPath(e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := save(path, server, Credential{Token: testToken, Expires: expires, Lists: []string{""}}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialsPath: $XDG_CONFIG_HOME, else ~/.config.
func TestCredentialsPath(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ xdg, home, want string }{
		{"/x", "/h", "/x/doorman/credentials.json"},
		{"", "/h", "/h/.config/doorman/credentials.json"},
		{"", "", ""},
	} {
		got, err := credentialsPath(func(k string) string { return map[string]string{"XDG_CONFIG_HOME": tt.xdg, "HOME": tt.home}[k] })
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("credentialsPath(%q, %q) = %q, %v; want %q", tt.xdg, tt.home, got, err, tt.want)
		}
	}
}

// TestLoginCancelled: login stops when its context ends.
func TestLoginCancelled(t *testing.T) {
	t.Parallel()
	f := newFakeDoorman(t, "authorization_pending", "authorization_pending", "authorization_pending")
	e, _ := testEnv(t, time.Now)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if err := run(ctx, []string{"login", f.URL, "--list", "gpt4"}, e); err == nil {
		t.Error("login with its context ended = nil, want an error")
	}
}
