package auth

// Cross-site requests against every POST route: the test walks the routes
// NewServer registers and fails on any POST it does not know how to
// attack, so that a new POST cannot skip the CSRF and Origin checks
// unnoticed.

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// postGuard is how a POST route keeps other sites from using a visitor's
// browser against it.
type postGuard string

const (
	// ownForm: a live session, that session's CSRF token in the form and,
	// when sent, doorman's own Origin (ownPost).
	ownForm postGuard = "session, CSRF token and Origin"
	// googleCSRF: /callback, which Google's page posts from Google's
	// origin: the g_csrf_token cookie and field must match
	// (TestSecurityCSRF attacks it in depth).
	googleCSRF postGuard = "g_csrf_token double submit"
	// nonceBound: the demo's sign-in, whose nonce must be one this
	// browser's login page bound.
	nonceBound postGuard = "nonce bound to the browser"
	// originOnly: the demo's stand-in for an app's counted API route,
	// which like the app behind nginx takes no CSRF token; a foreign or
	// null Origin is refused.
	originOnly postGuard = "Origin"
	// noCookie: endpoints for programs, which act on no cookie at all: a
	// device code is anyone's, and /tokens/revoke needs the token itself
	// in Authorization, which no other site can make a browser send.
	noCookie postGuard = "no ambient credential"
)

// postGuards names the guard of every POST route doorman has, in any mode.
var postGuards = map[string]postGuard{
	"/sessions/end":     ownForm,
	"/sessions/end-all": ownForm,
	"/tokens":           ownForm,
	"/tokens/end":       ownForm,
	"/device":           ownForm,
	"/callback":         googleCSRF,
	"/demo/signin":      nonceBound,
	"/demo/:list/ask":   originOnly,
	"/device/code":      noCookie,
	"/device/token":     noCookie,
	"/tokens/revoke":    noCookie,
}

// TestSecurityEveryPostIsGuarded walks the routes of a normal doorman and
// a demo one, device sign-in on in both, and fails on a POST route the
// tests here do not attack.
func TestSecurityEveryPostIsGuarded(t *testing.T) {
	t.Parallel()
	device := func(c *Config) { c.DeviceSignIn, c.PublicURL = true, devicePublicURL }
	seen := map[string]bool{}
	for _, tc := range []testConfig{
		{offline: true, auth: device},
		{offline: true, auth: func(c *Config) { device(c); c.ClientID, c.DemoAccounts = "", []string{"alice@demo.example"} }},
	} {
		td := newTestDoorman(t, "alice@demo.example\n", tc)
		e, ok := NewServer(td.h, ServerConfig{Pages: mustPages(t)}).(*echo.Echo)
		if !ok {
			t.Fatal("NewServer is no longer an *echo.Echo: walk its routes another way")
		}
		for _, r := range e.Routes() {
			if r.Method != http.MethodPost {
				continue
			}
			seen[r.Path] = true
			if _, ok := postGuards[r.Path]; !ok {
				t.Errorf("POST %s has no entry in postGuards: say how it refuses cross-site requests, and attack it in this file", r.Path)
			}
		}
	}
	for path := range postGuards {
		if !seen[path] {
			t.Errorf("postGuards names POST %s, which no doorman serves any more", path)
		}
	}
}

// postFixture is a doorman with device sign-in, alice signed in twice,
// bob once, a token of alice's and a device code waiting for approval.
type postFixture struct {
	td                 *testDoorman
	alice, other, bob  *http.Cookie
	token              string
	code               deviceCodeAnswer
	aliceCSRF, bobCSRF string
}

func newPostFixture(t *testing.T, edit func(*Config)) *postFixture {
	t.Helper()
	var skew atomic.Int64
	f := &postFixture{td: deviceDoorman(t, &skew, edit)}
	f.alice, f.other, f.bob = mintSession(t, f.td.h, "alice@example.com"), mintSession(t, f.td.h, "alice@example.com"), mintSession(t, f.td.h, "bob@example.com")
	f.aliceCSRF, f.bobCSRF = f.td.h.csrfToken(sessionOf(t, f.td, f.alice)), f.td.h.csrfToken(sessionOf(t, f.td, f.bob))
	f.token = makeToken(t, f.td.h.store, "alice@example.com", "ci", time.Hour, "gpt4")
	f.code = askCode(t, f.td, url.Values{"list": {"gpt4"}})
	waitFor(t, 5*time.Second, "alice's token known", func() bool { return f.tokenLive(t) })
	return f
}

// tokenLive reports whether alice's token is admitted at /auth?list=gpt4.
func (f *postFixture) tokenLive(t *testing.T) bool {
	return authWith(t, f.td, "gpt4", "Authorization", "Bearer "+f.token, nil).StatusCode == http.StatusOK
}

// unchanged reports what of alice's state has changed, "" when nothing:
// both sessions live, the one token, the device code still pending.
func (f *postFixture) unchanged(t *testing.T) string {
	t.Helper()
	switch {
	case authStatus(t, f.td, f.alice) != http.StatusOK || authStatus(t, f.td, f.other) != http.StatusOK:
		return "a session of alice's was ended"
	case !f.tokenLive(t) || len(mustTokens(t, f.td, "alice@example.com")) != 1:
		return "alice's tokens changed"
	}
	if _, err := f.td.h.store.DeviceCodeByUser(t.Context(), f.code.UserCode, time.Now()); err != nil {
		return "the device code was decided"
	}
	return ""
}

// ownFormPosts are the form posts of doorman's own pages: what each sends
// to change something of alice's.
var ownFormPosts = map[string]func(f *postFixture, t *testing.T) url.Values{
	"/sessions/end":     func(f *postFixture, t *testing.T) url.Values { return url.Values{"id": {sessionOf(t, f.td, f.other)}} },
	"/sessions/end-all": func(*postFixture, *testing.T) url.Values { return url.Values{} },
	"/tokens": func(*postFixture, *testing.T) url.Values {
		return url.Values{"name": {"planted"}, "list": {"gpt4"}, "days": {"365"}}
	},
	"/tokens/end": func(f *postFixture, _ *testing.T) url.Values { return url.Values{"id": {tokenID(tokenHash(f.token))}} },
	"/device": func(f *postFixture, _ *testing.T) url.Values {
		return url.Values{"code": {f.code.UserCode}, "decision": {"approve"}}
	},
}

// TestSecurityOwnFormPosts sends each of doorman's own form posts as a
// cross-site request would come: without the CSRF token, with another
// session's or a mangled one, with the token only in the query, with a
// foreign, null or doubled Origin. Each is a 403 and changes nothing;
// the same post done right then changes what it should.
func TestSecurityOwnFormPosts(t *testing.T) {
	t.Parallel()
	for path, guard := range postGuards {
		if guard != ownForm {
			continue
		}
		if ownFormPosts[path] == nil {
			t.Errorf("POST %s is guarded by %s but ownFormPosts has no form for it", path, guard)
			continue
		}
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			f := newPostFixture(t, nil)
			form := ownFormPosts[path](f, t)
			attacks := []struct {
				name, csrf, query string
				origin            []string
			}{
				{"no CSRF token", "", "", []string{devicePublicURL}},
				{"another session's CSRF token", f.bobCSRF, "", []string{devicePublicURL}},
				{"a CSRF token with a byte changed", flip(f.aliceCSRF, 5), "", []string{devicePublicURL}},
				{"the CSRF token cut short", f.aliceCSRF[:len(f.aliceCSRF)-1], "", []string{devicePublicURL}},
				{"the CSRF token only in the query", "", "?csrf=" + url.QueryEscape(f.aliceCSRF), []string{devicePublicURL}},
				{"a foreign Origin", f.aliceCSRF, "", []string{"https://evil.example"}},
				{"a look-alike Origin", f.aliceCSRF, "", []string{devicePublicURL + ".evil.example"}},
				{"Origin null", f.aliceCSRF, "", []string{"null"}},
				{"two Origins, ours first", f.aliceCSRF, "", []string{devicePublicURL, "https://evil.example"}},
			}
			for _, a := range attacks {
				resp := postOwnForm(t, f, path+a.query, form, a.csrf, a.origin, f.alice)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s with %s = %d, want 403", path, a.name, resp.StatusCode)
				}
				if what := f.unchanged(t); what != "" {
					t.Fatalf("POST %s with %s: %s, want nothing changed", path, a.name, what)
				}
			}
			if resp := postOwnForm(t, f, path, form, f.aliceCSRF, nil, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with alice's CSRF token but no session = %d, want 403", path, resp.StatusCode)
			}
			resp := postOwnForm(t, f, path, form, f.aliceCSRF, []string{devicePublicURL}, f.alice)
			if resp.StatusCode >= 400 || f.unchanged(t) == "" {
				t.Errorf("control: POST %s done right = %d and changed nothing; the attacks above prove nothing", path, resp.StatusCode)
			}
		})
	}
}

// postOwnForm posts form with csrf (none when "") and the Origin headers
// origins, as cookie's browser.
func postOwnForm(t *testing.T, f *postFixture, path string, form url.Values, csrf string, origins []string, cookie *http.Cookie) *http.Response {
	t.Helper()
	form = cloneValues(form)
	if csrf != "" {
		form.Set("csrf", csrf)
	}
	hdr := formHeader()
	hdr["Origin"] = origins
	var cookies []*http.Cookie
	if cookie != nil {
		cookies = append(cookies, cookie)
	}
	resp, _ := f.td.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), hdr, cookies...)
	return resp
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// TestSecurityPostsWithoutCookieAuthority: the routes that take no CSRF
// token, sent as another site's page would make alice's browser send them
// (her session cookie, a foreign Origin, a form), do nothing of alice's:
// /callback and the program endpoints act on no cookie.
func TestSecurityPostsWithoutCookieAuthority(t *testing.T) {
	t.Parallel()
	f := newPostFixture(t, nil)
	forms := map[string]url.Values{
		"/device/code":   {"list": {"gpt4"}, "name": {"planted"}},
		"/device/token":  {"grant_type": {deviceGrantType}, "device_code": {f.code.DeviceCode}},
		"/tokens/revoke": {"token": {f.token}},
	}
	for path, guard := range postGuards {
		if guard != noCookie {
			continue
		}
		form, ok := forms[path]
		if !ok {
			t.Errorf("POST %s is guarded by %s but this test has no form for it", path, guard)
			continue
		}
		resp := postOwnForm(t, f, path, form, f.aliceCSRF, []string{"https://evil.example"}, f.alice)
		if resp.StatusCode == http.StatusOK && path != "/device/code" {
			t.Errorf("POST %s as another site's form with alice's cookie = 200, want a refusal", path)
		}
		if what := f.unchanged(t); what != "" {
			t.Errorf("POST %s as another site's form with alice's cookie: %s, want nothing changed", path, what)
		}
	}
	// /callback without Google's double submit: a 400, no new session.
	resp := postOwnForm(t, f, "/callback", url.Values{"credential": {"x.y.z"}}, f.aliceCSRF, []string{"https://evil.example"}, f.alice)
	if resp.StatusCode != http.StatusBadRequest || findCookie(resp, "doorman") != nil {
		t.Errorf("POST /callback as another site's form = %d, session cookie %v; want 400 and none", resp.StatusCode, findCookie(resp, "doorman") != nil)
	}
}

// demoNonceRE finds the nonce of the demo login page's forms.
var demoNonceRE = regexp.MustCompile(`name="nonce" value="([^"]+)"`)

// TestSecurityDemoPosts: the demo's sign-in takes only a nonce this
// browser's login page bound, and its counted route refuses a foreign or
// null Origin without counting.
func TestSecurityDemoPosts(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@demo.example\n[gpt4]\nbudget 5/day\nalice@demo.example\n", testConfig{offline: true, auth: func(c *Config) {
		c.ClientID, c.DemoAccounts = "", []string{"alice@demo.example"}
	}})
	resp, body := td.do(t, http.MethodGet, "/login", nil, nil)
	m := demoNonceRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET /login in demo mode = %d without a nonce:\n%s", resp.StatusCode, body)
	}
	nonce, cookies := m[1], resp.Cookies()
	hdr := formHeader()
	hdr.Set("Origin", "https://evil.example")
	for _, tt := range []struct {
		name, nonce string
		cookies     []*http.Cookie
	}{
		{"no nonce", "", cookies},
		{"a nonce not bound to this browser", nonce, nil},
		{"a made-up nonce", "AAAAAAAAAAAAAAAAAAAAAA", cookies},
	} {
		form := url.Values{"email": {"alice@demo.example"}, "nonce": {tt.nonce}}
		resp, _ := td.do(t, http.MethodPost, "/demo/signin", strings.NewReader(form.Encode()), hdr, tt.cookies...)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || findCookie(resp, "doorman") != nil {
			t.Errorf("POST /demo/signin with %s = %d, session cookie %v; want a 4xx and none", tt.name, resp.StatusCode, findCookie(resp, "doorman") != nil)
		}
	}
	form := url.Values{"email": {"alice@demo.example"}, "nonce": {nonce}}
	hdr.Set("Origin", td.URL)
	if resp, _ := td.do(t, http.MethodPost, "/demo/signin", strings.NewReader(form.Encode()), hdr, cookies...); resp.StatusCode != http.StatusSeeOther || findCookie(resp, "doorman") == nil {
		t.Errorf("control: POST /demo/signin with the bound nonce = %d, want 303 and a session", resp.StatusCode)
	}
	alice := mintSession(t, td.h, "alice@demo.example")
	for _, origin := range []string{"https://evil.example", "null", "http://127.0.0.1:1"} {
		hdr.Set("Origin", origin)
		if resp, _ := td.do(t, http.MethodPost, "/demo/gpt4/ask", nil, hdr, alice); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /demo/gpt4/ask with Origin %s = %d, want 403", origin, resp.StatusCode)
		}
	}
	hdr.Set("Origin", td.URL)
	resp, _ = td.do(t, http.MethodPost, "/demo/gpt4/ask", nil, hdr, alice)
	if left := resp.Header.Get("X-Doorman-Budget-Remaining"); resp.StatusCode != http.StatusOK || left != "4" {
		t.Errorf("POST /demo/gpt4/ask from doorman's own page = %d, %q left; want 200 and 4 of 5 (the refused ones counted nothing)", resp.StatusCode, left)
	}
}
