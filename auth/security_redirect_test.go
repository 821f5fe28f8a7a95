package auth

// Open redirects: every rd an attacker might pass to /login and /callback,
// escaped and raw, and every Location doorman sends on the way.

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"doorman/auth/googletest"
)

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
	td := newTestDoorman(t, "alice@example.com\n", testConfig{auth: func(c *Config) { c.CookieSecure = true }})
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
		// A session of its own: /logout ends the session it is sent,
		// which the subtests beside this one still use.
		own := mintSession(t, td.h, "alice@example.com")
		for _, p := range paths {
			for _, c := range []*http.Cookie{nil, own} {
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
