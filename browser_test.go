package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"doorman/auth"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite static/screenshots/*.png from TestBrowserDemo")

const (
	screenshotWidth  = 900
	screenshotHeight = 700
	maxScreenshot    = 100 << 10 // bytes
)

// TestBrowserDemo drives doorman --demo in headless Chromium as a newcomer
// would: the protected page, sign-in by mouse and by keyboard, revocation
// by editing the whitelist, the 403 page, and the pages in Chinese and
// Korean. It is not parallel, so Chromium has the machine to itself.
func TestBrowserDemo(t *testing.T) {
	b := startChromium(t, screenshotWidth, screenshotHeight)
	d := startDemo(t, nil)

	// The protected page sends a signed-out visitor to sign in.
	b.navigate(d.URL + "/demo/")
	wantPage(t, b, "/login?rd=%2Fdemo%2F", "en", "Sign in as alice@demo.example")
	if got := b.eval(`getComputedStyle(document.querySelector("main")).borderTopLeftRadius`); got != "12px" {
		t.Errorf("the card's border radius is %q, want 12px: is style.css blocked?", got)
	}
	shoot(t, b, "login")

	// alice signs in with the mouse and sees the protected page.
	b.loaded(func() { b.click(demoButton("alice@demo.example")) })
	wantPage(t, b, "/demo/", "en", "You are in as alice@demo.example.")
	b.navigate(d.URL + "/")
	wantPage(t, b, "/", "en", "Signed in as alice@demo.example.")
	shoot(t, b, "signedin")

	// Taking alice off the whitelist sends her next visit to the login
	// page, which tells her she is not on the list.
	if err := os.WriteFile(d.whitelist, []byte("bob@demo.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "alice's revocation", func() bool {
		b.navigate(d.URL + "/demo/")
		return b.eval("location.pathname") == "/login"
	})
	wantPage(t, b, "/login?rd=%2Fdemo%2F", "en", "You are signed in as alice@demo.example, which is not on the list for this site.")

	// "Use another account" signs her out; mallory, on no list, gets the
	// 403 page, which says she was not signed in at all.
	b.loaded(func() { b.click(`a.button[href^="/logout"]`) })
	wantPage(t, b, "/login?rd=%2Fdemo%2F", "en", "You have signed out.")
	b.loaded(func() { b.click(demoButton("mallory@demo.example")) })
	wantPage(t, b, "/demo/signin?rd=%2Fdemo%2F", "en", "The account mallory@demo.example is not on any list, so you have not been signed in.")
	if text := b.text(); strings.Contains(text, "signed in as") {
		t.Errorf("the 403 page for mallory, who has no session, says she is signed in:\n%s", text)
	}
	shoot(t, b, "forbidden")
	b.loaded(func() { b.click(`a.button[href^="/login"]`) })
	wantPage(t, b, "/login?rd=%2Fdemo%2F", "en", "Demo accounts")

	// bob signs in with the keyboard alone; the focused button shows it.
	b.navigate(d.URL + "/login?rd=%2Fdemo%2F")
	tabTo(t, b, demoButton("bob@demo.example"))
	if got := b.eval("getComputedStyle(document.activeElement).outlineStyle"); got == "none" {
		t.Errorf("the focused sign-in button has no outline")
	}
	b.loaded(func() { b.press("Enter") })
	wantPage(t, b, "/demo/", "en", "You are in as bob@demo.example.")

	checkLanguages(t, b, d)
	checkLanguageChoiceKept(t, b, d)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the pages logged errors (CSP violations?):\n%s", strings.Join(errs, "\n"))
	}
}

// TestBrowserSessions drives the sessions page in headless Chromium: alice,
// signed in to the demo from a program too, finds her browser's session
// marked among hers in every language, with no script or CSP error and no
// sideways scrolling on a narrow phone; "Sign out everywhere" then signs
// her out here and ends the program's session as well.
func TestBrowserSessions(t *testing.T) {
	b := startChromium(t, screenshotWidth, screenshotHeight)
	d := startDemo(t, nil)
	d.signIn(t, "", "alice@demo.example") // Go's client: "Go-http-client"
	b.acceptLanguage("en-US,en;q=0.9")
	b.navigate(d.URL + "/login")
	b.loaded(func() { b.click(demoButton("alice@demo.example")) })
	wantPage(t, b, "/", "en", "Signed in as alice@demo.example.")
	b.loaded(func() { b.click(`a[href="/sessions"]`) })
	wantPage(t, b, "/sessions", "en", "Your sessions")
	for _, l := range []struct{ accept, tag, title, current string }{
		{"zh-CN,zh;q=0.9", "zh-CN", "您的登录会话", "当前会话"},
		{"ko-KR,ko;q=0.9", "ko", "내 로그인 세션", "현재 세션"},
		{"en-US,en;q=0.9", "en", "Your sessions", "This one"},
	} {
		b.acceptLanguage(l.accept)
		b.navigate(d.URL + "/sessions")
		wantPage(t, b, "/sessions", l.tag, l.title)
		wantSessionRows(t, b, l.current)
		shootWhole(t, b, "sessions-"+l.tag)
	}
	checkNarrow(t, b, 360)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the sessions page logged errors (CSP violations?):\n%s", strings.Join(errs, "\n"))
	}
	b.loaded(func() { b.click(`form[action="/sessions/end-all"] button`) })
	if b.eval("location.pathname") == "/sessions/end-all" {
		// Browsers send "Origin: null" on a same-origin POST from a page
		// whose Referrer-Policy is no-referrer; doorman refuses that Origin.
		t.Fatalf("signing out everywhere from the page was refused; a same-origin form POST must pass the Origin check:\n%s", b.text())
	}
	wantPage(t, b, "/login", "en", "You have signed out.")
	b.navigate(d.URL + "/sessions")
	wantPage(t, b, "/login?rd=%2Fsessions", "en", "Demo accounts")
	if resp, _ := d.get(t, "/sessions"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?rd=%2Fsessions" {
		t.Errorf("after signing out everywhere, the program's GET /sessions = %d %q, want 303 to /login?rd=%%2Fsessions", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestBrowserTokens: in Chromium, alice makes a token on the tokens page
// (a same-origin form POST passes the Origin and CSRF checks), sees it
// once, finds it listed by its first 12 characters, and ends it.
func TestBrowserTokens(t *testing.T) {
	b := startChromium(t, screenshotWidth, screenshotHeight)
	d := startDemo(t, nil)
	b.acceptLanguage("en-US,en;q=0.9")
	b.navigate(d.URL + "/login")
	b.loaded(func() { b.click(demoButton("alice@demo.example")) })
	wantPage(t, b, "/", "en", "Signed in as alice@demo.example.")
	b.loaded(func() { b.click(`a[href="/tokens"]`) })
	wantPage(t, b, "/tokens", "en", "Make a token")
	b.eval(`document.querySelector("#token-name").value = "notebook"`)
	b.click(`input[name="list"][value="gpt4"]`)
	b.loaded(func() { b.click(`form[action="/tokens"] button`) })
	wantPage(t, b, "/tokens", "en", "Copy it now")
	token := b.eval(`document.querySelector("#token").value`)
	if len(token) != 46 || !strings.HasPrefix(token, "doorman_") || !strings.Contains(b.text(), "OPENAI_API_KEY="+token) {
		t.Fatalf("the new token reads %q, want doorman_ and 38 more, in the examples:\n%s", token, b.text())
	}
	shootWhole(t, b, "token-made-en")
	for _, l := range []struct{ accept, tag, title string }{
		{"zh-CN,zh;q=0.9", "zh-CN", "您的令牌"}, {"ko-KR,ko;q=0.9", "ko", "내 토큰"}, {"en-US,en;q=0.9", "en", "Your tokens"},
	} {
		b.acceptLanguage(l.accept)
		b.navigate(d.URL + "/tokens")
		wantPage(t, b, "/tokens", l.tag, l.title)
		if text := b.text(); strings.Contains(text, token) || !strings.Contains(text, token[:12]+"…") || !strings.Contains(text, "notebook") {
			t.Errorf("the tokens page in %s: want notebook listed by its first 12 characters only:\n%s", l.tag, text)
		}
		shootWhole(t, b, "tokens-"+l.tag)
	}
	checkNarrow(t, b, 360)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the tokens pages logged errors (CSP violations?):\n%s", strings.Join(errs, "\n"))
	}
	b.loaded(func() { b.click(`form[action="/tokens/end"] button`) })
	wantPage(t, b, "/tokens", "en", "No live tokens.")
}

// wantSessionRows checks the sessions page lists alice's two sessions, the
// program's first (it signed in first), and marks only the browser's as
// this one, with the words current.
func wantSessionRows(t *testing.T, b *chromium, current string) {
	t.Helper()
	rows := b.eval(`JSON.stringify([...document.querySelectorAll(".sessions > li")].map(li =>
		[li.classList.contains("current"), li.querySelector("h2").innerText, li.querySelector(".badge")?.innerText ?? ""]))`)
	var got [][]any
	if err := json.Unmarshal([]byte(rows), &got); err != nil || len(got) != 2 {
		t.Fatalf("the sessions page lists %s, want alice's two sessions", rows)
	}
	program, browser := got[0], got[1]
	if program[0] != false || program[1] != "Go-http-client" || program[2] != "" {
		t.Errorf("the program's session reads %v, want [false Go-http-client \"\"]", program)
	}
	if name, _ := browser[1].(string); browser[0] != true || !strings.Contains(name, "Chrome") || !strings.Contains(name, "Linux") || browser[2] != current {
		t.Errorf("the browser's session reads %v, want marked %q and named Chrome on Linux", browser, current)
	}
}

// shootWhole is shoot with the page made tall enough to show all of it,
// its footer included.
func shootWhole(t *testing.T, b *chromium, name string) {
	t.Helper()
	height, err := strconv.Atoi(b.eval(`String(document.documentElement.scrollHeight)`))
	if err != nil {
		t.Fatal(err)
	}
	showAt(b, screenshotWidth, max(height, screenshotHeight))
	defer showAt(b, screenshotWidth, screenshotHeight)
	shoot(t, b, name)
}

// showAt makes the page width x height CSS pixels.
func showAt(b *chromium, width, height int) {
	b.t.Helper()
	b.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
}

// checkNarrow shows the page width CSS pixels wide and checks nothing
// runs off its side, then restores the screenshot size.
func checkNarrow(t *testing.T, b *chromium, width int) {
	t.Helper()
	showAt(b, width, 800)
	defer showAt(b, screenshotWidth, screenshotHeight)
	if got := b.eval(`String(document.documentElement.scrollWidth)`); got != strconv.Itoa(width) {
		t.Errorf("at %d px the page is %s px wide: it scrolls sideways", width, got)
	}
	off := b.eval(`JSON.stringify([...document.querySelectorAll("main button, main a, main dd, main h2")]
		.filter(e => e.getBoundingClientRect().right > document.querySelector("main").getBoundingClientRect().right + 0.5)
		.map(e => e.outerHTML.slice(0, 80)))`)
	if off != "[]" {
		t.Errorf("at %d px these stick out of the card: %s", width, off)
	}
}

// checkLanguages signs out and checks the pages follow Accept-Language,
// and that the language links override it and keep list and rd.
func checkLanguages(t *testing.T, b *chromium, d *demoRun) {
	t.Helper()
	b.navigate(d.URL + "/logout")
	b.acceptLanguage("zh-CN,zh;q=0.9,en;q=0.5")
	b.navigate(d.URL + "/demo/gpt4/")
	wantPage(t, b, "/login?list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "zh-CN", "以 bob@demo.example 身份登录")
	b.acceptLanguage("ko-KR,ko;q=0.9,en-US;q=0.8")
	b.navigate(d.URL + "/demo/gpt4/")
	wantPage(t, b, "/login?list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "ko", "bob@demo.example(으)로 로그인")
	shoot(t, b, "login-ko")
	b.loaded(func() { b.click(`footer a[hreflang="zh-CN"]`) })
	wantPage(t, b, "/login?hl=zh-CN&list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "zh-CN", "演示模式")
	b.loaded(func() { b.click(`footer a[hreflang="en"]`) })
	wantPage(t, b, "/login?hl=en&list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "en", "Demo accounts")
}

// checkLanguageChoiceKept picks Korean with the language links on a
// browser that asks for English, and checks every page after it keeps
// Korean: the sign-in's POST and its 403 page, the protected page, the
// signed-in page, signing out, the redirect from a protected page to the
// login page, the start page. The choice is a cookie of doorman's.
func checkLanguageChoiceKept(t *testing.T, b *chromium, d *demoRun) {
	t.Helper()
	b.acceptLanguage("en-US,en;q=0.9")
	b.navigate(d.URL + "/logout")
	b.navigate(d.URL + "/demo/gpt4/")
	wantPage(t, b, "/login?list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "en", "Demo accounts")
	b.loaded(func() { b.click(`footer a[hreflang="ko"]`) })
	wantPage(t, b, "/login?hl=ko&list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "ko", "데모 계정")
	wantLanguageCookie(t, b, "ko")
	b.loaded(func() { b.click(demoButton("bob@demo.example")) })
	wantPage(t, b, "/demo/signin?list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "ko", "bob@demo.example(으)로 로그인되어 있지만")
	b.navigate(d.URL + "/demo/")
	wantPage(t, b, "/demo/", "ko", "bob@demo.example(으)로 들어왔습니다.")
	b.navigate(d.URL + "/")
	wantPage(t, b, "/", "ko", "로그인되었습니다")
	b.loaded(func() { b.click(`a.button[href^="/logout"]`) })
	wantPage(t, b, "/login", "ko", "로그아웃했습니다.")
	b.navigate(d.URL + "/demo/gpt4/")
	wantPage(t, b, "/login?list=gpt4&rd=%2Fdemo%2Fgpt4%2F", "ko", "데모 계정")
	b.navigate(d.URL + "/")
	wantPage(t, b, "/", "ko", "doorman 체험하기")
	b.loaded(func() { b.click(`footer a[hreflang="en"]`) })
	wantPage(t, b, "/?hl=en", "en", "Try doorman")
	wantLanguageCookie(t, b, "en")
}

// wantLanguageCookie checks the browser keeps doorman's language cookie
// with value want: host-only, Path=/, SameSite=Lax, persistent.
func wantLanguageCookie(t *testing.T, b *chromium, want string) {
	t.Helper()
	var r struct {
		Cookies []struct {
			Name, Value, Domain, Path, SameSite string
			HTTPOnly                            bool `json:"httpOnly"`
			Session                             bool
		}
	}
	b.call("Network.getCookies", nil, &r)
	for _, c := range r.Cookies {
		if c.Name != auth.LanguageCookieName {
			continue
		}
		if c.Value != want || c.Domain != "127.0.0.1" || c.Path != "/" || c.SameSite != "Lax" || c.Session {
			t.Errorf("language cookie = %+v, want %s, host-only, Path=/, SameSite=Lax, persistent", c, want)
		}
		return
	}
	t.Errorf("the browser has no %s cookie; cookies: %+v", auth.LanguageCookieName, r.Cookies)
}

// demoButton selects the "Sign in as" button for email.
func demoButton(email string) string {
	return fmt.Sprintf(`form:has(input[name="email"][value=%q]) button`, email)
}

// wantPage checks the page's path and query, its lang attribute, and that it shows text.
func wantPage(t *testing.T, b *chromium, wantURL, wantLang, wantText string) {
	t.Helper()
	if got := b.eval("location.pathname + location.search"); got != wantURL {
		t.Fatalf("at %s, want %s; page:\n%s", got, wantURL, b.text())
	}
	if got := b.eval("document.documentElement.lang"); got != wantLang {
		t.Errorf("%s: lang = %q, want %q", wantURL, got, wantLang)
	}
	if text := b.text(); !strings.Contains(text, wantText) {
		t.Errorf("%s does not show %q:\n%s", wantURL, wantText, text)
	}
	if !strings.Contains(b.text(), "DEMO") {
		t.Errorf("%s lacks the DEMO banner", wantURL)
	}
}

// tabTo presses Tab until the element matched by selector has the focus.
func tabTo(t *testing.T, b *chromium, selector string) {
	t.Helper()
	for range 20 {
		b.press("Tab")
		if b.eval(fmt.Sprintf("document.activeElement.matches(%q)", selector)) == "true" {
			return
		}
	}
	t.Fatalf("20 presses of Tab never reached %s", selector)
}

// shoot screenshots the page; with -update-screenshots it is written to
// static/screenshots/<name>.png (not embedded in the binary).
func shoot(t *testing.T, b *chromium, name string) {
	t.Helper()
	png := b.screenshot()
	if len(png) > maxScreenshot {
		t.Errorf("screenshot %s is %d bytes, want at most %d", name, len(png), maxScreenshot)
	}
	if !*updateScreenshots {
		return
	}
	path := filepath.Join("static", "screenshots", name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// TestBrowserLoginWithoutGoogle opens the real login page with Google's
// script unreachable (blocked here; this machine has no network anyway):
// after a moment the page says what to check instead of showing an empty
// card, and the message goes once Google's button is drawn into its slot.
// All of it is CSS: the page's CSP allows no script of doorman's own.
func TestBrowserLoginWithoutGoogle(t *testing.T) {
	b := startChromium(t, screenshotWidth, screenshotHeight)
	td := startRun(t, "alice@example.com\n")
	b.call("Network.setBlockedURLs", map[string]any{"urls": []string{"*accounts.google.com*"}}, nil)
	b.acceptLanguage("en")
	b.navigate(td.URL + "/login?rd=%2Fx")
	const fallback = `document.querySelector(".gsi-fallback")`
	visible := func() bool {
		return b.eval(fallback+`.checkVisibility({visibilityProperty: true}) && `+fallback+`.getBoundingClientRect().height > 0`) == "true"
	}
	// While Google's script may still be loading, the message waits.
	if early := b.eval(`performance.now() < 2000`) == "true"; early && visible() {
		t.Errorf("the fallback message shows at once; it should give Google's script a moment")
	}
	waitFor(t, 10*time.Second, "the fallback message", visible)
	text := b.text()
	for _, want := range []string{"Google's sign-in button has not appeared.", "accounts.google.com", "Reload this page"} {
		if !strings.Contains(text, want) {
			t.Errorf("the login page without Google does not say %q:\n%s", want, text)
		}
	}
	if got := b.eval(`document.querySelector(".gsi-fallback a").getAttribute("href")`); got != "/login?rd=%2Fx" {
		t.Errorf("the reload link is %q, want /login?rd=%%2Fx", got)
	}
	// Google's button, once drawn, is an iframe in the slot: the message goes.
	b.eval(`document.querySelector(".g_id_signin").appendChild(document.createElement("iframe")) && "ok"`)
	if visible() {
		t.Errorf("the fallback message still shows beside Google's button")
	}
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the login page logged errors (CSP violations?):\n%s", strings.Join(errs, "\n"))
	}
	// With JavaScript off there is nothing to wait for: the message shows at once.
	b.call("Emulation.setScriptExecutionDisabled", map[string]any{"value": true}, nil)
	b.navigate(td.URL + "/login?hl=ko")
	if !visible() {
		t.Errorf("with JavaScript off, the fallback message does not show at once")
	}
	if text := b.text(); !strings.Contains(text, "Google 로그인 버튼이 나타나지 않았습니다.") {
		t.Errorf("the Korean login page without JavaScript does not say what to check:\n%s", text)
	}
}
