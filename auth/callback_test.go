package auth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"doorman/auth/googletest"
)

// callbackCase is one POST /callback that must be refused.
type callbackCase struct {
	name       string
	claims     googletest.Claims
	tamper     func(form url.Values, csrf *http.Cookie, nonceCookie **http.Cookie, hdr http.Header)
	google     func(g *googletest.Server)
	wantStatus int
	wantReason string
}

func TestCallbackRefusals(t *testing.T) {
	t.Parallel()
	alice := googletest.Claims{Email: "alice@example.com"}
	with := func(edit func(*googletest.Claims)) googletest.Claims { c := alice; edit(&c); return c }
	tests := []callbackCase{
		{name: "csrf cookie missing", claims: alice, tamper: func(_ url.Values, csrf *http.Cookie, _ **http.Cookie, _ http.Header) { csrf.Name = "other" }, wantStatus: 400, wantReason: "csrf"},
		{name: "csrf field missing", claims: alice, tamper: func(f url.Values, _ *http.Cookie, _ **http.Cookie, _ http.Header) { f.Del("g_csrf_token") }, wantStatus: 400, wantReason: "csrf"},
		{name: "csrf mismatch", claims: alice, tamper: func(f url.Values, _ *http.Cookie, _ **http.Cookie, _ http.Header) { f.Set("g_csrf_token", "x") }, wantStatus: 400, wantReason: "csrf"},
		{name: "csrf both empty", claims: alice, tamper: func(f url.Values, c *http.Cookie, _ **http.Cookie, _ http.Header) {
			f.Set("g_csrf_token", "")
			c.Value = ""
		}, wantStatus: 400, wantReason: "csrf"},
		{name: "credential missing", claims: alice, tamper: func(f url.Values, _ *http.Cookie, _ **http.Cookie, _ http.Header) { f.Del("credential") }, wantStatus: 401, wantReason: "bad_token"},
		{name: "credential garbage", claims: alice, tamper: func(f url.Values, _ *http.Cookie, _ **http.Cookie, _ http.Header) { f.Set("credential", "a.b.c") }, wantStatus: 401, wantReason: "bad_token"},
		{name: "wrong audience", claims: with(func(c *googletest.Claims) { c.Audience = "other.apps.googleusercontent.com" }), wantStatus: 401, wantReason: "wrong_audience"},
		{name: "wrong issuer", claims: with(func(c *googletest.Claims) { c.Issuer = "https://evil.example.com" }), wantStatus: 401, wantReason: "wrong_issuer"},
		{name: "expired", claims: with(func(c *googletest.Claims) {
			c.Expires = time.Now().Add(-time.Minute)
			c.IssuedAt = time.Now().Add(-time.Hour)
		}), wantStatus: 401, wantReason: "expired"},
		{name: "unverified email", claims: with(func(c *googletest.Claims) { c.EmailVerified = googletest.Bool(false) }), wantStatus: 401, wantReason: "unverified_email"},
		{name: "nonce from elsewhere", claims: with(func(c *googletest.Claims) { c.Nonce = "not-the-bound-one" }), wantStatus: 401, wantReason: "nonce"},
		{name: "nonce cookie missing", claims: alice, tamper: func(_ url.Values, _ *http.Cookie, nc **http.Cookie, _ http.Header) { *nc = nil }, wantStatus: 401, wantReason: "nonce"},
		{name: "google keys 500", claims: alice, google: func(g *googletest.Server) { g.SetKeysStatus(500) }, wantStatus: 503, wantReason: "google_unreachable"},
		{name: "google unreachable", claims: alice, google: func(g *googletest.Server) { g.SetUnreachable(true) }, wantStatus: 503, wantReason: "google_unreachable"},
		{name: "text/plain body", claims: alice, tamper: func(_ url.Values, _ *http.Cookie, _ **http.Cookie, h http.Header) {
			h.Set("Content-Type", "text/plain")
		}, wantStatus: 415, wantReason: "unsupported_media_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			td := newTestDoorman(t, "alice@example.com\n", testConfig{})
			if tt.google != nil {
				tt.google(td.google)
			}
			nonce, loginURI, nc := td.login(t, "")
			claims := tt.claims
			if claims.Nonce == "" {
				claims.Nonce = nonce
			}
			form, csrf := td.google.CallbackForm(td.google.Token(t, claims))
			hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			if tt.tamper != nil {
				tt.tamper(form, csrf, &nc, hdr)
			}
			cookies := []*http.Cookie{csrf}
			if nc != nil {
				cookies = append(cookies, nc)
			}
			resp, body := td.do(t, http.MethodPost, loginURI, strings.NewReader(form.Encode()), hdr, cookies...)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("POST /callback = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if c := findCookie(resp, "doorman"); c != nil {
				t.Errorf("refused sign-in set a session cookie: %v", c)
			}
			if !strings.Contains(body, "<html") {
				t.Errorf("refusal answered without an HTML page: %q", body)
			}
			if !strings.Contains(td.logs.String(), `"reason":"`+tt.wantReason+`"`) {
				t.Errorf("log has no refusal with reason %q:\n%s", tt.wantReason, td.logs.String())
			}
		})
	}
}

func TestCallbackListOutcomes(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", testConfig{})
	t.Run("on no list: 403 naming the email, no cookie", func(t *testing.T) {
		resp, body := td.signIn(t, "rd=%2Fx", googletest.Claims{Email: "mallory@example.com"})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "mallory@example.com") || findCookie(resp, "doorman") != nil {
			t.Errorf("unlisted sign-in = %d, cookie %v, names email %v; want 403, no cookie, named",
				resp.StatusCode, findCookie(resp, "doorman"), strings.Contains(body, "mallory@example.com"))
		}
		if !strings.Contains(body, `href="/login?rd=%2Fx"`) { // no session: nothing to sign out of
			t.Errorf("403 page offers no other account keeping rd:\n%s", body)
		}
	})
	t.Run("on another list: cookie set and 403 for this site", func(t *testing.T) {
		resp, body := td.signIn(t, "list=gpt4&rd=%2Fx", googletest.Claims{Email: "alice@example.com"})
		if resp.StatusCode != http.StatusForbidden || findCookie(resp, "doorman") == nil || !strings.Contains(body, "gpt4") {
			t.Errorf("sign-in to a site not on = %d, cookie %v; want 403 for gpt4 with a cookie", resp.StatusCode, findCookie(resp, "doorman"))
		}
	})
	t.Run("on the site's list: 303 to rd", func(t *testing.T) {
		resp, _ := td.signIn(t, "list=gpt4&rd=https://gpt4.example.com/", googletest.Claims{Email: "carol@example.com"})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://gpt4.example.com/" {
			t.Errorf("sign-in = %d %q, want 303 https://gpt4.example.com/", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("invalid rd dropped: 303 to the signed-in page", func(t *testing.T) {
		resp, _ := td.signIn(t, "rd=https://evil.com/", googletest.Claims{Email: "alice@example.com"})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Errorf("sign-in with evil rd = %d %q, want 303 /", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestCallbackJSONBody(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	nonce, loginURI, nc := td.login(t, "")
	form, csrf := td.google.CallbackForm(td.google.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce}))
	body := `{"credential":"` + form.Get("credential") + `","g_csrf_token":"` + form.Get("g_csrf_token") + `"}`
	resp, _ := td.do(t, http.MethodPost, loginURI, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}}, csrf, nc)
	if resp.StatusCode != http.StatusSeeOther || findCookie(resp, "doorman") == nil {
		t.Errorf("JSON callback = %d, want 303 with a session cookie", resp.StatusCode)
	}
}

func TestCallbackOversizedBody(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	body := "credential=" + strings.Repeat("A", 70<<10)
	resp, _ := td.do(t, http.MethodPost, "/callback", strings.NewReader(body), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB callback = %d, want 413", resp.StatusCode)
	}
}

func TestNonceIsSingleUse(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	nonce, loginURI, nc := td.login(t, "")
	token := td.google.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce})
	post := func() *http.Response {
		form, csrf := td.google.CallbackForm(token)
		resp, _ := td.do(t, http.MethodPost, loginURI, strings.NewReader(form.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, csrf, nc)
		return resp
	}
	first := post()
	if first.StatusCode != http.StatusSeeOther {
		t.Fatalf("first POST = %d, want 303", first.StatusCode)
	}
	if left := findCookie(first, nc.Name); left == nil || left.MaxAge >= 0 {
		t.Errorf("used nonce cookie not cleared: %v", left)
	}
	// The browser now holds no nonce, so the same token posted again from it
	// is refused.
	form, csrf := td.google.CallbackForm(token)
	resp, _ := td.do(t, http.MethodPost, loginURI, strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, csrf)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("replay without the nonce cookie = %d, want 401", resp.StatusCode)
	}
}
