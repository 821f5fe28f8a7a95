package auth

// White-box adversarial tests: what the end-to-end tests in
// security_*_test.go cannot reach directly, grouped by threat.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"google.golang.org/api/idtoken"
)

// base64URLAlphabet is the alphabet securecookie's values are written in.
const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestAdversarialCodecEveryByte changes every character of a session cookie
// to other characters of every class (each base64url character near the end),
// truncates it at every length and
// extends it with every character: no variant may decode at all, not even
// the non-canonical spellings of the last base64 character whose unused low
// bits lenient base64 ignores.
func TestAdversarialCodecEveryByte(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	c := mustCodec(t, "doorman", secret(1))
	want := Session{Email: "alice@example.com", Issued: now, Expires: now.Add(time.Hour)}
	v := mustEncode(t, c, want)
	last := len(strings.TrimRight(v, "=")) - 1
	accepts := func(value string) bool {
		got, err := c.decodeSession(value, now)
		if err == nil && (got.Email != want.Email || !got.Expires.Equal(want.Expires)) {
			t.Fatalf("decodeSession(%q) = %+v, want %+v or an error", value, got, want)
		}
		return err == nil
	}
	alphabet := base64URLAlphabet + "+/=.%\" "
	for i := range len(v) {
		replacements := "AB_-+/=%"
		if i >= last-3 {
			replacements = alphabet // every spelling near the end, where base64 has slack
		}
		for _, r := range replacements {
			b := []byte(v)
			if b[i] == byte(r) {
				continue
			}
			b[i] = byte(r)
			if accepts(string(b)) {
				t.Errorf("cookie with %q at %d (of %d) verifies", r, i, len(v))
			}
		}
	}
	for n := range len(v) {
		if accepts(v[:n]) {
			t.Errorf("cookie truncated to %d of %d bytes verifies", n, len(v))
		}
	}
	for _, r := range alphabet {
		if accepts(v+string(r)) || accepts(string(r)+v) {
			t.Errorf("cookie with %q added at either end verifies", r)
		}
	}
}

func TestAdversarialCodecPurposeAndName(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	type kind struct{ purpose, name string }
	kinds := []kind{{"session", "doorman"}, {"session", "other"}, {"nonce", "doorman"}, {"nonce", "doorman-nonce"}}
	codecs := map[kind]*codec{}
	for _, k := range kinds {
		c, err := newCodec([][]byte{secret(1)}, k.purpose, k.name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		codecs[k] = c
	}
	for _, minter := range kinds {
		value, err := codecs[minter].encode(sessionWire{Email: "a@example.com", Expires: now.Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		for _, reader := range kinds {
			var w sessionWire
			err := codecs[reader].decode(value, &w)
			if (err == nil) != (minter == reader) {
				t.Errorf("cookie of %+v decoded by %+v: err = %v, want success only for the same purpose and name", minter, reader, err)
			}
		}
	}
}

// multiCookieRequest is GET target with one Cookie header line per entry.
func multiCookieRequest(target string, lines ...string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for _, l := range lines {
		req.Header.Add("Cookie", l)
	}
	return req
}

func TestAdversarialFindSession(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(1_800_000_000)
	h := newTestHandler(t, fakeAllowlist{"": {"alice@example.com"}, "gpt4": {"carol@example.com"}}, &clock)
	mint := func(email string) string {
		c, err := h.SessionCookie(email)
		if err != nil {
			t.Fatal(err)
		}
		return c.Value
	}
	alice, carol, mallory := mint("alice@example.com"), mint("carol@example.com"), mint("mallory@example.com")
	tests := []struct {
		name   string
		target string
		lines  []string
		want   string // email, "" for no session
	}{
		{"plain", "/auth", []string{"doorman=" + alice}, "alice@example.com"},
		{"leading separators", "/auth", []string{";;; doorman=" + alice}, "alice@example.com"},
		{"trailing separator", "/auth", []string{"doorman=" + alice + ";"}, "alice@example.com"},
		{"tab before", "/auth", []string{"x=1;\tdoorman=" + alice}, "alice@example.com"},
		{"space after", "/auth", []string{"doorman=" + alice + " ; x=1"}, "alice@example.com"},
		{"quoted", "/auth", []string{`doorman="` + alice + `"`}, "alice@example.com"},
		{"double equals", "/auth", []string{"doorman==" + alice}, ""},
		{"name only", "/auth", []string{"doorman; doorman"}, ""},
		{"name as prefix of value", "/auth", []string{"doormandoorman=" + alice}, ""},
		{"value holds the pair", "/auth", []string{"x=doorman=" + alice}, ""},
		{"separator inside quotes does not split", "/auth", []string{`doorman="a;` + alice + `"`}, ""},
		{"on no list", "/auth", []string{"doorman=" + mallory}, ""},
		{"on no list, then listed", "/auth", []string{"doorman=" + mallory + "; doorman=" + alice}, "alice@example.com"},
		{"on another list, then listed, second line", "/auth", []string{"doorman=" + carol, "doorman=" + alice}, "alice@example.com"},
		{"list chosen by the first list parameter", "/auth?list=gpt4&list=", []string{"doorman=" + alice + "; doorman=" + carol}, "carol@example.com"},
		{"encoded list name names no list", "/auth?list=%67pt4", []string{"doorman=" + carol}, ""},
		{"list after a fragment-like suffix", "/auth?x=%23&list=gpt4", []string{"doorman=" + carol}, "carol@example.com"},
		{"valid after 1000 junk pairs is not looked at", "/auth", []string{strings.Repeat("doorman=AAAA; ", 1000) + "doorman=" + alice}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			if err := h.check(echo.New().NewContext(multiCookieRequest(tt.target, tt.lines...), rec)); err != nil {
				t.Fatalf("Check() = %v", err)
			}
			if got := rec.Header().Get("X-Auth-Request-Email"); got != tt.want || (tt.want == "") != (rec.Code == 401) {
				t.Errorf("Check() = %d %q, want %q", rec.Code, got, tt.want)
			}
			if rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "0" || rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Check() body %q, headers %v; want empty, Content-Length 0, no-store", rec.Body.String(), rec.Header())
			}
		})
	}
}

// TestAdversarialVerifiedCacheChurn has many users hit Check at once while
// a tiny verified-session cache is emptied again and again: nobody may ever
// be answered with someone else's email.
func TestAdversarialVerifiedCacheChurn(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(1_800_000_000)
	allow := fakeAllowlist{}
	const users = 24
	for i := range users {
		allow[""] = append(allow[""], fmt.Sprintf("u%d@example.com", i))
	}
	h := newTestHandler(t, allow, &clock)
	h.verified = newVerifiedCache(4) // far fewer than users: constant resets
	values := make([]string, users)
	for i := range users {
		c, err := h.SessionCookie(fmt.Sprintf("u%d@example.com", i))
		if err != nil {
			t.Fatal(err)
		}
		values[i] = c.Value
	}
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := range 150 {
				u := (g*7 + i) % users
				rec := httptest.NewRecorder()
				_ = h.check(echo.New().NewContext(multiCookieRequest("/auth", "doorman="+values[u]), rec))
				if rec.Code != 200 || rec.Header().Get("X-Auth-Request-Email") != fmt.Sprintf("u%d@example.com", u) {
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d of %d answers under cache churn were wrong", n, 8*150)
	}
}

func TestAdversarialPrecheck(t *testing.T) {
	t.Parallel()
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tok := func(header string) string { return seg(header) + "." + seg(`{}`) + ".c2ln" }
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"control", tok(`{"alg":"RS256","kid":"k"}`), true},
		{"alg lower case", tok(`{"alg":"rs256","kid":"k"}`), false},
		{"alg with a space", tok(`{"alg":"RS256 ","kid":"k"}`), false},
		{"alg a number", tok(`{"alg":256,"kid":"k"}`), false},
		{"alg an array", tok(`{"alg":["RS256"],"kid":"k"}`), false},
		{"kid a number", tok(`{"alg":"RS256","kid":1}`), false},
		{"kid null", tok(`{"alg":"RS256","kid":null}`), false},
		{"duplicate alg, none last", tok(`{"alg":"RS256","alg":"none","kid":"k"}`), false},
		{"header null", tok(`null`), false},
		{"header with BOM", tok("\ufeff" + `{"alg":"RS256","kid":"k"}`), false},
		{"header padded", seg(`{"alg":"RS256","kid":"k"}`) + "=." + seg(`{}`) + ".c2ln", false},
		{"header standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(seg(`{"alg":"RS256","kid":"k?>"}`)) + "." + seg(`{}`) + ".c2ln", false},
		{"exactly 8 KiB", tok(`{"alg":"RS256","kid":"k"}`) + strings.Repeat("A", maxTokenLen-len(tok(`{"alg":"RS256","kid":"k"}`))), true},
		{"8 KiB + 1", tok(`{"alg":"RS256","kid":"k"}`) + strings.Repeat("A", maxTokenLen+1-len(tok(`{"alg":"RS256","kid":"k"}`))), false},
		{"NUL in header JSON", tok("{\"alg\":\"RS256\x00\",\"kid\":\"k\"}"), false},
	}
	for _, tt := range tests {
		err := precheck(tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("precheck(%s) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && reasonOf(err) != "bad_token" {
			t.Errorf("precheck(%s) = %v, want a bad_token refusal", tt.name, err)
		}
		if err != nil && strings.Contains(err.Error(), tt.token) {
			t.Errorf("precheck(%s) error echoes the token", tt.name)
		}
	}
}

// TestAdversarialPrecheckAgreesWithIDToken checks, for headers that parse
// ambiguously, that precheck reads the same alg as a decoder with idtoken's
// header struct (both are encoding/json, first-class case-insensitive, last
// duplicate wins), so an alg precheck passed is the alg idtoken verifies.
func TestAdversarialPrecheckAgreesWithIDToken(t *testing.T) {
	t.Parallel()
	headers := []string{
		`{"alg":"none","alg":"RS256","kid":"k"}`,
		`{"ALG":"RS256","kid":"k"}`,
		`{"Alg":"ES256","alg":"RS256","kid":"k"}`,
		`{"alg":"RS256","ALG":"ES256","kid":"k"}`,
		`{"alg":"RS256","kid":"k","KID":""}`,
	}
	for _, hdr := range headers {
		var theirs struct {
			Algorithm string `json:"alg"`
			KeyID     string `json:"kid"`
		}
		if err := json.Unmarshal([]byte(hdr), &theirs); err != nil {
			t.Fatal(err)
		}
		tok := base64.RawURLEncoding.EncodeToString([]byte(hdr)) + ".e30.c2ln"
		passed := precheck(tok) == nil
		if want := theirs.Algorithm == "RS256" && theirs.KeyID != ""; passed != want {
			t.Errorf("precheck(%s) passed=%v, but idtoken reads alg %q kid %q", hdr, passed, theirs.Algorithm, theirs.KeyID)
		}
	}
}

func TestAdversarialClaims(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name   string
		edit   func(p *idtoken.Payload)
		hd     string
		reason string // "" means accepted
	}{
		{"iss trailing space", func(p *idtoken.Payload) { p.Issuer = "accounts.google.com " }, "", "wrong_issuer"},
		{"iss upper case", func(p *idtoken.Payload) { p.Issuer = "https://ACCOUNTS.google.com" }, "", "wrong_issuer"},
		{"aud upper case", func(p *idtoken.Payload) { p.Audience = strings.ToUpper(testClientID) }, "", "wrong_audience"},
		{"aud with a space", func(p *idtoken.Payload) { p.Audience = testClientID + " " }, "", "wrong_audience"},
		{"azp empty", func(p *idtoken.Payload) { p.Claims["azp"] = "" }, "", "wrong_audience"},
		{"azp null", func(p *idtoken.Payload) { p.Claims["azp"] = nil }, "", "wrong_audience"},
		{"exp now", func(p *idtoken.Payload) { p.Expires = now.Unix() }, "", "expired"},
		{"exp in a second", func(p *idtoken.Payload) { p.Expires = now.Unix() + 1 }, "", ""},
		{"exp negative", func(p *idtoken.Payload) { p.Expires = -1 }, "", "expired"},
		{"iat 60s ahead", func(p *idtoken.Payload) { p.IssuedAt = now.Unix() + 60 }, "", ""},
		{"iat negative", func(p *idtoken.Payload) { p.IssuedAt = -1 }, "", ""},
		{"nbf 60s ahead", func(p *idtoken.Payload) { p.Claims["nbf"] = float64(now.Unix() + 60) }, "", ""},
		{"nbf 61s ahead", func(p *idtoken.Payload) { p.Claims["nbf"] = float64(now.Unix() + 61) }, "", "issued_in_future"},
		{"nbf bool", func(p *idtoken.Payload) { p.Claims["nbf"] = true }, "", "issued_in_future"},
		{"nbf null", func(p *idtoken.Payload) { p.Claims["nbf"] = nil }, "", "issued_in_future"},
		{"nonce a number", func(p *idtoken.Payload) { p.Claims["nonce"] = 1.0 }, "", "nonce"},
		{"nonce prefix", func(p *idtoken.Payload) { p.Claims["nonce"] = "n" }, "", "nonce"},
		{"nonce with suffix", func(p *idtoken.Payload) { p.Claims["nonce"] = "n1x" }, "", "nonce"},
		{"second bound nonce", func(p *idtoken.Payload) { p.Claims["nonce"] = "n2" }, "", ""},
		{"email_verified 1", func(p *idtoken.Payload) { p.Claims["email_verified"] = 1.0 }, "", "unverified_email"},
		{`email_verified "True"`, func(p *idtoken.Payload) { p.Claims["email_verified"] = "True" }, "", "unverified_email"},
		{"email 254 bytes", func(p *idtoken.Payload) {
			p.Claims["email"] = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com"
		}, "", ""},
		{"email 255 bytes", func(p *idtoken.Payload) {
			p.Claims["email"] = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com"
		}, "", "bad_email"},
		{"email CRLF", func(p *idtoken.Payload) {
			p.Claims["email"] = "alice@example.com\r\nX-Auth-Request-Email: ceo@example.com"
		}, "", "bad_email"},
		{"email tab", func(p *idtoken.Payload) { p.Claims["email"] = "alice@example.com\t" }, "", "bad_email"},
		{"email DEL", func(p *idtoken.Payload) { p.Claims["email"] = "alice@example.com\x7f" }, "", "bad_email"},
		{"email quoted local part", func(p *idtoken.Payload) { p.Claims["email"] = `"alice"@example.com` }, "", "bad_email"},
		{"email only @", func(p *idtoken.Payload) { p.Claims["email"] = "a@" }, "", "bad_email"},
		{"hd empty when required", func(p *idtoken.Payload) { p.Claims["hd"] = "" }, "example.com", "hosted_domain"},
		{"hd with a space", func(p *idtoken.Payload) { p.Claims["hd"] = "example.com " }, "example.com", "hosted_domain"},
		{"hd not required but wrong", func(p *idtoken.Payload) { p.Claims["hd"] = "evil.com" }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := goodPayload(now)
			tt.edit(p)
			rules := claimRules{clientID: testClientID, hd: tt.hd, now: now,
				nonceOK: nonceMatcher([]nonceEntry{{Value: "n1"}, {Value: "n2"}})}
			id, err := checkClaims(p, rules)
			if tt.reason == "" {
				if err != nil || strings.ContainsAny(id.Email, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
					t.Errorf("checkClaims() = %+v, %v; want accepted with a lower-case email", id, err)
				}
				return
			}
			if reasonOf(err) != tt.reason {
				t.Errorf("checkClaims() = %v, want refusal %q", err, tt.reason)
			}
		})
	}
}

// callbackRequest is a POST /callback with body, content type and CSRF cookie.
func callbackRequest(body, ctype, csrf string) (*http.Request, *httptest.ResponseRecorder) {
	req := httptest.NewRequest(http.MethodPost, "/callback", strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if csrf != "" {
		req.AddCookie(&http.Cookie{Name: csrfCookie, Value: csrf})
	}
	return req, httptest.NewRecorder()
}

func TestAdversarialReadCallback(t *testing.T) {
	t.Parallel()
	const form, jsonType = "application/x-www-form-urlencoded", "application/json"
	tests := []struct {
		name, body, ctype, csrf string
		reason                  string // "" means accepted
		credential              string // want, when accepted
	}{
		{"form", "credential=t&g_csrf_token=v", form, "v", "", "t"},
		{"form with charset", "credential=t&g_csrf_token=v", form + "; charset=UTF-8", "v", "", "t"},
		{"JSON with charset", `{"credential":"t","g_csrf_token":"v"}`, jsonType + ";charset=utf-8", "v", "", "t"},
		{"media type in upper case", `{"credential":"t","g_csrf_token":"v"}`, "Application/JSON", "v", "", "t"},
		{"JSON keys in another case", `{"CREDENTIAL":"t","G_CSRF_TOKEN":"v"}`, jsonType, "v", "", "t"},
		{"JSON duplicate key, last wins", `{"credential":"t","g_csrf_token":"x","g_csrf_token":"v"}`, jsonType, "v", "", "t"},
		{"form duplicate field, first wins", "credential=t&g_csrf_token=v&g_csrf_token=x", form, "v", "", "t"},
		{"jsonp", `{"credential":"t","g_csrf_token":"v"}`, "application/jsonp", "v", "unsupported_media_type", ""},
		{"form lookalike", "credential=t&g_csrf_token=v", form + "2", "v", "unsupported_media_type", ""},
		{"malformed media type", "credential=t&g_csrf_token=v", "application/json; =", "v", "unsupported_media_type", ""},
		{"bad percent escape", "credential=%zz&g_csrf_token=v", form, "v", "bad_request", ""},
		{"JSON credential object", `{"credential":{},"g_csrf_token":"v"}`, jsonType, "v", "bad_request", ""},
		{"body at the cap", "g_csrf_token=v&credential=" + strings.Repeat("A", maxCallbackBody-len("g_csrf_token=v&credential=")), form, "v", "", strings.Repeat("A", maxCallbackBody-len("g_csrf_token=v&credential="))},
		{"body one over the cap", "g_csrf_token=v&credential=" + strings.Repeat("A", maxCallbackBody+1-len("g_csrf_token=v&credential=")), form, "v", "body_too_large", ""},
		{"CSRF compared exactly", "credential=t&g_csrf_token=V", form, "v", "csrf", ""},
		{"CSRF prefix", "credential=t&g_csrf_token=v", form, "vv", "csrf", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, rec := callbackRequest(tt.body, tt.ctype, tt.csrf)
			body, err := readCallback(rec, req)
			if tt.reason == "" {
				if err != nil || body.Credential != tt.credential {
					t.Errorf("readCallback() = %.20q, %v; want credential %.20q", body.Credential, err, tt.credential)
				}
				return
			}
			if reasonOf(err) != tt.reason {
				t.Errorf("readCallback() = %v, want refusal %q", err, tt.reason)
			}
		})
	}
}

func TestAdversarialNonceCookie(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(1_800_000_000)
	h := newTestHandler(t, fakeAllowlist{}, &clock)
	session, err := h.SessionCookie("alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// A browser's cookie jar for doorman's host, as the login pages leave it.
	jar := map[string]*http.Cookie{}
	request := func(method, target string) *http.Request {
		req := httptest.NewRequest(method, target, nil)
		for _, c := range jar {
			req.AddCookie(c)
		}
		return req
	}
	login := func(req *http.Request) string {
		rec := httptest.NewRecorder()
		n, err := h.bindNonce(rec, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rec.Result().Cookies() {
			if c.MaxAge < 0 {
				delete(jar, c.Name)
			} else {
				jar[c.Name] = c
			}
		}
		return n
	}
	live := func(c *http.Cookie) []nonceEntry {
		req := httptest.NewRequest(http.MethodPost, "/callback", nil)
		if c != nil {
			req.AddCookie(c)
		}
		return h.liveNonces(req)
	}
	// Two tabs restored together: both pages are built from the same (empty)
	// cookies, and both nonces stay usable.
	first, second := request(http.MethodGet, "/login"), request(http.MethodGet, "/login")
	a, b := login(first), login(second)
	got := h.liveNonces(request(http.MethodPost, "/callback"))
	if !nonceMatcher(got)(a) || !nonceMatcher(got)(b) {
		t.Errorf("two login pages opened together: live nonces %v, want both %q and %q", got, a, b)
	}
	// Ten login pages in a row: only the last maxNonces stay.
	var nonces []string
	for i := range 10 {
		clock.Store(1_800_000_000 + int64(i)) // in order of age
		nonces = append(nonces, login(request(http.MethodGet, "/login")))
	}
	got = h.liveNonces(request(http.MethodPost, "/callback"))
	if len(got) != maxNonces || len(jar) != maxNonces {
		t.Errorf("after 10 more login pages: %d live nonces in %d cookies, want %d", len(got), len(jar), maxNonces)
	}
	for i, n := range nonces {
		if want := i >= len(nonces)-maxNonces; nonceMatcher(got)(n) != want {
			t.Errorf("nonce of login page %d live = %v, want %v", i, !want, want)
		}
	}
	var cookie *http.Cookie
	for _, c := range jar {
		cookie = c
	}
	tests := []struct {
		name   string
		cookie *http.Cookie
		clock  int64
	}{
		{"tampered", &http.Cookie{Name: cookie.Name, Value: flip(cookie.Value, len(cookie.Value)/2)}, 0},
		{"truncated", &http.Cookie{Name: cookie.Name, Value: cookie.Value[:len(cookie.Value)-4]}, 0},
		{"session cookie as nonce cookie", &http.Cookie{Name: cookie.Name, Value: session.Value}, 0},
		{"expired", cookie, int64(nonceTTL/time.Second) + 10},
		{"under another name", &http.Cookie{Name: "doorman", Value: cookie.Value}, 0},
		{"under the bare prefix", &http.Cookie{Name: "doorman-nonce", Value: cookie.Value}, 0},
	}
	for _, tt := range tests {
		clock.Store(1_800_000_000 + tt.clock)
		if got := live(tt.cookie); len(got) != 0 {
			t.Errorf("%s: liveNonces() = %d nonces, want none", tt.name, len(got))
		}
	}
	match := nonceMatcher([]nonceEntry{{Value: "abc"}})
	for _, got := range []string{"", "ab", "abcd", "ABC", "abc\x00"} {
		if match(got) {
			t.Errorf("nonceMatcher(abc)(%q) = true, want false", got)
		}
	}
}

func TestAdversarialRedirectParam(t *testing.T) {
	t.Parallel()
	p := mustRedirectPolicy(t, []string{".example.com"}, false)
	tests := []struct {
		query, wantRD, wantList string
	}{
		{"rd=%2F%2Fevil.com&rd=/ok", "", ""},
		{"xrd=//evil.com&rd=/ok", "/ok", ""},
		{"rdx=//evil.com&rd=/ok", "/ok", ""},
		{"rd&rd=/ok", "", ""},
		{"RD=/ok", "", ""},
		{";rd=/ok", "", ""},
		{"rd=%zz", "", ""},
		{"rd=", "", ""},
		{"list=gpt4&rd=https://chat.example.com/?list=main&rd=//evil.com", "https://chat.example.com/?list=main&rd=//evil.com", "gpt4"},
		{"rd=https://chat.example.com/&list=gpt4", "https://chat.example.com/&list=gpt4", ""},
		{"rd=https%3A%2F%2Fevil.com%23.example.com", "", ""},
		{"rd=https://evil.com%23.example.com", "", ""},
		// ingress-nginx's form (a "%" in the authority: decoded once) cannot
		// smuggle another host past validate.
		{"rd=https://chat.example.com%2F@evil.com", "https://chat.example.com/@evil.com", ""},
		{"rd=https://chat.example.com%40evil.com", "", ""},
		{"rd=https://chat.example.com%252F@evil.com", "", ""},
		{"rd=https://chat.example.com%5C@evil.com", "", ""},
		{"rd=https://%2F%2Fevil.com", "", ""},
		{"rd=HTTPS://evil.com%2F.example.com", "", ""},
		{"rd=https://evil.com%3A443.example.com/", "", ""},
		{"rd=https://chat.example.com%2F%0d%0aSet-Cookie:x", "", ""},
		{"rd=https://chat.example.com%2F&rd=//evil.com", "https://chat.example.com/", ""},
		{"rd=https://chat.example.com%2Fx&list=gpt4", "https://chat.example.com/x", ""},
		{"rd=/\\evil.com", "", ""},
		{"rd=%2F%5Cevil.com", "", ""},
		{"rd=%2F%09%2Fevil.com", "", ""},
		{"rd=/%09/evil.com", "/%09/evil.com", ""},
		{"list=a%20b&rd=/ok", "/ok", "a b"},
	}
	for _, tt := range tests {
		rd := ""
		if raw, ok := redirectParam(tt.query); ok {
			rd, _ = p.validate(raw)
		}
		if list := queryParam(tt.query, "list"); rd != tt.wantRD || list != tt.wantList {
			t.Errorf("query %q: rd %q list %q, want rd %q list %q", tt.query, rd, list, tt.wantRD, tt.wantList)
		}
	}
}
