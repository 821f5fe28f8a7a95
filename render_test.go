package main

import (
	"cmp"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"doorman/auth"
	"doorman/templates"
)

func TestPagesInEveryLanguage(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", nil)
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
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range templates.Languages() {
		for _, status := range []int{400, 401, 403, 404, 405, 413, 415, 429, 500, 503} {
			var b strings.Builder
			v := view{Page: auth.Page{Status: status}, Lang: lang}
			if err := pages.ExecuteTemplate(&b, "error.html", v); err != nil {
				t.Errorf("error.html %d in %s: %v", status, lang.Tag, err)
			}
		}
	}
}

func TestLoginPageLocale(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", nil)
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
	td := newTestDoorman(t, "alice@example.com\n", nil)
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
	td := newTestDoorman(t, "alice@example.com\n", func(c *auth.Config) {
		c.RedirectDomains = []string{".example.com", "app.example.org:8443"}
	})
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
		for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
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
