package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/idtoken"
)

const testClientID = "client.apps.googleusercontent.com"

// goodPayload returns claims that pass checkClaims at now with nonce "n1".
func goodPayload(now time.Time) *idtoken.Payload {
	return &idtoken.Payload{
		Issuer: "https://accounts.google.com", Audience: testClientID, Subject: "1234",
		Expires: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(),
		Claims: map[string]any{
			"email": "Alice@Example.com", "email_verified": true, "nonce": "n1", "hd": "example.com",
			"azp": testClientID,
		},
	}
}

func TestCheckClaims(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name   string
		edit   func(p *idtoken.Payload)
		hd     string
		reason string // "" means accepted
	}{
		{"valid", func(p *idtoken.Payload) {}, "", ""},
		{"iss without scheme", func(p *idtoken.Payload) { p.Issuer = "accounts.google.com" }, "", ""},
		{"iss other", func(p *idtoken.Payload) { p.Issuer = "https://evil.example.com" }, "", "wrong_issuer"},
		{"iss http", func(p *idtoken.Payload) { p.Issuer = "http://accounts.google.com" }, "", "wrong_issuer"},
		{"aud other", func(p *idtoken.Payload) { p.Audience = "other" }, "", "wrong_audience"},
		{"azp other", func(p *idtoken.Payload) { p.Claims["azp"] = "other" }, "", "wrong_audience"},
		{"azp absent", func(p *idtoken.Payload) { delete(p.Claims, "azp") }, "", ""},
		{"expired", func(p *idtoken.Payload) { p.Expires = now.Unix() }, "", "expired"},
		{"no exp", func(p *idtoken.Payload) { p.Expires = 0 }, "", "expired"},
		{"iat 59s ahead", func(p *idtoken.Payload) { p.IssuedAt = now.Add(59 * time.Second).Unix() }, "", ""},
		{"iat 61s ahead", func(p *idtoken.Payload) { p.IssuedAt = now.Add(61 * time.Second).Unix() }, "", "issued_in_future"},
		{"no iat", func(p *idtoken.Payload) { p.IssuedAt = 0 }, "", "issued_in_future"},
		{"nbf ahead", func(p *idtoken.Payload) { p.Claims["nbf"] = float64(now.Add(2 * time.Minute).Unix()) }, "", "issued_in_future"},
		{"nbf string", func(p *idtoken.Payload) { p.Claims["nbf"] = "0" }, "", "issued_in_future"},
		{"nbf past", func(p *idtoken.Payload) { p.Claims["nbf"] = float64(now.Unix() - 10) }, "", ""},
		{"nonce other", func(p *idtoken.Payload) { p.Claims["nonce"] = "n2" }, "", "nonce"},
		{"nonce absent", func(p *idtoken.Payload) { delete(p.Claims, "nonce") }, "", "nonce"},
		{"email_verified false", func(p *idtoken.Payload) { p.Claims["email_verified"] = false }, "", "unverified_email"},
		{"email_verified string", func(p *idtoken.Payload) { p.Claims["email_verified"] = "true" }, "", "unverified_email"},
		{"email_verified absent", func(p *idtoken.Payload) { delete(p.Claims, "email_verified") }, "", "unverified_email"},
		{"email absent", func(p *idtoken.Payload) { delete(p.Claims, "email") }, "", "bad_email"},
		{"email two @", func(p *idtoken.Payload) { p.Claims["email"] = "a@b@example.com" }, "", "bad_email"},
		{"email non-ASCII", func(p *idtoken.Payload) { p.Claims["email"] = "\u212Aate@example.com" }, "", "bad_email"},
		{"email with space", func(p *idtoken.Payload) { p.Claims["email"] = "a b@example.com" }, "", "bad_email"},
		{"email not a string", func(p *idtoken.Payload) { p.Claims["email"] = 7.0 }, "", "bad_email"},
		{"hd required and equal", func(p *idtoken.Payload) {}, "example.com", ""},
		{"hd case-insensitive", func(p *idtoken.Payload) {}, "EXAMPLE.com", ""},
		{"hd other", func(p *idtoken.Payload) { p.Claims["hd"] = "evil.com" }, "example.com", "hosted_domain"},
		{"hd absent", func(p *idtoken.Payload) { delete(p.Claims, "hd") }, "example.com", "hosted_domain"},
		{"hd Kelvin look-alike", func(p *idtoken.Payload) { p.Claims["hd"] = "\u212Aexample.com" }, "kexample.com", "hosted_domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := goodPayload(now)
			tt.edit(p)
			rules := claimRules{clientID: testClientID, hd: tt.hd, now: now, nonceOK: nonceMatcher([]nonceEntry{{Value: "n1"}})}
			id, err := checkClaims(p, rules)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("checkClaims() = %v, want accepted", err)
				}
				if id.Email != "alice@example.com" || id.Subject != "1234" || id.nonce != "n1" {
					t.Errorf("checkClaims() identity = %+v, want alice@example.com/1234/n1", id)
				}
				return
			}
			if reasonOf(err) != tt.reason {
				t.Errorf("checkClaims() = %v, want refusal %q", err, tt.reason)
			}
		})
	}
}

func TestPrecheck(t *testing.T) {
	t.Parallel()
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"RS256 with kid", seg(`{"alg":"RS256","kid":"k"}`) + ".e30.c2ln", true},
		{"alg none", seg(`{"alg":"none","kid":"k"}`) + ".e30.", false},
		{"HS256", seg(`{"alg":"HS256","kid":"k"}`) + ".e30.c2ln", false},
		{"ES256 short signature", seg(`{"alg":"ES256","kid":"k"}`) + ".e30.AA", false},
		{"no kid", seg(`{"alg":"RS256"}`) + ".e30.c2ln", false},
		{"two segments", seg(`{"alg":"RS256","kid":"k"}`) + ".e30", false},
		{"four segments", seg(`{"alg":"RS256","kid":"k"}`) + ".e30.a.b", false},
		{"header not base64", "!!!.e30.c2ln", false},
		{"header not JSON", seg("nope") + ".e30.c2ln", false},
		{"empty", "", false},
		{"oversized", seg(`{"alg":"RS256","kid":"k"}`) + "." + strings.Repeat("A", maxTokenLen) + ".c2ln", false},
	}
	for _, tt := range tests {
		if err := precheck(tt.token); (err == nil) != tt.ok {
			t.Errorf("precheck(%s) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestPlainEmailAndASCIIFolding(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"a@b.c", "first.last+tag@example.co.uk"} {
		if !plainEmail(s) {
			t.Errorf("plainEmail(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "@b.c", "a@", "a@@b", "a@b@c", "a b@c.d", "a\x00@b.c", "é@b.c", "<a@b.c>", strings.Repeat("a", 250) + "@b.cd"} {
		if plainEmail(s) {
			t.Errorf("plainEmail(%q) = true, want false", s)
		}
	}
	if got := asciiLower("\u212A@Example.COM"); got != "\u212A@example.com" {
		t.Errorf("asciiLower folded non-ASCII: got %q", got)
	}
}

func FuzzPrecheck(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.e30.c2ln")
	f.Add("..")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		if precheck(token) != nil {
			return
		}
		header, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
		if err != nil || !strings.Contains(string(header), "RS256") {
			t.Fatalf("precheck accepted %q without an RS256 header", token)
		}
	})
}

// reasonOf is err's Refusal reason, or "" when err is not a *Refusal.
func reasonOf(err error) string {
	var rf *Refusal
	if !errors.As(err, &rf) {
		return ""
	}
	return rf.Reason
}
