package auth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

// devicePublicURL is the public URL of the device tests' doormans.
const devicePublicURL = "https://doorman.example.com"

// deviceList is the device tests' whitelist: alice on the main list and
// gpt4, bob on the main list only.
const deviceList = "alice@example.com\nbob@example.com\n[gpt4]\nalice@example.com\n"

// deviceDoorman is a doorman with device sign-in on, whose clock moves
// only when the test moves skew (seconds ahead of real time).
func deviceDoorman(t *testing.T, skew *atomic.Int64, edit func(*Config)) *testDoorman {
	t.Helper()
	return newTestDoorman(t, deviceList, testConfig{offline: true, auth: func(c *Config) {
		c.DeviceSignIn, c.PublicURL = true, devicePublicURL
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load()) * time.Second) }
		if edit != nil {
			edit(c)
		}
	}})
}

// askCode posts /device/code with form and decodes its answer.
func askCode(t *testing.T, td *testDoorman, form url.Values) deviceCodeAnswer {
	t.Helper()
	resp, body := td.do(t, http.MethodPost, "/device/code", strings.NewReader(form.Encode()), formHeader())
	var a deviceCodeAnswer
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &a) != nil {
		t.Fatalf("POST /device/code %v = %d %s; want 200 JSON", form, resp.StatusCode, body)
	}
	return a
}

// poll posts /device/token for code and returns the status and the JSON.
func poll(t *testing.T, td *testDoorman, grant, code string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {grant}, "device_code": {code}}
	resp, body := td.do(t, http.MethodPost, "/device/token", strings.NewReader(form.Encode()), formHeader())
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("POST /device/token = %d %q: %v", resp.StatusCode, body, err)
	}
	return resp.StatusCode, m
}

// wantPoll checks that polling code answers 400 with the error want.
func wantPoll(t *testing.T, td *testDoorman, code, want string) {
	t.Helper()
	if status, m := poll(t, td, deviceGrantType, code); status != http.StatusBadRequest || m["error"] != want {
		t.Errorf("poll = %d %v, want 400 %s", status, m, want)
	}
}

// decide posts /device as cookie's session with the user code.
func decide(t *testing.T, td *testDoorman, cookie *http.Cookie, code, decision string) (*http.Response, string) {
	t.Helper()
	form := url.Values{"code": {code}, "decision": {decision}, "csrf": {td.h.csrfToken(sessionOf(t, td, cookie))}}
	hdr := formHeader()
	hdr.Set("Origin", devicePublicURL)
	return td.do(t, http.MethodPost, "/device", strings.NewReader(form.Encode()), hdr, cookie)
}

func formHeader() http.Header {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
}

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// TestDeviceFlow: a code asked for, polled (pending, then slow_down when
// too fast), shown to the signed-in person with what it asks, approved,
// redeemed once for a token that /auth accepts on the lists granted.
func TestDeviceFlow(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	a := askCode(t, td, url.Values{"list": {"gpt4", "", "other"}, "name": {"laptop <b>"}})
	if !userCodeShape.MatchString(a.UserCode) || len(a.DeviceCode) < 22 || a.ExpiresIn != 600 || a.Interval != 5 ||
		a.VerificationURI != devicePublicURL+"/device" || a.VerificationURIComplete != a.VerificationURI+"?code="+a.UserCode {
		t.Fatalf("POST /device/code = %+v", a)
	}
	wantPoll(t, td, a.DeviceCode, "authorization_pending")
	wantPoll(t, td, a.DeviceCode, "slow_down")
	skew.Add(6)
	wantPoll(t, td, a.DeviceCode, "authorization_pending")

	alice := mintSession(t, td.h, "alice@example.com")
	resp, body := td.do(t, http.MethodGet, "/device?code="+strings.ToLower(a.UserCode), nil, nil, alice)
	for _, want := range []string{a.UserCode, "laptop &lt;b&gt;", "main, gpt4, other", "127.0.0.1", "Approve only a code you started yourself"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET /device?code= = %d, want %q in:\n%s", resp.StatusCode, want, body)
		}
	}
	resp, body = decide(t, td, alice, a.UserCode, "approve")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "main, gpt4") {
		t.Fatalf("POST /device approve = %d:\n%s", resp.StatusCode, body)
	}
	skew.Add(6)
	status, m := poll(t, td, deviceGrantType, a.DeviceCode)
	tok, _ := m["access_token"].(string)
	if status != http.StatusOK || !wellFormedToken(tok) || m["token_type"] != "Bearer" || m["expires_in"] != float64(30*24*3600) {
		t.Fatalf("poll after approval = %d %v; want 200 and a token", status, m)
	}
	waitFor(t, time.Second, "the token admitted at /auth?list=gpt4", func() bool {
		return authWith(t, td, "gpt4", "Authorization", "Bearer "+tok, nil).StatusCode == http.StatusOK
	})
	if got := authWith(t, td, "other", "Authorization", "Bearer "+tok, nil).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("/auth?list=other with the token = %d, want 401 (not alice's list)", got)
	}
	skew.Add(6)
	wantPoll(t, td, a.DeviceCode, "invalid_grant") // a code yields one token
	if resp, _ := td.do(t, http.MethodGet, "/device?code="+a.UserCode, nil, nil, alice); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /device with a used code = %d, want 404", resp.StatusCode)
	}
	logs := td.logs.String()
	if !strings.Contains(logs, `"msg":"device code approved"`) || !strings.Contains(logs, `"msg":"token created"`) {
		t.Errorf("no approval or token log line:\n%s", logs)
	}
	for _, secret := range []string{a.DeviceCode, a.UserCode, strings.ReplaceAll(a.UserCode, "-", ""), tok} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries %q", secret)
		}
	}
}

// TestDeviceTokenErrors: each RFC 8628 error of /device/token.
func TestDeviceTokenErrors(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	bob := mintSession(t, td.h, "bob@example.com")
	denied := askCode(t, td, url.Values{"list": {""}})
	decide(t, td, bob, denied.UserCode, "deny")
	foreign := askCode(t, td, url.Values{"list": {"gpt4"}}) // not one of bob's lists
	if _, body := decide(t, td, bob, foreign.UserCode, "approve"); !strings.Contains(body, "Denied") {
		t.Errorf("approving a code for none of bob's lists: not the denied page:\n%s", body)
	}
	wantPoll(t, td, denied.DeviceCode, "access_denied")
	wantPoll(t, td, foreign.DeviceCode, "access_denied")
	if n := strings.Count(td.logs.String(), `"msg":"device code denied"`); n != 2 {
		t.Errorf("%d device code denied log lines, want 2:\n%s", n, td.logs.String())
	}
	wantPoll(t, td, "no-such-code", "invalid_grant")
	if status, m := poll(t, td, "authorization_code", denied.DeviceCode); status != http.StatusBadRequest || m["error"] != "unsupported_grant_type" {
		t.Errorf("poll with another grant type = %d %v, want 400 unsupported_grant_type", status, m)
	}
	late := askCode(t, td, url.Values{"list": {""}})
	skew.Add(601)
	wantPoll(t, td, late.DeviceCode, "expired_token")
	if resp, _ := decide(t, td, bob, late.UserCode, "approve"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("approving an expired code = %d, want 404", resp.StatusCode)
	}
	if resp, _ := td.do(t, http.MethodPost, "/device/code", strings.NewReader(""), formHeader()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /device/code without a list = %d, want 400", resp.StatusCode)
	}
}

// TestDevicePostChecksOriginAndCSRF: POST /device from another origin,
// without the session's CSRF token or without a session decides nothing.
func TestDevicePostChecksOriginAndCSRF(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")
	a := askCode(t, td, url.Values{"list": {""}})
	token := td.h.csrfToken(sessionOf(t, td, alice))
	tests := []struct {
		name, origin, csrf string
		cookie             *http.Cookie
	}{
		{"no token", devicePublicURL, "", alice},
		{"another session's token", devicePublicURL, td.h.csrfToken(sessionOf(t, td, bob)), alice},
		{"foreign origin", "https://evil.example", token, alice},
		{"null origin", "null", token, alice},
		{"no session", devicePublicURL, token, nil},
	}
	for _, tt := range tests {
		var cookies []*http.Cookie
		if tt.cookie != nil {
			cookies = append(cookies, tt.cookie)
		}
		form := url.Values{"code": {a.UserCode}, "decision": {"approve"}, "csrf": {tt.csrf}}
		if resp := postForm(t, td, "/device", tt.origin, form, cookies...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /device, %s = %d, want 403", tt.name, resp.StatusCode)
		}
	}
	wantPoll(t, td, a.DeviceCode, "authorization_pending")
}

// TestDeviceLockout: five wrong codes in a row from one session, by the
// form or by ?code=, lock it out of /device for ten minutes (429 saying
// until when); a right code resets the count; other sessions go on.
func TestDeviceLockout(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")
	a := askCode(t, td, url.Values{"list": {""}})
	wrong := func(n int) {
		for i := range n {
			var resp *http.Response
			if i%2 == 0 {
				resp, _ = td.do(t, http.MethodGet, "/device?code=BBBB-BBBB", nil, nil, alice)
			} else {
				resp, _ = decide(t, td, alice, "BBBBBBBB", "approve")
			}
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("wrong code %d = %d, want 404", i+1, resp.StatusCode)
			}
		}
	}
	wrong(4)
	if resp, _ := td.do(t, http.MethodGet, "/device?code="+a.UserCode, nil, nil, alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("the right code after 4 wrong = %d, want 200", resp.StatusCode)
	}
	wrong(4) // the count started again
	resp, body := td.do(t, http.MethodGet, "/device?code=CCCC-CCCC", nil, nil, alice)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "600" || !strings.Contains(body, "Try again after") {
		t.Fatalf("fifth wrong code = %d, Retry-After %q; want 429 600:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	for _, path := range []string{"/device", "/device?code=" + a.UserCode} {
		if resp, _ := td.do(t, http.MethodGet, path, nil, nil, alice); resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("GET %s locked out = %d, want 429", path, resp.StatusCode)
		}
	}
	if resp, _ := decide(t, td, alice, a.UserCode, "approve"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("POST /device locked out = %d, want 429", resp.StatusCode)
	}
	if resp, _ := td.do(t, http.MethodGet, "/device?code="+a.UserCode, nil, nil, bob); resp.StatusCode != http.StatusOK {
		t.Errorf("another session = %d, want 200", resp.StatusCode)
	}
	skew.Add(601)
	if resp, _ := td.do(t, http.MethodGet, "/device", nil, nil, alice); resp.StatusCode != http.StatusOK {
		t.Errorf("ten minutes later = %d, want 200", resp.StatusCode)
	}
}

// TestDeviceOffAndSignedOut: without DeviceSignIn the routes are 404; a
// visitor not signed in goes through /login and back; DeviceSignIn needs
// PublicURL.
func TestDeviceOffAndSignedOut(t *testing.T) {
	t.Parallel()
	off := newTestDoorman(t, deviceList, testConfig{offline: true})
	for _, r := range [][2]string{{"GET", "/device"}, {"POST", "/device"}, {"POST", "/device/code"}, {"POST", "/device/token"}} {
		if resp, _ := off.do(t, r[0], r[1], nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s with device sign-in off = %d, want 404", r[0], r[1], resp.StatusCode)
		}
	}
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	resp, _ := td.do(t, http.MethodGet, "/device?code=BCDF-GHJK", nil, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/login?rd="+url.QueryEscape("/device?code=BCDF-GHJK") {
		t.Errorf("GET /device signed out = %d %q, want 303 to /login and back", resp.StatusCode, loc)
	}
	cfg := td.config(t, nil, func(c *Config) { c.DeviceSignIn, c.PublicURL = true, "" })
	if err := CheckSettings(cfg); err == nil || !strings.Contains(err.Error(), "DeviceSignIn") {
		t.Errorf("CheckSettings(DeviceSignIn without PublicURL) = %v, want an error naming DeviceSignIn", err)
	}
}

// TestDeviceStoreDown: with the store down, /device/code and /device/token
// answer 503 temporarily_unavailable.
func TestDeviceStoreDown(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	st := openStore(t, redis.URL(), store.Options{Timeout: 300 * time.Millisecond})
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, func(c *Config) { c.Store = st })
	a := askCode(t, td, url.Values{"list": {""}})
	redis.Kill(t)
	for path, form := range map[string]url.Values{
		"/device/code":  {"list": {""}},
		"/device/token": {"grant_type": {deviceGrantType}, "device_code": {a.DeviceCode}},
	} {
		resp, body := td.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), formHeader())
		if resp.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(body) != `{"error":"temporarily_unavailable"}` {
			t.Errorf("POST %s with the store down = %d %s, want 503 temporarily_unavailable", path, resp.StatusCode, body)
		}
	}
}

// TestDeviceReplicas: three doormans on one Redis: a code asked for on
// one, approved on another, redeemed on the third.
func TestDeviceReplicas(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	var skew atomic.Int64
	var ds [3]*testDoorman
	for i := range ds {
		st := openStore(t, redis.URL(), store.Options{})
		ds[i] = deviceDoorman(t, &skew, func(c *Config) { c.Store = st })
	}
	a := askCode(t, ds[0], url.Values{"list": {"gpt4"}, "name": {"ci"}})
	if resp, body := decide(t, ds[1], mintSession(t, ds[1].h, "alice@example.com"), a.UserCode, "approve"); resp.StatusCode != http.StatusOK {
		t.Fatalf("approve on the second doorman = %d:\n%s", resp.StatusCode, body)
	}
	status, m := poll(t, ds[2], deviceGrantType, a.DeviceCode)
	tok, _ := m["access_token"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("redeem on the third doorman = %d %v", status, m)
	}
	for i, td := range ds {
		waitFor(t, time.Second, "the token admitted", func() bool {
			return authWith(t, td, "gpt4", "Authorization", "Bearer "+tok, nil).StatusCode == http.StatusOK
		})
		skew.Add(6)
		if status, m := poll(t, td, deviceGrantType, a.DeviceCode); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
			t.Errorf("doorman %d: poll again = %d %v, want invalid_grant", i, status, m)
		}
	}
}

// TestRevokeToken: POST /tokens/revoke with a token ends that token on
// every doorman; a second revoke, or a malformed token, is a 401.
func TestRevokeToken(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	st := td.h.store
	tok := makeToken(t, st, "alice@example.com", "script", time.Hour, "gpt4")
	waitFor(t, time.Second, "the token admitted", func() bool {
		return authWith(t, td, "gpt4", "Authorization", "Bearer "+tok, nil).StatusCode == http.StatusOK
	})
	revoke := func(value string) (int, string) {
		resp, body := td.do(t, http.MethodPost, "/tokens/revoke", nil, http.Header{"Authorization": {value}})
		return resp.StatusCode, strings.TrimSpace(body)
	}
	if status, body := revoke("Bearer " + tok); status != http.StatusOK || body != `{"revoked":true}` {
		t.Fatalf("revoke = %d %s, want 200", status, body)
	}
	waitFor(t, time.Second, "the token refused", func() bool {
		return authWith(t, td, "gpt4", "Authorization", "Bearer "+tok, nil).StatusCode == http.StatusUnauthorized
	})
	for _, value := range []string{"Bearer " + tok, "Bearer " + flip(tok, 10), "Bearer sk-other", ""} {
		if status, _ := revoke(value); status != http.StatusUnauthorized {
			t.Errorf("revoke with %q = %d, want 401", value, status)
		}
	}
}
