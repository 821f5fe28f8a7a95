package googletest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"doorman/auth/googletest"

	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"
)

// newValidator returns a fresh idtoken validator (with an empty key cache)
// that fetches keys through c, as doorman's own code builds it.
func newValidator(t *testing.T, c *http.Client) *idtoken.Validator {
	t.Helper()
	v, err := idtoken.NewValidator(t.Context(), option.WithHTTPClient(c))
	if err != nil {
		t.Fatalf("idtoken.NewValidator: %v", err)
	}
	return v
}

// mustValidate validates tok for the server's client ID and fails the
// test on error.
func mustValidate(t *testing.T, v *idtoken.Validator, s *googletest.Server, tok string) *idtoken.Payload {
	t.Helper()
	p, err := v.Validate(t.Context(), tok, s.ClientID)
	if err != nil {
		t.Fatalf("Validate = %v, want no error", err)
	}
	return p
}

func TestTokenValidatesWithIDToken(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	v := newValidator(t, s.Client())
	tok := s.Token(t, googletest.Claims{Email: "alice@example.com"})
	p := mustValidate(t, v, s, tok)

	if got, want := p.Issuer, "https://accounts.google.com"; got != want {
		t.Errorf("Issuer = %q, want %q", got, want)
	}
	if got, want := p.Audience, googletest.DefaultClientID; got != want {
		t.Errorf("Audience = %q, want %q", got, want)
	}
	if got, want := p.Claims["email_verified"], any(true); got != want {
		t.Errorf("email_verified = %#v, want %#v", got, want)
	}
	if got, want := p.Claims["email"], any("alice@example.com"); got != want {
		t.Errorf("email = %#v, want %#v", got, want)
	}
	if left := time.Until(time.Unix(p.Expires, 0)); left < 59*time.Minute || left > time.Hour {
		t.Errorf("exp - now = %v, want about 1h", left)
	}
	mustValidate(t, v, s, tok)
	if got, want := s.KeyFetches(), 1; got != want {
		t.Errorf("KeyFetches() after two validations = %d, want %d (idtoken caches for max-age)", got, want)
	}
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	other := googletest.NewServer(t) // same kid "test-key-1", different key
	past := time.Now().Add(-2 * time.Hour)
	tests := []struct {
		name     string
		tok      string
		audience string
	}{
		{"wrong audience claim", s.Token(t, googletest.Claims{Audience: "other.apps.googleusercontent.com"}), s.ClientID},
		{"validated for another audience", s.Token(t, googletest.Claims{}), "other.apps.googleusercontent.com"},
		{"expired", s.Token(t, googletest.Claims{IssuedAt: past, Expires: past.Add(time.Hour)}), s.ClientID},
		{"no exp", s.Token(t, googletest.Claims{Extra: map[string]any{"exp": nil}}), s.ClientID},
		{"signed by another key with the same kid", other.Token(t, googletest.Claims{}), s.ClientID},
		{"tampered payload", tamper(t, s.Token(t, googletest.Claims{Email: "bob@example.com"})), s.ClientID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newValidator(t, s.Client())
			if _, err := v.Validate(t.Context(), tt.tok, tt.audience); err == nil {
				t.Errorf("Validate(%s) = nil error, want an error", tt.name)
			}
		})
	}
}

// tamper swaps the payload of tok for one with a different email, keeping
// the header and signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	claims := decodeSegment(t, tok, 1)
	claims["email"] = "mallory@example.com"
	parts[1] = encodeSegment(t, claims)
	return strings.Join(parts, ".")
}

func TestRotateKey(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	first := s.Token(t, googletest.Claims{Email: "alice@example.com"})
	s.RotateKey()
	second := s.Token(t, googletest.Claims{Email: "alice@example.com"})

	if got, want := headerKid(t, second), "test-key-2"; got != want {
		t.Errorf("kid after RotateKey = %q, want %q", got, want)
	}
	v := newValidator(t, s.Client())
	mustValidate(t, v, s, first)
	mustValidate(t, v, s, second)

	s.RotateKey() // retires the first key
	v = newValidator(t, s.Client())
	if _, err := v.Validate(t.Context(), first, s.ClientID); err == nil {
		t.Errorf("Validate(token of a retired key) = nil error, want an error")
	}
	mustValidate(t, v, s, second)
}

func TestSetKeysStatus(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	v := newValidator(t, s.Client())
	tok := s.Token(t, googletest.Claims{})

	s.SetKeysStatus(http.StatusInternalServerError)
	if _, err := v.Validate(t.Context(), tok, s.ClientID); err == nil {
		t.Errorf("Validate with keys answering 500 = nil error, want an error")
	}
	s.SetKeysStatus(0)
	mustValidate(t, v, s, tok) // a failed fetch is not cached
	if got, want := s.KeyFetches(), 2; got != want {
		t.Errorf("KeyFetches() = %d, want %d", got, want)
	}
}

func TestSetUnreachable(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	v := newValidator(t, s.Client())
	tok := s.Token(t, googletest.Claims{})

	s.SetUnreachable(true)
	_, err := v.Validate(t.Context(), tok, s.ClientID)
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		t.Errorf("Validate while unreachable = %v, want a *url.Error", err)
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Validate while unreachable = %v, want a net.Error wrapping ECONNREFUSED", err)
	}
	if got := s.KeyFetches(); got != 0 {
		t.Errorf("KeyFetches() while unreachable = %d, want 0", got)
	}
	s.SetUnreachable(false)
	mustValidate(t, v, s, tok)
}

func TestSignRawRejectedByIDToken(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	payload := func() map[string]any {
		return map[string]any{"iss": "https://accounts.google.com", "aud": s.ClientID,
			"exp": time.Now().Add(time.Hour).Unix(), "email": "mallory@example.com", "email_verified": true}
	}
	header := func(alg, kid string) map[string]any { return map[string]any{"alg": alg, "kid": kid, "typ": "JWT"} }
	tests := []struct {
		name   string
		header map[string]any
		alg    string
	}{
		{"none", header("none", "test-key-1"), "none"},
		{"RS256 header, no signature", header("RS256", "test-key-1"), "none"},
		{"HS256 with the public key as secret", header("HS256", "test-key-1"), "HS256"},
		{"RS256 header, HS256 signature", header("RS256", "test-key-1"), "HS256"},
		{"ES256 with an unpublished key", header("ES256", "test-key-1"), "ES256"},
		{"RS256 with an unknown kid", header("RS256", "no-such-key"), "RS256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok := s.SignRaw(t, tt.header, payload(), tt.alg)
			v := newValidator(t, s.Client())
			if _, err := v.Validate(t.Context(), tok, s.ClientID); err == nil {
				t.Errorf("Validate(%s) = nil error, want an error", tt.name)
			}
		})
	}
	t.Run("RS256 control", func(t *testing.T) {
		t.Parallel()
		tok := s.SignRaw(t, header("RS256", "test-key-1"), payload(), "RS256")
		mustValidate(t, newValidator(t, s.Client()), s, tok)
	})
}

func TestSetKeysHang(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	tests := []struct {
		name   string
		client *http.Client
	}{
		{"in-process", s.Client()},
		{"through the proxy", proxyClient(t, s, true)},
	}
	for _, tt := range tests {
		s.SetKeysHang(true)
		before := s.KeyFetches()
		// The request hangs until its caller gives up: cancelled once the
		// fake has it (not on a timer, which a loaded machine's TLS
		// handshake through the proxy could outlast).
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, certsURL, nil)
		errc := make(chan error, 1)
		go func() {
			resp, err := tt.client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		waitFor(t, func() bool { return s.KeyFetches()-before == 1 })
		select {
		case err := <-errc:
			t.Errorf("%s: GET while hanging returned before its caller gave up: %v", tt.name, err)
		case <-time.After(100 * time.Millisecond):
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("%s: GET while hanging = %v, want the caller's context.Canceled", tt.name, err)
		}
		if got := s.KeyFetches() - before; got != 1 {
			t.Errorf("%s: KeyFetches() grew by %d while hanging, want 1", tt.name, got)
		}

		// A request hanging when SetKeysHang(false) comes is answered.
		done := make(chan jwks)
		go func() { done <- fetchJWKS(t, tt.client, certsURL) }()
		waitFor(t, func() bool { return s.KeyFetches()-before == 2 })
		s.SetKeysHang(false)
		if doc := <-done; len(doc.Keys) == 0 {
			t.Errorf("%s: released request answered no keys", tt.name)
		}
	}
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}
