package auth

import (
	"cmp"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"doorman/templates"
)

func TestPagesInEveryLanguage(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", testConfig{})
	alice := td.session(t, "alice@example.com")
	pages := []struct {
		name, path string
		cookies    []*http.Cookie
		want       int
		method     string // GET when empty
	}{
		{"login", "/login?list=gpt4&rd=%2Fx", nil, 200, ""},
		{"signed in", "/", []*http.Cookie{alice}, 200, ""},
		{"403", "/login?list=gpt4&rd=%2Fx", []*http.Cookie{alice}, 403, ""},
		{"404", "/nope", nil, 404, ""},
		{"400", "/callback", nil, 400, http.MethodPost}, // no CSRF pair
	}
	langs := map[string]string{"en": "en", "zh-CN,zh;q=0.9": "zh-CN", "ko-KR": "ko"}
	for accept, tag := range langs {
		for _, p := range pages {
			method := cmp.Or(p.method, http.MethodGet)
			hdr := http.Header{"Accept-Language": {accept}, "Content-Type": {"application/x-www-form-urlencoded"}}
			resp, body := td.do(t, method, p.path, strings.NewReader(""), hdr, p.cookies...)
			if resp.StatusCode != p.want || !strings.Contains(body, `<html lang="`+tag+`">`) || resp.Header.Get("Content-Language") != tag {
				t.Errorf("%s in %s: %d, Content-Language %q; want %d and lang %s:\n%s", p.name, tag, resp.StatusCode, resp.Header.Get("Content-Language"), p.want, tag, body)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control = %q, want no-store", p.name, resp.Header.Get("Cache-Control"))
			}
		}
	}
}

func TestRenderErrorPages(t *testing.T) {
	t.Parallel()
	pages := mustPages(t)
	for _, lang := range templates.Languages() {
		for _, status := range []int{400, 401, 403, 404, 405, 413, 415, 429, 500, 503} {
			var b strings.Builder
			v := view{Page: Page{Status: status}, Lang: lang}
			if err := pages.ExecuteTemplate(&b, "error.html", v); err != nil {
				t.Errorf("error.html %d in %s: %v", status, lang.Tag, err)
			}
		}
	}
}

func TestLoginPageLocale(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	tests := []struct{ query, accept, locale, lang string }{
		{"", "", "en", "en"},
		{"", "zh-CN", "zh_CN", "zh-CN"},
		{"", "ko", "ko", "ko"},
		{"hl=ko&", "zh-CN", "ko", "ko"},
		{"hl=zh-CN&", "ko", "zh_CN", "zh-CN"},
		{"hl=xx&", "ko", "ko", "ko"},
		{"", "zh-CN", "zh_CN", "zh-CN"},
		// An unescaped rd runs to the end: its own hl= is not doorman's.
		{"rd=https://app.example.com/?hl=ko&", "", "en", "en"},
	}
	for _, tt := range tests {
		_, body := td.do(t, http.MethodGet, "/login?"+tt.query+"x=1", nil, http.Header{"Accept-Language": {tt.accept}})
		if !strings.Contains(body, `data-locale="`+tt.locale+`"`) || !strings.Contains(body, `<html lang="`+tt.lang+`">`) {
			t.Errorf("/login?%s Accept-Language %q: want data-locale %q and lang %q:\n%s", tt.query, tt.accept, tt.locale, tt.lang, body)
		}
	}
}

var langLinkRE = regexp.MustCompile(`<a href="([^"]+)" lang="([^"]+)" hreflang`)

func TestLanguageLinksKeepListAndRD(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	_, body := td.do(t, http.MethodGet, "/login?list=gpt4&rd=https://app.example.com/c?a=1&b=2", nil, nil)
	links := langLinkRE.FindAllStringSubmatch(body, -1)
	if len(links) != 3 {
		t.Fatalf("found %d language links, want 3:\n%s", len(links), body)
	}
	for _, l := range links {
		want := "/login?hl=" + l[2] + "&amp;list=gpt4&amp;rd=https%3A%2F%2Fapp.example.com%2Fc%3Fa%3D1%26b%3D2"
		if l[1] != want {
			t.Errorf("language link %s = %q, want %q", l[2], l[1], want)
		}
	}
	for _, path := range []string{"//evil.example/x", "/%5Cevil.example"} {
		_, body := td.do(t, http.MethodGet, path, nil, nil)
		for _, l := range langLinkRE.FindAllStringSubmatch(body, -1) {
			if !strings.HasPrefix(l[1], "/login?hl=") && !strings.HasPrefix(l[1], "/%5Cevil") {
				t.Errorf("404 page at %s links %q; a language link must stay on doorman", path, l[1])
			}
		}
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{auth: func(c *Config) {
		c.RedirectDomains = []string{".example.com", "app.example.org:8443"}
	}})
	alice := td.session(t, "alice@example.com")
	formAction := "form-action 'self' https://example.com https://*.example.com http://example.com http://*.example.com http://app.example.org:8443 https://app.example.org:8443;"
	tests := []struct {
		name, path string
		cookies    []*http.Cookie
		google     bool // the page may load Google's sign-in button
	}{
		{"login", "/login", nil, true},
		{"signed in", "/", []*http.Cookie{alice}, false},
		{"404", "/nope", nil, false},
	}
	for _, tt := range tests {
		resp, body := td.do(t, http.MethodGet, tt.path, nil, nil, tt.cookies...)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none';", "frame-ancestors 'none'", "base-uri 'none'", "style-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", tt.name, csp, want)
			}
		}
		if got := strings.Contains(csp, "accounts.google.com"); got != tt.google {
			t.Errorf("%s: CSP allows Google = %v, want %v: %q", tt.name, got, tt.google, csp)
		}
		if strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "'unsafe-eval'") {
			t.Errorf("%s: CSP allows inline code: %q", tt.name, csp)
		}
		if !sameSources(csp, formAction) {
			t.Errorf("%s: CSP %q, want %q", tt.name, csp, formAction)
		}
		if inlineCode.MatchString(body) {
			t.Errorf("%s has inline script or style:\n%s", tt.name, body)
		}
		for h, want := range map[string]string{"Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", tt.name, h, got, want)
			}
		}
	}
	resp, _ := td.do(t, http.MethodGet, "/static/style.css", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /static/style.css = %d %v, want 200 text/css with nosniff", resp.StatusCode, resp.Header)
	}
	if resp, _ := td.do(t, http.MethodGet, "/static/screenshots/login.png", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /static/screenshots/login.png = %d, want 404: screenshots are not embedded", resp.StatusCode)
	}
}

// sameSources reports whether csp's form-action directive has the same
// sources as want's, in any order.
func sameSources(csp, want string) bool {
	return strings.Join(sortedSources(directive(csp, "form-action")), " ") == strings.Join(sortedSources(want), " ")
}

// directive returns the directive named name in csp, "" if absent.
func directive(csp, name string) string {
	for d := range strings.SplitSeq(csp, ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, name+" ") {
			return d + ";"
		}
	}
	return ""
}

// sortedSources returns the words of a directive, sorted.
func sortedSources(d string) []string {
	f := strings.Fields(strings.TrimSuffix(d, ";"))
	slices.Sort(f)
	return f
}

// inlineCode matches inline script, event handlers and style attributes,
// which the pages' CSP would block.
var inlineCode = regexp.MustCompile(`<script>|<style|\son[a-z]+=|\sstyle=`)

// pageLang returns the lang attribute of a page's <html>, "" if none.
func pageLang(body string) string {
	_, rest, ok := strings.Cut(body, `<html lang="`)
	if !ok {
		return ""
	}
	lang, _, _ := strings.Cut(rest, `"`)
	return lang
}

func TestLanguageChoiceIsRemembered(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", testConfig{})
	alice, carol := td.session(t, "alice@example.com"), td.session(t, "carol@example.com")

	// Picking a language with ?hl= sets the cookie, to the canonical tag.
	resp, _ := td.do(t, http.MethodGet, "/login?hl=ko-KR&list=gpt4&rd=%2Fx", nil, nil)
	c := findCookie(resp, LanguageCookieName)
	if c == nil || c.Value != "ko" || c.Path != "/" || c.Domain != "" || c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
		t.Fatalf("GET /login?hl=ko-KR Set-Cookie %q, want doorman-hl=ko; Path=/; SameSite=Lax; Max-Age>0, host-only", resp.Header.Values("Set-Cookie"))
	}
	if vary := resp.Header.Values("Vary"); !strings.Contains(strings.Join(vary, ","), "Cookie") {
		t.Errorf("Vary = %q, want Cookie in it: the page's language depends on it", vary)
	}

	// Every page then speaks Korean, whatever Accept-Language says, until
	// another ?hl= overrides it.
	zh := http.Header{"Accept-Language": {"zh-CN,zh;q=0.9"}}
	callbackPage := func(t *testing.T, email string, cookies ...*http.Cookie) (*http.Response, string) {
		t.Helper()
		nonce, loginURI, nc := td.login(t, "list=gpt4&rd=%2Fx")
		form, csrf := td.google.CallbackForm(td.google.Token(t, googletestClaims(email, nonce)))
		hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept-Language": zh["Accept-Language"]}
		return td.do(t, http.MethodPost, loginURI, strings.NewReader(form.Encode()), hdr, append(cookies, csrf, nc)...)
	}
	tests := []struct {
		name     string
		send     func(t *testing.T, lang *http.Cookie) (*http.Response, string)
		wantCode int
	}{
		{"login after nginx's redirect", get(td, "/login?list=gpt4&rd=https://gpt4.example.com/", zh), 200},
		{"an &hl= inside an unescaped rd is rd's", get(td, "/login?rd=https://app.example.com/?a=1&hl=en", zh), 200},
		{"signed-in page", get(td, "/", zh, alice), 200},
		{"403 page at /login", get(td, "/login", zh, carol), 403},
		{"403 page after sign-in, on no list", func(t *testing.T, lang *http.Cookie) (*http.Response, string) {
			return callbackPage(t, "mallory@example.com", lang)
		}, 403},
		{"403 page after sign-in, not on the site's list", func(t *testing.T, lang *http.Cookie) (*http.Response, string) {
			return callbackPage(t, "alice@example.com", lang)
		}, 403},
		{"error page", get(td, "/nope", zh), 404},
	}
	for _, tt := range tests {
		resp, body := tt.send(t, c)
		if resp.StatusCode != tt.wantCode || pageLang(body) != "ko" || resp.Header.Get("Content-Language") != "ko" {
			t.Errorf("%s: %d in %q (Content-Language %q), want %d in ko", tt.name, resp.StatusCode, pageLang(body), resp.Header.Get("Content-Language"), tt.wantCode)
		}
		if got := findCookie(resp, LanguageCookieName); got != nil {
			t.Errorf("%s: Set-Cookie %s, want the choice left alone", tt.name, got)
		}
	}

	resp, body := get(td, "/login?hl=en", zh)(t, c)
	if got := findCookie(resp, LanguageCookieName); pageLang(body) != "en" || got == nil || got.Value != "en" {
		t.Errorf("GET /login?hl=en with the cookie at ko: page in %q, Set-Cookie %v; want en and doorman-hl=en", pageLang(body), got)
	}
}

func TestLanguageChoiceOnlyFromSupportedTags(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{auth: func(c *Config) {
		c.CookieDomain, c.CookieSecure, c.CookieName = ".example.com", true, "__Secure-doorman"
	}})
	tests := []struct {
		path, want string // want "" means no language cookie is set
	}{
		{"/login?hl=zh-CN", "zh-CN"},
		{"/login?hl=zh_Hans", "zh-CN"},
		{"/?hl=ko", "ko"},       // a redirect to /login keeps the choice too
		{"/logout?hl=en", "en"}, // and so does signing out
		{"/login?hl=fr", ""},    // not a language the pages are written in
		{"/login?hl=%22%3E%3Cscript%3E", ""},
		{"/login?hl=ko;%20Domain=evil.example", ""},
		{"/login?hl=", ""},
		{"/login?rd=%2Fx&hl=ko", ""}, // after rd: part of rd
	}
	for _, tt := range tests {
		resp, _ := td.do(t, http.MethodGet, tt.path, nil, nil)
		c := findCookie(resp, LanguageCookieName)
		switch {
		case tt.want == "" && c != nil:
			t.Errorf("GET %s set %s, want no language cookie", tt.path, c)
		case tt.want != "" && (c == nil || c.Value != tt.want || c.Domain != "example.com" || !c.Secure):
			t.Errorf("GET %s Set-Cookie %q, want doorman-hl=%s; Domain=example.com; Secure", tt.path, resp.Header.Values("Set-Cookie"), tt.want)
		}
	}
}

// get returns a request sender for path with hdr and cookies, plus the
// language cookie it is given.
func get(td *testDoorman, path string, hdr http.Header, cookies ...*http.Cookie) func(*testing.T, *http.Cookie) (*http.Response, string) {
	return func(t *testing.T, lang *http.Cookie) (*http.Response, string) {
		t.Helper()
		return td.do(t, http.MethodGet, path, nil, hdr, append(cookies, lang)...)
	}
}
