package auth

// ID tokens at /callback: forged, mis-signed, mis-claimed, malformed and
// huge, and what happens while Google's keys cannot be fetched.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"doorman/auth/googletest"
)

// tokenAttack builds one credential for /callback from the fake Google g and
// the nonce bound to the browser; want is the status it must get.
type tokenAttack struct {
	name    string
	token   func(t *testing.T, g *googletest.Server, nonce string) string
	want    int
	offline bool // refused on its shape alone, without Google's keys
}

// alicePayload is a valid claim set for alice with nonce, for SignRaw.
func alicePayload(g *googletest.Server, nonce string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": "https://accounts.google.com", "aud": g.ClientID, "sub": "1000", "email": "alice@example.com",
		"email_verified": true, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": nonce,
	}
}

// kidOf returns the kid of g's current signing key, read from a token it minted.
func kidOf(t *testing.T, g *googletest.Server) string {
	t.Helper()
	tok := g.Token(t, googletest.Claims{})
	b, err := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
	var h struct{ Kid string }
	if err != nil || json.Unmarshal(b, &h) != nil || h.Kid == "" {
		t.Fatalf("token header %q has no kid", b)
	}
	return h.Kid
}

// signedAs mints a token with claims for alice, edited by edit.
func signedAs(edit func(c *googletest.Claims)) func(*testing.T, *googletest.Server, string) string {
	return func(t *testing.T, g *googletest.Server, nonce string) string {
		c := googletest.Claims{Email: "alice@example.com", Nonce: nonce}
		edit(&c)
		return g.Token(t, c)
	}
}

// rawToken signs alice's claims, edited by editPayload, under header (kid
// "" means g's current one) with alg.
func rawToken(header map[string]any, editPayload func(map[string]any), alg string) func(*testing.T, *googletest.Server, string) string {
	return func(t *testing.T, g *googletest.Server, nonce string) string {
		h := map[string]any{"typ": "JWT", "kid": kidOf(t, g)}
		for k, v := range header {
			if v == nil {
				delete(h, k)
				continue
			}
			h[k] = v
		}
		p := alicePayload(g, nonce)
		if editPayload != nil {
			editPayload(p)
		}
		return g.SignRaw(t, h, p, alg)
	}
}

// withSignature replaces the signature segment of a token made by mk.
func withSignature(sig string, mk func(*testing.T, *googletest.Server, string) string) func(*testing.T, *googletest.Server, string) string {
	return func(t *testing.T, g *googletest.Server, nonce string) string {
		tok := mk(t, g, nonce)
		return tok[:strings.LastIndexByte(tok, '.')+1] + sig
	}
}

// literal returns a fixed credential.
func literal(s string) func(*testing.T, *googletest.Server, string) string {
	return func(*testing.T, *googletest.Server, string) string { return s }
}

func tokenAttacks(other *googletest.Server) []tokenAttack {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	rs := map[string]any{"alg": "RS256"}
	now := time.Now() // only where the time does not matter: times that do are read when the token is signed
	del := func(keys ...string) func(map[string]any) {
		return func(p map[string]any) {
			for _, k := range keys {
				delete(p, k)
			}
		}
	}
	set := func(k string, v any) func(map[string]any) { return func(p map[string]any) { p[k] = v } }
	claim := func(k string, v any) func(*googletest.Claims) {
		return func(c *googletest.Claims) { c.Extra = map[string]any{k: v} }
	}
	return []tokenAttack{
		{"control: Google's token", signedAs(func(*googletest.Claims) {}), 303, false},
		{"control: hand-made RS256 token", rawToken(rs, nil, "RS256"), 303, false},
		{"control: upper-case email", signedAs(func(c *googletest.Claims) { c.Email = "ALICE@EXAMPLE.COM" }), 303, false},
		{"control: issuer without scheme", signedAs(func(c *googletest.Claims) { c.Issuer = "accounts.google.com" }), 303, false},
		// Algorithms and keys.
		{"alg none", rawToken(map[string]any{"alg": "none"}, nil, "none"), 401, true},
		{"alg None", rawToken(map[string]any{"alg": "None"}, nil, "none"), 401, true},
		{"alg NONE with a valid RS256 signature", rawToken(map[string]any{"alg": "NONE"}, nil, "RS256"), 401, true},
		{"alg missing", rawToken(map[string]any{"alg": nil}, nil, "RS256"), 401, true},
		{"HS256 keyed with the public key", rawToken(map[string]any{"alg": "HS256"}, nil, "HS256"), 401, true},
		{"RS256 header, HS256 signature", rawToken(rs, nil, "HS256"), 401, false},
		{"ES256 64-byte signature", rawToken(map[string]any{"alg": "ES256"}, nil, "ES256"), 401, true},
		{"ES256 short signature", withSignature("AA", rawToken(map[string]any{"alg": "ES256"}, nil, "ES256")), 401, true},
		{"ES256 empty signature", withSignature("", rawToken(map[string]any{"alg": "ES256"}, nil, "ES256")), 401, true},
		{"RS256 empty signature", withSignature("", rawToken(rs, nil, "RS256")), 401, false},
		{"RS256 short signature", withSignature("AA", rawToken(rs, nil, "RS256")), 401, false},
		{"RS512", rawToken(map[string]any{"alg": "RS512"}, nil, "RS256"), 401, true},
		{"PS256", rawToken(map[string]any{"alg": "PS256"}, nil, "RS256"), 401, true},
		{"unknown kid", rawToken(map[string]any{"alg": "RS256", "kid": "nope"}, nil, "RS256"), 401, false},
		{"empty kid", rawToken(map[string]any{"alg": "RS256", "kid": ""}, nil, "RS256"), 401, true},
		{"no kid", rawToken(map[string]any{"alg": "RS256", "kid": nil}, nil, "RS256"), 401, true},
		{"kid as a path", rawToken(map[string]any{"alg": "RS256", "kid": "../../oauth2/v3/certs"}, nil, "RS256"), 401, false},
		{"key Google does not publish, same kid", func(t *testing.T, _ *googletest.Server, nonce string) string {
			return other.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce, Audience: googletest.DefaultClientID})
		}, 401, false},
		{"key Google does not publish, with jku", func(t *testing.T, g *googletest.Server, nonce string) string {
			h := map[string]any{"alg": "RS256", "kid": kidOf(t, other), "jku": "https://evil.example.com/certs"}
			return other.SignRaw(t, h, alicePayload(g, nonce), "RS256")
		}, 401, false},
		// Claims, each wrong in turn.
		{"iss other", signedAs(func(c *googletest.Claims) { c.Issuer = "https://evil.example.com" }), 401, false},
		{"iss with suffix", signedAs(func(c *googletest.Claims) { c.Issuer = "https://accounts.google.com.evil.com" }), 401, false},
		{"iss http", signedAs(func(c *googletest.Claims) { c.Issuer = "http://accounts.google.com" }), 401, false},
		{"iss trailing slash", signedAs(func(c *googletest.Claims) { c.Issuer = "https://accounts.google.com/" }), 401, false},
		{"iss missing", signedAs(claim("iss", nil)), 401, false},
		{"aud other", signedAs(func(c *googletest.Claims) { c.Audience = "other.apps.googleusercontent.com" }), 401, false},
		{"aud array", rawToken(rs, set("aud", []string{googletest.DefaultClientID}), "RS256"), 401, false},
		{"aud missing", rawToken(rs, del("aud"), "RS256"), 401, false},
		{"azp other", signedAs(func(c *googletest.Claims) { c.AuthorizedParty = "other.apps.googleusercontent.com" }), 401, false},
		{"exp past", signedAs(func(c *googletest.Claims) {
			c.Expires, c.IssuedAt = time.Now().Add(-time.Minute), time.Now().Add(-time.Hour)
		}), 401, false},
		{"exp missing", rawToken(rs, del("exp"), "RS256"), 401, false},
		{"exp string", rawToken(rs, set("exp", fmt.Sprint(now.Add(time.Hour).Unix())), "RS256"), 401, false},
		{"iat 2 minutes ahead", signedAs(func(c *googletest.Claims) { c.IssuedAt = time.Now().Add(2 * time.Minute) }), 401, false},
		{"iat missing", rawToken(rs, del("iat"), "RS256"), 401, false},
		{"nbf 2 minutes ahead", signedAs(func(c *googletest.Claims) { c.NotBefore = time.Now().Add(2 * time.Minute) }), 401, false},
		{"nbf string", signedAs(claim("nbf", "0")), 401, false},
		{"nonce other", signedAs(func(c *googletest.Claims) { c.Nonce = "not-the-bound-one" }), 401, false},
		{"nonce missing", rawToken(rs, del("nonce"), "RS256"), 401, false},
		{"nonce empty", rawToken(rs, set("nonce", ""), "RS256"), 401, false},
		{"email_verified false", signedAs(func(c *googletest.Claims) { c.EmailVerified = googletest.Bool(false) }), 401, false},
		{`email_verified "true"`, signedAs(claim("email_verified", "true")), 401, false},
		{"email_verified 1", signedAs(claim("email_verified", 1)), 401, false},
		{"email_verified missing", signedAs(claim("email_verified", nil)), 401, false},
		{"email missing", signedAs(func(c *googletest.Claims) { c.Email = "" }), 401, false},
		{"email two @", signedAs(func(c *googletest.Claims) { c.Email = "alice@evil.com@example.com" }), 401, false},
		{"email Cyrillic look-alike", signedAs(func(c *googletest.Claims) { c.Email = "\u0430lice@example.com" }), 401, false},
		{"email NUL", signedAs(func(c *googletest.Claims) { c.Email = "alice@example.com\x00" }), 401, false},
		{"email trailing space", signedAs(func(c *googletest.Claims) { c.Email = "alice@example.com " }), 401, false},
		{"email in angle brackets", signedAs(func(c *googletest.Claims) { c.Email = "<alice@example.com>" }), 401, false},
		{"email list", signedAs(func(c *googletest.Claims) { c.Email = "alice@example.com,mallory@example.com" }), 401, false},
		{"email array", rawToken(rs, set("email", []string{"alice@example.com"}), "RS256"), 401, false},
		// Sizes and shapes.
		{"9 KiB token", signedAs(claim("pad", strings.Repeat("A", 9<<10))), 401, true},
		{"two segments", literal(seg(`{"alg":"RS256","kid":"test-key-1"}`) + "." + seg(`{}`)), 401, true},
		{"four segments", withSignature("c2ln.c2ln", rawToken(rs, nil, "RS256")), 401, true},
		{"header not base64", literal("!!!." + seg(`{}`) + ".c2ln"), 401, true},
		{"header not JSON", literal(seg("nope") + "." + seg(`{}`) + ".c2ln"), 401, true},
		{"header JSON array", literal(seg(`["RS256"]`) + "." + seg(`{}`) + ".c2ln"), 401, true},
		{"payload not JSON", literal(seg(`{"alg":"RS256","kid":"test-key-1"}`) + "." + seg("nope") + ".c2ln"), 401, false},
		{"padded segments", func(t *testing.T, g *googletest.Server, nonce string) string {
			return strings.ReplaceAll(g.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce}), ".", "=.")
		}, 401, true},
		{"leading space", func(t *testing.T, g *googletest.Server, nonce string) string {
			return " " + g.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce})
		}, 401, true},
		{"dots only", literal(".."), 401, true},
		{"empty credential", literal(""), 401, true},
	}
}

// TestSecurityToken posts forged, mis-signed, mis-claimed and malformed ID
// tokens to /callback with a valid nonce and CSRF pair, with and without
// --hosted-domain.
func TestSecurityToken(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	hd := newTestDoorman(t, "alice@example.com\n", testConfig{auth: func(c *Config) { c.HostedDomain = "example.com" }})
	for _, tt := range tokenAttacks(hd.google) { // hd's Google is "another key" for td
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkTokenAttack(t, td, tt)
		})
	}
	hdAttacks := []tokenAttack{
		{"hd equal", signedAs(func(c *googletest.Claims) { c.HostedDomain = "example.com" }), 303, false},
		{"hd upper case", signedAs(func(c *googletest.Claims) { c.HostedDomain = "EXAMPLE.COM" }), 303, false},
		{"hd other", signedAs(func(c *googletest.Claims) { c.HostedDomain = "evil.com" }), 401, false},
		{"hd missing", signedAs(func(*googletest.Claims) {}), 401, false},
		{"hd subdomain", signedAs(func(c *googletest.Claims) { c.HostedDomain = "sub.example.com" }), 401, false},
		{"hd trailing dot", signedAs(func(c *googletest.Claims) { c.HostedDomain = "example.com." }), 401, false},
		{"hd suffix", signedAs(func(c *googletest.Claims) { c.HostedDomain = "evilexample.com" }), 401, false},
		{"hd Kelvin look-alike", signedAs(func(c *googletest.Claims) { c.HostedDomain = "example.com\u212a" }), 401, false},
		{"hd array", signedAs(func(c *googletest.Claims) { c.Extra = map[string]any{"hd": []string{"example.com"}} }), 401, false},
	}
	for _, tt := range hdAttacks {
		t.Run("hosted domain/"+tt.name, func(t *testing.T) {
			t.Parallel()
			checkTokenAttack(t, hd, tt)
		})
	}
}

// checkTokenAttack posts tt's credential with a valid nonce and CSRF pair:
// a 303 must come with a working session for alice; anything else with no
// session cookie at all.
func checkTokenAttack(t *testing.T, td *testDoorman, tt tokenAttack) {
	t.Helper()
	nonce, loginURI, cookies := loginPage(t, td, "")
	resp, _ := postCredential(t, td, loginURI, tt.token(t, td.google, nonce), cookies)
	if resp.StatusCode != tt.want {
		t.Errorf("POST /callback = %d, want %d", resp.StatusCode, tt.want)
	}
	session := findCookie(resp, "doorman")
	if resp.StatusCode != http.StatusSeeOther {
		if session != nil {
			t.Errorf("refused sign-in set a session cookie")
		}
		return
	}
	if session == nil {
		t.Fatal("303 without a session cookie")
	}
	if code, email := authReply(t, td, "/auth", nil, session); code != 200 || email != "alice@example.com" {
		t.Errorf("GET /auth with the new session = %d %q, want 200 alice@example.com", code, email)
	}
}

// countingReader yields n bytes of 'A' and counts what was read.
type countingReader struct {
	n    int64
	read atomic.Int64 // read by the test while the transport reads the body
}

func (r *countingReader) Read(p []byte) (int, error) {
	done := r.read.Load()
	if done >= r.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n-done)
	for i := range p[:k] {
		p[i] = 'A'
	}
	r.read.Add(k)
	return int(k), nil
}

// TestSecurityTokenHuge posts tokens of 1 and 64 MiB: 413, and doorman stops
// reading after its 64 KiB cap.
func TestSecurityTokenHuge(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true})
	tests := []struct {
		name, ctype, prefix string
		size                int64
	}{
		{"1 MiB token in a form", "application/x-www-form-urlencoded", "g_csrf_token=x&credential=", 1 << 20},
		{"1 MiB token in JSON", "application/json", `{"g_csrf_token":"x","credential":"`, 1 << 20},
		{"64 MiB token in a form", "application/x-www-form-urlencoded", "g_csrf_token=x&credential=", 64 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := &countingReader{n: tt.size}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, td.URL+"/callback",
				io.MultiReader(strings.NewReader(tt.prefix), body))
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(tt.prefix)) + tt.size
			req.Header.Set("Content-Type", tt.ctype)
			req.AddCookie(&http.Cookie{Name: "g_csrf_token", Value: "x"})
			resp, err := td.client.Do(req)
			if err != nil {
				t.Fatalf("POST /callback: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || findCookie(resp, "doorman") != nil {
				t.Errorf("POST /callback with a %d-byte token = %d, want 413 and no session", tt.size, resp.StatusCode)
			}
			t.Logf("client wrote %d of %d body bytes", body.read.Load(), tt.size)
			if read := body.read.Load(); tt.size > 32<<20 && read > tt.size/2 {
				t.Errorf("client wrote %d of %d bytes before the 413: doorman read the body unbounded", read, tt.size)
			}
		})
	}
}

// TestSecurityGoogleUnreachable makes Google's keys unreachable: 503 for a
// well-formed token, 401 for a malformed one (which never needs the keys),
// and sign-in works again once Google is back.
func TestSecurityGoogleUnreachable(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	forged := rawToken(map[string]any{"alg": "none"}, nil, "none")
	tests := []struct {
		name   string
		google func(g *googletest.Server)
		token  func(*testing.T, *googletest.Server, string) string
		want   int
	}{
		{"malformed token never needs Google", func(g *googletest.Server) { g.SetUnreachable(true) }, literal("a.b"), 401},
		{"alg none never needs Google", func(g *googletest.Server) { g.SetUnreachable(true) }, forged, 401},
		{"keys 404", func(g *googletest.Server) { g.SetUnreachable(false); g.SetKeysStatus(404) }, signedAs(func(*googletest.Claims) {}), 503},
		{"keys 500", func(g *googletest.Server) { g.SetKeysStatus(500) }, signedAs(func(*googletest.Claims) {}), 503},
		{"network down", func(g *googletest.Server) { g.SetKeysStatus(0); g.SetUnreachable(true) }, signedAs(func(*googletest.Claims) {}), 503},
		{"back: sign-in works again", func(g *googletest.Server) { g.SetUnreachable(false) }, signedAs(func(*googletest.Claims) {}), 303},
	}
	for _, tt := range tests { // sequential: they share Google's state
		t.Run(tt.name, func(t *testing.T) {
			tt.google(td.google)
			checkTokenAttack(t, td, tokenAttack{name: tt.name, token: tt.token, want: tt.want})
		})
	}
	if n := td.google.KeyFetches(); n == 0 {
		t.Error("Google's keys were never fetched")
	}
}

// TestSecurityBadTokensFetchNoKeys checks that tokens refused on their shape
// never make doorman fetch Google's keys.
func TestSecurityBadTokensFetchNoKeys(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	for _, tt := range tokenAttacks(td.google) {
		if !tt.offline {
			continue
		}
		nonce, loginURI, cookies := loginPage(t, td, "")
		if resp, _ := postCredential(t, td, loginURI, tt.token(t, td.google, nonce), cookies); resp.StatusCode != 401 {
			t.Errorf("%s: POST /callback = %d, want 401", tt.name, resp.StatusCode)
		}
	}
	if n := td.google.KeyFetches(); n != 0 {
		t.Errorf("refusing malformed tokens fetched Google's keys %d times, want 0", n)
	}
}
