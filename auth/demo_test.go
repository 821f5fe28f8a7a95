package auth

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// newDemoHandler returns a demo-mode Handler over allow.
func newDemoHandler(t *testing.T, allow Allowlist) *Handler {
	t.Helper()
	h, err := New(Config{
		Allowlist: allow, Keys: [][]byte{secret(2)}, CookieName: "doorman-demo", CookieTTL: time.Hour, Store: testStore(t),
		DemoAccounts: []string{"Alice@Demo.Example", "mallory@demo.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	go h.Run(t.Context())
	waitFor(t, 5*time.Second, "the store read", h.Ready)
	return h
}

func TestDemoConfig(t *testing.T) {
	t.Parallel()
	base := Config{Allowlist: fakeAllowlist{}, Keys: [][]byte{secret(1)}, CookieName: "d", CookieTTL: time.Hour, Store: testStore(t)}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"demo", func(c *Config) { c.DemoAccounts = []string{"a@demo.example"} }, ""},
		{"demo with a client ID", func(c *Config) { c.DemoAccounts, c.ClientID = []string{"a@demo.example"}, "x" }, "ClientID must be empty"},
		{"demo with a bad address", func(c *Config) { c.DemoAccounts = []string{"not an address"} }, "DemoAccounts"},
		{"neither", func(*Config) {}, "ClientID is required"},
	}
	for _, tt := range tests {
		cfg := base
		tt.edit(&cfg)
		_, err := New(cfg)
		if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: New = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

// demoRequest runs handler on a POST of form to target with cookies.
func demoRequest(t *testing.T, handler echo.HandlerFunc, target string, form url.Values, cookies ...*http.Cookie) (*httptest.ResponseRecorder, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	return rec, handler(echo.New().NewContext(req, rec))
}

// boundNonce has h bind a nonce as /login does and returns it with its cookie.
func boundNonce(t *testing.T, h *Handler) (string, *http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	nonce, err := h.bindNonce(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	if err != nil {
		t.Fatal(err)
	}
	return nonce, rec.Result().Cookies()[0]
}

func TestDemoSignIn(t *testing.T) {
	t.Parallel()
	h := newDemoHandler(t, fakeAllowlist{"": {"alice@demo.example"}})
	nonce, nc := boundNonce(t, h)
	otherNonce, _ := boundNonce(t, h)
	tests := []struct {
		name     string
		form     url.Values
		cookies  []*http.Cookie
		wantCode int
	}{
		{"no nonce cookie", url.Values{"email": {"alice@demo.example"}, "nonce": {nonce}}, nil, 400},
		{"nonce of another browser", url.Values{"email": {"alice@demo.example"}, "nonce": {otherNonce}}, []*http.Cookie{nc}, 400},
		{"not a demo account", url.Values{"email": {"eve@demo.example"}, "nonce": {nonce}}, []*http.Cookie{nc}, 400},
		{"demo account, any case", url.Values{"email": {"ALICE@demo.example"}, "nonce": {nonce}}, []*http.Cookie{nc}, 303},
	}
	for _, tt := range tests {
		rec, err := demoRequest(t, h.demoSignIn, "/demo/signin?rd=%2Fdemo%2F", tt.form, tt.cookies...)
		code := rec.Code
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
		}
		if code != tt.wantCode {
			t.Errorf("%s: DemoSignIn = %d (%v), want %d", tt.name, code, err, tt.wantCode)
		}
		if tt.wantCode == 303 {
			if loc := rec.Header().Get("Location"); loc != "/demo/" {
				t.Errorf("%s: Location = %q, want /demo/", tt.name, loc)
			}
			var session *http.Cookie
			for _, c := range rec.Result().Cookies() {
				if c.Name == "doorman-demo" {
					session = c
				}
			}
			req := httptest.NewRequest(http.MethodGet, "/demo/", nil)
			req.AddCookie(session)
			if email, ok := h.allowed(req, ""); !ok || email != "alice@demo.example" {
				t.Errorf("%s: the new session is allowed = %v (%q), want alice", tt.name, ok, email)
			}
		}
	}
}

func TestDemoRoutesOnlyInDemoMode(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	normal := newTestHandler(t, fakeAllowlist{}, &clock)
	demo := newDemoHandler(t, fakeAllowlist{})
	if normal.inDemo() || !demo.inDemo() {
		t.Fatalf("Demo() = %v (normal), %v (demo)", normal.inDemo(), demo.inDemo())
	}
	nonce, nc := boundNonce(t, normal)
	form := url.Values{"email": {"alice@demo.example"}, "nonce": {nonce}}
	for name, handler := range map[string]echo.HandlerFunc{"normal DemoSignIn": normal.demoSignIn, "demo Callback": demo.callback} {
		_, err := demoRequest(t, handler, "/x", form, nc)
		var he *echo.HTTPError
		if !errors.As(err, &he) || he.Code != http.StatusNotFound {
			t.Errorf("%s = %v, want 404", name, err)
		}
	}
}

func TestAllowedIsCheck(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	h := newTestHandler(t, fakeAllowlist{"": {"alice@example.com"}, "gpt4": {"carol@example.com"}}, &clock)
	cookie := func(email string) string {
		c, err := h.SessionCookie(email)
		if err != nil {
			t.Fatal(err)
		}
		return c.Name + "=" + c.Value
	}
	for _, cookieHeader := range []string{"", "doorman=junk", cookie("alice@example.com"), cookie("carol@example.com"), cookie("eve@example.com")} {
		for _, list := range []string{"", "gpt4", "nope"} {
			target := "/auth"
			if list != "" {
				target += "?list=" + list
			}
			code, email := check(t, h, target, cookieHeader)
			req := httptest.NewRequest(http.MethodGet, "/demo/", nil)
			req.Header.Set("Cookie", cookieHeader)
			gotEmail, ok := h.allowed(req, list)
			if ok != (code == http.StatusOK) || gotEmail != email {
				t.Errorf("list %q cookie %.20q: Allowed = %q %v, Check = %d %q", list, cookieHeader, gotEmail, ok, code, email)
			}
		}
	}
}

func TestRedirectSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		domains   []string
		allowHTTP bool
		want      []string
	}{
		{nil, false, nil},
		{[]string{".example.com"}, false, []string{"https://example.com", "https://*.example.com"}},
		{[]string{"app.example.com:8443"}, false, []string{"https://app.example.com:8443"}},
		{[]string{".example.com:*"}, true, []string{"https://example.com:*", "https://*.example.com:*", "http://example.com:*", "http://*.example.com:*"}},
	}
	for _, tt := range tests {
		h := &Handler{redirects: mustRedirectPolicy(t, tt.domains, tt.allowHTTP)}
		if got := h.redirectSources(); !slices.Equal(got, tt.want) {
			t.Errorf("RedirectSources(%q, http %v) = %q, want %q", tt.domains, tt.allowHTTP, got, tt.want)
		}
	}
}

// pageRecorder is an echo.Renderer that keeps what a handler rendered.
type pageRecorder struct {
	name string
	page Page
}

func (p *pageRecorder) Render(_ io.Writer, name string, data any, _ echo.Context) error {
	page, ok := data.(Page)
	if !ok {
		return fmt.Errorf("render %s: data is %T, want Page", name, data)
	}
	p.name, p.page = name, page
	return nil
}

// renderRequest runs handler on req and returns the response, the page it
// rendered (name "" if none) and its error.
func renderRequest(t *testing.T, handler echo.HandlerFunc, req *http.Request) (*httptest.ResponseRecorder, *pageRecorder, error) {
	t.Helper()
	e := echo.New()
	pages := &pageRecorder{}
	e.Renderer = pages
	rec := httptest.NewRecorder()
	err := handler(e.NewContext(req, rec))
	return rec, pages, err
}

func TestForbiddenPageKnowsWhetherSignedIn(t *testing.T) {
	t.Parallel()
	h := newDemoHandler(t, fakeAllowlist{"": {"alice@demo.example"}})
	tests := []struct {
		email        string
		wantSignedIn bool
		wantSwitch   string
	}{
		{"mallory@demo.example", false, "/login?list=gpt4&rd=%2Fdemo%2Fgpt4%2F"},
		{"alice@demo.example", true, "/logout?list=gpt4&rd=%2Fdemo%2Fgpt4%2F"},
	}
	for _, tt := range tests {
		nonce, nc := boundNonce(t, h)
		form := url.Values{"email": {tt.email}, "nonce": {nonce}}
		req := httptest.NewRequest(http.MethodPost, "/demo/signin?list=gpt4&rd=%2Fdemo%2Fgpt4%2F", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(nc)
		rec, pages, err := renderRequest(t, h.demoSignIn, req)
		if err != nil || pages.name != "forbidden.html" {
			t.Fatalf("%s: DemoSignIn = %v, rendered %q; want forbidden.html", tt.email, err, pages.name)
		}
		gotSession := slices.ContainsFunc(rec.Result().Cookies(), func(c *http.Cookie) bool { return c.Name == "doorman-demo" })
		if p := pages.page; p.SignedIn != tt.wantSignedIn || gotSession != tt.wantSignedIn || p.SwitchURL != tt.wantSwitch || p.Email != tt.email {
			t.Errorf("%s: 403 page SignedIn %v, session cookie %v, SwitchURL %q; want %v, %v, %q",
				tt.email, p.SignedIn, gotSession, p.SwitchURL, tt.wantSignedIn, tt.wantSignedIn, tt.wantSwitch)
		}
	}
}

func TestDemoHome(t *testing.T) {
	t.Parallel()
	h := newDemoHandler(t, fakeAllowlist{"": {"alice@demo.example"}, "gpt4": {"alice@demo.example"}})
	_, pages, err := renderRequest(t, h.demoHome, httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil || pages.name != "start.html" {
		t.Fatalf("DemoHome without a session = %v, rendered %q; want start.html", err, pages.name)
	}
	want := []DemoAccount{{"alice@demo.example", []string{"", "gpt4"}}, {"mallory@demo.example", nil}}
	if got := pages.page.Accounts; len(got) != 2 || got[0].Email != want[0].Email || len(got[0].Lists) != 2 || got[1].Email != want[1].Email || len(got[1].Lists) != 0 {
		t.Errorf("start page accounts = %+v, want %+v", got, want)
	}
	session, err := h.SessionCookie("alice@demo.example")
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(session)
	if _, pages, err := renderRequest(t, h.demoHome, req); err != nil || pages.name != "signedin.html" || pages.page.Email != "alice@demo.example" {
		t.Errorf("DemoHome with alice's session = %v, rendered %q for %q; want signedin.html for alice", err, pages.name, pages.page.Email)
	}
	var clock atomic.Int64
	normal := newTestHandler(t, fakeAllowlist{}, &clock)
	_, _, err = renderRequest(t, normal.demoHome, httptest.NewRequest(http.MethodGet, "/", nil))
	if he := (*echo.HTTPError)(nil); !errors.As(err, &he) || he.Code != http.StatusNotFound {
		t.Errorf("DemoHome in a normal run = %v, want 404", err)
	}
}
