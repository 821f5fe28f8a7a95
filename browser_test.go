package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
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
