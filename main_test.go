package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeEnv returns a getenv over m.
func fakeEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfigFlagBeatsEnv(t *testing.T) {
	t.Parallel()
	env := fakeEnv(map[string]string{
		"DOORMAN_GOOGLE_CLIENT_ID": "from-env", "DOORMAN_LISTEN": "127.0.0.1:7000",
		"DOORMAN_COOKIE_TTL": "1h", "DOORMAN_COOKIE_SECURE": "false", "DOORMAN_COOKIE_DOMAIN": ".example.com",
	})
	o, err := parseOptions([]string{"--listen", "127.0.0.1:8000", "--cookie-ttl=2h"}, env, io.Discard)
	if err != nil {
		t.Fatalf("parseOptions: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"listen (flag)", o.listen, "127.0.0.1:8000"},
		{"cookie-ttl (flag)", o.auth.CookieTTL.String(), "2h0m0s"},
		{"client-id (env)", o.auth.ClientID, "from-env"},
		{"cookie-name (derived from insecure)", o.auth.CookieName, "doorman"},
		{"redirect-domains (cookie domain)", strings.Join(o.auth.RedirectDomains, ","), ".example.com"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestParseConfigDefaults(t *testing.T) {
	t.Parallel()
	o, err := parseOptions([]string{"--client-id=x"}, fakeEnv(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != "127.0.0.1:5000" || o.whitelist != "whitelist.txt" || o.secretFile != "doorman.key" ||
		o.auth.CookieName != "__Secure-doorman" || o.auth.CookieTTL != 168*time.Hour || !o.auth.CookieSecure ||
		o.auth.RedirectDomains != nil || o.logFormat != "json" {
		t.Errorf("defaults = %+v", o)
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wl := writeFile(t, dir, "whitelist.txt", "alice@example.com\n", 0o644)
	openKey := writeFile(t, dir, "open.key", strings.Repeat("QUFB", 12)+"\n", 0o644)
	badKey := writeFile(t, dir, "bad.key", "not-a-key\n", 0o600)
	base := []string{"--listen=127.0.0.1:0", "--whitelist=" + wl, "--secret-file=" + filepath.Join(dir, "k"), "--store=" + filepath.Join(dir, "doorman.db")}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // the setting the one error line must name
	}{
		{"missing client id", base, nil, "--client-id (DOORMAN_GOOGLE_CLIENT_ID)"},
		{"blank client id", append([]string{"--client-id=  "}, base...), nil, "--client-id"},
		{"bad duration flag", append([]string{"--client-id=x", "--cookie-ttl=7x"}, base...), nil, "cookie-ttl"},
		{"bad duration env", append([]string{"--client-id=x"}, base...), map[string]string{"DOORMAN_COOKIE_TTL": "7x"}, "DOORMAN_COOKIE_TTL"},
		{"bad bool env", append([]string{"--client-id=x"}, base...), map[string]string{"DOORMAN_COOKIE_SECURE": "maybe"}, "DOORMAN_COOKIE_SECURE"},
		{"negative ttl", append([]string{"--client-id=x", "--cookie-ttl=-1h"}, base...), nil, "--cookie-ttl"},
		{"unreadable whitelist", []string{"--client-id=x", "--whitelist=" + filepath.Join(dir, "none.txt"), "--secret-file=" + filepath.Join(dir, "k2")}, nil, "--whitelist"},
		{"group-readable secret", []string{"--client-id=x", "--whitelist=" + wl, "--secret-file=" + openKey}, nil, "--secret-file"},
		{"malformed secret", []string{"--client-id=x", "--whitelist=" + wl, "--secret-file=" + badKey}, nil, "--secret-file"},
		{"bad log format", append([]string{"--client-id=x", "--log-format=xml"}, base...), nil, "--log-format"},
		{"bad log level", append([]string{"--client-id=x", "--log-level=loud"}, base...), nil, "--log-level"},
		{"bad redirect domain", append([]string{"--client-id=x", "--redirect-domains=https://x"}, base...), nil, "--redirect-domains (DOORMAN_REDIRECT_DOMAINS)"},
		{"insecure __Secure- name", append([]string{"--client-id=x", "--cookie-secure=false", "--cookie-name=__Secure-x"}, base...), nil, "--cookie-name (DOORMAN_COOKIE_NAME)"},
		{"bad public url", append([]string{"--client-id=x", "--public-url=auth.example.com"}, base...), nil, "--public-url (DOORMAN_PUBLIC_URL)"},
		{"device sign-in without public url", append([]string{"--client-id=x", "--device-sign-in"}, base...), nil, "--device-sign-in (DOORMAN_DEVICE_SIGN_IN): needs --public-url (DOORMAN_PUBLIC_URL)"},
		{"device sign-in env without public url", append([]string{"--client-id=x"}, base...), map[string]string{"DOORMAN_DEVICE_SIGN_IN": "true"}, "--public-url"},
		{"unknown flag", append([]string{"--client-id=x", "--nope"}, base...), nil, "nope"},
		{"bad listen", append([]string{"--client-id=x"}, append(base, "--listen=nohost:99999")...), nil, "--listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := run(t.Context(), tt.args, fakeEnv(tt.env), io.Discard, io.Discard)
			if err == nil {
				t.Fatal("run() = nil, want an error")
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tt.want) {
				t.Errorf("run() error = %q, want one line naming %q", msg, tt.want)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(t.Context(), []string{"--help"}, fakeEnv(nil), &out, io.Discard); err != nil {
		t.Fatalf("run(--help) = %v, want nil", err)
	}
	if !strings.Contains(out.String(), "-client-id") {
		t.Errorf("--help output lacks the flags: %q", out.String())
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wl := writeFile(t, dir, "whitelist.txt", "alice@example.com\n", 0o644)
	ctx, cancel := context.WithCancel(t.Context())
	logs, logw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen=127.0.0.1:0", "--whitelist=" + wl, "--secret-file=" + filepath.Join(dir, "doorman.key"), "--store=" + filepath.Join(dir, "doorman.db")},
			fakeEnv(map[string]string{"DOORMAN_GOOGLE_CLIENT_ID": "x"}), io.Discard, logw)
		logw.Close()
	}()
	addr := startedAddr(t, logs)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run() after cancel = %v, want nil", err)
	}
	if info, err := os.Stat(filepath.Join(dir, "doorman.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("secret file not created 0600: %v", err)
	}
}

// startedAddr reads JSON log lines until "doorman started" and returns its
// addr; the rest of the log is drained in the background.
func startedAddr(t *testing.T, logs io.Reader) string {
	t.Helper()
	addr, _ := startedAddrs(t, logs)
	return addr
}

// startedAddrs is startedAddr that also returns metrics_addr.
func startedAddrs(t *testing.T, logs io.Reader) (addr, metricsAddr string) {
	t.Helper()
	sc := bufio.NewScanner(logs)
	for sc.Scan() {
		var line struct {
			Msg         string
			Addr        string
			MetricsAddr string `json:"metrics_addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "doorman started" {
			go io.Copy(io.Discard, logs)
			return line.Addr, line.MetricsAddr
		}
	}
	t.Fatal("log ended before \"doorman started\"")
	return "", ""
}

// writeFile writes content to dir/name with mode and returns the path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.txt", "alice@example.com\n[gpt4]\n@example.com\n", 0o644)
	bad := writeFile(t, dir, "bad.txt", "alice@example.com\nnot an address\n[bad name]\n", 0o644)
	openKey := writeFile(t, dir, "open.key", strings.Repeat("QUFB", 12)+"\n", 0o644)
	missingKey, missingStore := filepath.Join(dir, "missing.key"), filepath.Join(dir, "missing.db")
	tests := []struct {
		name     string
		args     []string
		wantErr  bool
		wantOut  []string
		noCreate string // a file that must not exist afterwards
	}{
		{"version needs no client id", []string{"--version"}, false, []string{"doorman "}, ""},
		{"check valid", []string{"--check", "--client-id=x", "--whitelist=" + good, "--secret-file=" + missingKey, "--store=" + missingStore}, false, []string{"(main) 1, gpt4 1", "ok:"}, missingKey},
		{"check creates no store", []string{"--check", "--client-id=x", "--whitelist=" + good, "--secret-file=" + missingKey, "--store=" + missingStore}, false, []string{"store: " + missingStore + " does not exist"}, missingStore},
		{"check unreachable redis", []string{"--check", "--client-id=x", "--whitelist=" + good, "--secret-file=" + missingKey, "--store=redis://127.0.0.1:1/0"}, true, []string{"store: --store (DOORMAN_STORE)", "unavailable"}, ""},
		{"check bad lines", []string{"--check", "--client-id=x", "--whitelist=" + bad, "--secret-file=" + missingKey}, true, []string{"line 2", "line 3", "2 bad line(s)"}, missingKey},
		{"check open key", []string{"--check", "--client-id=x", "--whitelist=" + good, "--secret-file=" + openKey}, true, []string{"--secret-file", "chmod 600"}, ""},
		{"check missing whitelist", []string{"--check", "--client-id=x", "--whitelist=" + filepath.Join(dir, "nope"), "--secret-file=" + missingKey}, true, []string{"--whitelist"}, ""},
		{"check missing client id", []string{"--check", "--whitelist=" + good}, true, nil, ""},
		{"healthcheck of nothing", []string{"--healthcheck", "--listen=127.0.0.1:1"}, true, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			err := run(t.Context(), tt.args, fakeEnv(nil), &out, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("run(%v) = %v, want error %v; output:\n%s", tt.args, err, tt.wantErr, out.String())
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			if tt.noCreate != "" {
				if _, err := os.Stat(tt.noCreate); err == nil {
					t.Errorf("--check created %s; it must write nothing", tt.noCreate)
				}
			}
		})
	}
}

func TestHealthcheckOfRunningDoorman(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if err := run(t.Context(), []string{"--healthcheck", "--listen=" + addr}, fakeEnv(nil), io.Discard, io.Discard); err != nil {
		t.Errorf("healthcheck of a healthy server = %v, want nil", err)
	}
}

func TestRunFailsWithOneLineAndNoSideEffects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wl := writeFile(t, dir, "whitelist.txt", "alice@example.com\n", 0o644)
	key := filepath.Join(dir, "doorman.key")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing whitelist", []string{"--whitelist=" + filepath.Join(dir, "nope.txt")}, "--whitelist (DOORMAN_WHITELIST)"},
		{"bad redirect domain", []string{"--whitelist=" + wl, "--redirect-domains=*.example.com"}, "--redirect-domains (DOORMAN_REDIRECT_DOMAINS)"},
		{"bad public url", []string{"--whitelist=" + wl, "--public-url=auth.example.com"}, "--public-url (DOORMAN_PUBLIC_URL)"},
		{"insecure __Secure- cookie", []string{"--whitelist=" + wl, "--cookie-secure=false", "--cookie-name=__Secure-x"}, "--cookie-name (DOORMAN_COOKIE_NAME)"},
		{"__Host- cookie with a domain", []string{"--whitelist=" + wl, "--cookie-name=__Host-x", "--cookie-domain=.example.com"}, "--cookie-name (DOORMAN_COOKIE_NAME)"},
		{"negative rate limit", []string{"--whitelist=" + wl, "--rate-limit=-1"}, "--rate-limit (DOORMAN_RATE_LIMIT)"},
		{"port in use", []string{"--whitelist=" + wl, "--listen=" + busyAddr(t)}, "--listen (DOORMAN_LISTEN)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			args := append([]string{"--client-id=x", "--secret-file=" + key, "--store=" + filepath.Join(t.TempDir(), "doorman.db"), "--listen=127.0.0.1:0"}, tt.args...)
			err := run(t.Context(), args, fakeEnv(nil), io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("run() = %v, want one line naming %s", err, tt.want)
			}
			if stderr.Len() != 0 {
				t.Errorf("a failed start logged before its error line:\n%s", stderr.String())
			}
			// Only "port in use" (last) gets as far as the keys.
			if _, err := os.Stat(key); err == nil && tt.name != "port in use" {
				t.Errorf("a failed start created the secret file")
			}
		})
	}
}

// busyAddr returns a loopback address something is already listening on.
func busyAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// runningDoorman is a normal run of doorman through run(), in-process, on
// a free loopback port.
type runningDoorman struct {
	URL  string      // http://127.0.0.1:port
	logs *syncBuffer // its JSON log
}

// startRun runs doorman (--cookie-secure=false, a client ID, a throwaway
// secret file) over a whitelist file holding list, with args added, until
// the test ends.
func startRun(t *testing.T, list string, args ...string) *runningDoorman {
	t.Helper()
	dir := t.TempDir()
	args = append([]string{"--listen=127.0.0.1:0", "--cookie-secure=false", "--client-id=x",
		"--whitelist=" + writeFile(t, dir, "whitelist.txt", list, 0o644),
		"--secret-file=" + filepath.Join(dir, "doorman.key"), "--store=" + filepath.Join(dir, "doorman.db")}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	d := &runningDoorman{logs: &syncBuffer{}}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, fakeEnv(nil), io.Discard, d.logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run() = %v after cancel, want nil", err)
		}
	})
	waitFor(t, 5*time.Second, "doorman started", func() bool {
		select {
		case err := <-done:
			t.Fatalf("run() = %v before serving; logs:\n%s", err, d.logs.String())
		default:
		}
		return strings.Contains(d.logs.String(), `"msg":"doorman started"`)
	})
	d.URL = "http://" + startedAddr(t, strings.NewReader(d.logs.String()))
	return d
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// readBody sends req with client and returns the response with its body read.
func readBody(t *testing.T, client *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// findCookie returns the first cookie resp sets called name, or nil.
func findCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunTerminalCommands: doorman token and logout are the CLI's, and
// fail in one line when nothing is saved.
func TestRunTerminalCommands(t *testing.T) {
	t.Parallel()
	env := fakeEnv(map[string]string{"XDG_CONFIG_HOME": t.TempDir()})
	for _, args := range [][]string{{"token"}, {"logout"}, {"login"}} {
		err := run(t.Context(), args, env, io.Discard, io.Discard)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), args[0]+": ") {
			t.Errorf("run(%q) = %v, want one line starting %q", args, err, args[0]+": ")
		}
	}
}
