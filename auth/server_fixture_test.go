package auth

// The in-process server that the HTTP-surface tests share: NewServer in an
// httptest.Server over a whitelist file that whitelist.Watch reloads, with
// a fake Google, and the helpers that sign in through it and hold every
// /auth answer to the README's "Endpoints" table. An assertion that caught a
// doorman bug (since fixed) says "regression:" in its failure message, and
// what went wrong the first time.

import (
	"errors"
	"html"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"doorman/auth/googletest"
	"doorman/templates"
	"doorman/whitelist"
)

// testDoorman is doorman served in-process.
type testDoorman struct {
	URL       string
	h         *Handler
	wl        *whitelist.Watcher
	google    *googletest.Server // nil when offline
	whitelist string             // path of the whitelist file
	logs      *syncBuffer        // the JSON log, at debug level
	client    *http.Client       // does not follow redirects
}

// testConfig varies newTestDoorman. The zero value serves a new whitelist
// file with a fake Google, cookies named "doorman" keyed secret('k') (so
// that two doormans accept each other's cookies unless a test changes
// Keys), Secure off, and rd allowed on .example.com.
type testConfig struct {
	path string // watch this whitelist file instead of writing list to a new one
	// offline leaves out the fake Google, whose RSA key costs a few hundred
	// milliseconds under -race: a sign-in answers 503, and sessions come
	// from mintSession.
	offline bool
	auth    func(*Config) // edits the Config after the defaults
	server  ServerConfig  // Pages and Ready, when nil, are the embedded templates and the whitelist's
	// unread serves at once, without waiting until the store was read.
	unread bool
}

// newTestDoorman serves doorman over a whitelist holding list until the
// test ends.
func newTestDoorman(t *testing.T, list string, tc testConfig) *testDoorman {
	t.Helper()
	td := &testDoorman{whitelist: tc.path, logs: &syncBuffer{}}
	if td.whitelist == "" {
		td.whitelist = filepath.Join(t.TempDir(), "whitelist.txt")
		if err := os.WriteFile(td.whitelist, []byte(list), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewJSONHandler(td.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	if td.wl, err = whitelist.Watch(t.Context(), td.whitelist, logger); err != nil {
		t.Fatal(err)
	}
	if !tc.offline {
		td.google = googletest.NewServer(t)
	}
	if tc.unread {
		td.h = startHandler(t, td.config(t, logger, tc.auth))
	} else {
		td.h = mustHandler(t, td.config(t, logger, tc.auth))
	}
	sc := tc.server
	if sc.Pages == nil {
		sc.Pages = mustPages(t)
	}
	if sc.Ready == nil {
		sc.Ready = td.wl.Ready
	}
	srv := httptest.NewServer(NewServer(td.h, sc))
	t.Cleanup(srv.Close)
	td.URL = srv.URL
	td.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return td
}

// config is the fixture's Config, edited by edit.
func (td *testDoorman) config(t *testing.T, logger *slog.Logger, edit func(*Config)) Config {
	cfg := Config{
		ClientID: googletest.DefaultClientID, Allowlist: td.wl, Keys: [][]byte{secret('k')}, Store: testStore(t),
		CookieName: "doorman", CookieTTL: time.Hour, CookieSecure: false,
		RedirectDomains: []string{".example.com"}, HTTPClient: &http.Client{Transport: offlineTransport{}},
		Logger: logger, Context: t.Context(),
	}
	if td.google != nil {
		cfg.ClientID, cfg.HTTPClient = td.google.ClientID, td.google.Client()
	}
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

// offlineTransport fails every request: a doorman built with it never
// reaches Google, and a sign-in attempt on it answers 503.
type offlineTransport struct{}

func (offlineTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}

func mustHandler(t *testing.T, cfg Config) *Handler {
	t.Helper()
	h := startHandler(t, cfg)
	waitFor(t, 5*time.Second, "the store read", h.Ready)
	return h
}

// startHandler makes a Handler of cfg and starts following its store.
func startHandler(t *testing.T, cfg Config) *Handler {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go h.Run(t.Context())
	return h
}

func mustPages(tb testing.TB) *template.Template {
	tb.Helper()
	pages, err := templates.Parse()
	if err != nil {
		tb.Fatal(err)
	}
	return pages
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

// loginPage opens /login?query without cookies and returns the nonce, the
// login_uri and every cookie the page set, whatever their names.
func loginPage(t *testing.T, td *testDoorman, query string) (nonce, loginURI string, cookies []*http.Cookie) {
	t.Helper()
	resp, body := td.do(t, http.MethodGet, "/login?"+query, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login?%s = %d, want 200", query, resp.StatusCode)
	}
	n, u := nonceAttr.FindStringSubmatch(body), loginURIAttr.FindStringSubmatch(body)
	if n == nil || u == nil {
		t.Fatalf("login page lacks data-nonce or data-login_uri:\n%s", body)
	}
	return n[1], html.UnescapeString(u[1]), resp.Cookies()
}

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

// signInAt opens a login page for a nonce, then posts a token for claims
// (with that nonce unless claims has one) to target, which need not be the
// page's login_uri.
func signInAt(t *testing.T, td *testDoorman, target string, claims googletest.Claims) (*http.Response, string) {
	t.Helper()
	nonce, _, cookies := loginPage(t, td, "")
	if claims.Nonce == "" {
		claims.Nonce = nonce
	}
	return postCredential(t, td, target, td.google.Token(t, claims), cookies)
}

// postCredential posts credential to target the way Google Identity Services
// does, with a matching g_csrf_token pair and the given extra cookies.
func postCredential(t *testing.T, td *testDoorman, target, credential string, cookies []*http.Cookie) (*http.Response, string) {
	t.Helper()
	form, csrf := td.google.CallbackForm(credential)
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return td.do(t, http.MethodPost, target, strings.NewReader(form.Encode()), hdr, append([]*http.Cookie{csrf}, cookies...)...)
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

// mintSession returns h's session cookie for email, as a sign-in would set it.
func mintSession(t *testing.T, h *Handler, email string) *http.Cookie {
	t.Helper()
	c, err := h.SessionCookie(email)
	if err != nil {
		t.Fatal(err)
	}
	return c
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

// googletestClaims returns valid claims for email with nonce.
func googletestClaims(email, nonce string) googletest.Claims {
	return googletest.Claims{Email: email, Nonce: nonce}
}

// checkAuthReply holds one /auth answer to the README's "Endpoints" table:
// 200 or 401 (never a redirect, never 5xx), an empty body with
// Content-Length 0, Cache-Control no-store, and X-Auth-Request-Email only
// on a 200.
func checkAuthReply(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if code := resp.StatusCode; code != http.StatusOK && code != http.StatusUnauthorized {
		t.Errorf("%s = %d, want 200 or 401", what, code)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Errorf("%s redirected to %q; /auth must never redirect", what, loc)
	}
	if body != "" || resp.Header.Get("Content-Length") != "0" {
		t.Errorf("%s body %q Content-Length %q, want empty and 0", what, body, resp.Header.Get("Content-Length"))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s Cache-Control = %q, want no-store", what, cc)
	}
	if email := resp.Header.Get("X-Auth-Request-Email"); resp.StatusCode != http.StatusOK && email != "" {
		t.Errorf("%s = %d with X-Auth-Request-Email %q, want no email", what, resp.StatusCode, email)
	}
}

// authReply sends GET path (an /auth URL) with hdr and cookies, checks the
// answer with checkAuthReply, and returns its status and email header.
func authReply(t *testing.T, td *testDoorman, path string, hdr http.Header, cookies ...*http.Cookie) (int, string) {
	t.Helper()
	resp, body := td.do(t, http.MethodGet, path, nil, hdr, cookies...)
	checkAuthReply(t, "GET "+path, resp, body)
	return resp.StatusCode, resp.Header.Get("X-Auth-Request-Email")
}

// authWithCookieHeader is authReply with a raw Cookie header (one line per value).
func authWithCookieHeader(t *testing.T, td *testDoorman, path string, lines ...string) (int, string) {
	t.Helper()
	return authReply(t, td, path, http.Header{"Cookie": lines})
}

// TestSignInFlow is the fixture end to end, as nginx and a browser use
// doorman: /auth refuses, /login, /callback sets the session, /auth
// admits, and a removal from the whitelist file refuses within a second.
func TestSignInFlow(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\nbob@example.com\n", testConfig{})
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
