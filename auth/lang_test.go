package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"doorman/templates"
)

// mustLang returns the supported language tag names.
func mustLang(t *testing.T, tag string) templates.Lang {
	t.Helper()
	l, ok := templates.Supported(tag)
	if !ok {
		t.Fatalf("templates.Supported(%q) = false", tag)
	}
	return l
}

func TestLanguageCookie(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		domain     string
		secure     bool
		wantDomain string
	}{
		{"host-only", "", false, ""},
		{"on the cookie domain", ".example.com", true, "example.com"},
	}
	for _, tt := range tests {
		h, err := New(Config{
			ClientID: testClientID, Allowlist: fakeAllowlist{}, Keys: [][]byte{secret(1)}, Store: testStore(t),
			CookieName: "doorman", CookieDomain: tt.domain, CookieSecure: tt.secure, CookieTTL: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		http.SetCookie(rec, h.languageCookie(mustLang(t, "zh-Hans")))
		c := rec.Result().Cookies()[0]
		if c.Name != LanguageCookieName || c.Value != "zh-CN" || c.Path != "/" || c.Domain != tt.wantDomain ||
			c.Secure != tt.secure || c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge < 30*24*3600 {
			t.Errorf("%s: language cookie %q, want doorman-hl=zh-CN; Path=/; Domain %q; Secure %v; SameSite=Lax; a long Max-Age; not HttpOnly",
				tt.name, rec.Header().Get("Set-Cookie"), tt.wantDomain, tt.secure)
		}
	}
}

func TestSavedLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header, want string // want "" means none
	}{
		{"", ""},
		{"doorman-hl=ko", "ko"},
		{"other=1; doorman-hl=zh-CN; x=y", "zh-CN"},
		{"doorman-hl=ko-KR", "ko"},
		{"doorman-hl=fr", ""},
		{"doorman-hl=%22%3E%3Cscript%3E", ""},
		{"doorman-hl=" + strings.Repeat("k", 100), ""},
		{"doorman-hl=ko; doorman-hl=zh-CN", "zh-CN"}, // the newest comes last
		{"doorman-hl=ko; doorman-hl=junk", "ko"},
		{"doorman-hl=en; doorman-hl=en; doorman-hl=en; doorman-hl=ko; doorman-hl=zh-CN", "ko"}, // the first four only
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/login", nil)
		req.Header.Set("Cookie", tt.header)
		l, ok := savedLanguage(req)
		if ok != (tt.want != "") || l.Tag != tt.want {
			t.Errorf("savedLanguage(Cookie: %q) = %q, %v; want %q", tt.header, l.Tag, ok, tt.want)
		}
	}
}
