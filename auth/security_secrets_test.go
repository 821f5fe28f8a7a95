package auth

// Secrets in logs and metrics: one whole flow, every secret it handles
// noted, then the debug log and the metrics searched for any of them.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorman/auth/cli"
	"doorman/auth/googletest"
	"doorman/whitelist"
)

// secretWindow is the longest piece of a secret that may show: the README
// has logs carry 8-character id prefixes.
const secretWindow = 8

// secretSet is every secret a flow handled, by name.
type secretSet map[string]string

// leaks returns the names of the secrets text holds a piece of, longer
// than secretWindow characters.
func (s secretSet) leaks(text string) []string {
	var names []string
	for name, secret := range s {
		if secret == "" {
			continue
		}
		n := min(len(secret), secretWindow+1)
		for i := 0; i+n <= len(secret); i++ {
			if strings.Contains(text, secret[i:i+n]) {
				names = append(names, name)
				break
			}
		}
	}
	return names
}

// TestSecurityNoSecretInLogsOrMetrics runs one whole flow at debug level:
// sign-in through Google via a device page's login, a token made on the
// tokens page, device sign-in (code, approval, token), both tokens and the
// cookie at /auth, counted checks, refusals, a session ended, a token
// ended, doorman logout (revoke) and /logout. No cookie value, session id,
// token, token hash, device code, user code, ID token, Google CSRF value,
// nonce or form CSRF token shows in any log line or metric, beyond an
// 8-character id prefix.
func TestSecurityNoSecretInLogsOrMetrics(t *testing.T) {
	t.Parallel()
	var m *Metrics
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\nbudget 100/day\nalice@example.com\n", testConfig{auth: func(c *Config) {
		c.DeviceSignIn, c.PublicURL = true, devicePublicURL
		m = newTestMetrics(c.Allowlist.(*whitelist.Watcher))
		c.Observer = m
	}})
	m.Register(td.h.StoreCollector())
	secrets := secretSet{}

	// A terminal asks for a code; alice opens it, signs in on the way.
	code := askCode(t, td, url.Values{"list": {"gpt4"}, "name": {"laptop"}})
	secrets["device code"], secrets["device code id"] = code.DeviceCode, tokenID(tokenHash(code.DeviceCode))
	secrets["user code"], secrets["user code, bare"] = code.UserCode, strings.ReplaceAll(code.UserCode, "-", "")
	resp, _ := td.do(t, http.MethodGet, "/device?code="+code.UserCode, nil, nil)
	login := resp.Header.Get("Location")
	alice := signInThrough(t, td, strings.TrimPrefix(login, "/login?"), secrets)
	if resp, body := td.do(t, http.MethodGet, "/device?code="+code.UserCode, nil, nil, alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("the device page after sign-in = %d:\n%s", resp.StatusCode, body)
	}
	secrets["session id"], secrets["CSRF token"] = sessionOf(t, td, alice), td.h.csrfToken(sessionOf(t, td, alice))
	if resp, body := decide(t, td, alice, code.UserCode, "approve"); resp.StatusCode != http.StatusOK {
		t.Fatalf("approve = %d:\n%s", resp.StatusCode, body)
	}
	_, answer := poll(t, td, deviceGrantType, code.DeviceCode)
	device, _ := answer["access_token"].(string)
	secrets["device token"], secrets["device token id"] = device[len(tokenPrefix):], tokenID(tokenHash(device))

	// A token made on the tokens page.
	resp, body := postTokenForm(t, td, "/tokens", url.Values{"name": {"script"}, "list": {"gpt4"}, "days": {"1"}}, alice)
	made := tokenRE.FindString(body)
	if resp.StatusCode != http.StatusOK || made == "" {
		t.Fatalf("POST /tokens = %d, no token:\n%s", resp.StatusCode, body)
	}
	secrets["made token"], secrets["made token id"] = made[len(tokenPrefix):], tokenID(tokenHash(made))

	// Both tokens and the cookie at /auth, counted and not; refusals.
	waitFor(t, 5*time.Second, "the device token admitted", func() bool {
		return authWith(t, td, "gpt4", "Authorization", "Bearer "+device, nil).StatusCode == http.StatusOK
	})
	for _, r := range []struct {
		path, header, value string
		cookie              *http.Cookie
	}{
		{"/auth?list=gpt4&cost=1", "Authorization", "Bearer " + made, nil},
		{"/auth?list=gpt4&cost=2", "Proxy-Authorization", "Bearer " + device, nil},
		{"/auth?list=gpt4&cost=1", "", "", alice},
		{"/auth", "", "", alice},
		{"/auth?list=gpt4", "Authorization", "Bearer " + flip(made, 20), alice},
		{"/auth?list=nope&cost=01", "", "", alice},
	} {
		hdr := http.Header{}
		if r.header != "" {
			hdr.Set(r.header, r.value)
		}
		td.do(t, http.MethodGet, r.path, nil, hdr, r.cookie)
	}
	td.do(t, http.MethodGet, "/sessions", nil, nil, alice)
	td.do(t, http.MethodGet, "/device?code=BBBB-BBBB", nil, nil, alice) // a wrong code

	// A second session ended from the sessions page; the made token ended.
	other := signInThrough(t, td, "", secrets)
	secrets["other session id"] = sessionOf(t, td, other)
	if resp, _ := postTokenForm(t, td, "/sessions/end", url.Values{"id": {sessionOf(t, td, other)}}, alice); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /sessions/end = %d, want 303", resp.StatusCode)
	}
	if resp, _ := postTokenForm(t, td, "/tokens/end", url.Values{"id": {tokenID(tokenHash(made))}}, alice); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /tokens/end = %d, want 303", resp.StatusCode)
	}

	// doorman logout ends the device token; then a revoke of it again, and /logout.
	cliLogout(t, td, device)
	td.do(t, http.MethodPost, "/tokens/revoke", nil, http.Header{"Authorization": {"Bearer " + device}})
	td.do(t, http.MethodGet, "/logout", nil, nil, alice)

	logs, metrics := td.logs.String(), scrape(t, m)
	for _, event := range []string{"sign-in succeeded", "device code approved", "token created", "token ended", "session ended", "signed out"} {
		if !strings.Contains(logs, `"msg":"`+event+`"`) {
			t.Errorf("the log lacks %q: the flow did not run as meant", event)
		}
	}
	if !strings.Contains(metrics, `doorman_budget_checks_total{list="gpt4",outcome="allowed"} 3`) {
		t.Errorf("the metrics lack the three counted checks: the flow did not run as meant:\n%s", metrics)
	}
	if n := strings.Count(logs, "\n"); n < 20 {
		t.Errorf("the debug log has %d lines; want the whole flow's", n)
	}
	for where, text := range map[string]string{"logs": logs, "metrics": metrics} {
		if leaks := secrets.leaks(text); len(leaks) > 0 {
			t.Errorf("the %s carry pieces of: %s", where, strings.Join(leaks, ", "))
		}
	}
}

// signInThrough opens /login?query, signs alice in through the fake Google
// and returns her session cookie, noting the secrets of the sign-in.
func signInThrough(t *testing.T, td *testDoorman, query string, secrets secretSet) *http.Cookie {
	t.Helper()
	nonce, loginURI, cookies := loginPage(t, td, query)
	credential := td.google.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce})
	form, csrf := td.google.CallbackForm(credential)
	target := strings.TrimPrefix(loginURI, devicePublicURL)
	hdr := formHeader()
	resp, body := td.do(t, http.MethodPost, target, strings.NewReader(form.Encode()), hdr, append(cookies, csrf)...)
	session := findCookie(resp, "doorman")
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("POST %s = %d, session cookie %v:\n%s", target, resp.StatusCode, session != nil, body)
	}
	n := len(secrets)
	secrets["ID token "+string(rune('a'+n))] = credential
	secrets["Google CSRF "+string(rune('a'+n))] = csrf.Value
	secrets["nonce "+string(rune('a'+n))] = nonce
	secrets["nonce cookie "+string(rune('a'+n))] = nonceCookieOf(cookies).Value
	secrets["session cookie "+string(rune('a'+n))] = session.Value
	return session
}

// cliLogout runs doorman logout for tok, saved for td as doorman login
// would have saved it.
func cliLogout(t *testing.T, td *testDoorman, tok string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "doorman", "credentials.json")
	b, err := json.Marshal(map[string]any{"tokens": map[string]cli.Credential{td.URL: {Token: tok, Expires: time.Now().Add(time.Hour), Lists: []string{"gpt4"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	getenv := func(k string) string { return map[string]string{"XDG_CONFIG_HOME": dir}[k] }
	if err := cli.Run(t.Context(), []string{"logout", td.URL}, getenv, &out, &out); err != nil {
		t.Fatalf("doorman logout = %v", err)
	}
}
