package main

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"doorman/auth"
)

// demoRun is doorman --demo running in-process through run().
type demoRun struct {
	URL       string // http://127.0.0.1:port
	whitelist string // the demo whitelist's path
	stdout    *syncBuffer
	logs      *syncBuffer
	client    *http.Client // keeps cookies, does not follow redirects
}

var (
	demoURLRE       = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`)
	demoWhitelistRE = regexp.MustCompile(`(/\S+/whitelist\.txt)`)
)

// startDemo runs doorman --demo with args and env, and stops it at the end
// of the test, checking it exits cleanly and deletes its whitelist.
func startDemo(t *testing.T, env map[string]string, args ...string) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoRun{stdout: &syncBuffer{}, logs: &syncBuffer{}}
	done := make(chan error, 1)
	args = append([]string{"--demo", "--listen=127.0.0.1:0"}, args...)
	go func() { done <- run(ctx, args, fakeEnv(env), d.stdout, d.logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo run() = %v, want nil after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("demo did not stop within 10s")
		}
		if _, err := os.Stat(d.whitelist); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("demo left its whitelist %s behind (stat: %v)", d.whitelist, err)
		}
	})
	waitFor(t, 5*time.Second, "demo start-up banner", func() bool {
		select {
		case err := <-done:
			t.Fatalf("demo run() = %v before serving; logs:\n%s", err, d.logs.String())
		default:
		}
		return demoWhitelistRE.MatchString(d.stdout.String())
	})
	d.URL = demoURLRE.FindString(d.stdout.String())
	d.whitelist = demoWhitelistRE.FindStringSubmatch(d.stdout.String())[1]
	jar, _ := cookiejar.New(nil)
	d.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return d
}

// get sends a GET with the demo client's cookies and returns the response and body.
func (d *demoRun) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	return d.send(t, http.MethodGet, path, nil)
}

// send sends a request (form is posted when not nil) and reads the body.
func (d *demoRun) send(t *testing.T, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, d.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return readBody(t, d.client, req)
}

var (
	demoActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	demoNonceRE  = regexp.MustCompile(`name="nonce" value="([^"]+)"`)
)

// signIn opens /login?query and presses "Sign in as" email, returning the
// sign-in response.
func (d *demoRun) signIn(t *testing.T, query, email string) (*http.Response, string) {
	t.Helper()
	resp, body := d.get(t, "/login?"+query)
	action, nonce := demoActionRE.FindStringSubmatch(body), demoNonceRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || action == nil || nonce == nil {
		t.Fatalf("GET /login?%s = %d without demo forms:\n%s", query, resp.StatusCode, body)
	}
	return d.send(t, http.MethodPost, html.UnescapeString(action[1]), url.Values{"email": {email}, "nonce": {nonce[1]}})
}

func TestDemoFlow(t *testing.T) {
	t.Parallel()
	d := startDemo(t, nil)
	resp, _ := d.get(t, "/demo/")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/login?rd=%2Fdemo%2F" {
		t.Fatalf("GET /demo/ signed out = %d %q, want 302 /login?rd=%%2Fdemo%%2F", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = d.signIn(t, "rd=%2Fdemo%2F", "alice@demo.example")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/demo/" {
		t.Fatalf("sign in as alice = %d %q, want 303 /demo/", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := findCookie(resp, auth.DemoCookieName); c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("demo session cookie = %+v, want an HttpOnly, SameSite=Lax %s cookie", c, auth.DemoCookieName)
	}
	for _, path := range []string{"/demo/", "/demo/gpt4/"} {
		if resp, body := d.get(t, path); resp.StatusCode != http.StatusOK || !strings.Contains(body, "alice@demo.example") {
			t.Errorf("GET %s as alice = %d, want 200 naming her", path, resp.StatusCode)
		}
	}
	if err := os.WriteFile(d.whitelist, []byte("bob@demo.example\n[gpt4]\nalice@demo.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "alice revoked on the main list", func() bool {
		resp, _ := d.get(t, "/demo/")
		return resp.StatusCode == http.StatusFound
	})
	if resp, _ := d.get(t, "/demo/gpt4/"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /demo/gpt4/ after the main-list edit = %d, want 200 (alice is still on gpt4)", resp.StatusCode)
	}
	if resp, body := d.get(t, "/login?rd=%2Fdemo%2F"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "alice@demo.example") {
		t.Errorf("GET /login as revoked alice = %d, want the 403 page naming her", resp.StatusCode)
	}
	if resp, _ := d.get(t, "/logout?rd=%2Fdemo%2F"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /logout = %d, want 303", resp.StatusCode)
	}
	if _, body := d.get(t, "/login?rd=%2Fdemo%2F"); !strings.Contains(body, "You have signed out.") {
		t.Errorf("login page after sign-out does not say so:\n%s", body)
	}
	resp, body := d.signIn(t, "list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "mallory@demo.example")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "mallory@demo.example") || findCookie(resp, auth.DemoCookieName) != nil {
		t.Errorf("sign in as mallory = %d, want 403 naming her and no session cookie:\n%s", resp.StatusCode, body)
	}
	resp, body = d.signIn(t, "list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "bob@demo.example")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "bob@demo.example") || findCookie(resp, auth.DemoCookieName) == nil {
		t.Errorf("sign in as bob for gpt4 = %d, want 403 naming him, with a session cookie for the main list", resp.StatusCode)
	}
}

func TestDemoSignInNeedsTheBoundNonce(t *testing.T) {
	t.Parallel()
	d := startDemo(t, nil)
	_, body := d.get(t, "/login")
	nonce := demoNonceRE.FindStringSubmatch(body)[1]
	tests := []struct {
		name string
		form url.Values
		want int
	}{
		{"no nonce", url.Values{"email": {"alice@demo.example"}}, http.StatusBadRequest},
		{"forged nonce", url.Values{"email": {"alice@demo.example"}, "nonce": {"AAAAAAAAAAAAAAAAAAAAAA"}}, http.StatusBadRequest},
		{"not a demo account", url.Values{"email": {"eve@example.com"}, "nonce": {nonce}}, http.StatusBadRequest},
		{"bound nonce", url.Values{"email": {"alice@demo.example"}, "nonce": {nonce}}, http.StatusSeeOther},
		{"nonce used up", url.Values{"email": {"alice@demo.example"}, "nonce": {nonce}}, http.StatusBadRequest},
	}
	for _, tt := range tests { // in order: the nonce is retired by its use
		if resp, _ := d.send(t, http.MethodPost, "/demo/signin", tt.form); resp.StatusCode != tt.want {
			t.Errorf("%s: POST /demo/signin = %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
	// Another browser (no nonce cookie) cannot use this page's nonce.
	other := &http.Client{CheckRedirect: d.client.CheckRedirect}
	d.get(t, "/logout")
	_, body = d.get(t, "/login")
	form := url.Values{"email": {"alice@demo.example"}, "nonce": {demoNonceRE.FindStringSubmatch(body)[1]}}
	resp, err := other.PostForm(d.URL+"/demo/signin", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("cross-browser POST /demo/signin = %d, want 400", resp.StatusCode)
	}
}

func TestDemoListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"0.0.0.0:5000", ":5000", "[::]:5000", "192.0.2.10:5000", "example.com:5000", "nonsense"} {
		_, err := parseOptions([]string{"--demo", "--listen=" + listen}, fakeEnv(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--listen") {
			t.Errorf("--demo --listen=%s: err = %v, want a refusal naming --listen", listen, err)
		}
	}
	_, err := parseOptions([]string{"--demo"}, fakeEnv(map[string]string{"DOORMAN_LISTEN": "0.0.0.0:5000"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DOORMAN_LISTEN") {
		t.Errorf("--demo with DOORMAN_LISTEN=0.0.0.0:5000: err = %v, want a refusal", err)
	}
	for _, listen := range []string{"127.0.0.1:5000", "127.0.0.2:0", "[::1]:5000", "localhost:5000"} {
		if _, err := parseOptions([]string{"--demo", "--listen=" + listen}, fakeEnv(nil), io.Discard); err != nil {
			t.Errorf("--demo --listen=%s: %v, want accepted", listen, err)
		}
	}
	if o, err := parseOptions([]string{"--demo"}, fakeEnv(nil), io.Discard); err != nil || o.listen != "127.0.0.1:5000" {
		t.Errorf("--demo: listen %q, err %v; want the default 127.0.0.1:5000", o.listen, err)
	}
}

func TestDemoRefusesClientID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"--demo", "--client-id=1234.apps.googleusercontent.com"}, nil},
		{"env", []string{"--demo"}, map[string]string{"DOORMAN_GOOGLE_CLIENT_ID": "1234.apps.googleusercontent.com"}},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		err := run(t.Context(), tt.args, fakeEnv(tt.env), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "--client-id (DOORMAN_GOOGLE_CLIENT_ID)") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: run = %v, want one line naming --client-id (DOORMAN_GOOGLE_CLIENT_ID)", tt.name, err)
		}
		if stdout.Len() > 0 {
			t.Errorf("%s: refused demo printed %q", tt.name, stdout.String())
		}
	}
	if _, err := auth.New(auth.Config{ClientID: "x", DemoAccounts: []string{"a@demo.example"}}); err == nil {
		t.Error("auth.New with ClientID and DemoAccounts succeeded, want an error")
	}
}

// TestDemoCookieNeverValidInNormalRun: the demo ignores the secret file and
// mints cookies under its own name with keys only it knows, so a demo
// cookie is refused by a normal doorman — even one configured with the
// demo's cookie name, the secret file named to the demo, and the user on
// its list.
func TestDemoCookieNeverValidInNormalRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "doorman.key")
	unused := filepath.Join(dir, "never-created.key")
	d := startDemo(t, map[string]string{"DOORMAN_SECRET_FILE": secretFile}, "--secret-file="+unused)
	resp, _ := d.signIn(t, "", "alice@demo.example")
	demo := findCookie(resp, auth.DemoCookieName)
	if demo == nil {
		t.Fatalf("demo sign-in set no %s cookie", auth.DemoCookieName)
	}
	for _, p := range []string{secretFile, unused} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the demo touched the secret file %s (stat: %v)", p, err)
		}
	}
	if auth.DemoCookieName == "doorman" || auth.DemoCookieName == "__Secure-doorman" {
		t.Errorf("demo cookie name %q is a normal run's default", auth.DemoCookieName)
	}
	if _, _, err := auth.LoadOrCreateKeys(secretFile); err != nil { // the keys a normal run then loads
		t.Fatal(err)
	}
	for _, name := range []string{"doorman", auth.DemoCookieName} {
		td := startRun(t, "alice@demo.example\n", "--secret-file="+secretFile, "--cookie-name="+name)
		req, _ := http.NewRequest(http.MethodGet, td.URL+"/auth", nil)
		req.AddCookie(&http.Cookie{Name: name, Value: demo.Value})
		if resp, _ := readBody(t, http.DefaultClient, req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("normal run (cookie name %q) GET /auth with the demo cookie = %d, want 401", name, resp.StatusCode)
		}
	}
}

func TestDemoSaysDemoEverywhere(t *testing.T) {
	t.Parallel()
	d := startDemo(t, nil)
	if out := d.stdout.String(); !strings.Contains(out, "DEMO MODE") || !strings.Contains(out, "nginx/doorman.conf") || !strings.Contains(out, d.whitelist) {
		t.Errorf("start-up output lacks DEMO MODE, nginx/doorman.conf or the whitelist path:\n%s", out)
	}
	if !strings.Contains(d.logs.String(), `"level":"WARN","msg":"doorman started in DEMO mode`) {
		t.Errorf("no DEMO warning in the log:\n%s", d.logs.String())
	}
	pages := []struct {
		name, method, path string
		form               url.Values
		want               int
	}{
		{"login", http.MethodGet, "/login", nil, http.StatusOK},
		{"404", http.MethodGet, "/nope", nil, http.StatusNotFound},
		{"400", http.MethodPost, "/demo/signin", url.Values{"email": {"alice@demo.example"}}, http.StatusBadRequest}, // no nonce
		{"callback is gone", http.MethodPost, "/callback", url.Values{"credential": {"x"}}, http.StatusNotFound},
	}
	for _, p := range pages {
		resp, body := d.send(t, p.method, p.path, p.form)
		if resp.StatusCode != p.want || !strings.Contains(body, `class="demo-banner"`) || !strings.Contains(body, "<title>DEMO ·") {
			t.Errorf("%s: %s %s = %d, want %d with the DEMO banner and title", p.name, p.method, p.path, resp.StatusCode, p.want)
		}
	}
	resp, body := d.signIn(t, "", "mallory@demo.example")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `class="demo-banner"`) {
		t.Errorf("403 page: %d, want 403 with the DEMO banner", resp.StatusCode)
	}
	d.signIn(t, "", "alice@demo.example")
	for _, path := range []string{"/", "/demo/", "/demo/gpt4/"} {
		if resp, body := d.get(t, path); resp.StatusCode != http.StatusOK || !strings.Contains(body, `class="demo-banner"`) {
			t.Errorf("GET %s as alice = %d, want 200 with the DEMO banner", path, resp.StatusCode)
		}
	}
}

func TestDemoRoutesAbsentInNormalRun(t *testing.T) {
	t.Parallel()
	td := startRun(t, "alice@demo.example\n")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get, _ := http.NewRequest(http.MethodGet, td.URL+"/login", nil)
	_, login := readBody(t, client, get)
	nonce := regexp.MustCompile(`data-nonce="([^"]+)"`).FindStringSubmatch(login)[1]
	form := url.Values{"email": {"alice@demo.example"}, "nonce": {nonce}}
	for _, path := range []string{"/demo/signin", "/demo/", "/demo/gpt4/"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(method, td.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, _ := readBody(t, client, req)
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("normal run: %s %s = %d, want 404", method, path, resp.StatusCode)
			}
			if findCookie(resp, "doorman") != nil {
				t.Errorf("normal run: %s %s set a session cookie", method, path)
			}
		}
	}
	if strings.Contains(login, "demo-banner") || strings.Contains(login, "/demo/signin") || strings.Contains(login, "DEMO") {
		t.Errorf("normal login page mentions the demo:\n%s", login)
	}
}

// TestDemoStartPage: in demo mode, / is a start page that says what to try
// (the protected pages, the accounts and their lists, signing in and out,
// the whitelist), in every language; once signed in it is the signed-in page.
func TestDemoStartPage(t *testing.T) {
	t.Parallel()
	d := startDemo(t, nil)
	if out := d.stdout.String(); !strings.Contains(out, d.URL+"/\n") {
		t.Errorf("start-up output does not point at the start page %s/:\n%s", d.URL, out)
	}
	titles := map[string]string{"en": "Try doorman", "zh-CN": "试用 doorman", "ko": "doorman 체험하기"}
	for lang, title := range titles {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, d.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", lang)
		resp, body := readBody(t, d.client, req)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Language") != lang || !strings.Contains(body, "<h1>"+title+"</h1>") {
			t.Fatalf("GET / in %s = %d, Content-Language %q; want 200, the start page titled %q:\n%s", lang, resp.StatusCode, resp.Header.Get("Content-Language"), title, body)
		}
		for _, want := range []string{`href="/demo/"`, `href="/demo/gpt4/"`, "alice@demo.example", "bob@demo.example", "mallory@demo.example", `class="demo-banner"`} {
			if !strings.Contains(body, want) {
				t.Errorf("start page in %s lacks %s", lang, want)
			}
		}
		if strings.Count(body, "<li>") < 8 {
			t.Errorf("start page in %s lists %d items, want the 2 sites, 3 accounts and the steps", lang, strings.Count(body, "<li>"))
		}
	}
	if _, body := d.get(t, "/login"); !strings.Contains(body, `<a href="/">`) {
		t.Errorf("the demo login page does not link the start page:\n%s", body)
	}
	d.signIn(t, "", "alice@demo.example")
	if resp, body := d.get(t, "/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Signed in as <strong>alice@demo.example</strong>") {
		t.Errorf("GET / as alice = %d, want the signed-in page:\n%s", resp.StatusCode, body)
	}
}

// TestDemoRefusesOtherHosts: --demo wires in the loopback-Host-only guard,
// so a DNS-rebinding page or a local proxy reaching the demo's port under
// another name gets nothing (a 421, and an empty 403 at /auth).
func TestDemoRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	d := startDemo(t, nil)
	for path, want := range map[string]int{"/login": http.StatusMisdirectedRequest, "/auth": http.StatusForbidden} {
		req, _ := http.NewRequest(http.MethodGet, d.URL+path, nil)
		req.Host = "rebound.example.com"
		if resp, _ := readBody(t, http.DefaultClient, req); resp.StatusCode != want {
			t.Errorf("demo GET %s with Host rebound.example.com = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// TestDemoShowsTheBudget: the demo's GPT-4 page has a counted button with
// a budget of three a minute; the fourth question in a minute gets the
// page nginx shows at the ceiling (a 429 saying when it comes back).
func TestDemoShowsTheBudget(t *testing.T) {
	t.Parallel()
	d := startDemo(t, nil)
	d.signIn(t, "list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "alice@demo.example")
	if _, body := d.get(t, "/demo/gpt4/"); !strings.Contains(body, `action="/demo/gpt4/ask"`) {
		t.Fatalf("the demo's GPT-4 page has no counted button:\n%s", body)
	}
	for i, left := range []string{"2", "1", "0"} {
		resp, body := d.send(t, http.MethodPost, "/demo/gpt4/ask", url.Values{})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Answered. "+left+" left") {
			t.Errorf("question %d = %d, want 200 saying %s left:\n%s", i+1, resp.StatusCode, left, body)
		}
	}
	resp, _ := d.send(t, http.MethodPost, "/demo/gpt4/ask", url.Values{})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/budget?list=gpt4" {
		t.Fatalf("fourth question = %d to %q, want 303 to the budget page", resp.StatusCode, loc)
	}
	resp, body := d.get(t, "/budget?list=gpt4")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "3") {
		t.Errorf("the budget page at the ceiling = %d (Retry-After %q), want 429 saying the limit:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// TestDemoSignsInFromATerminal: the demo turns on sign-in from a terminal,
// with its own address (port 0 resolved) as the page to approve codes at.
func TestDemoSignsInFromATerminal(t *testing.T) {
	t.Parallel()
	d := startDemo(t, nil)
	resp, body := d.send(t, http.MethodPost, "/device/code", url.Values{"list": {"gpt4"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"verification_uri":"`+d.URL+`/device"`) {
		t.Errorf("demo POST /device/code = %d, want 200 pointing at %s/device:\n%s", resp.StatusCode, d.URL, body)
	}
}
