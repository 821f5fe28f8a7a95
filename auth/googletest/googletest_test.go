package googletest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"doorman/auth/googletest"
)

const (
	certsURL = "https://www.googleapis.com/oauth2/v3/certs"
	iapURL   = "https://www.gstatic.com/iap/verify/public_key-jwk"
)

// jwks is the part of a JWKS document the tests look at.
type jwks struct {
	Keys []struct {
		Kty, Alg, Use, Kid, N, E string
	}
}

// fetchJWKS GETs rawURL with c and decodes the JWKS it answers with.
func fetchJWKS(t *testing.T, c *http.Client, rawURL string) jwks {
	t.Helper()
	resp, err := c.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200", rawURL, resp.StatusCode)
	}
	if got, want := resp.Header.Get("Cache-Control"), "public, max-age=3600"; got != want {
		t.Errorf("GET %s: Cache-Control = %q, want %q", rawURL, got, want)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", rawURL, err)
	}
	var doc jwks
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET %s: decode JWKS: %v", rawURL, err)
	}
	return doc
}

// kids lists the key IDs of doc in order.
func kids(doc jwks) []string {
	var ids []string
	for _, k := range doc.Keys {
		ids = append(ids, k.Kid)
	}
	return ids
}

func TestClientServesJWKS(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	doc := fetchJWKS(t, s.Client(), certsURL)
	if len(doc.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(doc.Keys))
	}
	k := doc.Keys[0]
	if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" || k.Kid != "test-key-1" || k.E != "AQAB" {
		t.Errorf("JWKS key = %+v, want RSA RS256 sig test-key-1 with e AQAB", k)
	}
	if got := len(k.N); got != 342 { // 256 bytes, unpadded base64url
		t.Errorf("len(n) = %d, want 342 (a 2048-bit modulus)", got)
	}
	s.RotateKey()
	s.RotateKey()
	if got, want := strings.Join(kids(fetchJWKS(t, s.Client(), certsURL)), ","), "test-key-3,test-key-2"; got != want {
		t.Errorf("kids after two rotations = %s, want %s", got, want)
	}
	if got := len(fetchJWKS(t, s.Client(), iapURL).Keys); got != 0 {
		t.Errorf("IAP JWKS has %d keys, want 0", got)
	}
	if got, want := s.KeyFetches(), 2; got != want {
		t.Errorf("KeyFetches() = %d, want %d (IAP fetches not counted)", got, want)
	}
}

func TestHandlerStatus(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	tests := []struct {
		method, target string
		keysStatus     int
		want           int
	}{
		{"GET", "/oauth2/v3/certs", 0, http.StatusOK},
		{"HEAD", "/oauth2/v3/certs", 0, http.StatusOK},
		{"POST", "/oauth2/v3/certs", 0, http.StatusMethodNotAllowed},
		{"GET", "/oauth2/v1/certs", 0, http.StatusNotFound},
		{"GET", "/", 0, http.StatusNotFound},
		{"GET", "/oauth2/v3/certs", http.StatusServiceUnavailable, http.StatusServiceUnavailable},
		{"GET", "/oauth2/v3/certs", http.StatusOK, http.StatusOK},
		{"GET", "/iap/verify/public_key-jwk", http.StatusInternalServerError, http.StatusOK},
	}
	for _, tt := range tests {
		s.SetKeysStatus(tt.keysStatus)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.want {
			t.Errorf("%s %s with SetKeysStatus(%d) = %d, want %d", tt.method, tt.target, tt.keysStatus, rec.Code, tt.want)
		}
	}
}

func TestClientAnswersAnyHostInProcess(t *testing.T) {
	t.Parallel()
	s := googletest.NewServer(t)
	resp, err := s.Client().Get("http://example.invalid/oauth2/v3/certs")
	if err != nil {
		t.Fatalf("GET via Client() = %v, want no error", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"test-key-1"`) {
		t.Errorf("GET via Client() = %d %s, want 200 with the JWKS", resp.StatusCode, body)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", certsURL, nil)
	if _, err := s.Client().Do(req); !errors.Is(err, context.Canceled) {
		t.Errorf("GET with a canceled context = %v, want context.Canceled", err)
	}
}
