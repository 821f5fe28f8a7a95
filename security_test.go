package main

// Adversarial tests of issue 7 ("Hardening"), one Test per threat: open
// redirects, session cookies, ID tokens, CSRF, whitelist files, client
// headers, sizes and slowness, panics, and the shape of every /auth answer.
// Each /auth answer any of them gets is held to CONTRACT §2 by
// checkAuthReply. Assertions that caught a doorman bug (since fixed) say
// "regression:" in their failure message and what went wrong the first time.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"doorman/auth"
	"doorman/auth/googletest"
	"doorman/templates"
	"doorman/whitelist"
)

// ---------------------------------------------------------------------------
// Helpers shared by security_test.go and chaos_test.go.

// testCookieKey is newTestDoorman's cookie secret, so that doormans built by
// the helpers below accept each other's cookies unless a test changes Keys.
func testCookieKey() []byte { return bytes.Repeat([]byte("k"), 32) }

// offlineTransport fails every request: a doorman built with it never
// reaches Google, and a sign-in attempt on it answers 503.
type offlineTransport struct{}

func (offlineTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}

// startLiteDoorman serves doorman in-process over the whitelist file at path,
// like newTestDoorman but without a fake Google (whose RSA key costs a few
// hundred milliseconds under -race): sessions come from the returned
// Handler's SessionCookie. Logs go to td.logs at debug level.
func startLiteDoorman(t *testing.T, path string, edit func(*auth.Config)) (*testDoorman, *auth.Handler, *whitelist.Watcher) {
	t.Helper()
	td := &testDoorman{whitelist: path, logs: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(td.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	wl, err := whitelist.Watch(t.Context(), path, logger)
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{
		ClientID: googletest.DefaultClientID, Allowlist: wl, Keys: [][]byte{testCookieKey()},
		CookieName: "doorman", CookieTTL: time.Hour, CookieSecure: false,
		RedirectDomains: []string{".example.com"}, HTTPClient: &http.Client{Transport: offlineTransport{}},
		Logger: logger, Context: t.Context(),
	}
	if edit != nil {
		edit(&cfg)
	}
	h := mustHandler(t, cfg)
	srv := httptest.NewServer(newServer(h, wl.Ready, mustPages(t), logger))
	t.Cleanup(srv.Close)
	td.URL = srv.URL
	td.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return td, h, wl
}

// newLiteDoorman writes list to a fresh whitelist file and starts a
// startLiteDoorman over it.
func newLiteDoorman(t *testing.T, list string, edit func(*auth.Config)) (*testDoorman, *auth.Handler) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "whitelist.txt")
	if err := os.WriteFile(path, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	td, h, _ := startLiteDoorman(t, path, edit)
	return td, h
}

func mustHandler(t *testing.T, cfg auth.Config) *auth.Handler {
	t.Helper()
	h, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustPages(t *testing.T) *template.Template {
	t.Helper()
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// mintSession returns h's session cookie for email, as a sign-in would set it.
func mintSession(t *testing.T, h *auth.Handler, email string) *http.Cookie {
	t.Helper()
	c, err := h.SessionCookie(email)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkAuthReply holds one /auth answer to CONTRACT §2: 200 or 401 (never a
// redirect, never 5xx), an empty body with Content-Length 0, Cache-Control
// no-store, and X-Auth-Request-Email only on a 200.
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

// postCredential posts credential to target the way Google Identity Services
// does, with a matching g_csrf_token pair and the given extra cookies.
func postCredential(t *testing.T, td *testDoorman, target, credential string, cookies []*http.Cookie) (*http.Response, string) {
	t.Helper()
	form, csrf := td.google.CallbackForm(credential)
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return td.do(t, http.MethodPost, target, strings.NewReader(form.Encode()), hdr, append([]*http.Cookie{csrf}, cookies...)...)
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

// ---------------------------------------------------------------------------
// 1. Open redirects: rd at /login and at /callback.

// allowedLocation returns why loc is not a Location doorman may send under
// RedirectDomains [".example.com"] with Secure cookies, or "": a path with a
// single leading slash that stays on doorman's host, or an https URL without
// user-info or port whose host is example.com or a subdomain of it. It is
// written independently of auth's validation.
func allowedLocation(loc string) string {
	for i := 0; i < len(loc); i++ {
		if c := loc[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return fmt.Sprintf("byte %#x at %d", c, i)
		}
	}
	u, err := url.Parse(loc)
	if err != nil {
		return err.Error()
	}
	if strings.HasPrefix(loc, "/") {
		base := &url.URL{Scheme: "https", Host: "auth.example.com", Path: "/login"}
		got := base.ResolveReference(u)
		if strings.HasPrefix(loc, "//") || u.Scheme != "" || u.Host != "" || u.User != nil ||
			got.Host != base.Host || strings.HasPrefix(got.EscapedPath(), "//") {
			return "relative Location leaves doorman's host: " + got.String()
		}
		return ""
	}
	host := u.Hostname()
	switch {
	case u.Scheme != "https" || u.User != nil || u.Opaque != "" || u.Port() != "":
		return "not https without user-info and port"
	case !strings.HasPrefix(loc, "https://"+u.Host) || host != strings.ToLower(host) || net.ParseIP(host) != nil:
		return "authority is not a plain lower-case host name"
	case host != "example.com" && !strings.HasSuffix(host, ".example.com"):
		return "host " + host + " is not example.com or a subdomain"
	}
	return ""
}

// locationRecorder is an http.RoundTripper that remembers every Location
// header doorman sends.
type locationRecorder struct {
	mu   sync.Mutex
	locs []string
}

func (r *locationRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && resp.Header.Get("Location") != "" {
		r.mu.Lock()
		r.locs = append(r.locs, resp.Header.Get("Location"))
		r.mu.Unlock()
	}
	return resp, err
}

// redirectAttack is one rd value; want is the Location doorman must make of
// it ("" when it must be dropped).
type redirectAttack struct {
	name, rd, want string
}

// redirectAttacks are oauth2-proxy's open-redirect payload families and
// more, against RedirectDomains [".example.com"] with Secure cookies.
func redirectAttacks() []redirectAttack {
	long := strings.Repeat("a", 3000)
	return []redirectAttack{
		// Accepted: the controls, re-serialised.
		{"control: relative path", "/ok?x=1", "/ok?x=1"},
		{"control: allowed host", "https://chat.example.com/c?a=1&b=2", "https://chat.example.com/c?a=1&b=2"},
		{"control: apex host", "https://example.com/", "https://example.com/"},
		{"control: upper case scheme and host", "HTTPS://CHAT.EXAMPLE.COM/x", "https://chat.example.com/x"},
		{"control: default port dropped", "https://chat.example.com:443/x", "https://chat.example.com/x"},
		{"encoded slashes stay a path", "/%2F%2Fevil.com", "/%2F%2Fevil.com"},
		{"encoded backslash stays a path", "/%5Cevil.com", "/%5Cevil.com"},
		{"encoded CRLF stays encoded", "https://chat.example.com/%0d%0aSet-Cookie:x=1", "https://chat.example.com/%0d%0aSet-Cookie:x=1"},
		// oauth2-proxy's families.
		{"slash backslash", `/\evil.com`, ""},
		{"slash tab slash", "/\t/evil.com", ""},
		{"slash backslash-t slash", `/\t/evil.com`, ""},
		{"slash space slash", "/ /evil.com", ""},
		{"dot backslash", `/./\evil.com`, ""},
		{"protocol-relative", "//evil.com", ""},
		{"triple slash", "///evil.com", ""},
		{"backslash slash", `\/evil.com`, ""},
		{"double backslash", `\\evil.com`, ""},
		{"dot-dot to protocol-relative", "/..//evil.com", ""},
		{"encoded dot-dot to protocol-relative", "/%2e%2e//evil.com", ""},
		{"dot to protocol-relative", "/.//evil.com", ""},
		{"https no slashes", "https:evil.com", ""},
		{"https one slash", "https:/evil.com", ""},
		{"https three slashes", "https:///evil.com", ""},
		{"https backslashes", `https:\\evil.com`, ""},
		{"https slash backslash", `https:/\evil.com`, ""},
		// @ tricks.
		{"userinfo is allowed host", "https://chat.example.com@evil.com", ""},
		{"userinfo with colon", "https://chat.example.com:@evil.com/", ""},
		{"userinfo on allowed host", "https://user:pass@chat.example.com/", ""},
		{"fragment at", "https://evil.com#@chat.example.com", ""},
		{"query at", "https://evil.com?@chat.example.com", ""},
		{"backslash at", `https://evil.com\@chat.example.com`, ""},
		{"encoded at", "https://chat.example.com%40evil.com/", ""},
		{"path looks like host", "https://evil.com/.chat.example.com", ""},
		// Unicode.
		{"Cyrillic a in host", "https://ch\u0430t.example.com/", ""},
		{"fullwidth slashes", "\uff0f\uff0fevil.com", ""},
		{"slash then fullwidth slash", "/\uff0fevil.com", ""},
		{"ideographic full stop", "https://chat.example.com\u3002evil.com/", ""},
		{"fullwidth dot in host", "https://evil.com\uff0eexample.com/", ""},
		{"IDN punycode look-alike is another host", "https://xn--cht-8cd.example.com.evil.com/", ""},
		// Percent-encoding.
		{"encoded protocol-relative", "%2F%2Fevil.com", ""},
		{"double-encoded protocol-relative", "%252F%252Fevil.com", ""},
		{"encoded host letter", "https://%65vil.com/", ""},
		{"encoded dot in host", "https://chat.example.com%2eevil.com/", ""},
		{"https encoded slashes", "https:%2F%2Fevil.com", ""},
		{"encoded allowed host", "https://%63hat.example.com/", ""},
		// ingress-nginx's form (scheme and host raw, the rest escaped), abused.
		{"escaped slash before a dot host", "https://evil.com%2F.example.com/", ""},
		{"escaped at after allowed host", "https://chat.example.com%40evil.com/", ""},
		{"escaped hash before at", "https://evil.com%23@chat.example.com/", ""},
		{"double-escaped slash before at", "https://chat.example.com%252F@evil.com/", ""},
		{"escaped slashes as authority", "https://%2F%2Fevil.com/", ""},
		{"escaped backslash after allowed host", "https://chat.example.com%5C@evil.com/", ""},
		// Control characters and NUL.
		{"NUL", "/\x00evil.com", ""},
		{"NUL after host", "https://chat.example.com\x00.evil.com/", ""},
		{"CRLF header injection", "https://chat.example.com/\r\nSet-Cookie: x=1", ""},
		{"leading control", "\x01https://chat.example.com/", ""},
		{"leading space", " https://chat.example.com/", ""},
		{"DEL", "https://chat.example.com/\x7f", ""},
		{"tab in scheme", "java\tscript:alert(1)", ""},
		// Script and data schemes.
		{"javascript", "javascript:alert(1)", ""},
		{"javascript mixed case", "JaVaScRiPt:alert(1)", ""},
		{"javascript with allowed host", "javascript://chat.example.com/%0aalert(1)", ""},
		{"data", "data:text/html,<script>alert(1)</script>", ""},
		{"vbscript", "vbscript:msgbox(1)", ""},
		{"http downgrade with Secure cookies", "http://chat.example.com/", ""},
		{"ftp", "ftp://chat.example.com/", ""},
		// IP literals.
		{"IPv4", "https://127.0.0.1/", ""},
		{"IPv6", "https://[::1]/", ""},
		{"IPv4-mapped IPv6", "https://[::ffff:127.0.0.1]/", ""},
		{"decimal IPv4", "https://2130706433/", ""},
		{"hex IPv4", "https://0x7f000001/", ""},
		{"octal IPv4", "https://0177.0.0.1/", ""},
		{"short IPv4", "https://127.1/", ""},
		// Ports.
		{"port not allowed", "https://chat.example.com:8443/", ""},
		{"port zero", "https://chat.example.com:0/", ""},
		{"port too big", "https://chat.example.com:65536/", ""},
		{"empty port", "https://chat.example.com:/", ""},
		{"two ports", "https://chat.example.com:443:443/", ""},
		// Trailing dots and look-alike domains.
		{"trailing dot", "https://chat.example.com./", ""},
		{"two trailing dots", "https://chat.example.com../", ""},
		{"apex trailing dot", "https://example.com./", ""},
		{"suffix without dot", "https://evilexample.com/", ""},
		{"allowed as prefix", "https://example.com.evil.com/", ""},
		{"allowed subdomain as prefix", "https://chat.example.com.evil.com/", ""},
		// Length.
		{"over-long path", "/" + long, ""},
		{"over-long URL", "https://chat.example.com/" + long, ""},
	}
}

// TestSecurityRedirect sends every redirectAttack as rd to /login (with and
// without a session) and to /callback, escaped and raw, and checks every
// Location doorman sent on the way with allowedLocation.
func TestSecurityRedirect(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", func(c *auth.Config) { c.CookieSecure = true })
	rec := &locationRecorder{}
	td.client.Transport = rec
	t.Cleanup(func() { // runs after every parallel subtest
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.locs) == 0 {
			t.Error("no Location recorded; the recorder is not in use")
		}
		for _, loc := range rec.locs {
			if why := allowedLocation(loc); why != "" {
				t.Errorf("doorman sent Location %q: %s", loc, why)
			}
		}
	})
	resp, _ := signInAt(t, td, "/callback", googletest.Claims{Email: "alice@example.com"})
	alice := findCookie(resp, "doorman")
	if alice == nil {
		t.Fatalf("sign-in set no session cookie (status %d)", resp.StatusCode)
	}
	for _, tt := range redirectAttacks() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkRedirectEscaped(t, td, alice, tt)
			checkRedirectRaw(t, td, alice, tt)
		})
	}
	t.Run("other routes", func(t *testing.T) {
		t.Parallel()
		// Every redirect these send goes through the recorder's check.
		paths := []string{
			"/", "//evil.com", "/static", "/static/", "/static//evil.com", "/static/..%2f..%2f", "/static/%2e%2e/",
			"/logout?rd=//evil.com", "/logout?rd=https://evil.com/", "/logout?list=gpt4&rd=https://chat.example.com/x",
			"/logout?rd=" + url.QueryEscape("https://chat.example.com@evil.com"), "/login?list=gpt4&rd=//evil.com",
		}
		for _, p := range paths {
			for _, c := range []*http.Cookie{nil, alice} {
				if resp, _ := sendWithHost(t, td, http.MethodGet, p, nil, nil, "", c); resp.StatusCode >= 500 {
					t.Errorf("GET %s = %d, want no 5xx", p, resp.StatusCode)
				}
			}
		}
	})
}

// checkRedirectEscaped passes tt.rd percent-encoded, as nginx's $escaped
// variables or a careful proxy would, to /login with and without a session
// and to /callback.
func checkRedirectEscaped(t *testing.T, td *testDoorman, session *http.Cookie, tt redirectAttack) {
	t.Helper()
	query := "rd=" + url.QueryEscape(tt.rd)
	wantURI, wantLoc := "/callback", "/"
	if tt.want != "" {
		wantURI, wantLoc = "/callback?rd="+url.QueryEscape(tt.want), tt.want
	}
	if _, uri, _ := loginPage(t, td, query); uri != wantURI {
		t.Errorf("GET /login?%s: login_uri = %q, want %q", query, uri, wantURI)
	}
	resp, _ := td.do(t, http.MethodGet, "/login?"+query, nil, nil, session)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != wantLoc {
		t.Errorf("GET /login?%s with a session = %d Location %q, want 303 %q", query, resp.StatusCode, resp.Header.Get("Location"), wantLoc)
	}
	resp, _ = signInAt(t, td, "/callback?"+query, googletest.Claims{Email: "alice@example.com"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != wantLoc {
		t.Errorf("POST /callback?%s = %d Location %q, want 303 %q", query, resp.StatusCode, resp.Header.Get("Location"), wantLoc)
	}
}

// checkRedirectRaw passes tt.rd unescaped, as plain nginx passes
// $request_uri (bytes an HTTP client refuses to put in a URL go over a raw
// connection): no answer may be a 5xx, and whatever doorman makes of rd must
// be an allowed Location. The raw form may legitimately be read differently
// from the escaped one (an "https://" rd with a "%" in its authority is
// ingress-nginx's escaped form and is decoded once), so only the property is
// checked, not tt.want.
func checkRedirectRaw(t *testing.T, td *testDoorman, session *http.Cookie, tt redirectAttack) {
	t.Helper()
	target := "/login?rd=" + tt.rd
	resp, body := sendRaw(t, td, http.MethodGet, target, nil, "")
	if resp.StatusCode >= 500 {
		t.Errorf("GET %q = %d, want no 5xx", target, resp.StatusCode)
	}
	if m := loginURIAttr.FindStringSubmatch(body); m != nil {
		u, err := url.Parse(html.UnescapeString(m[1]))
		if rd := u.Query().Get("rd"); err != nil || rd != "" && allowedLocation(rd) != "" {
			t.Errorf("GET %q: login_uri %q carries rd %q: %s", target, m[1], rd, allowedLocation(rd))
		}
	}
	resp, _ = sendRaw(t, td, http.MethodGet, target, http.Header{"Cookie": {session.Name + "=" + session.Value}}, "")
	checkRawRedirect(t, "GET "+target+" with a session", resp)
	nonce, _, cookies := loginPage(t, td, "")
	form, csrf := td.google.CallbackForm(td.google.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce}))
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, c := range append(cookies, csrf) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	resp, _ = sendRaw(t, td, http.MethodPost, "/callback?rd="+tt.rd, hdr, form.Encode())
	checkRawRedirect(t, "POST /callback?rd=…", resp)
}

// checkRawRedirect checks an answer to a raw rd: no 5xx, and a redirect
// only to an allowed Location.
func checkRawRedirect(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	loc := resp.Header.Get("Location")
	switch {
	case resp.StatusCode >= 500:
		t.Errorf("%s = %d, want no 5xx", what, resp.StatusCode)
	case loc != "" && allowedLocation(loc) != "":
		t.Errorf("%s: Location %q: %s", what, loc, allowedLocation(loc))
	}
}

// sendRaw sends method target with hdr and body. A target that an HTTP
// client refuses (control characters) is written by hand on a raw
// connection, byte for byte.
func sendRaw(t *testing.T, td *testDoorman, method, target string, hdr http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, td.URL+target, strings.NewReader(body))
	if err == nil {
		req.Header = hdr.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		return readBody(t, td.client, req)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(td.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s HTTP/1.1\r\nHost: doorman\r\nConnection: close\r\nContent-Length: %d\r\n", method, target, len(body))
	for k, vs := range hdr {
		for _, v := range vs {
			fmt.Fprintf(&sb, "%s: %s\r\n", k, v)
		}
	}
	sb.WriteString("\r\n" + body)
	if _, err := io.WriteString(conn, sb.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %q by hand: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// ---------------------------------------------------------------------------
// 2. Session cookies.

// flipAt changes the byte of s at i to another base64url character.
func flipAt(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// flipHighBit flips the highest of the six bits the base64url character of s
// at i stands for. Unlike flipAt it always changes the decoded bytes, also
// at the last character, whose low bits base64 ignores.
func flipHighBit(s string, i int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := []byte(s)
	b[i] = alphabet[strings.IndexByte(alphabet, b[i])^32]
	return string(b)
}

// lastDataIndex is the index of the last non-padding character of s.
func lastDataIndex(s string) int { return len(strings.TrimRight(s, "=")) - 1 }

// cookieAttack is one Cookie header sent to /auth.
type cookieAttack struct {
	name      string
	td        *testDoorman
	lines     []string // Cookie header lines
	wantCode  int
	wantEmail string
}

// TestSecurityCookie sends tampered, truncated, oversized, foreign,
// rotated, quoted, legacy, cross-purpose and duplicated session cookies to
// /auth.
func TestSecurityCookie(t *testing.T) {
	t.Parallel()
	k1, k2 := testCookieKey(), bytes.Repeat([]byte("2"), 32)
	list := "alice@example.com\n[gpt4]\ncarol@example.com\n"
	td := newTestDoorman(t, list, nil) // keys [k1]
	rotated, _ := newLiteDoorman(t, list, func(c *auth.Config) { c.Keys = [][]byte{k2, k1} })
	k1Removed, _ := newLiteDoorman(t, list, func(c *auth.Config) { c.Keys = [][]byte{k2} })
	_, otherName := newLiteDoorman(t, list, func(c *auth.Config) { c.CookieName = "other" })
	_, rotatedH := newLiteDoorman(t, list, func(c *auth.Config) { c.Keys = [][]byte{k2, k1} })
	_, foreign := newLiteDoorman(t, list, func(c *auth.Config) { c.Keys = [][]byte{bytes.Repeat([]byte("3"), 32)} })
	_, sameKey := newLiteDoorman(t, list, nil)
	removed := mintSession(t, sameKey, "removed@example.com").Value // valid, but on no list any more

	v := td.session(t, "alice@example.com").Value
	carol := td.session(t, "carol@example.com").Value
	again := td.session(t, "alice@example.com").Value
	newKeyed := mintSession(t, rotatedH, "alice@example.com").Value
	_, _, nonceCookies := loginPage(t, td, "")
	var nonceValue string
	if c := nonceCookieOf(nonceCookies); c != nil {
		nonceValue = c.Value
	}
	if nonceValue == "" {
		t.Fatal("login page set no doorman-nonce cookie")
	}
	mid, end := len(v)/2, lastDataIndex(v)
	std := strings.NewReplacer("-", "+", "_", "/").Replace(v)
	if std == v {
		std = v[:mid] + "+" + v[mid+1:]
	}
	alice, none := "alice@example.com", ""
	tests := []cookieAttack{
		{"control: valid", td, []string{"doorman=" + v}, 200, alice},
		{"control: second sign-in of the same user", td, []string{"doorman=" + again}, 200, alice},
		{"flip first char", td, []string{"doorman=" + flipAt(v, 0)}, 401, none},
		{"flip middle char", td, []string{"doorman=" + flipAt(v, mid)}, 401, none},
		{"flip last data char", td, []string{"doorman=" + flipHighBit(v, end)}, 401, none},
		{"flip padding", td, []string{"doorman=" + flipAt(v, len(v)-1)}, 401, none},
		{"standard base64 alphabet", td, []string{"doorman=" + std}, 401, none},
		{"padding stripped", td, []string{"doorman=" + strings.TrimRight(v, "=")}, 401, none},
		{"append char", td, []string{"doorman=" + v + "A"}, 401, none},
		{"append padding", td, []string{"doorman=" + v + "="}, 401, none},
		{"prepend char", td, []string{"doorman=A" + v}, 401, none},
		{"percent-encoded padding", td, []string{"doorman=" + strings.ReplaceAll(v, "=", "%3D")}, 401, none},
		{"truncated to 1", td, []string{"doorman=" + v[:1]}, 401, none},
		{"truncated to a quarter", td, []string{"doorman=" + v[:len(v)/4]}, 401, none},
		{"truncated to half", td, []string{"doorman=" + v[:mid]}, 401, none},
		{"truncated by 1", td, []string{"doorman=" + v[:len(v)-1]}, 401, none},
		{"truncated by 2", td, []string{"doorman=" + v[:len(v)-2]}, 401, none},
		{"empty value", td, []string{"doorman="}, 401, none},
		{"5 KB value", td, []string{"doorman=" + strings.Repeat("A", 5<<10)}, 401, none},
		{"valid value padded to 5 KB", td, []string{"doorman=" + v + strings.Repeat("A", 5<<10)}, 401, none},
		{"100 KB header", td, []string{"x=" + strings.Repeat("A", 100<<10) + "; doorman=" + flipAt(v, mid)}, 401, none},
		{"foreign key", td, []string{"doorman=" + mintSession(t, foreign, "alice@example.com").Value}, 401, none},
		{"rotated: old key on the second line still verifies", rotated, []string{"doorman=" + v}, 200, alice},
		{"rotated: new key signs", rotated, []string{"doorman=" + newKeyed}, 200, alice},
		{"rotated: new cookie on a doorman without the new key", td, []string{"doorman=" + newKeyed}, 401, none},
		{"rotated: old key removed", k1Removed, []string{"doorman=" + v}, 401, none},
		{"quoted", td, []string{`doorman="` + v + `"`}, 200, alice},
		{"quoted tampered", td, []string{`doorman="` + flipAt(v, mid) + `"`}, 401, none},
		{"open quote", td, []string{`doorman="` + v}, 401, none},
		{"close quote", td, []string{`doorman=` + v + `"`}, 401, none},
		{"legacy GAU=1", td, []string{"GAU=1"}, 401, none},
		{"legacy GAU=1 as the value", td, []string{"doorman=GAU=1"}, 401, none},
		{"nonce cookie value as session", td, []string{"doorman=" + nonceValue}, 401, none},
		{"session of another cookie name", td, []string{"doorman=" + mintSession(t, otherName, "alice@example.com").Value}, 401, none},
		{"name in upper case", td, []string{"Doorman=" + v}, 401, none},
		{"space before =", td, []string{"doorman =" + v}, 401, none},
		{"longer name", td, []string{"doorman2=" + v}, 401, none},
		{"valid but not on the main list", td, []string{"doorman=" + carol}, 401, none},
		{"duplicate: forged then valid", td, []string{"doorman=" + flipAt(v, mid) + "; doorman=" + v}, 200, alice},
		{"duplicate: valid then forged", td, []string{"doorman=" + v + "; doorman=" + flipAt(v, mid)}, 200, alice},
		{"duplicate: empty then valid", td, []string{"doorman=; doorman=" + v}, 200, alice},
		{"valid but removed from every list", td, []string{"doorman=" + removed}, 401, none},
		{"duplicate: removed user then listed user", td, []string{"doorman=" + removed + "; doorman=" + v}, 200, alice},
		{"duplicate: listed user then removed user", td, []string{"doorman=" + v + "; doorman=" + removed}, 200, alice},
		{"duplicate: user of another list then listed user", td, []string{"doorman=" + carol + "; doorman=" + v}, 200, alice},
		{"duplicate: two Cookie lines, forged first", td, []string{"doorman=" + flipAt(v, 0), "doorman=" + v}, 200, alice},
		{"duplicate: two forged", td, []string{"doorman=" + flipAt(v, 0) + "; doorman=" + flipHighBit(v, end)}, 401, none},
		{"3 junk pairs then valid", td, []string{strings.Repeat("doorman=x; ", 3) + "doorman=" + v}, 200, alice},
		{"5000 junk pairs then valid: only the first four are looked at", td, []string{strings.Repeat("doorman=x; ", 5000) + "doorman=" + v}, 401, none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, email := authWithCookieHeader(t, tt.td, "/auth", tt.lines...)
			if code != tt.wantCode || email != tt.wantEmail {
				t.Errorf("GET /auth = %d %q, want %d %q", code, email, tt.wantCode, tt.wantEmail)
			}
		})
	}
	t.Run("unlisted user on gpt4 list", func(t *testing.T) {
		t.Parallel()
		if code, email := authWithCookieHeader(t, td, "/auth?list=gpt4", "doorman="+v+"; doorman="+carol); code != 200 || email != "carol@example.com" {
			t.Errorf("GET /auth?list=gpt4 with alice then carol = %d %q, want 200 carol@example.com", code, email)
		}
	})
	t.Run("non-canonical base64 is a tampered cookie", func(t *testing.T) {
		t.Parallel()
		// base64 ignores the unused low bits of the last data character, so a
		// few different strings decode to the same signed bytes. doorman
		// accepts only the exact spelling it minted.
		for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
			b := []byte(v)
			if b[end] == byte(c) {
				continue
			}
			b[end] = byte(c)
			if code, email := authWithCookieHeader(t, td, "/auth", "doorman="+string(b)); code != 401 {
				t.Errorf("variant %q of alice's cookie = %d %q, want 401", b[end-2:], code, email)
			}
		}
	})
}

// TestSecurityCookieExpiry moves doorman's clock (Config.Now) around a
// session's expiry.
func TestSecurityCookieExpiry(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64 // added to the real clock, in seconds
	td := newTestDoorman(t, "alice@example.com\n", func(c *auth.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load()) * time.Second) }
	})
	alice := td.session(t, "alice@example.com")
	tests := []struct {
		name     string
		skew     time.Duration
		wantCode int
	}{
		{"fresh", 0, 200},
		{"a minute before expiry", time.Hour - time.Minute, 200},
		{"at expiry", time.Hour, 401},
		{"a day after expiry", 25 * time.Hour, 401},
		{"clock back before issue", -time.Hour, 200},
	}
	for _, tt := range tests { // sequential: they share the clock
		t.Run(tt.name, func(t *testing.T) {
			skew.Store(int64(tt.skew / time.Second))
			if code, _ := authReply(t, td, "/auth", nil, alice); code != tt.wantCode {
				t.Errorf("GET /auth at issue+%s = %d, want %d", tt.skew, code, tt.wantCode)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 3. ID tokens at /callback.

// tokenAttack builds one credential for /callback from the fake Google g and
// the nonce bound to the browser; want is the status it must get.
type tokenAttack struct {
	name    string
	token   func(t *testing.T, g *googletest.Server, nonce string) string
	want    int
	offline bool // refused on its shape alone, without Google's keys
}

// alicePayload is a valid claim set for alice with nonce, for SignRaw.
func alicePayload(g *googletest.Server, nonce string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": "https://accounts.google.com", "aud": g.ClientID, "sub": "1000", "email": "alice@example.com",
		"email_verified": true, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": nonce,
	}
}

// kidOf returns the kid of g's current signing key, read from a token it minted.
func kidOf(t *testing.T, g *googletest.Server) string {
	t.Helper()
	tok := g.Token(t, googletest.Claims{})
	b, err := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
	var h struct{ Kid string }
	if err != nil || json.Unmarshal(b, &h) != nil || h.Kid == "" {
		t.Fatalf("token header %q has no kid", b)
	}
	return h.Kid
}

// signedAs mints a token with claims for alice, edited by edit.
func signedAs(edit func(c *googletest.Claims)) func(*testing.T, *googletest.Server, string) string {
	return func(t *testing.T, g *googletest.Server, nonce string) string {
		c := googletest.Claims{Email: "alice@example.com", Nonce: nonce}
		edit(&c)
		return g.Token(t, c)
	}
}

// rawToken signs alice's claims, edited by editPayload, under header (kid
// "" means g's current one) with alg.
func rawToken(header map[string]any, editPayload func(map[string]any), alg string) func(*testing.T, *googletest.Server, string) string {
	return func(t *testing.T, g *googletest.Server, nonce string) string {
		h := map[string]any{"typ": "JWT", "kid": kidOf(t, g)}
		for k, v := range header {
			if v == nil {
				delete(h, k)
				continue
			}
			h[k] = v
		}
		p := alicePayload(g, nonce)
		if editPayload != nil {
			editPayload(p)
		}
		return g.SignRaw(t, h, p, alg)
	}
}

// withSignature replaces the signature segment of a token made by mk.
func withSignature(sig string, mk func(*testing.T, *googletest.Server, string) string) func(*testing.T, *googletest.Server, string) string {
	return func(t *testing.T, g *googletest.Server, nonce string) string {
		tok := mk(t, g, nonce)
		return tok[:strings.LastIndexByte(tok, '.')+1] + sig
	}
}

// literal returns a fixed credential.
func literal(s string) func(*testing.T, *googletest.Server, string) string {
	return func(*testing.T, *googletest.Server, string) string { return s }
}

func tokenAttacks(other *googletest.Server) []tokenAttack {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	rs := map[string]any{"alg": "RS256"}
	now := time.Now()
	del := func(keys ...string) func(map[string]any) {
		return func(p map[string]any) {
			for _, k := range keys {
				delete(p, k)
			}
		}
	}
	set := func(k string, v any) func(map[string]any) { return func(p map[string]any) { p[k] = v } }
	claim := func(k string, v any) func(*googletest.Claims) {
		return func(c *googletest.Claims) { c.Extra = map[string]any{k: v} }
	}
	return []tokenAttack{
		{"control: Google's token", signedAs(func(*googletest.Claims) {}), 303, false},
		{"control: hand-made RS256 token", rawToken(rs, nil, "RS256"), 303, false},
		{"control: upper-case email", signedAs(func(c *googletest.Claims) { c.Email = "ALICE@EXAMPLE.COM" }), 303, false},
		{"control: issuer without scheme", signedAs(func(c *googletest.Claims) { c.Issuer = "accounts.google.com" }), 303, false},
		// Algorithms and keys.
		{"alg none", rawToken(map[string]any{"alg": "none"}, nil, "none"), 401, true},
		{"alg None", rawToken(map[string]any{"alg": "None"}, nil, "none"), 401, true},
		{"alg NONE with a valid RS256 signature", rawToken(map[string]any{"alg": "NONE"}, nil, "RS256"), 401, true},
		{"alg missing", rawToken(map[string]any{"alg": nil}, nil, "RS256"), 401, true},
		{"HS256 keyed with the public key", rawToken(map[string]any{"alg": "HS256"}, nil, "HS256"), 401, true},
		{"RS256 header, HS256 signature", rawToken(rs, nil, "HS256"), 401, false},
		{"ES256 64-byte signature", rawToken(map[string]any{"alg": "ES256"}, nil, "ES256"), 401, true},
		{"ES256 short signature", withSignature("AA", rawToken(map[string]any{"alg": "ES256"}, nil, "ES256")), 401, true},
		{"ES256 empty signature", withSignature("", rawToken(map[string]any{"alg": "ES256"}, nil, "ES256")), 401, true},
		{"RS256 empty signature", withSignature("", rawToken(rs, nil, "RS256")), 401, false},
		{"RS256 short signature", withSignature("AA", rawToken(rs, nil, "RS256")), 401, false},
		{"RS512", rawToken(map[string]any{"alg": "RS512"}, nil, "RS256"), 401, true},
		{"PS256", rawToken(map[string]any{"alg": "PS256"}, nil, "RS256"), 401, true},
		{"unknown kid", rawToken(map[string]any{"alg": "RS256", "kid": "nope"}, nil, "RS256"), 401, false},
		{"empty kid", rawToken(map[string]any{"alg": "RS256", "kid": ""}, nil, "RS256"), 401, true},
		{"no kid", rawToken(map[string]any{"alg": "RS256", "kid": nil}, nil, "RS256"), 401, true},
		{"kid as a path", rawToken(map[string]any{"alg": "RS256", "kid": "../../oauth2/v3/certs"}, nil, "RS256"), 401, false},
		{"key Google does not publish, same kid", func(t *testing.T, _ *googletest.Server, nonce string) string {
			return other.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce, Audience: googletest.DefaultClientID})
		}, 401, false},
		{"key Google does not publish, with jku", func(t *testing.T, g *googletest.Server, nonce string) string {
			h := map[string]any{"alg": "RS256", "kid": kidOf(t, other), "jku": "https://evil.example.com/certs"}
			return other.SignRaw(t, h, alicePayload(g, nonce), "RS256")
		}, 401, false},
		// Claims, each wrong in turn.
		{"iss other", signedAs(func(c *googletest.Claims) { c.Issuer = "https://evil.example.com" }), 401, false},
		{"iss with suffix", signedAs(func(c *googletest.Claims) { c.Issuer = "https://accounts.google.com.evil.com" }), 401, false},
		{"iss http", signedAs(func(c *googletest.Claims) { c.Issuer = "http://accounts.google.com" }), 401, false},
		{"iss trailing slash", signedAs(func(c *googletest.Claims) { c.Issuer = "https://accounts.google.com/" }), 401, false},
		{"iss missing", signedAs(claim("iss", nil)), 401, false},
		{"aud other", signedAs(func(c *googletest.Claims) { c.Audience = "other.apps.googleusercontent.com" }), 401, false},
		{"aud array", rawToken(rs, set("aud", []string{googletest.DefaultClientID}), "RS256"), 401, false},
		{"aud missing", rawToken(rs, del("aud"), "RS256"), 401, false},
		{"azp other", signedAs(func(c *googletest.Claims) { c.AuthorizedParty = "other.apps.googleusercontent.com" }), 401, false},
		{"exp past", signedAs(func(c *googletest.Claims) { c.Expires, c.IssuedAt = now.Add(-time.Minute), now.Add(-time.Hour) }), 401, false},
		{"exp missing", rawToken(rs, del("exp"), "RS256"), 401, false},
		{"exp string", rawToken(rs, set("exp", fmt.Sprint(now.Add(time.Hour).Unix())), "RS256"), 401, false},
		{"iat 2 minutes ahead", signedAs(func(c *googletest.Claims) { c.IssuedAt = now.Add(2 * time.Minute) }), 401, false},
		{"iat missing", rawToken(rs, del("iat"), "RS256"), 401, false},
		{"nbf 2 minutes ahead", signedAs(func(c *googletest.Claims) { c.NotBefore = now.Add(2 * time.Minute) }), 401, false},
		{"nbf string", signedAs(claim("nbf", "0")), 401, false},
		{"nonce other", signedAs(func(c *googletest.Claims) { c.Nonce = "not-the-bound-one" }), 401, false},
		{"nonce missing", rawToken(rs, del("nonce"), "RS256"), 401, false},
		{"nonce empty", rawToken(rs, set("nonce", ""), "RS256"), 401, false},
		{"email_verified false", signedAs(func(c *googletest.Claims) { c.EmailVerified = googletest.Bool(false) }), 401, false},
		{`email_verified "true"`, signedAs(claim("email_verified", "true")), 401, false},
		{"email_verified 1", signedAs(claim("email_verified", 1)), 401, false},
		{"email_verified missing", signedAs(claim("email_verified", nil)), 401, false},
		{"email missing", signedAs(func(c *googletest.Claims) { c.Email = "" }), 401, false},
		{"email two @", signedAs(func(c *googletest.Claims) { c.Email = "alice@evil.com@example.com" }), 401, false},
		{"email Cyrillic look-alike", signedAs(func(c *googletest.Claims) { c.Email = "\u0430lice@example.com" }), 401, false},
		{"email NUL", signedAs(func(c *googletest.Claims) { c.Email = "alice@example.com\x00" }), 401, false},
		{"email trailing space", signedAs(func(c *googletest.Claims) { c.Email = "alice@example.com " }), 401, false},
		{"email in angle brackets", signedAs(func(c *googletest.Claims) { c.Email = "<alice@example.com>" }), 401, false},
		{"email list", signedAs(func(c *googletest.Claims) { c.Email = "alice@example.com,mallory@example.com" }), 401, false},
		{"email array", rawToken(rs, set("email", []string{"alice@example.com"}), "RS256"), 401, false},
		// Sizes and shapes.
		{"9 KiB token", signedAs(claim("pad", strings.Repeat("A", 9<<10))), 401, true},
		{"two segments", literal(seg(`{"alg":"RS256","kid":"test-key-1"}`) + "." + seg(`{}`)), 401, true},
		{"four segments", withSignature("c2ln.c2ln", rawToken(rs, nil, "RS256")), 401, true},
		{"header not base64", literal("!!!." + seg(`{}`) + ".c2ln"), 401, true},
		{"header not JSON", literal(seg("nope") + "." + seg(`{}`) + ".c2ln"), 401, true},
		{"header JSON array", literal(seg(`["RS256"]`) + "." + seg(`{}`) + ".c2ln"), 401, true},
		{"payload not JSON", literal(seg(`{"alg":"RS256","kid":"test-key-1"}`) + "." + seg("nope") + ".c2ln"), 401, false},
		{"padded segments", func(t *testing.T, g *googletest.Server, nonce string) string {
			return strings.ReplaceAll(g.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce}), ".", "=.")
		}, 401, true},
		{"leading space", func(t *testing.T, g *googletest.Server, nonce string) string {
			return " " + g.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce})
		}, 401, true},
		{"dots only", literal(".."), 401, true},
		{"empty credential", literal(""), 401, true},
	}
}

// TestSecurityToken posts forged, mis-signed, mis-claimed and malformed ID
// tokens to /callback with a valid nonce and CSRF pair, with and without
// --hosted-domain.
func TestSecurityToken(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", nil)
	hd := newTestDoorman(t, "alice@example.com\n", func(c *auth.Config) { c.HostedDomain = "example.com" })
	for _, tt := range tokenAttacks(hd.google) { // hd's Google is "another key" for td
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkTokenAttack(t, td, tt)
		})
	}
	hdAttacks := []tokenAttack{
		{"hd equal", signedAs(func(c *googletest.Claims) { c.HostedDomain = "example.com" }), 303, false},
		{"hd upper case", signedAs(func(c *googletest.Claims) { c.HostedDomain = "EXAMPLE.COM" }), 303, false},
		{"hd other", signedAs(func(c *googletest.Claims) { c.HostedDomain = "evil.com" }), 401, false},
		{"hd missing", signedAs(func(*googletest.Claims) {}), 401, false},
		{"hd subdomain", signedAs(func(c *googletest.Claims) { c.HostedDomain = "sub.example.com" }), 401, false},
		{"hd trailing dot", signedAs(func(c *googletest.Claims) { c.HostedDomain = "example.com." }), 401, false},
		{"hd suffix", signedAs(func(c *googletest.Claims) { c.HostedDomain = "evilexample.com" }), 401, false},
		{"hd Kelvin look-alike", signedAs(func(c *googletest.Claims) { c.HostedDomain = "example.com\u212a" }), 401, false},
		{"hd array", signedAs(func(c *googletest.Claims) { c.Extra = map[string]any{"hd": []string{"example.com"}} }), 401, false},
	}
	for _, tt := range hdAttacks {
		t.Run("hosted domain/"+tt.name, func(t *testing.T) {
			t.Parallel()
			checkTokenAttack(t, hd, tt)
		})
	}
}

// checkTokenAttack posts tt's credential with a valid nonce and CSRF pair:
// a 303 must come with a working session for alice; anything else with no
// session cookie at all.
func checkTokenAttack(t *testing.T, td *testDoorman, tt tokenAttack) {
	t.Helper()
	nonce, loginURI, cookies := loginPage(t, td, "")
	resp, _ := postCredential(t, td, loginURI, tt.token(t, td.google, nonce), cookies)
	if resp.StatusCode != tt.want {
		t.Errorf("POST /callback = %d, want %d", resp.StatusCode, tt.want)
	}
	session := findCookie(resp, "doorman")
	if resp.StatusCode != http.StatusSeeOther {
		if session != nil {
			t.Errorf("refused sign-in set a session cookie")
		}
		return
	}
	if session == nil {
		t.Fatal("303 without a session cookie")
	}
	if code, email := authReply(t, td, "/auth", nil, session); code != 200 || email != "alice@example.com" {
		t.Errorf("GET /auth with the new session = %d %q, want 200 alice@example.com", code, email)
	}
}

// countingReader yields n bytes of 'A' and counts what was read.
type countingReader struct {
	n    int64
	read atomic.Int64 // read by the test while the transport reads the body
}

func (r *countingReader) Read(p []byte) (int, error) {
	done := r.read.Load()
	if done >= r.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n-done)
	for i := range p[:k] {
		p[i] = 'A'
	}
	r.read.Add(k)
	return int(k), nil
}

// TestSecurityTokenHuge posts tokens of 1 and 64 MiB: 413, and doorman stops
// reading after its 64 KiB cap.
func TestSecurityTokenHuge(t *testing.T) {
	t.Parallel()
	td, _ := newLiteDoorman(t, "alice@example.com\n", nil)
	tests := []struct {
		name, ctype, prefix string
		size                int64
	}{
		{"1 MiB token in a form", "application/x-www-form-urlencoded", "g_csrf_token=x&credential=", 1 << 20},
		{"1 MiB token in JSON", "application/json", `{"g_csrf_token":"x","credential":"`, 1 << 20},
		{"64 MiB token in a form", "application/x-www-form-urlencoded", "g_csrf_token=x&credential=", 64 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := &countingReader{n: tt.size}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, td.URL+"/callback",
				io.MultiReader(strings.NewReader(tt.prefix), body))
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(tt.prefix)) + tt.size
			req.Header.Set("Content-Type", tt.ctype)
			req.AddCookie(&http.Cookie{Name: "g_csrf_token", Value: "x"})
			resp, err := td.client.Do(req)
			if err != nil {
				t.Fatalf("POST /callback: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || findCookie(resp, "doorman") != nil {
				t.Errorf("POST /callback with a %d-byte token = %d, want 413 and no session", tt.size, resp.StatusCode)
			}
			t.Logf("client wrote %d of %d body bytes", body.read.Load(), tt.size)
			if read := body.read.Load(); tt.size > 32<<20 && read > tt.size/2 {
				t.Errorf("client wrote %d of %d bytes before the 413: doorman read the body unbounded", read, tt.size)
			}
		})
	}
}

// TestSecurityGoogleUnreachable makes Google's keys unreachable: 503 for a
// well-formed token, 401 for a malformed one (which never needs the keys),
// and sign-in works again once Google is back.
func TestSecurityGoogleUnreachable(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", nil)
	forged := rawToken(map[string]any{"alg": "none"}, nil, "none")
	tests := []struct {
		name   string
		google func(g *googletest.Server)
		token  func(*testing.T, *googletest.Server, string) string
		want   int
	}{
		{"malformed token never needs Google", func(g *googletest.Server) { g.SetUnreachable(true) }, literal("a.b"), 401},
		{"alg none never needs Google", func(g *googletest.Server) { g.SetUnreachable(true) }, forged, 401},
		{"keys 404", func(g *googletest.Server) { g.SetUnreachable(false); g.SetKeysStatus(404) }, signedAs(func(*googletest.Claims) {}), 503},
		{"keys 500", func(g *googletest.Server) { g.SetKeysStatus(500) }, signedAs(func(*googletest.Claims) {}), 503},
		{"network down", func(g *googletest.Server) { g.SetKeysStatus(0); g.SetUnreachable(true) }, signedAs(func(*googletest.Claims) {}), 503},
		{"back: sign-in works again", func(g *googletest.Server) { g.SetUnreachable(false) }, signedAs(func(*googletest.Claims) {}), 303},
	}
	for _, tt := range tests { // sequential: they share Google's state
		t.Run(tt.name, func(t *testing.T) {
			tt.google(td.google)
			checkTokenAttack(t, td, tokenAttack{name: tt.name, token: tt.token, want: tt.want})
		})
	}
	if n := td.google.KeyFetches(); n == 0 {
		t.Error("Google's keys were never fetched")
	}
}

// TestSecurityBadTokensFetchNoKeys checks that tokens refused on their shape
// never make doorman fetch Google's keys.
func TestSecurityBadTokensFetchNoKeys(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", nil)
	for _, tt := range tokenAttacks(td.google) {
		if !tt.offline {
			continue
		}
		nonce, loginURI, cookies := loginPage(t, td, "")
		if resp, _ := postCredential(t, td, loginURI, tt.token(t, td.google, nonce), cookies); resp.StatusCode != 401 {
			t.Errorf("%s: POST /callback = %d, want 401", tt.name, resp.StatusCode)
		}
	}
	if n := td.google.KeyFetches(); n != 0 {
		t.Errorf("refusing malformed tokens fetched Google's keys %d times, want 0", n)
	}
}

// ---------------------------------------------------------------------------
// 4. CSRF (g_csrf_token double submit).

// csrfAttack builds a /callback body for credential and a CSRF value v.
type csrfAttack struct {
	name    string
	build   func(credential, v string) (body, contentType string, cookies []*http.Cookie)
	want    []int // any of these
	inQuery bool  // also send g_csrf_token=v in /callback's query string
}

func csrfAttacks() []csrfAttack {
	const form, jsonType = "application/x-www-form-urlencoded", "application/json"
	csrf := func(v string) *http.Cookie { return &http.Cookie{Name: "g_csrf_token", Value: v} }
	formBody := func(pairs ...string) string {
		vals := url.Values{}
		for i := 0; i < len(pairs); i += 2 {
			vals.Add(pairs[i], pairs[i+1])
		}
		return vals.Encode()
	}
	jsonBody := func(fields map[string]any) string { b, _ := json.Marshal(fields); return string(b) }
	ok, bad, either := []int{303}, []int{400}, []int{303, 400}
	return []csrfAttack{
		{"control: form", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf(v)}
		}, ok, false},
		{"control: JSON", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": v}), jsonType, []*http.Cookie{csrf(v)}
		}, ok, false},
		{"cookie missing", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, nil
		}, bad, false},
		{"field missing", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c), form, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"mismatch", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v+"x"), form, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"mismatch by case", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", strings.ToLower(v)), form, []*http.Cookie{csrf(strings.ToUpper(v))}
		}, bad, false},
		{"empty both", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", ""), form, []*http.Cookie{csrf("")}
		}, bad, false},
		{"empty cookie", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf("")}
		}, bad, false},
		{"empty field", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", ""), form, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"cookie twice, field matches neither", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf(v + "1"), csrf(v + "2")}
		}, bad, false},
		{"cookie twice, field matches the first", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf(v), csrf(v + "2")}
		}, either, false},
		{"cookie twice, field matches the second", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf(v + "1"), csrf(v)}
		}, either, false},
		{"field twice, the second matches", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v+"1", "g_csrf_token", v), form, []*http.Cookie{csrf(v)}
		}, either, false},
		{"cookie name in upper case", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{{Name: "G_CSRF_TOKEN", Value: v}}
		}, bad, false},
		{"field only in the query", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c), form, []*http.Cookie{csrf(v)}
		}, bad, true},
		{"JSON field missing", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c}), jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"JSON mismatch", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": "x"}), jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"JSON field a number", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": 1}), jsonType, []*http.Cookie{csrf("1")}
		}, bad, false},
		{"JSON field null", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": nil}), jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"JSON array", func(c, v string) (string, string, []*http.Cookie) { return "[1]", jsonType, []*http.Cookie{csrf(v)} }, bad, false},
		{"JSON trailing garbage", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": v}) + "{", jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"JSON body labelled as a form", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": v}), form, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"form body labelled as JSON", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"no content type", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), "", []*http.Cookie{csrf(v)}
		}, []int{415}, false},
		{"multipart", func(c, v string) (string, string, []*http.Cookie) {
			return "--b\r\n\r\n--b--\r\n", "multipart/form-data; boundary=b", []*http.Cookie{csrf(v)}
		}, []int{415}, false},
	}
}

// TestSecurityCSRF posts valid tokens with broken g_csrf_token double
// submits, as forms and as JSON.
func TestSecurityCSRF(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", nil)
	for _, tt := range csrfAttacks() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nonce, loginURI, nonceCookies := loginPage(t, td, "")
			v := strings.Repeat("Zq", 12) + fmt.Sprint(len(tt.name))
			body, ctype, cookies := tt.build(td.google.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce}), v)
			target := loginURI
			if tt.inQuery {
				target += "?g_csrf_token=" + v
			}
			hdr := http.Header{}
			if ctype != "" {
				hdr.Set("Content-Type", ctype)
			}
			resp, _ := td.do(t, http.MethodPost, target, strings.NewReader(body), hdr, append(cookies, nonceCookies...)...)
			if !slices.Contains(tt.want, resp.StatusCode) {
				t.Errorf("POST /callback = %d, want one of %v", resp.StatusCode, tt.want)
			}
			if session := findCookie(resp, "doorman"); (session != nil) != (resp.StatusCode == http.StatusSeeOther) {
				t.Errorf("POST /callback = %d with session cookie %v; want a session exactly on 303", resp.StatusCode, session != nil)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 5. Whitelist files, end to end through /auth after each edit.

// TestSecurityWhitelistFile rewrites the whitelist with hostile content and
// checks, through /auth, who gets in once each version is loaded (a marker
// entry per version tells when).
func TestSecurityWhitelistFile(t *testing.T) {
	t.Parallel()
	td, h := newLiteDoorman(t, "", nil)
	tests := []struct {
		name          string
		content       string
		markerLast    bool // put the reload marker at the end (the BOM must stay first)
		allowed, nope []string
	}{
		{"BOM", "\ufeffalice@example.com\nbob@example.com\n", true, []string{"alice", "bob"}, nil},
		{"BOM not first is no BOM", "alice@example.com\n\ufeffbob@example.com\n", false, []string{"alice"}, []string{"bob"}},
		{"CRLF", "alice@example.com\r\nbob@example.com\r\n", false, []string{"alice", "bob"}, nil},
		{"CR only joins lines (fails closed)", "alice@example.com\rbob@example.com\r", false, nil, []string{"alice", "bob"}},
		{"NUL after entry", "alice@example.com\x00\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"NUL inside entry", "ali\x00ce@example.com\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"NUL line", "\x00\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"10 MB line", strings.Repeat("a", 10<<20) + "\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"10 MB line ending in an entry", strings.Repeat("x", 10<<20) + "alice@example.com\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"Kelvin sign K", "\u212aate@example.com\n", false, nil, []string{"kate"}},
		{"Cyrillic a", "\u0430lice@example.com\n", false, nil, []string{"alice"}},
		{"fullwidth at", "alice\uff20example.com\n", false, nil, []string{"alice"}},
		{"upper case entry", "KATE@EXAMPLE.COM\n", false, []string{"kate"}, nil},
		{"duplicate entries", "alice@example.com\nalice@example.com\nALICE@example.com\n", false, []string{"alice"}, []string{"bob"}},
		{"spaces and tabs around", " \talice@example.com \t\n", false, []string{"alice"}, nil},
		{"inline comment fails closed", "alice@example.com # the boss\n", false, nil, []string{"alice"}},
		{"domain entry", "@example.com\n", false, []string{"alice", "a@example.com"}, []string{"a@sub.example.com", "a@evilexample.com", "a@example.com.evil.com"}},
		{"domain entry upper case", "@EXAMPLE.COM\n", false, []string{"a@example.com"}, []string{"a@sub.example.com"}},
		{"wildcard is no entry", "*@example.com\n*.example.com\n", false, nil, []string{"a@example.com", "a@sub.example.com"}},
		{"dot domain is no entry", "@.example.com\n", false, nil, []string{"a@sub.example.com", "a@example.com"}},
		{"section entries stay out of main", "[gpt4]\nalice@example.com\n", false, nil, []string{"alice"}},
		{"entries after a bad header belong to no list", "[bad name]\nalice@example.com\n", false, nil, []string{"alice"}},
		{"empty file", "", false, nil, []string{"alice", "bob", "a@example.com"}},
	}
	cookies := map[string]*http.Cookie{}
	session := func(who string) *http.Cookie {
		email := who
		if !strings.Contains(who, "@") {
			email = who + "@example.com"
		}
		if cookies[email] == nil {
			cookies[email] = mintSession(t, h, email)
		}
		return cookies[email]
	}
	for i, tt := range tests { // sequential: they edit one file
		t.Run(tt.name, func(t *testing.T) {
			marker := fmt.Sprintf("v%d@marker.example.org", i)
			content := marker + "\n" + tt.content
			if tt.markerLast {
				content = tt.content + "\n" + marker + "\n"
			}
			replaceFile(t, td.whitelist, content)
			waitFor(t, time.Second, "whitelist version "+marker+" loaded", func() bool {
				code, _ := authReply(t, td, "/auth", nil, session(marker))
				return code == 200
			})
			if i > 0 {
				if code, _ := authReply(t, td, "/auth", nil, session(fmt.Sprintf("v%d@marker.example.org", i-1))); code != 401 {
					t.Errorf("previous version's marker = %d, want 401", code)
				}
			}
			for _, who := range tt.allowed {
				if code, _ := authReply(t, td, "/auth", nil, session(who)); code != 200 {
					t.Errorf("GET /auth as %s = %d, want 200", who, code)
				}
			}
			for _, who := range tt.nope {
				if code, _ := authReply(t, td, "/auth", nil, session(who)); code != 401 {
					t.Errorf("GET /auth as %s = %d, want 401", who, code)
				}
			}
		})
	}
}

// replaceFile replaces path's content atomically (write and rename), so that
// no reload ever sees half a file.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// 6. Client-sent identity and forwarding headers.

// TestSecurityHeaders sends identity and forwarding headers a client could
// forge: no /auth decision, list or login_uri may change.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", nil)
	alice, carol := td.session(t, "alice@example.com"), td.session(t, "carol@example.com")
	bearer := "Bearer " + td.google.Token(t, googletest.Claims{Email: "carol@example.com"})
	spoofs := []struct {
		name string
		hdr  http.Header
		host string
	}{
		{"X-Auth-Request-Email", http.Header{"X-Auth-Request-Email": {"carol@example.com"}}, ""},
		{"X-Auth-Request-User", http.Header{"X-Auth-Request-User": {"carol"}}, ""},
		{"X-Forwarded-User", http.Header{"X-Forwarded-User": {"carol@example.com"}}, ""},
		{"X-Forwarded-Email", http.Header{"X-Forwarded-Email": {"carol@example.com"}}, ""},
		{"X-Original-URL", http.Header{"X-Original-Url": {"/auth?list=gpt4"}}, ""},
		{"X-Original-URI", http.Header{"X-Original-Uri": {"https://gpt4.example.com/"}}, ""},
		{"X-Rewrite-URL", http.Header{"X-Rewrite-Url": {"/auth?list=gpt4"}}, ""},
		{"X-Forwarded-Host", http.Header{"X-Forwarded-Host": {"gpt4.example.com"}}, ""},
		{"X-Forwarded-For", http.Header{"X-Forwarded-For": {"127.0.0.1, 10.0.0.1"}}, ""},
		{"X-Forwarded-Proto", http.Header{"X-Forwarded-Proto": {"https"}}, ""},
		{"X-Real-IP", http.Header{"X-Real-Ip": {"127.0.0.1"}}, ""},
		{"Forwarded", http.Header{"Forwarded": {"for=127.0.0.1;host=gpt4.example.com;proto=https"}}, ""},
		{"X-HTTP-Method-Override", http.Header{"X-Http-Method-Override": {"OPTIONS"}}, ""},
		{"User-Agent", http.Header{"User-Agent": {"GoogleHC/1.0"}}, ""},
		{"Authorization: Bearer valid token", http.Header{"Authorization": {bearer}}, ""},
		{"Authorization: Basic", http.Header{"Authorization": {"Basic Y2Fyb2w6eA=="}}, ""},
		{"Host", nil, "gpt4.example.com"},
		{"all at once", http.Header{
			"X-Auth-Request-Email": {"carol@example.com"}, "X-Forwarded-User": {"carol@example.com"},
			"X-Original-Url": {"/auth?list=gpt4"}, "X-Forwarded-Host": {"gpt4.example.com"},
			"X-Forwarded-For": {"127.0.0.1"}, "X-Real-Ip": {"127.0.0.1"}, "Authorization": {bearer},
		}, "gpt4.example.com"},
	}
	type want struct {
		code  int
		email string
	}
	sessions := []struct {
		name   string
		cookie *http.Cookie
		want   map[string]want // by path
	}{
		{"no session", nil, map[string]want{"/auth": {401, ""}, "/auth?list=gpt4": {401, ""}}},
		{"alice", alice, map[string]want{"/auth": {200, "alice@example.com"}, "/auth?list=gpt4": {401, ""}}},
		{"carol", carol, map[string]want{"/auth": {401, ""}, "/auth?list=gpt4": {200, "carol@example.com"}}},
	}
	for _, sp := range spoofs {
		t.Run(sp.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range sessions {
				for path, w := range s.want {
					resp, body := sendWithHost(t, td, http.MethodGet, path, nil, sp.hdr, sp.host, s.cookie)
					checkAuthReply(t, "GET "+path, resp, body)
					if got := (want{resp.StatusCode, resp.Header.Get("X-Auth-Request-Email")}); got != w {
						t.Errorf("%s: GET %s = %+v, want %+v as without the header", s.name, path, got, w)
					}
				}
			}
			resp, body := sendWithHost(t, td, http.MethodGet, "/login?rd=%2Fback", nil, sp.hdr, sp.host)
			if m := loginURIAttr.FindStringSubmatch(body); resp.StatusCode != 200 || m == nil || html.UnescapeString(m[1]) != "/callback?rd=%2Fback" {
				t.Errorf("GET /login = %d, login_uri %q; want 200 and /callback?rd=%%2Fback", resp.StatusCode, m)
			}
			resp, _ = sendWithHost(t, td, http.MethodGet, "/login?rd=%2Fback", nil, sp.hdr, sp.host, alice)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/back" {
				t.Errorf("GET /login with a session = %d %q, want 303 /back", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 7. Sizes and slowness, against the real http.Server configuration.

// startRealServer serves h through newHTTPServer, run()'s own server
// configuration, on a loopback listener, and returns its address.
func startRealServer(t *testing.T, h *auth.Handler, ready func() bool) (string, *http.Server) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := newHTTPServer(newServer(h, ready, mustPages(t), logger))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), srv
}

// TestSecuritySizes sends oversized headers, queries, cookies and bodies to
// run()'s own http.Server configuration.
func TestSecuritySizes(t *testing.T) {
	t.Parallel()
	_, h := newLiteDoorman(t, "alice@example.com\n", nil)
	addr, _ := startRealServer(t, h, func() bool { return true })
	alice := "doorman=" + mintSession(t, h, "alice@example.com").Value
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	big := strings.Repeat("A", 100<<10)
	tests := []struct {
		name, method, path string
		hdr                http.Header
		body               string
		chunked            bool
		want               int
	}{
		{"100 KB cookie header", "GET", "/auth", http.Header{"Cookie": {"x=" + big + "; " + alice}}, "", false, 431},
		{"1000 headers", "GET", "/auth", manyHeaders(1000, 100), "", false, 431},
		{"100 KB query", "GET", "/login?rd=/" + big, nil, "", false, 431},
		{"60 KB cookie header with a valid session", "GET", "/auth", http.Header{"Cookie": {"x=" + big[:60<<10] + "; " + alice}}, "", false, 200},
		{"5 KB session cookie", "GET", "/auth", http.Header{"Cookie": {"doorman=" + big[:5<<10]}}, "", false, 401},
		{"callback body 1 MB", "POST", "/callback", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "credential=" + strings.Repeat(big, 10), false, 413},
		{"callback body 1 MB chunked", "POST", "/callback", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "credential=" + strings.Repeat(big, 10), true, 413},
		{"50 KB rd is dropped", "GET", "/login?rd=/" + big[:50<<10], nil, "", false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // hides the length: chunked
				}
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, "http://"+addr+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.hdr {
				req.Header[k] = v
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.name, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.name, resp.StatusCode, tt.want)
			}
			if strings.HasPrefix(tt.path, "/auth") && tt.want != 431 {
				checkAuthReply(t, tt.name, resp, string(b))
			}
			if m := loginURIAttr.FindStringSubmatch(string(b)); strings.HasPrefix(tt.path, "/login") && tt.want == 200 && (m == nil || m[1] != "/callback") {
				t.Errorf("%s: login_uri = %q, want /callback without the over-long rd", tt.name, m)
			}
		})
	}
}

// manyHeaders returns n headers of size bytes each.
func manyHeaders(n, size int) http.Header {
	h := http.Header{}
	for i := range n {
		h.Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("p", size))
	}
	return h
}

// TestSecuritySlowloris trickles one header byte per 100 ms: run()'s server
// must close the connection about ReadHeaderTimeout after it opened.
func TestSecuritySlowloris(t *testing.T) {
	t.Parallel()
	_, h := newLiteDoorman(t, "alice@example.com\n", nil)
	addr, srv := startRealServer(t, h, func() bool { return true })
	bound := srv.ReadHeaderTimeout + 2*time.Second
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "POST /callback HTTP/1.1\r\nHost: doorman\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { // the server's answer, if any, then its close
		_, err := io.Copy(io.Discard, bufio.NewReader(conn))
		closed <- err
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for {
		select {
		case <-closed:
			elapsed := time.Since(start)
			if elapsed > bound {
				t.Errorf("server closed the slow connection after %s, want within %s", elapsed, bound)
			}
			if elapsed < srv.ReadHeaderTimeout/2 || sent < 10 {
				t.Errorf("server closed after %s and %d trickled bytes; want it to wait for ReadHeaderTimeout (%s)", elapsed, sent, srv.ReadHeaderTimeout)
			}
			return
		case <-tick.C:
			if time.Since(start) > bound {
				t.Fatalf("server kept a connection that sends one header byte per 100ms open for %s (ReadHeaderTimeout %s)", bound, srv.ReadHeaderTimeout)
			}
			if _, err := conn.Write([]byte("a")); err == nil {
				sent++
			}
		}
	}
}

// ---------------------------------------------------------------------------
// 8. Panic safety.

// panickingAllowlist panics on every question, like a bug in a list would.
type panickingAllowlist struct{}

func (panickingAllowlist) Contains(string, string) bool { panic("allowlist exploded") }
func (panickingAllowlist) ListsOf(string) []string      { panic("allowlist exploded") }
func (panickingAllowlist) ReportUnknown(string)         { panic("allowlist exploded") }

// TestSecurityPanic serves doorman over an allowlist that panics: an empty
// 401 on /auth, a 500 page elsewhere, one log line with a stack, and the
// process still serving.
func TestSecurityPanic(t *testing.T) {
	t.Parallel()
	g := googletest.NewServer(t)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	h := mustHandler(t, auth.Config{
		ClientID: g.ClientID, Allowlist: panickingAllowlist{}, Keys: [][]byte{testCookieKey()},
		CookieName: "doorman", CookieTTL: time.Hour, HTTPClient: g.Client(), Logger: logger, Context: t.Context(),
	})
	srv := httptest.NewServer(newServer(h, func() bool { return true }, mustPages(t), logger))
	t.Cleanup(srv.Close)
	td := &testDoorman{URL: srv.URL, google: g, logs: logs, client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	session := mintSession(t, h, "alice@example.com")
	tests := []struct {
		name     string
		send     func(t *testing.T) (*http.Response, string)
		wantCode int
		isAuth   bool
	}{
		{"GET /auth", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodGet, "/auth", nil, nil, session)
		}, 401, true},
		{"HEAD /auth", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodHead, "/auth", nil, nil, session)
		}, 401, true},
		{"GET /auth?list=gpt4", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodGet, "/auth?list=gpt4", nil, nil, session)
		}, 401, true},
		{"GET /login with a session", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodGet, "/login", nil, nil, session)
		}, 500, false},
		{"GET / with a session", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodGet, "/", nil, nil, session)
		}, 500, false},
		{"POST /callback with a valid token", func(t *testing.T) (*http.Response, string) {
			return signInAt(t, td, "/callback", googletest.Claims{Email: "alice@example.com"})
		}, 500, false},
	}
	for _, tt := range tests { // sequential: each must add exactly one panic log line
		t.Run(tt.name, func(t *testing.T) {
			beforeLen := len(logs.String())
			resp, body := tt.send(t)
			if resp.StatusCode != tt.wantCode {
				t.Errorf("%s = %d, want %d", tt.name, resp.StatusCode, tt.wantCode)
			}
			if tt.isAuth {
				checkAuthReply(t, tt.name, resp, body)
			} else if !strings.Contains(body, "<html") || strings.Contains(body, "exploded") || findCookie(resp, "doorman") != nil {
				t.Errorf("%s: want an HTML error page without the panic and without a session cookie:\n%s", tt.name, body)
			}
			logged := logs.String()[beforeLen:]
			if got := strings.Count(logged, `"msg":"panic"`); got != 1 {
				t.Errorf("%s logged %d panic lines, want 1", tt.name, got)
			}
			if got := strings.Count(logged, "allowlist exploded"); got != 1 {
				// Found by this test: recoverer logged "panic", then handed the
				// same error to errorHandler, which logged it again as a 500.
				t.Errorf("regression: %s logged the panic in %d lines, want once:\n%s", tt.name, got, logged)
			}
			if strings.Contains(logged, `"stack":""`) {
				// Found by this test: RecoverConfig.DisablePrintStack also stops
				// Echo from capturing the stack it passes to LogErrorFunc.
				t.Errorf("regression: %s logged the panic without a stack trace", tt.name)
			}
			if resp, _ := td.do(t, http.MethodGet, "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("GET /healthz after the panic = %d, want 200", resp.StatusCode)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 9. The shape of /auth answers, whatever the method or path spelling.

// TestSecurityAuthMethods sends /auth every method and some path spellings.
func TestSecurityAuthMethods(t *testing.T) {
	t.Parallel()
	td, h := newLiteDoorman(t, "alice@example.com\n", nil)
	alice := mintSession(t, h, "alice@example.com")
	methods := []struct {
		method   string
		wantCode int // with a valid session
	}{
		{http.MethodGet, 200}, {http.MethodHead, 200},
		{http.MethodPost, 401}, {http.MethodPut, 401}, {http.MethodDelete, 401}, {http.MethodPatch, 401},
		{http.MethodOptions, 401}, {http.MethodTrace, 401}, {"PROPFIND", 401}, {"FOO", 401},
	}
	for _, tt := range methods {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()
			for _, c := range []*http.Cookie{nil, alice} {
				resp, body := sendWithHost(t, td, tt.method, "/auth", nil, nil, "", c)
				want := tt.wantCode
				if c == nil {
					want = 401
				}
				if resp.StatusCode != want {
					// Found by this test: Echo's router answered OPTIONS /auth
					// itself with 204 No Content, without a session; nginx
					// auth_request reads any 2xx as "allow".
					t.Errorf("regression: %s /auth (session %v) = %d, want %d", tt.method, c != nil, resp.StatusCode, want)
				}
				checkAuthReply(t, tt.method+" /auth", resp, body)
			}
		})
	}
	paths := []string{"/auth/", "/Auth", "/auth;list=gpt4", "/%61uth", "/auth%00", "//auth", "/auth/..", "/./auth"}
	for _, p := range paths {
		t.Run("path "+p, func(t *testing.T) {
			t.Parallel()
			resp, _ := sendWithHost(t, td, http.MethodGet, p, nil, nil, "", alice)
			if resp.StatusCode < 400 && resp.StatusCode != 200 || resp.StatusCode >= 500 {
				t.Errorf("GET %s with a session = %d, want 200 or 4xx", p, resp.StatusCode)
			}
			if resp.StatusCode == 200 && resp.Header.Get("X-Auth-Request-Email") != "alice@example.com" {
				t.Errorf("GET %s = 200 without alice's email", p)
			}
		})
	}
}

// TestSecurityNoDemoRoutes checks that a normal doorman (a client ID, no demo
// accounts) signs nobody in without Google: demo mode's sign-in button and
// pages do not exist on it.
func TestSecurityNoDemoRoutes(t *testing.T) {
	t.Parallel()
	td, _ := newLiteDoorman(t, "alice@example.com\n", nil)
	form := url.Values{"email": {"alice@example.com"}, "nonce": {"x"}}.Encode()
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, p := range []string{"/demo/signin", "/demo/", "/demo/main/"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, body := td.do(t, method, p, strings.NewReader(form), hdr)
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed || findCookie(resp, "doorman") != nil {
				t.Errorf("%s %s on a normal doorman = %d, session cookie %v; want 404 or 405 and none:\n%.200s",
					method, p, resp.StatusCode, findCookie(resp, "doorman") != nil, body)
			}
		}
	}
}
