package main

import (
	"net/http"
	"strings"
	"testing"

	"doorman/auth"
)

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
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", nil)
	alice, carol := td.session(t, "alice@example.com"), td.session(t, "carol@example.com")

	// Picking a language with ?hl= sets the cookie, to the canonical tag.
	resp, _ := td.do(t, http.MethodGet, "/login?hl=ko-KR&list=gpt4&rd=%2Fx", nil, nil)
	c := findCookie(resp, auth.LanguageCookieName)
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
		if got := findCookie(resp, auth.LanguageCookieName); got != nil {
			t.Errorf("%s: Set-Cookie %s, want the choice left alone", tt.name, got)
		}
	}

	resp, body := get(td, "/login?hl=en", zh)(t, c)
	if got := findCookie(resp, auth.LanguageCookieName); pageLang(body) != "en" || got == nil || got.Value != "en" {
		t.Errorf("GET /login?hl=en with the cookie at ko: page in %q, Set-Cookie %v; want en and doorman-hl=en", pageLang(body), got)
	}
}

func TestLanguageChoiceOnlyFromSupportedTags(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", func(c *auth.Config) {
		c.CookieDomain, c.CookieSecure, c.CookieName = ".example.com", true, "__Secure-doorman"
	})
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
		c := findCookie(resp, auth.LanguageCookieName)
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
