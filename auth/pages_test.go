package auth

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestLoginPage(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", testConfig{auth: func(c *Config) {
		c.PublicURL = "https://auth.example.com"
	}})
	tests := []struct {
		name, query, wantLoginURI string
	}{
		{"no rd", "", "https://auth.example.com/callback"},
		{"escaped rd", "rd=" + url.QueryEscape("https://chat.example.com/a?b=1&c=2"), "https://auth.example.com/callback?rd=" + url.QueryEscape("https://chat.example.com/a?b=1&c=2")},
		{"unescaped rd last", "list=gpt4&rd=https://chat.example.com/a?b=1&c=2", "https://auth.example.com/callback?list=gpt4&rd=" + url.QueryEscape("https://chat.example.com/a?b=1&c=2")},
		{"evil rd dropped", "rd=https://evil.com/", "https://auth.example.com/callback"},
		{"protocol-relative rd dropped", "rd=//evil.com/", "https://auth.example.com/callback"},
		{"javascript rd dropped", "rd=javascript:alert(1)", "https://auth.example.com/callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nonce, loginURI, nc := td.login(t, tt.query)
			if loginURI != tt.wantLoginURI {
				t.Errorf("login_uri = %q, want %q", loginURI, tt.wantLoginURI)
			}
			if len(nonce) < 16 || nc == nil || !nc.HttpOnly {
				t.Errorf("nonce %q, nonce cookie %v; want a fresh nonce bound to an HttpOnly cookie", nonce, nc)
			}
		})
	}
	t.Run("page carries client id, popup mode, security headers", func(t *testing.T) {
		resp, body := td.do(t, http.MethodGet, "/login", nil, nil)
		for _, want := range []string{`data-client_id="` + td.google.ClientID + `"`, `data-ux_mode="popup"`, `data-auto_prompt="false"`, "https://accounts.google.com/gsi/client"} {
			if !strings.Contains(body, want) {
				t.Errorf("login page lacks %s", want)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src https://accounts.google.com/gsi/client") {
			t.Errorf("CSP = %q", csp)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("login Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
		}
	})
	t.Run("two nonces differ", func(t *testing.T) {
		a, _, _ := td.login(t, "")
		b, _, _ := td.login(t, "")
		if a == b {
			t.Errorf("two login pages got the same nonce %q", a)
		}
	})
	t.Run("malformed list names are dropped, never reflected", func(t *testing.T) {
		for _, list := range []string{"a%20b", "../whitelist", url.QueryEscape(`"><script>alert(1)</script>`), strings.Repeat("x", 3000)} {
			resp, body := td.do(t, http.MethodGet, "/login?list="+list+"&rd=/x", nil, nil)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET /login?list=%.40s = %d, want 200", list, resp.StatusCode)
			}
			if loginURI := loginURIAttr.FindStringSubmatch(body); loginURI == nil || loginURI[1] != "https://auth.example.com/callback?rd=%2Fx" {
				t.Errorf("GET /login?list=%.40s: login_uri = %v, want the list dropped and rd kept", list, loginURI)
			}
			for _, raw := range []string{"<script>", "../whitelist", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"} {
				if strings.Contains(body, raw) {
					t.Errorf("GET /login?list=%.40s: page reflects %q", list, raw)
				}
			}
		}
	})
}

func TestLoginWithSession(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", testConfig{})
	alice := td.session(t, "alice@example.com")
	tests := []struct {
		name, query  string
		wantStatus   int
		wantLocation string
	}{
		{"on list: straight to rd", "rd=https://chat.example.com/x", http.StatusSeeOther, "https://chat.example.com/x"},
		{"on list, no rd: signed-in page", "", http.StatusSeeOther, "/"},
		{"not on site list: 403, no loop", "list=gpt4&rd=https://gpt4.example.com/", http.StatusForbidden, ""},
		{"unknown list: 403", "list=nope&rd=https://gpt4.example.com/", http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := td.do(t, http.MethodGet, "/login?"+tt.query, nil, nil, alice)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Location") != tt.wantLocation {
				t.Errorf("GET /login?%s = %d %q, want %d %q", tt.query, resp.StatusCode, resp.Header.Get("Location"), tt.wantStatus, tt.wantLocation)
			}
			if tt.wantStatus == http.StatusForbidden && !strings.Contains(body, "alice@example.com") {
				t.Errorf("403 page does not name alice:\n%s", body)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{auth: func(c *Config) { c.CookieDomain = ".example.com" }})
	alice := td.session(t, "alice@example.com")
	resp, _ := td.do(t, http.MethodGet, "/logout?rd=%2Fback", nil, nil, alice)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?rd=%2Fback" {
		t.Errorf("GET /logout = %d %q, want 303 /login?rd=%%2Fback", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := findCookie(resp, "doorman")
	if c == nil || c.MaxAge >= 0 || c.Value != "" || c.Domain != "example.com" || c.Path != "/" {
		t.Errorf("logout cookie = %+v, want an expired cookie with the session's domain and path", c)
	}
	if !strings.Contains(td.logs.String(), `"msg":"signed out","email":"alice@example.com"`) {
		t.Errorf("no sign-out event logged:\n%s", td.logs.String())
	}
}

func TestHomePage(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\nalice@example.com\n", testConfig{})
	if resp, _ := td.do(t, http.MethodGet, "/", nil, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET / without session = %d %q, want 303 /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := td.do(t, http.MethodGet, "/", nil, nil, td.session(t, "alice@example.com"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "alice@example.com") || !strings.Contains(body, "gpt4") {
		t.Errorf("GET / with session = %d, want 200 naming alice and her lists:\n%s", resp.StatusCode, body)
	}
}

func TestAuthAnswers(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", testConfig{})
	alice, carol := td.session(t, "alice@example.com"), td.session(t, "carol@example.com")
	forged := &http.Cookie{Name: "doorman", Value: "GAU=1"}
	spoof := http.Header{
		"X-Auth-Request-Email": {"carol@example.com"}, "X-Forwarded-User": {"carol@example.com"},
		"X-Original-Url": {"https://gpt4.example.com/"}, "X-Forwarded-Host": {"gpt4.example.com"},
	}
	tests := []struct {
		name      string
		method    string
		path      string
		hdr       http.Header
		cookies   []*http.Cookie
		wantCode  int
		wantEmail string
	}{
		{"no cookie", "GET", "/auth", nil, nil, 401, ""},
		{"forged cookie", "GET", "/auth", nil, []*http.Cookie{forged}, 401, ""},
		{"valid main", "GET", "/auth", nil, []*http.Cookie{alice}, 200, "alice@example.com"},
		{"HEAD valid", "HEAD", "/auth", nil, []*http.Cookie{alice}, 200, "alice@example.com"},
		{"valid, not on gpt4", "GET", "/auth?list=gpt4", nil, []*http.Cookie{alice}, 401, ""},
		{"gpt4 member", "GET", "/auth?list=gpt4", nil, []*http.Cookie{carol}, 200, "carol@example.com"},
		{"gpt4 member on main", "GET", "/auth", nil, []*http.Cookie{carol}, 401, ""},
		{"unknown list", "GET", "/auth?list=nope", nil, []*http.Cookie{alice}, 401, ""},
		{"headers never change the list", "GET", "/auth", spoof, []*http.Cookie{carol}, 401, ""},
		{"headers never give identity", "GET", "/auth?list=gpt4", spoof, nil, 401, ""},
		{"forged then valid duplicate", "GET", "/auth", nil, []*http.Cookie{forged, alice}, 200, "alice@example.com"},
		{"POST is an empty 401 too", "POST", "/auth", nil, []*http.Cookie{alice}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := td.do(t, tt.method, tt.path, nil, tt.hdr, tt.cookies...)
			if resp.StatusCode != tt.wantCode || resp.Header.Get("X-Auth-Request-Email") != tt.wantEmail {
				t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("X-Auth-Request-Email"), tt.wantCode, tt.wantEmail)
			}
			if body != "" || resp.Header.Get("Content-Length") != "0" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s body %q Content-Length %q Cache-Control %q, want empty, 0, no-store",
					tt.method, tt.path, body, resp.Header.Get("Content-Length"), resp.Header.Get("Cache-Control"))
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("/auth redirected to %q; it must never redirect", loc)
			}
		})
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	nonce, loginURI, nc := td.login(t, "")
	token := td.google.Token(t, googletestClaims("alice@example.com", nonce))
	form, csrf := td.google.CallbackForm(token)
	resp, _ := td.do(t, http.MethodPost, loginURI, strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, csrf, nc)
	session := findCookie(resp, "doorman")
	if session == nil {
		t.Fatal("no session cookie")
	}
	td.do(t, http.MethodGet, "/auth", nil, nil, session)
	td.do(t, http.MethodGet, "/logout", nil, nil, session)
	logs := td.logs.String()
	secrets := map[string]string{"token": token, "token signature": token[strings.LastIndexByte(token, '.')+1:],
		"session cookie": session.Value, "csrf": csrf.Value, "nonce cookie": nc.Value, "nonce": nonce}
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain the %s", name)
		}
	}
	for _, event := range []string{`"msg":"sign-in succeeded"`, `"msg":"signed out"`} {
		if !strings.Contains(logs, event) {
			t.Errorf("logs lack %s", event)
		}
	}
}

// TestForbiddenPageSaysWhetherSignedIn: an address on no list is given no
// session, and the 403 page must not claim otherwise, in any language; one
// on another list is signed in, and the page says so.
func TestForbiddenPageSaysWhetherSignedIn(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", testConfig{})
	signedIn := map[string]string{"en": "You are signed in as", "zh-CN": "您当前登录的账号是", "ko": "(으)로 로그인되어 있지만"}
	notSignedIn := map[string]string{"en": "you have not been signed in", "zh-CN": "因此您没有登录", "ko": "로그인되지 않았습니다"}
	tests := []struct {
		name, email  string
		wantSignedIn bool
		wantSwitch   string
	}{
		{"on no list", "mallory@example.com", false, `href="/login?list=gpt4&amp;rd=%2Fx"`},
		{"on another list", "alice@example.com", true, `href="/logout?list=gpt4&amp;rd=%2Fx"`},
	}
	for _, tt := range tests {
		for lang := range signedIn {
			nonce, loginURI, nc := td.login(t, "list=gpt4&rd=%2Fx")
			form, csrf := td.google.CallbackForm(td.google.Token(t, googletestClaims(tt.email, nonce)))
			hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept-Language": {lang}}
			resp, body := td.do(t, http.MethodPost, loginURI, strings.NewReader(form.Encode()), hdr, csrf, nc)
			gotSession := findCookie(resp, "doorman") != nil
			if resp.StatusCode != http.StatusForbidden || gotSession != tt.wantSignedIn || !strings.Contains(body, tt.email) {
				t.Fatalf("%s (%s): %d, session cookie %v; want 403 naming %s, session cookie %v", tt.name, lang, resp.StatusCode, gotSession, tt.email, tt.wantSignedIn)
			}
			says, denies := strings.Contains(body, signedIn[lang]), strings.Contains(body, notSignedIn[lang])
			if says != tt.wantSignedIn || denies == tt.wantSignedIn {
				t.Errorf("%s (%s): page says signed in %v, not signed in %v; want %v, %v:\n%s", tt.name, lang, says, denies, tt.wantSignedIn, !tt.wantSignedIn, body)
			}
			if !strings.Contains(body, tt.wantSwitch) {
				t.Errorf("%s (%s): \"use another account\" is not %s:\n%s", tt.name, lang, tt.wantSwitch, body)
			}
		}
	}
}

// TestLogsNameTheMainListOneWay: every event that names lists calls the
// main list "(main)", which no list can be called (a list may be called
// "main"), never "".
func TestLogsNameTheMainListOneWay(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\nalice@example.com\n[main]\ncarol@example.com\n", testConfig{})
	td.signIn(t, "", googletestClaims("alice@example.com", ""))
	td.signIn(t, "list=main", googletestClaims("carol@example.com", ""))
	var names []string // every list name the events gave
	for line := range strings.Lines(td.logs.String()) {
		var ev struct {
			Msg   string `json:"msg"`
			Lists any    `json:"lists"`
			Site  *string
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch lists := ev.Lists.(type) {
		case map[string]any: // "whitelist reloaded": entries per list
			names = append(names, slices.Collect(maps.Keys(lists))...)
		case []any: // "sign-in succeeded": the lists of the address
			for _, l := range lists {
				names = append(names, l.(string))
			}
		}
		if ev.Site != nil {
			names = append(names, *ev.Site)
		}
	}
	for _, want := range []string{"(main)", "gpt4", "main"} {
		if !slices.Contains(names, want) {
			t.Errorf("no event names list %q; names given: %q\n%s", want, names, td.logs.String())
		}
	}
	if slices.Contains(names, "") {
		t.Errorf("an event names the main list \"\", want \"(main)\" everywhere; names given: %q\n%s", names, td.logs.String())
	}
}
