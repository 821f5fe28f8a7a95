package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"doorman/auth"
	"doorman/auth/googletest"
	"doorman/templates"
	"doorman/whitelist"
)

// testDoorman is doorman served in-process, with a fake Google.
type testDoorman struct {
	URL       string
	google    *googletest.Server
	whitelist string // path of the whitelist file
	logs      *syncBuffer
	client    *http.Client // does not follow redirects
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
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

// newTestDoorman starts doorman over whitelist content; edit may adjust the config.
func newTestDoorman(t *testing.T, list string, edit func(*auth.Config)) *testDoorman {
	t.Helper()
	return newTestDoormanWith(t, list, edit)
}

// newTestDoormanWith is newTestDoorman with server options.
func newTestDoormanWith(t *testing.T, list string, edit func(*auth.Config), opts ...serverOption) *testDoorman {
	t.Helper()
	dir := t.TempDir()
	td := &testDoorman{google: googletest.NewServer(t), whitelist: filepath.Join(dir, "whitelist.txt"), logs: &syncBuffer{}}
	if err := os.WriteFile(td.whitelist, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(td.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	wl, err := whitelist.Watch(t.Context(), td.whitelist, logger)
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{
		ClientID: td.google.ClientID, Allowlist: wl, Keys: [][]byte{bytes.Repeat([]byte("k"), 32)},
		CookieName: "doorman", CookieTTL: time.Hour, CookieSecure: false,
		RedirectDomains: []string{".example.com"}, HTTPClient: td.google.Client(), Logger: logger, Context: t.Context(),
	}
	if edit != nil {
		edit(&cfg)
	}
	h, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(h, wl.Ready, pages, logger, opts...))
	t.Cleanup(srv.Close)
	td.URL = srv.URL
	td.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return td
}

// do sends a request with cookies and returns the response with its body read.
func (td *testDoorman) do(t *testing.T, method, path string, body io.Reader, hdr http.Header, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	return sendWithHost(t, td, method, path, body, hdr, "", cookies...)
}

// sendWithHost is td.do that can also set the Host header (host "" keeps it).
func sendWithHost(t *testing.T, td *testDoorman, method, path string, body io.Reader, hdr http.Header, host string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, td.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	for _, c := range cookies {
		if c != nil {
			req.AddCookie(c)
		}
	}
	return readBody(t, td.client, req)
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

var (
	nonceAttr    = regexp.MustCompile(`data-nonce="([^"]+)"`)
	loginURIAttr = regexp.MustCompile(`data-login_uri="([^"]+)"`)
)

// login opens /login?query and returns the nonce, login_uri and nonce cookie.
func (td *testDoorman) login(t *testing.T, query string) (nonce, loginURI string, nonceCookie *http.Cookie) {
	t.Helper()
	nonce, loginURI, cookies := loginPage(t, td, query)
	return nonce, loginURI, nonceCookieOf(cookies)
}

// nonceCookieOf returns the first of cookies that binds a login page's
// nonce (each page sets one of its own, "doorman-nonce-<tag>"), or nil.
func nonceCookieOf(cookies []*http.Cookie) *http.Cookie {
	for _, c := range cookies {
		if strings.HasPrefix(c.Name, "doorman-nonce-") {
			return c
		}
	}
	return nil
}

// signIn runs the whole sign-in for claims and returns the callback response.
func (td *testDoorman) signIn(t *testing.T, query string, claims googletest.Claims) (*http.Response, string) {
	t.Helper()
	nonce, loginURI, nc := td.login(t, query)
	if claims.Nonce == "" {
		claims.Nonce = nonce
	}
	form, csrf := td.google.CallbackForm(td.google.Token(t, claims))
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return td.do(t, http.MethodPost, loginURI, strings.NewReader(form.Encode()), hdr, csrf, nc)
}

// session signs email in and returns the session cookie.
func (td *testDoorman) session(t *testing.T, email string) *http.Cookie {
	t.Helper()
	resp, _ := td.signIn(t, "", googletest.Claims{Email: email})
	c := findCookie(resp, "doorman")
	if c == nil || c.Value == "" {
		t.Fatalf("sign-in as %s set no session cookie (status %d)", email, resp.StatusCode)
	}
	return c
}

// findCookie returns the Set-Cookie named name in resp, or nil.
func findCookie(resp *http.Response, name string) *http.Cookie {
	return cookieNamed(resp.Cookies(), name)
}

// cookieNamed returns the first cookie called name, or nil.
func cookieNamed(cookies []*http.Cookie, name string) *http.Cookie {
	for _, c := range cookies {
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
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSignInFlow(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\nbob@example.com\n", nil)
	if resp, body := td.do(t, http.MethodGet, "/auth", nil, nil); resp.StatusCode != http.StatusUnauthorized || body != "" {
		t.Fatalf("GET /auth without cookie = %d %q, want empty 401", resp.StatusCode, body)
	}
	rd := "https://app.example.com/chat?a=1&b=2"
	_, loginURI, _ := td.login(t, "rd="+url.QueryEscape(rd))
	if want := "/callback?rd=" + url.QueryEscape(rd); loginURI != want {
		t.Errorf("login_uri = %q, want %q", loginURI, want)
	}
	resp, _ := td.signIn(t, "rd="+url.QueryEscape(rd), googletest.Claims{Email: "Alice@Example.com"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != rd {
		t.Fatalf("POST /callback = %d Location %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), rd)
	}
	sc := findCookie(resp, "doorman")
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.MaxAge != 3600 {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, Max-Age=3600", sc)
	}
	resp, body := td.do(t, http.MethodGet, "/auth", nil, nil, sc)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Auth-Request-Email") != "alice@example.com" || body != "" {
		t.Fatalf("GET /auth with session = %d email %q body %q, want 200 alice@example.com empty",
			resp.StatusCode, resp.Header.Get("X-Auth-Request-Email"), body)
	}
	if err := os.WriteFile(td.whitelist, []byte("bob@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "removed user denied", func() bool {
		resp, _ := td.do(t, http.MethodGet, "/auth", nil, nil, sc)
		return resp.StatusCode == http.StatusUnauthorized
	})
}

// googletestClaims returns valid claims for email with nonce.
func googletestClaims(email, nonce string) googletest.Claims {
	return googletest.Claims{Email: email, Nonce: nonce}
}
