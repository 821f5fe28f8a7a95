// Package nginx_test runs the doorman binary behind a real nginx configured
// with doorman.conf, the example operators copy, and drives the whole
// sign-in through it (README "Endpoints", "One sign-in, several sites").
package nginx_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// doormanBin is the doorman binary, built once by TestMain and only read
// by the tests.
var doormanBin string

// shippedFlags are the Dockerfile's build flags (with CGO_ENABLED=0): the
// tests, and the load benchmark's figures, are for doorman as it ships.
var shippedFlags = []string{"-trimpath", "-ldflags=-s -w"}

func TestMain(m *testing.M) { os.Exit(buildAndRun(m)) }

// buildAndRun builds doorman from the module root into a temporary
// directory, runs the tests and removes the directory.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "doorman-nginx-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	doormanBin = filepath.Join(dir, "doorman")
	args, env := append([]string{"build", "-o", doormanBin}, shippedFlags...), []string{"CGO_ENABLED=0"}
	if raceEnabled {
		args, env = []string{"build", "-o", doormanBin, "-race"}, nil // the race detector needs cgo
	}
	cmd := exec.Command("go", append(args, "doorman")...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build doorman: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

const (
	alice         = "alice@example.com"
	bob           = "bob@example.com"
	sessionCookie = "__Secure-doorman"
	chatPath      = "/hello?a=1&b=2" // rd must keep its "&" through the whole round trip
	gpt4Path      = "/chat/new"
	forgedIP      = "203.0.113.99" // a client-sent X-Real-IP that must not reach doorman
)

// whitelistFile is a whitelist file with main on the main list and gpt4 on
// the [gpt4] list.
func whitelistFile(main, gpt4 []string) string {
	return strings.Join(main, "\n") + "\n[gpt4]\n" + strings.Join(gpt4, "\n") + "\n"
}

func TestNginx(t *testing.T) {
	t.Parallel()
	s := newStack(t, whitelistFile([]string{bob, alice}, []string{bob}))
	steps := []struct {
		name string
		run  func(*testing.T, *stack)
	}{
		{"plain HTTP and unknown hosts", testEdges},
		{"signed out: redirect to sign-in", testSignedOut},
		{"sign in through nginx", testSignIn},
		{"app sees doorman's email only", testIdentityHeader},
		{"two sites, one sign-in", testTwoSites},
		{"whitelist removal revokes the session", testRevoke},
		{"auth host hides /auth", testAuthHostPages},
		{"keep-alive to doorman", testKeepAlive},
		{"sign out", testSignOut},
		{"a language picked holds through nginx and sign-in", testLanguageChoice},
		{"a token made on the tokens page opens a site", testTokensPage},
		{"sessions page and sign out everywhere", testSessionsPage},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { step.run(t, s) }) {
			return // later steps build on this one
		}
	}
}

// testEdges: plain HTTP is redirected to HTTPS; TLS for a host nginx does
// not serve is refused, and so is a request whose Host names no site.
func testEdges(t *testing.T, s *stack) {
	resp, _ := s.get(t, s.anon, fmt.Sprintf("http://chat.example.com:%d/hello", s.httpPort), nil)
	wantRedirect(t, resp, http.StatusMovedPermanently, "https://chat.example.com/hello")
	unknownSNI := newRequest(t, http.MethodGet, s.url("other", "/"), nil)
	unknownHost := newRequest(t, http.MethodGet, s.url("chat", "/"), nil)
	unknownHost.Host = "other.example.com"
	for _, req := range []*http.Request{unknownSNI, unknownHost} {
		if resp, err := s.anon.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("GET %s (Host %s) = %d, want the connection refused or closed", req.URL, req.Host, resp.StatusCode)
		}
	}
}

// testSignedOut: without a session each site redirects to the sign-in page
// with its list and an unescaped rd last, and a forged identity header
// changes nothing. The app is never reached.
func testSignedOut(t *testing.T, s *stack) {
	for _, site := range []struct {
		app  *app
		url  string
		list string
	}{
		{s.chat, s.url("chat", chatPath), ""},
		{s.gpt4, s.url("gpt4", gpt4Path), "gpt4"},
	} {
		hits := site.app.hits.Load()
		resp, _ := s.get(t, s.client, site.url, http.Header{"X-Auth-Request-Email": {alice}})
		wantRedirect(t, resp, http.StatusFound, s.loginURL(site.list, site.url))
		if got := site.app.hits.Load(); got != hits {
			t.Errorf("%s app requests = %d, want %d: reached without a session", site.app.name, got, hits)
		}
	}
}

// testSignIn follows the redirect to the sign-in page, signs alice in with
// the fake Google and checks the session cookie covers every site.
func testSignIn(t *testing.T, s *stack) {
	chat := s.url("chat", chatPath)
	resp, _ := s.get(t, s.client, chat, nil)
	login := wantRedirect(t, resp, http.StatusFound, s.loginURL("", chat))
	resp = s.signIn(t, login, chat, alice)
	wantRedirect(t, resp, http.StatusSeeOther, chat)
	c := findCookie(resp, sessionCookie)
	if c == nil {
		t.Fatalf("POST /callback set no %s cookie; Set-Cookie %q", sessionCookie, resp.Header.Values("Set-Cookie"))
	}
	if c.Domain != "example.com" || c.Path != "/" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
		t.Errorf("session cookie = %s, want Domain=example.com; Path=/; Max-Age>0; HttpOnly; Secure; SameSite=Lax", c)
	}
	if got := s.google.ProxiedHosts(); !slices.Contains(got, "www.googleapis.com:443") {
		t.Errorf("proxied hosts = %q, want www.googleapis.com:443: doorman did not fetch Google's keys through HTTPS_PROXY", got)
	}
	if logs := s.logs(); strings.Contains(logs, forgedIP) {
		t.Errorf("doorman logged the client's forged X-Real-IP %s: nginx passed it on\n%s", forgedIP, logs)
	}
}

// testIdentityHeader: the app gets doorman's X-Auth-Request-Email, never the
// client's, and none of the other identity headers the client forged.
func testIdentityHeader(t *testing.T, s *stack) {
	forged := http.Header{
		"X-Auth-Request-Email": {"mallory@evil.com", "root@example.com"},
		"X_Auth_Request_Email": {"mallory@evil.com"},
	}
	for _, h := range identityHeaders() {
		forged.Set(h, "mallory@evil.com")
	}
	resp, body := s.get(t, s.client, s.url("chat", chatPath), forged)
	saw := wantApp(t, resp, body, "chat")
	if !slices.Equal(saw.Email, []string{alice}) {
		t.Errorf("app saw X-Auth-Request-Email %q, want only %q", saw.Email, alice)
	}
	if len(saw.Identity) > 0 {
		t.Errorf("app saw forged identity headers %v, want none", saw.Identity)
	}
	if saw.URI != chatPath {
		t.Errorf("app saw request URI %q, want %q", saw.URI, chatPath)
	}
}

// testTwoSites: alice, on the main list only, uses chat but is turned away
// from gpt4 with the 403 page (not a loop) until she is added to [gpt4].
func testTwoSites(t *testing.T, s *stack) {
	gpt4 := s.url("gpt4", gpt4Path)
	resp, _ := s.get(t, s.client, gpt4, nil)
	login := wantRedirect(t, resp, http.StatusFound, s.loginURL("gpt4", gpt4))
	resp, body := s.get(t, s.client, login, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, alice) {
		t.Fatalf("GET %s = %d, want 403 naming %s:\n%s", login, resp.StatusCode, alice, body)
	}
	resp, body = s.get(t, s.client, s.url("chat", chatPath), nil)
	wantApp(t, resp, body, "chat")

	writeFile(t, s.whitelist, whitelistFile([]string{bob, alice}, []string{bob, alice}))
	waitFor(t, time.Second, "alice let into gpt4.example.com", func() bool {
		resp, _ := s.get(t, s.client, gpt4, nil)
		return resp.StatusCode == http.StatusOK
	})
	resp, body = s.get(t, s.client, gpt4, nil)
	if saw := wantApp(t, resp, body, "gpt4"); !slices.Equal(saw.Email, []string{alice}) {
		t.Errorf("gpt4 app saw X-Auth-Request-Email %q, want %q", saw.Email, alice)
	}
	resp, _ = s.get(t, s.client, login, nil)
	wantRedirect(t, resp, http.StatusSeeOther, gpt4)
}

// testRevoke: removing alice from the file turns her existing session away
// at her next request; adding her back lets the same session in again.
func testRevoke(t *testing.T, s *stack) {
	chat, gpt4 := s.url("chat", chatPath), s.url("gpt4", gpt4Path)
	writeFile(t, s.whitelist, whitelistFile([]string{bob}, []string{bob}))
	waitFor(t, time.Second, "alice sent to sign in on chat.example.com", func() bool {
		resp, _ := s.get(t, s.client, chat, nil)
		return resp.StatusCode == http.StatusFound && resp.Header.Get("Location") == s.loginURL("", chat)
	})
	resp, _ := s.get(t, s.client, gpt4, nil)
	wantRedirect(t, resp, http.StatusFound, s.loginURL("gpt4", gpt4))

	writeFile(t, s.whitelist, whitelistFile([]string{bob, alice}, []string{bob}))
	waitFor(t, time.Second, "alice let into chat.example.com again", func() bool {
		resp, _ := s.get(t, s.client, chat, nil)
		return resp.StatusCode == http.StatusOK
	})
}

// testAuthHostPages: auth.example.com serves doorman's pages but answers
// nginx's 404 for /auth in every spelling, and for the health endpoints;
// a protected site's internal auth location is not reachable either.
func testAuthHostPages(t *testing.T, s *stack) {
	hidden := []string{
		s.url("auth", "/auth"), s.url("auth", "/auth?list=gpt4"), s.url("auth", "/auth/"),
		s.url("auth", "//auth"), s.url("auth", "/login/../auth"), s.url("auth", "/%61uth"),
		s.url("auth", "/healthz"), s.url("auth", "/readyz"), s.url("auth", "/metrics"),
		s.url("chat", "/_doorman/auth"), s.url("gpt4", "/_doorman/auth"),
	}
	for _, u := range hidden {
		resp, body := s.get(t, s.client, u, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "<center>nginx</center>") {
			t.Errorf("GET %s = %d, want nginx's 404:\n%s", u, resp.StatusCode, body)
		}
		if got := resp.Header.Get("X-Auth-Request-Email"); got != "" {
			t.Errorf("GET %s: X-Auth-Request-Email = %q, want none", u, got)
		}
	}
	for _, p := range []string{"/static/style.css", "/"} {
		if resp, body := s.get(t, s.client, s.url("auth", p), nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET auth.example.com%s = %d, want 200:\n%s", p, resp.StatusCode, body)
		}
	}
}

// testKeepAlive: nginx reuses its connection to doorman after both 401 and
// 200 auth answers, because doorman sends them with Content-Length: 0.
func testKeepAlive(t *testing.T, s *stack) {
	chat := s.url("chat", chatPath)
	before := s.conns.count()
	for range 10 {
		resp, _ := s.get(t, s.anon, chat, nil)
		wantRedirect(t, resp, http.StatusFound, s.loginURL("", chat))
		resp, body := s.get(t, s.client, chat, nil)
		wantApp(t, resp, body, "chat")
	}
	if got := s.conns.count() - before; got > 1 {
		t.Errorf("nginx opened %d connections to doorman for 20 auth sub-requests, want at most 1 (keepalive)", got)
	}
	session := s.sessionCookie(t)
	for _, tt := range []struct {
		name    string
		cookies []*http.Cookie
		status  int
		email   string
	}{
		{"no cookie", nil, http.StatusUnauthorized, ""},
		{"session", []*http.Cookie{session}, http.StatusOK, alice},
	} {
		req := newRequest(t, http.MethodGet, "http://"+s.doorman+"/auth", nil)
		for _, c := range tt.cookies {
			req.AddCookie(c)
		}
		resp, body := do(t, http.DefaultClient, req)
		if resp.StatusCode != tt.status || resp.Header.Get("Content-Length") != "0" || body != "" ||
			resp.Header.Get("X-Auth-Request-Email") != tt.email {
			t.Errorf("doorman /auth (%s) = %d, Content-Length %q, email %q, body %q; want %d, \"0\", %q, empty",
				tt.name, resp.StatusCode, resp.Header.Get("Content-Length"), resp.Header.Get("X-Auth-Request-Email"), body,
				tt.status, tt.email)
		}
	}
}

// testSignOut: /logout clears the cookie for the whole domain and sends
// alice to a sign-in page that does not sign her back in; the sites then
// redirect her to sign in again.
func testSignOut(t *testing.T, s *stack) {
	logout := s.url("auth", "/logout")
	resp, _ := s.get(t, s.client, logout, nil)
	loc := wantRedirect(t, resp, http.StatusSeeOther, "/login")
	c := findCookie(resp, sessionCookie)
	expired := c != nil && (c.MaxAge < 0 || !c.Expires.IsZero() && c.Expires.Before(time.Now()))
	if !expired || c.Domain != "example.com" || c.Path != "/" {
		t.Errorf("GET %s Set-Cookie %q, want %s expired with Domain=example.com; Path=/", logout, resp.Header.Values("Set-Cookie"), sessionCookie)
	}
	next := resolve(t, logout, loc)
	resp, body := s.get(t, s.client, next, nil)
	if resp.StatusCode != http.StatusOK || !nonceAttr.MatchString(body) {
		t.Errorf("GET %s = %d, want the sign-in page:\n%s", next, resp.StatusCode, body)
	}
	chat := s.url("chat", chatPath)
	resp, _ = s.get(t, s.client, chat, nil)
	wantRedirect(t, resp, http.StatusFound, s.loginURL("", chat))
}

// testLanguageChoice: Korean picked on the auth host (?hl=, as the pages'
// language links do) is a cookie on the whole domain, so the login page that
// nginx's redirect from a site leads to, the 403 page once signed in and
// the signed-in page all stay Korean, though the browser asks for English.
func testLanguageChoice(t *testing.T, s *stack) {
	english := http.Header{"Accept-Language": {"en-US,en;q=0.9"}}
	resp, _ := s.get(t, s.client, s.url("auth", "/login?hl=ko"), english)
	c := findCookie(resp, "doorman-hl")
	if c == nil || c.Value != "ko" || c.Domain != "example.com" || c.Path != "/" || !c.Secure || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("GET /login?hl=ko Set-Cookie %q, want doorman-hl=ko; Domain=example.com; Path=/; Secure; SameSite=Lax", resp.Header.Values("Set-Cookie"))
	}
	gpt4 := s.url("gpt4", gpt4Path)
	resp, _ = s.get(t, s.client, gpt4, english)
	login := wantRedirect(t, resp, http.StatusFound, s.loginURL("gpt4", gpt4))
	resp, body := s.get(t, s.client, login, english)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<html lang="ko">`) {
		t.Errorf("GET %s after nginx's redirect = %d, want the login page in Korean:\n%s", login, resp.StatusCode, body)
	}
	if resp = s.signIn(t, login, gpt4, alice); resp.StatusCode != http.StatusForbidden { // alice is on the main list only now
		t.Fatalf("sign-in for gpt4 = %d, want 403", resp.StatusCode)
	}
	resp, body = s.get(t, s.client, login, english)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `<html lang="ko">`) {
		t.Errorf("GET %s signed in = %d, want the 403 page in Korean:\n%s", login, resp.StatusCode, body)
	}
	resp, body = s.get(t, s.client, s.url("auth", "/"), english)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<html lang="ko">`) || !strings.Contains(body, alice) {
		t.Errorf("GET auth.example.com/ = %d, want the signed-in page in Korean:\n%s", resp.StatusCode, body)
	}
}

// csrfField finds a form's CSRF token on a page.
var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// tokenOnPage finds a new token on the page that shows it; tokenIDField
// the id an end button posts.
var (
	tokenOnPage  = regexp.MustCompile(`doorman_[0-9A-Za-z]{38}`)
	tokenIDField = regexp.MustCompile(`name="id" value="([^"]+)"`)
)

// testTokensPage: the auth host serves the tokens page and its forms
// through nginx; a token made there opens the chat site without a cookie,
// and once ended there no longer does.
func testTokensPage(t *testing.T, s *stack) {
	resp, body := s.get(t, s.client, s.url("auth", "/tokens"), nil)
	csrf := csrfField.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || csrf == nil {
		t.Fatalf("GET auth.example.com/tokens = %d, want the tokens page with a form:\n%s", resp.StatusCode, body)
	}
	post := func(path string, form url.Values) (*http.Response, string) {
		form.Set("csrf", html.UnescapeString(csrf[1]))
		req := newRequest(t, http.MethodPost, s.url("auth", path), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", strings.TrimSuffix(s.url("auth", "/"), "/"))
		return do(t, s.client, req)
	}
	resp, body = post("/tokens", url.Values{"name": {"ci"}, "list": {""}, "days": {"1"}})
	token := tokenOnPage.FindString(body)
	if resp.StatusCode != http.StatusOK || token == "" {
		t.Fatalf("POST auth.example.com/tokens = %d, want a new token:\n%s", resp.StatusCode, body)
	}
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	chat := s.url("chat", chatPath)
	resp, body = s.get(t, s.anon, chat, bearer)
	if saw := wantApp(t, resp, body, "chat"); !slices.Equal(saw.Email, []string{alice}) {
		t.Errorf("with the token the app saw X-Auth-Request-Email %q, want %q", saw.Email, alice)
	}
	_, body = s.get(t, s.client, s.url("auth", "/tokens"), nil)
	id := tokenIDField.FindStringSubmatch(body)
	if id == nil || strings.Contains(body, token) {
		t.Fatalf("GET auth.example.com/tokens after: want the token listed with an end button, not shown:\n%s", body)
	}
	resp, _ = post("/tokens/end", url.Values{"id": {html.UnescapeString(id[1])}})
	wantRedirect(t, resp, http.StatusSeeOther, "/tokens")
	resp, _ = s.get(t, s.anon, chat, bearer)
	wantRedirect(t, resp, http.StatusFound, s.loginURL("", chat))
}

// testSessionsPage: the auth host serves the sessions page and its forms
// through nginx; "sign out everywhere" posted from it (with the auth
// host's Origin, as a browser sends it) ends the session, and a copy of
// the cookie kept aside no longer opens the chat site.
func testSessionsPage(t *testing.T, s *stack) {
	resp, body := s.get(t, s.client, s.url("auth", "/sessions"), nil)
	token := csrfField.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || token == nil || !strings.Contains(body, alice) {
		t.Fatalf("GET auth.example.com/sessions = %d, want alice's sessions with a form:\n%s", resp.StatusCode, body)
	}
	copied := s.sessionCookie(t)
	req := newRequest(t, http.MethodPost, s.url("auth", "/sessions/end-all"), strings.NewReader("csrf="+url.QueryEscape(html.UnescapeString(token[1]))))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", strings.TrimSuffix(s.url("auth", "/"), "/"))
	resp, _ = do(t, s.client, req)
	wantRedirect(t, resp, http.StatusSeeOther, "/login")
	chat := s.url("chat", chatPath)
	resp, _ = s.get(t, s.anon, chat, http.Header{"Cookie": {copied.Name + "=" + copied.Value}})
	wantRedirect(t, resp, http.StatusFound, s.loginURL("", chat))
}
