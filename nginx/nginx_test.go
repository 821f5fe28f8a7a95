// Package nginx_test runs the doorman binary behind a real nginx configured
// with doorman.conf, the example operators copy, and drives the whole
// sign-in through it (../../shared/CONTRACT.md §2, §3, §6).
package nginx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
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

	"doorman/auth/googletest"
)

// doormanBin is the doorman binary, built once by TestMain and only read
// by the tests.
var doormanBin string

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
	cmd := exec.Command("go", "build", "-o", doormanBin, "doorman")
	cmd.Dir = ".."
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
	gpt4Path      = "/v1/models"
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
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { step.run(t, s) }) {
			return // later steps build on this one
		}
	}
}

// testEdges: plain HTTP is redirected to HTTPS; TLS for a host nginx does
// not serve is refused.
func testEdges(t *testing.T, s *stack) {
	resp, _ := s.get(t, s.anon, fmt.Sprintf("http://chat.example.com:%d/hello", s.httpPort), nil)
	wantRedirect(t, resp, http.StatusMovedPermanently, "https://chat.example.com/hello")
	req := newRequest(t, http.MethodGet, s.url("other", "/"), nil)
	if resp, err := s.anon.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s = %d, want a refused TLS handshake", req.URL, resp.StatusCode)
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
}

// testIdentityHeader: the app gets doorman's X-Auth-Request-Email, never the
// client's, and none of the other identity headers the client forged.
func testIdentityHeader(t *testing.T, s *stack) {
	forged := http.Header{"X-Auth-Request-Email": {"mallory@evil.com", "root@example.com"}}
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

// loginURL is where nginx sends a visitor without a session: doorman's
// sign-in page with the site's list and rd, unescaped and last.
func (s *stack) loginURL(list, rd string) string {
	q := "rd=" + rd
	if list != "" {
		q = "list=" + list + "&" + q
	}
	return s.url("auth", "/login?"+q)
}

var (
	nonceAttr    = regexp.MustCompile(`data-nonce="([^"]+)"`)
	loginURIAttr = regexp.MustCompile(`data-login_uri="([^"]+)"`)
)

// signIn opens the sign-in page at login, checks its login_uri carries rd
// on auth.example.com, and posts what Google would post for email.
func (s *stack) signIn(t *testing.T, login, rd, email string) *http.Response {
	t.Helper()
	resp, body := s.get(t, s.client, login, nil)
	nonce, uri := nonceAttr.FindStringSubmatch(body), loginURIAttr.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || nonce == nil || uri == nil {
		t.Fatalf("GET %s = %d, want 200 with data-nonce and data-login_uri:\n%s", login, resp.StatusCode, body)
	}
	callback, err := url.Parse(html.UnescapeString(uri[1]))
	if err != nil {
		t.Fatal(err)
	}
	if want := s.url("auth", "/callback"); callback.Scheme+"://"+callback.Host+callback.Path != want || callback.Query().Get("rd") != rd {
		t.Fatalf("login_uri = %s, want %s with rd=%s", callback, want, rd)
	}
	form, csrf := s.google.CallbackForm(s.google.Token(t, googletest.Claims{Email: email, Nonce: nonce[1]}))
	s.jar.SetCookies(callback, []*http.Cookie{csrf}) // Google's cookie, on doorman's host
	req := newRequest(t, http.MethodPost, callback.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ = do(t, s.client, req)
	return resp
}

// sessionCookie returns the session cookie the jar holds for the sites.
func (s *stack) sessionCookie(t *testing.T) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(s.url("chat", "/"))
	for _, c := range s.jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("cookie jar holds no %s for %s", sessionCookie, u)
	return nil
}

// get sends a GET with hdr through c and returns the response with its body read.
func (s *stack) get(t *testing.T, c *http.Client, rawURL string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req := newRequest(t, http.MethodGet, rawURL, nil)
	maps.Copy(req.Header, hdr)
	return do(t, c, req)
}

func newRequest(t *testing.T, method, rawURL string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// do sends req and returns the response with its body read and closed.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

// wantRedirect fails unless resp is a code redirect to exactly loc, and returns loc.
func wantRedirect(t *testing.T, resp *http.Response, code int, loc string) string {
	t.Helper()
	if got := resp.Header.Get("Location"); resp.StatusCode != code || got != loc {
		t.Fatalf("%s %s = %d Location %q, want %d Location %q",
			resp.Request.Method, resp.Request.URL, resp.StatusCode, got, code, loc)
	}
	return loc
}

// wantApp fails unless resp is the named app's 200 answer, and returns it.
func wantApp(t *testing.T, resp *http.Response, body, name string) appSaw {
	t.Helper()
	var saw appSaw
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %d, want 200 from the %s app:\n%s", resp.Request.Method, resp.Request.URL, resp.StatusCode, name, body)
	}
	if err := json.Unmarshal([]byte(body), &saw); err != nil || saw.App != name {
		t.Fatalf("%s %s answered %q, want the %s app's JSON (%v)", resp.Request.Method, resp.Request.URL, body, name, err)
	}
	return saw
}

// findCookie returns the Set-Cookie named name in resp, or nil.
func findCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// resolve resolves a Location against the URL it came from.
func resolve(t *testing.T, base, loc string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	l, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return b.ResolveReference(l).String()
}

// TestDoormanRejectsBadSettings: the real binary refuses bad configuration
// with a non-zero exit and exactly one line on stderr naming the setting
// (CONTRACT §1).
func TestDoormanRejectsBadSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  []string
		want string // the setting the one line must name
	}{
		{"bad duration flag", []string{"--client-id=x", "--cookie-ttl=7x"}, nil, "cookie-ttl"},
		{"bad duration env", []string{"--client-id=x"}, []string{"DOORMAN_COOKIE_TTL=7x"}, "DOORMAN_COOKIE_TTL"},
		{"missing client id", nil, nil, "--client-id"},
		{"blank client id env", nil, []string{"DOORMAN_GOOGLE_CLIENT_ID= "}, "DOORMAN_GOOGLE_CLIENT_ID"},
		{"negative ttl", []string{"--client-id=x", "--cookie-ttl=-1h"}, nil, "--cookie-ttl"},
		{"bad log format", []string{"--client-id=x", "--log-format=xml"}, nil, "--log-format"},
		{"world-readable secret file", []string{"--client-id=x", "--secret-file=open.key"}, nil, "--secret-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := runDoorman(t, tt.args, tt.env)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("doorman %q: %v, want a non-zero exit; stderr:\n%s", tt.args, err, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "doorman: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("doorman %q stderr = %q, want one line naming %q", tt.args, stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("doorman %q stdout = %q, want nothing", tt.args, stdout)
			}
		})
	}
}

// runDoorman runs the binary in a fresh directory holding a good whitelist
// and a world-readable key file open.key; args and env come last and win.
func runDoorman(t *testing.T, args, env []string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "whitelist.txt"), alice+"\n")
	openKey := filepath.Join(dir, "open.key")
	writeFile(t, openKey, strings.Repeat("QUFB", 12)+"\n")
	if err := os.Chmod(openKey, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	base := []string{"--listen=127.0.0.1:0", "--whitelist=whitelist.txt", "--secret-file=doorman.key"}
	cmd := exec.CommandContext(ctx, doormanBin, append(base, args...)...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
