package auth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"doorman/auth/admin"
	"doorman/auth/store"
	"doorman/auth/store/redistest"
	"doorman/templates"
)

// tokenRE matches a personal token on a page.
var tokenRE = regexp.MustCompile(`doorman_[0-9A-Za-z]{38}`)

// twoLists is a whitelist with alice on the main list and gpt4, bob on the
// main list only.
const twoLists = "alice@example.com\nbob@example.com\n[gpt4]\nalice@example.com\n"

// postTokenForm posts form to path as email's session would, with its
// CSRF token, and returns the response and its body.
func postTokenForm(t *testing.T, td *testDoorman, path string, form url.Values, session *http.Cookie) (*http.Response, string) {
	t.Helper()
	form.Set("csrf", td.h.csrfToken(sessionOf(t, td, session)))
	origin := td.URL
	if td.h.publicOrigin != "" {
		origin = td.h.publicOrigin
	}
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Origin": {origin}}
	return td.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), hdr, session)
}

// mustTokens returns email's live tokens in td's store.
func mustTokens(t *testing.T, td *testDoorman, email string) []store.Token {
	t.Helper()
	tokens, err := td.h.store.Tokens(t.Context(), email, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

// TestMakeTokenThroughForm: a token made on the tokens page is shown once,
// with examples, works at /auth at once for its lists only, is logged
// without the token, and afterwards the page shows only its first 12
// characters.
func TestMakeTokenThroughForm(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, twoLists, testConfig{offline: true, auth: func(c *Config) { c.PublicURL = "https://auth.example.com" }})
	alice := mintSession(t, td.h, "alice@example.com")
	resp, body := td.do(t, http.MethodGet, "/tokens", nil, nil, alice)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="list" value=""`) || !strings.Contains(body, `name="list" value="gpt4"`) || !strings.Contains(body, `value="90"`) {
		t.Fatalf("GET /tokens = %d, want 200 with boxes for main and gpt4 and 90 days:\n%s", resp.StatusCode, body)
	}
	form := url.Values{"name": {"my script"}, "list": {"gpt4"}, "days": {"30"}}
	resp, body = postTokenForm(t, td, "/tokens", form, alice)
	tok := tokenRE.FindString(body)
	if resp.StatusCode != http.StatusOK || tok == "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("POST /tokens = %d, Cache-Control %q, want 200 no-store showing a token:\n%s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	for _, want := range []string{
		`curl -H "Authorization: Bearer ` + tok + `" https://gpt4.example.com/…`,
		"OPENAI_API_KEY=" + tok + " OPENAI_BASE_URL=https://gpt4.example.com/v1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the new token's page lacks %s:\n%s", want, body)
		}
	}
	code, email := authReply(t, td, "/auth?list=gpt4", http.Header{"Authorization": {"Bearer " + tok}})
	resp, _ = td.do(t, http.MethodGet, "/auth?list=gpt4", nil, http.Header{"Authorization": {"Bearer " + tok}})
	if code != http.StatusOK || email != "alice@example.com" || resp.Header.Get("X-Auth-Request-Token") != "my script" {
		t.Errorf("/auth?list=gpt4 with the new token = %d %q %q, want 200 alice my script", code, email, resp.Header.Get("X-Auth-Request-Token"))
	}
	if code, _ := authReply(t, td, "/auth", http.Header{"Authorization": {"Bearer " + tok}}); code != http.StatusUnauthorized {
		t.Errorf("/auth (main list) with a gpt4 token = %d, want 401", code)
	}
	tokens := mustTokens(t, td, "alice@example.com")
	if len(tokens) != 1 || tokens[0].Name != "my script" || tokens[0].Expires.Sub(tokens[0].Created) != 30*24*time.Hour {
		t.Errorf("alice's tokens = %+v, want my script for 30 days", tokens)
	}
	_, body = td.do(t, http.MethodGet, "/tokens", nil, nil, alice)
	if strings.Contains(body, tok) || !strings.Contains(body, tok[:tokenShown]+"…") || !strings.Contains(body, "my script") {
		t.Errorf("GET /tokens after: want the name and first 12 characters only:\n%s", body)
	}
	logs := td.logs.String()
	if strings.Contains(logs, tok) || strings.Contains(logs, tok[:20]) || !strings.Contains(logs, `"msg":"token created"`) || !strings.Contains(logs, `"token":"`+tokens[0].ID[:8]+`"`) {
		t.Errorf("logs: want token created with the id prefix, never the token:\n%s", logs)
	}
}

// TestTokenFormRefused: every bad form is the tokens page again with a
// 400 saying why, and nothing is stored.
func TestTokenFormRefused(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, twoLists+"[other]\nbob@example.com\n", testConfig{offline: true})
	alice := mintSession(t, td.h, "alice@example.com")
	good := func(edit func(url.Values)) url.Values {
		v := url.Values{"name": {"ci"}, "list": {"gpt4"}, "days": {"90"}}
		edit(v)
		return v
	}
	tests := []struct {
		name string
		form url.Values
		says string
	}{
		{"no name", good(func(v url.Values) { v.Del("name") }), "Give the token a name"},
		{"blank name", good(func(v url.Values) { v.Set("name", "   ") }), "Give the token a name"},
		{"name of 65 characters", good(func(v url.Values) { v.Set("name", strings.Repeat("ü", 65)) }), "Give the token a name"},
		{"name with a control character", good(func(v url.Values) { v.Set("name", "a\x1b[31mb") }), "Give the token a name"},
		{"name of invalid UTF-8", good(func(v url.Values) { v.Set("name", "a\xffb") }), "Give the token a name"},
		{"no list", good(func(v url.Values) { v.Del("list") }), "Choose at least one"},
		{"someone else's list", good(func(v url.Values) { v.Set("list", "other") }), "Choose at least one"},
		{"an unknown list beside a good one", good(func(v url.Values) { v["list"] = []string{"gpt4", "nope"} }), "Choose at least one"},
		{"no lifetime", good(func(v url.Values) { v.Del("days") }), "Choose a lifetime"},
		{"zero days", good(func(v url.Values) { v.Set("days", "0") }), "Choose a lifetime"},
		{"negative days", good(func(v url.Values) { v.Set("days", "-5") }), "Choose a lifetime"},
		{"signed days", good(func(v url.Values) { v.Set("days", "+5") }), "Choose a lifetime"},
		{"days past the cap", good(func(v url.Values) { v.Set("days", "366") }), "Choose a lifetime"},
		{"days not a number", good(func(v url.Values) { v.Set("days", "ninety") }), "Choose a lifetime"},
	}
	for _, tt := range tests {
		resp, body := postTokenForm(t, td, "/tokens", tt.form, alice)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tt.says) || tokenRE.MatchString(body) {
			t.Errorf("%s: POST /tokens = %d, want 400 saying %q and no token:\n%s", tt.name, resp.StatusCode, tt.says, body)
		}
	}
	if tokens := mustTokens(t, td, "alice@example.com"); len(tokens) != 0 {
		t.Errorf("refused forms stored %+v, want nothing", tokens)
	}
	_, body := postTokenForm(t, td, "/tokens", good(func(v url.Values) { v.Set("days", "0"); v.Set("name", `<b>x</b>`) }), alice)
	if !strings.Contains(body, `value="&lt;b&gt;x&lt;/b&gt;"`) || !strings.Contains(body, `value="gpt4" checked`) {
		t.Errorf("a refused form does not keep what was sent, escaped:\n%s", body)
	}
}

// TestTokenLifetimeCapped: --token-max-ttl caps the lifetime offered and
// accepted.
func TestTokenLifetimeCapped(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, twoLists, testConfig{offline: true, auth: func(c *Config) { c.TokenMaxTTL = 60 * time.Hour }})
	alice := mintSession(t, td.h, "alice@example.com")
	if _, body := td.do(t, http.MethodGet, "/tokens", nil, nil, alice); !strings.Contains(body, `max="2" value="2"`) {
		t.Errorf("GET /tokens with a 60h cap does not offer 2 days at most:\n%s", body)
	}
	if resp, _ := postTokenForm(t, td, "/tokens", url.Values{"name": {"x"}, "list": {""}, "days": {"3"}}, alice); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /tokens for 3 days under a 60h cap = %d, want 400", resp.StatusCode)
	}
	if resp, _ := postTokenForm(t, td, "/tokens", url.Values{"name": {"x"}, "list": {""}, "days": {"2"}}, alice); resp.StatusCode != http.StatusOK {
		t.Errorf("POST /tokens for 2 days under a 60h cap = %d, want 200", resp.StatusCode)
	}
	if tokens := mustTokens(t, td, "alice@example.com"); len(tokens) != 1 || tokens[0].Expires.Sub(tokens[0].Created) != 48*time.Hour || tokens[0].Lists[0] != "" {
		t.Errorf("alice's tokens = %+v, want one on the main list for 48h", tokens)
	}
	for _, ttl := range []time.Duration{-time.Hour, time.Hour, 23 * time.Hour} {
		cfg := Config{CookieTTL: time.Hour, CookieName: "doorman", TokenMaxTTL: ttl}
		var se *SettingError
		if err := CheckSettings(cfg); !errors.As(err, &se) || se.Field != "TokenMaxTTL" {
			t.Errorf("CheckSettings(TokenMaxTTL %s) = %v, want a TokenMaxTTL error", ttl, err)
		}
	}
}

// TestTokenEnd: ending a token stops it at /auth at once; someone else's
// id is a 404 and ends nothing; from the sessions page it leads back there.
func TestTokenEnd(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, twoLists, testConfig{offline: true})
	alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")
	tok := makeToken(t, td.h.store, "alice@example.com", "ci", time.Hour, "gpt4")
	other := makeToken(t, td.h.store, "alice@example.com", "laptop", time.Hour, "")
	bearer := http.Header{"Authorization": {"Bearer " + tok}}
	waitFor(t, time.Second, "the token known", func() bool { c, _ := authReply(t, td, "/auth?list=gpt4", bearer); return c == http.StatusOK })
	id := tokenID(tokenHash(tok))
	for _, tt := range []struct{ name, id string }{{"bob ends alice's", id}, {"unknown", tokenID(tokenHash(newPersonalToken()))}, {"empty", ""}} {
		session := bob
		if tt.name != "bob ends alice's" {
			session = alice
		}
		if resp, _ := postTokenForm(t, td, "/tokens/end", url.Values{"id": {tt.id}}, session); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: POST /tokens/end = %d, want 404", tt.name, resp.StatusCode)
		}
	}
	if c, _ := authReply(t, td, "/auth?list=gpt4", bearer); c != http.StatusOK {
		t.Fatalf("after refused ends, /auth with the token = %d, want 200", c)
	}
	resp, _ := postTokenForm(t, td, "/tokens/end", url.Values{"id": {id}}, alice)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tokens" {
		t.Errorf("POST /tokens/end = %d %q, want 303 /tokens", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c, _ := authReply(t, td, "/auth?list=gpt4", bearer); c != http.StatusUnauthorized {
		t.Errorf("/auth with the ended token = %d, want 401 at once", c)
	}
	if !strings.Contains(td.logs.String(), `"msg":"token ended"`) {
		t.Errorf("no token ended in the logs:\n%s", td.logs.String())
	}
	resp, _ = postTokenForm(t, td, "/tokens/end", url.Values{"id": {tokenID(tokenHash(other))}, "from": {"sessions"}}, alice)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/sessions" {
		t.Errorf("POST /tokens/end from the sessions page = %d %q, want 303 /sessions", resp.StatusCode, resp.Header.Get("Location"))
	}
	if tokens := mustTokens(t, td, "alice@example.com"); len(tokens) != 0 {
		t.Errorf("alice's tokens after ending both = %+v, want none", tokens)
	}
}

// TestTokenPostsNeedCSRF: both POSTs refuse a missing or wrong CSRF token
// or a foreign Origin with a 403, and change nothing.
func TestTokenPostsNeedCSRF(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, twoLists, testConfig{offline: true})
	alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")
	tok := makeToken(t, td.h.store, "alice@example.com", "ci", time.Hour, "gpt4")
	aliceCSRF, bobCSRF := td.h.csrfToken(sessionOf(t, td, alice)), td.h.csrfToken(sessionOf(t, td, bob))
	forms := map[string]url.Values{
		"/tokens":     {"name": {"evil"}, "list": {"gpt4"}, "days": {"90"}},
		"/tokens/end": {"id": {tokenID(tokenHash(tok))}},
	}
	for path, form := range forms {
		for _, tt := range []struct{ name, origin, csrf string }{
			{"no CSRF token", "", ""},
			{"bob's CSRF token", "", bobCSRF},
			{"a foreign Origin", "https://evil.example.net", aliceCSRF},
			{"Origin null", "null", aliceCSRF},
		} {
			f := url.Values{"csrf": {tt.csrf}}
			for k, v := range form {
				f[k] = v
			}
			if resp := postForm(t, td, path, tt.origin, f, alice); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s = %d, want 403", path, tt.name, resp.StatusCode)
			}
		}
	}
	if tokens := mustTokens(t, td, "alice@example.com"); len(tokens) != 1 || tokens[0].Name != "ci" {
		t.Errorf("alice's tokens after refused POSTs = %+v, want ci alone", tokens)
	}
}

// TestTokensStoreDown: with the store unreachable the tokens page, making
// and ending a token answer the 503 "not saved" page and change nothing.
func TestTokensStoreDown(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	st := openStore(t, redis.URL(), store.Options{DialTimeout: 200 * time.Millisecond, Timeout: 200 * time.Millisecond})
	td := newTestDoorman(t, twoLists, testConfig{offline: true, auth: func(c *Config) { c.Store = st }})
	alice := mintSession(t, td.h, "alice@example.com")
	tok := makeToken(t, st, "alice@example.com", "ci", time.Hour, "gpt4")
	bearer := http.Header{"Authorization": {"Bearer " + tok}}
	waitFor(t, time.Second, "the token known", func() bool { c, _ := authReply(t, td, "/auth?list=gpt4", bearer); return c == http.StatusOK })
	redis.Kill(t)
	if resp, body := td.do(t, http.MethodGet, "/tokens", nil, nil, alice); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Not saved") {
		t.Errorf("GET /tokens with the store down = %d, want the 503 page:\n%s", resp.StatusCode, body)
	}
	posts := map[string]url.Values{
		"/tokens":     {"name": {"new"}, "list": {"gpt4"}, "days": {"90"}},
		"/tokens/end": {"id": {tokenID(tokenHash(tok))}},
	}
	for path, form := range posts {
		resp, body := postTokenForm(t, td, path, form, alice)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Not saved") || tokenRE.MatchString(body) {
			t.Errorf("POST %s with the store down = %d, want the 503 page and no token:\n%s", path, resp.StatusCode, body)
		}
	}
	if c, _ := authReply(t, td, "/auth?list=gpt4", bearer); c != http.StatusOK {
		t.Errorf("/auth with the token while the store is down = %d, want 200 (not ended)", c)
	}
}

// TestTokensPageEveryLanguage: the tokens page and a new token's page in
// English, Chinese and Korean.
func TestTokensPageEveryLanguage(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, twoLists, testConfig{offline: true})
	alice := mintSession(t, td.h, "alice@example.com")
	makeToken(t, td.h.store, "alice@example.com", "laptop", time.Hour, "", "gpt4")
	titles := map[string][2]string{"en": {"Your tokens", "Your new token"}, "zh-CN": {"您的令牌", "您的新令牌"}, "ko": {"내 토큰", "새 토큰"}}
	for tag, want := range titles {
		hdr := http.Header{"Accept-Language": {acceptLanguages[tag]}}
		resp, body := td.do(t, http.MethodGet, "/tokens", nil, hdr, alice)
		if resp.StatusCode != http.StatusOK || pageLang(body) != tag || !strings.Contains(body, "<h1>"+want[0]+"</h1>") || !strings.Contains(body, "laptop") {
			t.Errorf("GET /tokens in %s = %d in %q, want 200 titled %q listing laptop:\n%s", tag, resp.StatusCode, pageLang(body), want[0], body)
		}
		if inlineCode.MatchString(body) || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("the tokens page in %s has inline code or Cache-Control %q", tag, resp.Header.Get("Cache-Control"))
		}
		form := url.Values{"name": {"n"}, "list": {"gpt4"}, "days": {"1"}, "csrf": {td.h.csrfToken(sessionOf(t, td, alice))}}
		hdr.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body = td.do(t, http.MethodPost, "/tokens", strings.NewReader(form.Encode()), hdr, alice)
		if resp.StatusCode != http.StatusOK || pageLang(body) != tag || !strings.Contains(body, "<h1>"+want[1]+"</h1>") {
			t.Errorf("POST /tokens in %s = %d in %q, want 200 titled %q:\n%s", tag, resp.StatusCode, pageLang(body), want[1], body)
		}
	}
}

// TestTokensPageLinks: the signed-in page and the sessions page lead to
// the tokens page, and the sessions page lists the tokens with end
// buttons that lead back to it; a visitor not signed in goes through
// /login and back.
func TestTokensPageLinks(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, twoLists, testConfig{offline: true})
	alice := mintSession(t, td.h, "alice@example.com")
	tok := makeToken(t, td.h.store, "alice@example.com", "laptop", time.Hour, "gpt4")
	if _, body := td.do(t, http.MethodGet, "/", nil, nil, alice); !strings.Contains(body, `<a href="/tokens">`) {
		t.Errorf("the signed-in page does not link /tokens:\n%s", body)
	}
	_, body := td.do(t, http.MethodGet, "/sessions", nil, nil, alice)
	for _, want := range []string{`<a href="/tokens">`, "laptop", tok[:tokenShown] + "…", `name="id" value="` + tokenID(tokenHash(tok)) + `"`, `name="from" value="sessions"`, "gpt4"} {
		if !strings.Contains(body, want) {
			t.Errorf("the sessions page lacks %s:\n%s", want, body)
		}
	}
	resp, _ := td.do(t, http.MethodGet, "/tokens", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?rd=%2Ftokens" {
		t.Errorf("GET /tokens signed out = %d %q, want 303 /login?rd=%%2Ftokens", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// tokenFormTests are parseTokenForm's cases for a visitor on the main
// list and gpt4, with tokens of up to 365 days; FuzzParseTokenForm seeds
// from them too.
var tokenFormTests = []struct {
	name string
	form url.Values
	want error
}{
	{"main list", url.Values{"name": {"x"}, "list": {""}, "days": {"1"}}, nil},
	{"both, the most days", url.Values{"name": {strings.Repeat("한", 64)}, "list": {"", "gpt4"}, "days": {"365"}}, nil},
	{"spaces around the name", url.Values{"name": {"  ci  "}, "list": {"gpt4"}, "days": {"7"}}, nil},
	{"65 characters", url.Values{"name": {strings.Repeat("a", 65)}, "list": {"gpt4"}, "days": {"7"}}, errTokenName},
	{"a tab", url.Values{"name": {"a\tb"}, "list": {"gpt4"}, "days": {"7"}}, errTokenName},
	{"not theirs", url.Values{"name": {"x"}, "list": {"other"}, "days": {"7"}}, errTokenLists},
	{"366 days", url.Values{"name": {"x"}, "list": {"gpt4"}, "days": {"366"}}, errTokenDays},
	{"days with spaces", url.Values{"name": {"x"}, "list": {"gpt4"}, "days": {" 7"}}, errTokenDays},
}

func TestParseTokenForm(t *testing.T) {
	t.Parallel()
	for _, tt := range tokenFormTests {
		if _, err := parseTokenForm(tt.form, []string{"", "gpt4"}, 365); err != tt.want {
			t.Errorf("%s: parseTokenForm = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// FuzzParseTokenForm checks parseTokenForm against the rule restated: a
// name of 1 to 64 printable characters once trimmed, at least one list
// and only the visitor's, 1 to maxDays days in decimal digits; refused
// for the first of these that fails. A form it accepts makes a token that
// a real SQLite store accepts too, as POST /tokens makes it: an accepted
// form is never a 500.
func FuzzParseTokenForm(f *testing.F) {
	for _, tt := range tokenFormTests {
		f.Add(tt.form.Encode(), uint16(365))
	}
	f.Add("name=%E2%80%8B&list=&days=1", uint16(1))
	f.Add("name=+x+&list=gpt4&list=gpt4&days=0001", uint16(0))
	f.Add("name=x&list=a.b&days=99999999999999999999", uint16(65535))
	theirs := []string{"", "gpt4", "a.b"}
	st := testStore(f)
	f.Fuzz(func(t *testing.T, raw string, maxDays uint16) {
		form, _ := url.ParseQuery(raw) // what a bad pair leaves
		req, err := parseTokenForm(form, theirs, int(maxDays))
		if want := tokenFormRefusal(form, theirs, int(maxDays)); err != want {
			t.Fatalf("parseTokenForm(%q, %d) = %v, want %v", raw, maxDays, err, want)
		}
		if err != nil {
			return
		}
		if req.name != strings.TrimSpace(form.Get("name")) || !slices.Equal(req.lists, form["list"]) || strconv.Itoa(req.days) != strings.TrimLeft(form.Get("days"), "0") {
			t.Fatalf("parseTokenForm(%q) = %+v", raw, req)
		}
		tok, now := newPersonalToken(), time.Now()
		err = st.CreateToken(t.Context(), store.Token{ID: tokenID(tokenHash(tok)), Email: "alice@example.com", Name: req.name,
			Prefix: tok[:tokenShown], Lists: req.lists, Created: now, Expires: now.Add(time.Duration(req.days) * 24 * time.Hour)})
		if err != nil {
			t.Fatalf("CreateToken() of the form %q = %v, want it stored", raw, err)
		}
	})
}

// tokenFormRefusal is why the token form is refused, restated for
// FuzzParseTokenForm; nil when it is not.
func tokenFormRefusal(form url.Values, theirs []string, maxDays int) error {
	name := strings.TrimSpace(form.Get("name"))
	if n := len([]rune(name)); !utf8.ValidString(name) || n < 1 || n > 64 || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return errTokenName
	}
	lists := form["list"]
	for _, l := range lists {
		if !slices.Contains(theirs, l) {
			return errTokenLists
		}
	}
	if len(lists) == 0 {
		return errTokenLists
	}
	days := form.Get("days")
	n, err := strconv.ParseUint(days, 10, 32)
	if err != nil || n < 1 || n > uint64(maxDays) {
		return errTokenDays
	}
	return nil
}

func TestExampleDomain(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"auth.example.com": "example.com", "auth.example.com:8443": "example.com", "example.org": "example.org",
		"a.b.corp.example": "b.corp.example", "localhost:5000": "example.com", "127.0.0.1:5000": "example.com",
		"[::1]:5000": "example.com", "doorman": "example.com", "demo.localhost": "example.com",
	} {
		if got := exampleDomain(host); got != want {
			t.Errorf("exampleDomain(%q) = %q, want %q", host, got, want)
		}
	}
}

// TestRevokeEndsTokens: doorman revoke, run beside a doorman on the same
// SQLite file, ends the person's tokens there within a second.
func TestRevokeEndsTokens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "doorman.db")
	st := openStore(t, path, store.Options{})
	td := newTestDoorman(t, twoLists, testConfig{offline: true, auth: func(c *Config) { c.Store = st }})
	tok := makeToken(t, st, "alice@example.com", "ci", time.Hour, "gpt4")
	bearer := http.Header{"Authorization": {"Bearer " + tok}}
	waitFor(t, time.Second, "the token known", func() bool { c, _ := authReply(t, td, "/auth?list=gpt4", bearer); return c == http.StatusOK })
	var out bytes.Buffer
	if err := admin.Run(t.Context(), []string{"revoke", "--store", path, "alice@example.com"}, func(string) string { return "" }, &out, io.Discard); err != nil || !strings.Contains(out.String(), "1 token") {
		t.Fatalf("doorman revoke alice = %v, %q; want 1 token ended", err, out.String())
	}
	waitFor(t, time.Second, "the revoked token refused", func() bool { c, _ := authReply(t, td, "/auth?list=gpt4", bearer); return c == http.StatusUnauthorized })
}

// TestRenderTokenPages renders the tokens page and a new token's page in
// every language with sample data: a token's name, which its owner chose,
// is escaped wherever it lands.
func TestRenderTokenPages(t *testing.T) {
	t.Parallel()
	pages := mustPages(t)
	made := time.Date(2026, 5, 3, 23, 7, 42, 0, time.UTC)
	rows := []TokenRow{{ID: `i"d`, Name: "<script>alert(1)</script>", Prefix: "doorman_Ab12", Lists: []string{"", "gpt4"}, Created: made, Expires: made.Add(time.Hour)}}
	for _, lang := range templates.Languages() {
		for name, page := range map[string]Page{
			"tokens.html":    {Email: "a@example.com", Lists: []string{"", "gpt4"}, Tokens: rows, TokenForm: &TokenForm{Days: 90, MaxDays: 365, Error: "tokens.error.bad_name"}},
			"tokenmade.html": {Email: "a@example.com", NewToken: &NewToken{Token: "doorman_x", Name: `"><b>`, Lists: []string{""}, Expires: made, Site: "https://app.example.com", OpenAIBase: "https://api.example.com/v1"}},
			"sessions.html":  {Email: "a@example.com", Tokens: rows},
		} {
			var b strings.Builder
			if err := pages.ExecuteTemplate(&b, name, view{Page: page, Lang: lang}); err != nil {
				t.Errorf("%s in %s: %v", name, lang.Tag, err)
			}
			if body := b.String(); strings.Contains(body, "<script>alert") || strings.Contains(body, `"><b>`) {
				t.Errorf("%s in %s shows a token's name unescaped:\n%s", name, lang.Tag, body)
			}
		}
	}
}
