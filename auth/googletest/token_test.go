package googletest_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"

	"doorman/auth/googletest"
)

// decodeSegment returns the JSON object in segment i of the compact JWS tok.
func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("decode segment %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal segment %d: %v", i, err)
	}
	return m
}

// encodeSegment is the inverse of decodeSegment.
func encodeSegment(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal segment: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// headerKid returns the kid in tok's header.
func headerKid(t *testing.T, tok string) string {
	t.Helper()
	kid, _ := decodeSegment(t, tok, 0)["kid"].(string)
	return kid
}

func TestTokenDefaults(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	tok := s.Token(t, googletest.Claims{})
	h, p := decodeSegment(t, tok, 0), decodeSegment(t, tok, 1)

	want := map[string]any{"alg": "RS256", "kid": "test-key-1", "typ": "JWT"}
	for k, w := range want {
		if h[k] != w {
			t.Errorf("header[%q] = %#v, want %#v", k, h[k], w)
		}
	}
	want = map[string]any{"iss": "https://accounts.google.com", "aud": googletest.DefaultClientID, "email_verified": true}
	for k, w := range want {
		if p[k] != w {
			t.Errorf("claims[%q] = %#v, want %#v", k, p[k], w)
		}
	}
	for _, k := range []string{"email", "hd", "nonce", "azp", "nbf"} {
		if v, ok := p[k]; ok {
			t.Errorf("claims[%q] = %#v, want absent", k, v)
		}
	}
	iat, _ := p["iat"].(float64)
	exp, _ := p["exp"].(float64)
	if d := time.Since(time.Unix(int64(iat), 0)); d < -time.Second || d > time.Minute {
		t.Errorf("iat is %v from now, want now", d)
	}
	if got, want := exp-iat, float64(3600); got < want-1 || got > want+1 {
		t.Errorf("exp - iat = %v s, want %v s", got, want)
	}
}

func TestTokenSubject(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	sub := func(c googletest.Claims) string { v, _ := decodeSegment(t, s.Token(t, c), 1)["sub"].(string); return v }
	alice := sub(googletest.Claims{Email: "alice@example.com"})
	if !strings.HasPrefix(alice, "1000") || len(alice) != 21 {
		t.Errorf("sub = %q, want 21 digits starting with 1000", alice)
	}
	if again := sub(googletest.Claims{Email: "alice@example.com"}); again != alice {
		t.Errorf("sub for the same email = %q, want %q", again, alice)
	}
	if bob := sub(googletest.Claims{Email: "bob@example.com"}); bob == alice {
		t.Errorf("sub for another email = %q, want different from %q", bob, alice)
	}
	if got := sub(googletest.Claims{Subject: "42"}); got != "42" {
		t.Errorf("sub with Subject set = %q, want %q", got, "42")
	}
}

func TestTokenClaimsSet(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	at := time.Unix(1_700_000_000, 0)
	c := googletest.Claims{
		Email: "a@corp.example", EmailVerified: googletest.Bool(false), HostedDomain: "corp.example",
		Nonce: "n-1", Issuer: "accounts.google.com", Audience: "aud-1", AuthorizedParty: "azp-1",
		IssuedAt: at, Expires: at.Add(time.Minute), NotBefore: at.Add(-time.Minute),
		Extra: map[string]any{"iss": "https://evil.example", "sub": nil, "custom": "x"},
	}
	p := decodeSegment(t, s.Token(t, c), 1)
	want := map[string]any{
		"email": "a@corp.example", "email_verified": false, "hd": "corp.example", "nonce": "n-1",
		"iss": "https://evil.example", "aud": "aud-1", "azp": "azp-1", "custom": "x",
		"iat": float64(at.Unix()), "exp": float64(at.Unix() + 60), "nbf": float64(at.Unix() - 60),
	}
	for k, w := range want {
		if p[k] != w {
			t.Errorf("claims[%q] = %#v, want %#v", k, p[k], w)
		}
	}
	if v, ok := p["sub"]; ok {
		t.Errorf("claims[sub] = %#v, want deleted by Extra", v)
	}
}

// publishedKey returns the RSA public key with kid from the fake's JWKS.
func publishedKey(t *testing.T, s *googletest.Server, kid string) *rsa.PublicKey {
	t.Helper()
	for _, k := range fetchJWKS(t, s.Client(), "https://www.googleapis.com/oauth2/v3/certs").Keys {
		if k.Kid == kid {
			n, _ := base64.RawURLEncoding.DecodeString(k.N)
			e, _ := base64.RawURLEncoding.DecodeString(k.E)
			return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		}
	}
	t.Fatalf("kid %q not in the JWKS", kid)
	return nil
}

func TestSignRaw(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	pub := publishedKey(t, s, "test-key-1")
	header := map[string]any{"alg": "anything", "kid": "k", "x": 1.0}
	payload := map[string]any{"sub": "1"}
	sig := func(alg string) (string, []byte) {
		tok := s.SignRaw(t, header, payload, alg)
		i := strings.LastIndexByte(tok, '.')
		b, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
		if err != nil {
			t.Fatalf("decode %s signature: %v", alg, err)
		}
		return tok[:i], b
	}

	input, rs := sig("RS256")
	digest := sha256.Sum256([]byte(input))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], rs); err != nil {
		t.Errorf("RS256 signature does not verify with the published key: %v", err)
	}
	if got := decodeSegment(t, input+".", 0); got["alg"] != "anything" || got["x"] != 1.0 {
		t.Errorf("header = %v, want %v verbatim", got, header)
	}
	if _, none := sig("none"); len(none) != 0 {
		t.Errorf("none signature has %d bytes, want 0", len(none))
	}
	input, hs := sig("HS256")
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, der)
	mac.Write([]byte(input))
	if !hmac.Equal(hs, mac.Sum(nil)) {
		t.Errorf("HS256 signature is not HMAC-SHA256 keyed with the public key's PKIX DER")
	}
	if _, es := sig("ES256"); len(es) != 64 {
		t.Errorf("ES256 signature has %d bytes, want 64", len(es))
	}
}

// fatalTB records a Fatal call and ends the calling goroutine, as
// testing.T does.
type fatalTB struct {
	testing.TB
	fatal bool
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(string, ...any) { f.fatal = true; runtime.Goexit() }

func TestSignRawUnsupportedAlgFails(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.SignRaw(tb, map[string]any{"alg": "PS256"}, map[string]any{}, "PS256")
	}()
	<-done
	if !tb.fatal {
		t.Errorf("SignRaw(alg PS256) did not call Fatalf")
	}
}

func TestCallbackForm(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	form, cookie := s.CallbackForm("tok")
	if got := form.Get("credential"); got != "tok" {
		t.Errorf("credential = %q, want %q", got, "tok")
	}
	csrf := form.Get("g_csrf_token")
	if csrf == "" || cookie.Name != "g_csrf_token" || cookie.Value != csrf {
		t.Errorf("form g_csrf_token = %q, cookie %s=%q; want equal and non-empty", csrf, cookie.Name, cookie.Value)
	}
	if form2, _ := s.CallbackForm("tok"); form2.Get("g_csrf_token") == csrf {
		t.Errorf("two CallbackForm calls gave the same g_csrf_token %q", csrf)
	}
}
