package googletest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// defaultIssuer is the iss claim of minted tokens when Claims.Issuer is
// empty; Google uses both it and "accounts.google.com".
const defaultIssuer = "https://accounts.google.com"

// csrfName is the name of both the Google Identity Services CSRF cookie and
// the form field it must match.
const csrfName = "g_csrf_token"

// Claims describes the ID token Token mints. The zero value yields a valid
// token for Server.ClientID: issued now, expiring in one hour, with
// email_verified true. Empty string fields marked "omitted if empty" are
// left out of the token.
type Claims struct {
	Email           string // email; omitted if empty
	EmailVerified   *bool  // email_verified, a JSON boolean; nil means true
	Subject         string // sub; empty means "1000" + 17 digits derived from Email
	HostedDomain    string // hd; omitted if empty
	Nonce           string // nonce; omitted if empty
	Issuer          string // iss; empty means "https://accounts.google.com"
	Audience        string // aud; empty means Server.ClientID
	AuthorizedParty string // azp; omitted if empty

	IssuedAt  time.Time // iat; zero means now
	Expires   time.Time // exp; zero means now + 1h
	NotBefore time.Time // nbf; omitted if zero

	// Extra is merged into the payload last, overriding the fields above.
	// A key mapped to nil DELETES that claim, so that a test can mint a
	// token without, say, exp or iss.
	Extra map[string]any
}

// Bool returns a pointer to b, for Claims.EmailVerified.
func Bool(b bool) *bool { return &b }

// Token returns a compact JWS of c, signed RS256 with the current key and
// carrying its kid, as Google Identity Services would hand it to the
// sign-in callback.
func (s *Server) Token(tb testing.TB, c Claims) string {
	tb.Helper()
	k := s.currentKey()
	header := map[string]any{"alg": "RS256", "kid": k.kid, "typ": "JWT"}
	return s.SignRaw(tb, header, s.payload(c, time.Now()), "RS256")
}

// payload builds the claim set of c with defaults filled in.
func (s *Server) payload(c Claims, now time.Time) map[string]any {
	p := map[string]any{
		"iss":            orDefault(c.Issuer, defaultIssuer),
		"aud":            orDefault(c.Audience, s.ClientID),
		"sub":            orDefault(c.Subject, subject(c.Email)),
		"email_verified": c.EmailVerified == nil || *c.EmailVerified,
		"iat":            unixOr(c.IssuedAt, now),
		"exp":            unixOr(c.Expires, now.Add(time.Hour)),
	}
	setIf(p, "email", c.Email)
	setIf(p, "hd", c.HostedDomain)
	setIf(p, "nonce", c.Nonce)
	setIf(p, "azp", c.AuthorizedParty)
	if !c.NotBefore.IsZero() {
		p["nbf"] = c.NotBefore.Unix()
	}
	for k, v := range c.Extra {
		if v == nil {
			delete(p, k)
			continue
		}
		p[k] = v
	}
	return p
}

// subject derives a stable Google-style numeric subject from email.
func subject(email string) string {
	h := fnv.New64a()
	h.Write([]byte(email))
	return fmt.Sprintf("1000%017d", h.Sum64()%1e17)
}

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// unixOr returns t in Unix seconds, or def's when t is zero.
func unixOr(t, def time.Time) int64 {
	if t.IsZero() {
		return def.Unix()
	}
	return t.Unix()
}

// setIf sets p[k] to v unless v is empty.
func setIf(p map[string]any, k, v string) {
	if v != "" {
		p[k] = v
	}
}

// SignRaw returns a compact JWS of header and payload, both JSON-encoded
// verbatim (the "alg" and "kid" in header are NOT set or checked), with a
// signature made according to alg, for adversarial tests:
//
//   - "RS256": RSASSA-PKCS1-v1_5 SHA-256 with the current key;
//   - "none": an empty signature;
//   - "HS256": HMAC-SHA256 keyed with the current RSA public key's PKIX DER
//     bytes, the classic algorithm-confusion attack;
//   - "ES256": ECDSA P-256 SHA-256 (64-byte r||s) with a fresh key that
//     Google never published.
//
// Any other alg, or a map that cannot be encoded, calls tb.Fatal.
func (s *Server) SignRaw(tb testing.TB, header, payload map[string]any, alg string) string {
	tb.Helper()
	signingInput := mustSegment(tb, header) + "." + mustSegment(tb, payload)
	sig, err := s.sign(alg, []byte(signingInput))
	if err != nil {
		tb.Fatalf("googletest: sign %s token: %v", alg, err)
	}
	return signingInput + "." + b64(sig)
}

// mustSegment returns the base64url JSON encoding of v.
func mustSegment(tb testing.TB, v map[string]any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("googletest: encode JWT segment: %v", err)
	}
	return b64(b)
}

// sign signs the JWS signing input with the method named by alg.
func (s *Server) sign(alg string, input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	key := s.currentKey().priv
	switch alg {
	case "RS256":
		return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	case "none":
		return nil, nil
	case "HS256":
		return signHS256(&key.PublicKey, input)
	case "ES256":
		return signES256(digest[:])
	}
	return nil, fmt.Errorf("unsupported alg %q", alg)
}

// signHS256 MACs input with pub's PKIX DER encoding as the secret.
func signHS256(pub *rsa.PublicKey, input []byte) ([]byte, error) {
	secret, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(input)
	return mac.Sum(nil), nil
}

// signES256 signs digest with a fresh P-256 key, in JWS's fixed-width
// r||s form.
func signES256(digest []byte) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	r, sv, err := ecdsa.Sign(rand.Reader, key, digest)
	if err != nil {
		return nil, err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return sig, nil
}

// CallbackForm returns what Google Identity Services POSTs to doorman's
// /callback after a sign-in: a form with the credential (token) and a fresh
// random g_csrf_token, and the g_csrf_token cookie carrying the same value.
// Every call returns a different CSRF value.
func (s *Server) CallbackForm(token string) (url.Values, *http.Cookie) {
	csrf := rand.Text()
	form := url.Values{"credential": {token}, csrfName: {csrf}}
	return form, &http.Cookie{Name: csrfName, Value: csrf, Path: "/"}
}
