package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"
)

const (
	// maxTokenLen caps the credential: Google's ID tokens are about 1 KiB.
	maxTokenLen = 8 << 10
	// clockSkew is how far in the future iat and nbf may be.
	clockSkew = 60 * time.Second
)

// Refusal is why a sign-in was refused, as a stable reason code for logs
// and metrics ("bad_token", "wrong_audience", "nonce", ...).
type Refusal struct {
	Reason string // stable code
	Detail string // human detail for the log; never contains the token
	err    error  // wrapped cause, for errors.Is
}

func (r *Refusal) Error() string { return r.Reason + ": " + r.Detail }
func (r *Refusal) Unwrap() error { return r.err }

// refuse builds a *Refusal.
func refuse(reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// identity is what a verified ID token says about the user.
type identity struct {
	Email   string // lower-case ASCII
	Subject string // Google's stable user ID
	nonce   string // the nonce the token carried, retired after sign-in
}

// verifier checks Google ID tokens: idtoken checks the signature against
// Google's published keys; checkClaims does everything idtoken does not.
type verifier struct {
	validator *idtoken.Validator
	keys      *keyFetcher // the transport of validator's key fetches
	clientID  string
	hd        string
	now       func() time.Time
}

// newVerifier builds a verifier whose key fetches go through client's
// transport, shared and timed out by a keyFetcher after client's Timeout.
// The client handed to idtoken has no Timeout of its own: when it fires,
// net/http replaces the transport's error with its own, and a hang would
// read as a bad token.
func newVerifier(ctx context.Context, client *http.Client, clientID, hd string, now func() time.Time, onFetchFailure func()) (*verifier, error) {
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	keys := newKeyFetcher(base, client.Timeout, onFetchFailure)
	wrapped := *client
	wrapped.Transport, wrapped.Timeout = keys, 0
	v, err := idtoken.NewValidator(ctx, option.WithHTTPClient(&wrapped))
	if err != nil {
		return nil, err
	}
	return &verifier{validator: v, keys: keys, clientID: clientID, hd: hd, now: now}, nil
}

// verify returns the identity in raw if raw is a valid Google ID token for
// this client whose nonce satisfies nonceOK. Errors are *Refusal, or
// errAbandoned when ctx was cancelled while Google's keys were awaited.
func (v *verifier) verify(ctx context.Context, raw string, nonceOK func(string) bool) (identity, error) {
	if err := precheck(raw); err != nil {
		return identity{}, err
	}
	noted, note := withFetchNote(ctx)
	p, err := v.validator.Validate(noted, raw, "")
	if err != nil {
		return identity{}, v.classify(raw, note.failure(), err)
	}
	return checkClaims(p, claimRules{clientID: v.clientID, hd: v.hd, now: v.now(), nonceOK: nonceOK})
}

// classify turns an idtoken error into a Refusal, going by the key fetch's
// own failure when there was one: a visitor who hung up meanwhile is
// errAbandoned; a failed fetch, or a request deadline that passed while
// Google was slow, is google_unreachable. Otherwise an expired token is
// expired, and anything else bad_token.
func (v *verifier) classify(raw string, fetchErr, err error) error {
	switch {
	case errors.Is(fetchErr, context.Canceled):
		return fmt.Errorf("%w: %w", errAbandoned, fetchErr)
	case fetchErr != nil:
		return &Refusal{Reason: "google_unreachable", Detail: fetchErr.Error(), err: ErrGoogleUnavailable}
	}
	if p, perr := idtoken.ParsePayload(raw); perr == nil && p.Expires <= v.now().Unix() {
		return refuse("expired", "token expired at %d", p.Expires)
	}
	return refuse("bad_token", "%v", err)
}

// precheck rejects what must never reach idtoken: oversized tokens,
// malformed segments, and any alg but RS256 (idtoken panics on an ES256
// token with a short signature).
func precheck(raw string) error {
	if len(raw) == 0 || len(raw) > maxTokenLen {
		return refuse("bad_token", "token length %d", len(raw))
	}
	if strings.Count(raw, ".") != 2 {
		return refuse("bad_token", "token is not three segments")
	}
	header, err := base64.RawURLEncoding.DecodeString(raw[:strings.IndexByte(raw, '.')])
	if err != nil {
		return refuse("bad_token", "header is not base64url")
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(header, &h); err != nil {
		return refuse("bad_token", "header is not JSON")
	}
	if h.Alg != "RS256" || h.Kid == "" {
		return refuse("bad_token", "alg %q kid %q: want RS256 with a kid", h.Alg, h.Kid)
	}
	return nil
}

// claimRules are what checkClaims holds a token's claims to.
type claimRules struct {
	clientID string
	hd       string // "" means any (or no) hosted domain
	now      time.Time
	nonceOK  func(string) bool
}

// checkClaims checks every claim idtoken does not: iss (both spellings),
// aud, azp, exp, iat, nbf, nonce, email_verified, email and hd.
func checkClaims(p *idtoken.Payload, r claimRules) (identity, error) {
	if p.Issuer != "accounts.google.com" && p.Issuer != "https://accounts.google.com" {
		return identity{}, refuse("wrong_issuer", "iss %q", p.Issuer)
	}
	if p.Audience != r.clientID {
		return identity{}, refuse("wrong_audience", "aud %q", p.Audience)
	}
	if azp, ok := p.Claims["azp"]; ok && azp != r.clientID {
		return identity{}, refuse("wrong_audience", "azp %v", azp)
	}
	if err := checkTimes(p, r.now); err != nil {
		return identity{}, err
	}
	nonce, _ := p.Claims["nonce"].(string)
	if !r.nonceOK(nonce) {
		return identity{}, refuse("nonce", "nonce does not match this browser's login page")
	}
	id, err := checkEmail(p, r.hd)
	id.nonce = nonce
	return id, err
}

// checkTimes checks exp, iat and nbf against now.
func checkTimes(p *idtoken.Payload, now time.Time) error {
	if p.Expires <= now.Unix() {
		return refuse("expired", "exp %d", p.Expires)
	}
	latest := now.Add(clockSkew).Unix()
	if p.IssuedAt == 0 || p.IssuedAt > latest {
		return refuse("issued_in_future", "iat %d", p.IssuedAt)
	}
	if nbf, ok := p.Claims["nbf"]; ok {
		if f, isNum := nbf.(float64); !isNum || int64(f) > latest {
			return refuse("issued_in_future", "nbf %v", nbf)
		}
	}
	return nil
}

// checkEmail checks email_verified, the email's form and hd.
func checkEmail(p *idtoken.Payload, hd string) (identity, error) {
	if verified, _ := p.Claims["email_verified"].(bool); !verified {
		return identity{}, refuse("unverified_email", "email_verified %v", p.Claims["email_verified"])
	}
	email, _ := p.Claims["email"].(string)
	if !plainEmail(email) {
		return identity{}, refuse("bad_email", "email %q", email)
	}
	if hd != "" {
		got, _ := p.Claims["hd"].(string)
		if !asciiEqualFold(got, hd) {
			return identity{}, refuse("hosted_domain", "hd %q", got)
		}
	}
	return identity{Email: asciiLower(email), Subject: p.Subject}, nil
}

// plainEmail reports whether s is a printable-ASCII address with exactly
// one @ and something on each side of it.
func plainEmail(s string) bool {
	if len(s) < 3 || len(s) > 254 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || strings.IndexByte(`"(),:;<>[\]`, s[i]) >= 0 {
			return false
		}
	}
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1
}

// asciiLower lower-cases ASCII letters only; it never folds Unicode.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// asciiEqualFold compares ASCII case-insensitively; non-ASCII bytes must match exactly.
func asciiEqualFold(a, b string) bool {
	return len(a) == len(b) && asciiLower(a) == asciiLower(b)
}
