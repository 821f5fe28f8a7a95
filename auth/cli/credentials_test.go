package cli

// The credentials file against what a shared machine can do to it: a
// symbolic link in its place, loose permissions, and several logins at
// once; and doorman token never printing a token that expired.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCredentialsFileRefused: a credentials file that is a symbolic link,
// or that group or others may read, is refused by every command with one
// line naming it: doorman token prints nothing, logout sends nothing,
// login asks for no code, and the file is left as it was.
func TestCredentialsFileRefused(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	tests := []struct {
		name  string
		spoil func(t *testing.T, path string)
		want  string
	}{
		{"readable by all", func(t *testing.T, path string) { chmod(t, path, 0o644) }, "mode 0644"},
		{"readable by the group", func(t *testing.T, path string) { chmod(t, path, 0o640) }, "mode 0640"},
		{"writable by others", func(t *testing.T, path string) { chmod(t, path, 0o602) }, "mode 0602"},
		{"a symbolic link", func(t *testing.T, path string) {
			elsewhere := filepath.Join(t.TempDir(), "planted.json")
			if err := os.Rename(path, elsewhere); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, path); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"token", "logout", "login"} {
			t.Run(tt.name+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				s := newScripted(t, map[string]http.HandlerFunc{
					"POST /device/code": codeOK(nil), "POST /device/token": tokenOK(testToken, 3600), "POST /tokens/revoke": raw(200, `{"revoked":true}`),
				})
				e, path := testEnv(t, time.Now)
				saveFor(t, e, s.URL, time.Now().Add(time.Hour))
				tt.spoil(t, path)
				before, _ := os.ReadFile(path)
				args := map[string][]string{"token": {"token", s.URL}, "logout": {"logout", s.URL}, "login": {"login", s.URL}}[cmd]
				err := run(t.Context(), args, e)
				if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("doorman %s = %v, want one line naming %s and %q", cmd, err, path, tt.want)
				}
				if out := e.out.(*strings.Builder).String(); strings.Contains(out, testToken) {
					t.Errorf("doorman %s printed the token: %q", cmd, out)
				}
				if seen := s.requests(""); len(seen) != 0 {
					t.Errorf("doorman %s sent %d requests (first %s), want none", cmd, len(seen), seen[0].path)
				}
				if after, _ := os.ReadFile(path); string(after) != string(before) {
					t.Errorf("doorman %s changed the refused file:\n%s", cmd, after)
				}
			})
		}
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentLogins: logins to several doormans that finish at the same
// moment each keep their token: none overwrites another's.
func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	const n = 12
	servers := make([]*fakeDoorman, n)
	for i := range servers {
		servers[i] = newFakeDoorman(t)
	}
	e, path := testEnv(t, time.Now)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, f := range servers {
		wg.Go(func() {
			e := e
			e.out = &strings.Builder{} // each login its own terminal
			errs[i] = run(t.Context(), []string{"login", f.URL, "--list", "gpt4"}, e)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("login %d = %v", i, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("credentials file after %d logins at once: %v\n%s", n, err, b)
	}
	for _, f := range servers {
		if _, ok := c.Tokens[f.URL]; !ok {
			t.Errorf("the token for %s was lost: %d of %d saved", f.URL, len(c.Tokens), n)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file after concurrent logins: %v %v, want 0600", fi, err)
	}
}

// TestTokenNeverPrintsExpired: doorman token prints a token only before
// the moment it expires; at or after it, or with no expiry saved, it
// prints nothing and fails with one line.
func TestTokenNeverPrintsExpired(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		expires time.Time
		printed bool
	}{
		{now.Add(time.Hour), true},
		{now.Add(time.Nanosecond), true},
		{now, false},
		{now.Add(-time.Nanosecond), false},
		{now.Add(-365 * 24 * time.Hour), false},
		{time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.expires.Sub(now)), func(t *testing.T) {
			t.Parallel()
			e, _ := testEnv(t, func() time.Time { return now })
			saveFor(t, e, "https://auth.example.com", tt.expires)
			e.out.(*strings.Builder).Reset()
			err := run(t.Context(), []string{"token"}, e)
			out := e.out.(*strings.Builder).String()
			if printed := strings.Contains(out, testToken); printed != tt.printed || (err == nil) != tt.printed {
				t.Errorf("doorman token, expiring %v from now: printed %q, err %v; want printed %v", tt.expires.Sub(now), out, err, tt.printed)
			}
		})
	}
}

// TestLogoutKeepsTokenUnlessEnded: logout forgets the token once the server
// ended it or says it no longer knows it (401); any other answer, a busy
// server's 429 included, keeps it to try again.
func TestLogoutKeepsTokenUnlessEnded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		kept   bool
	}{{http.StatusOK, false}, {http.StatusUnauthorized, false}, {http.StatusInternalServerError, true}, {http.StatusTooManyRequests, true}} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			f := newFakeDoorman(t)
			f.revokeStatus = tt.status
			e, _ := testEnv(t, time.Now)
			saveFor(t, e, f.URL, time.Now().Add(time.Hour))
			err := run(t.Context(), []string{"logout", f.URL}, e)
			if (err != nil) != tt.kept {
				t.Errorf("logout answered %d = %v, want an error: %v", tt.status, err, tt.kept)
			}
			kept := run(t.Context(), []string{"token", f.URL}, e) == nil
			if kept != tt.kept {
				t.Errorf("logout answered %d: token kept %v, want %v", tt.status, kept, tt.kept)
			}
		})
	}
}
