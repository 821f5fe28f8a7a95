package auth

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// mustCodec builds a session codec over secrets for tests.
func mustCodec(t testing.TB, name string, secrets ...[]byte) *codec {
	t.Helper()
	c, err := newCodec(secrets, "session", name, time.Hour)
	if err != nil {
		t.Fatalf("newCodec: %v", err)
	}
	return c
}

// secret returns a 32-byte test secret filled with b.
func secret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSessionCodec(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	valid := Session{ID: testSessionID, Email: "alice@example.com", Issued: now, Expires: now.Add(time.Hour)}
	oldKey, newKey, foreignKey := secret(1), secret(2), secret(3)
	minted := mustEncode(t, mustCodec(t, "doorman", oldKey), valid)
	tests := []struct {
		name    string
		decoder *codec
		value   string
		at      time.Time
		wantOK  bool
	}{
		{"round trip", mustCodec(t, "doorman", oldKey), minted, now, true},
		{"rotated: old key still verifies", mustCodec(t, "doorman", newKey, oldKey), minted, now, true},
		{"foreign key", mustCodec(t, "doorman", foreignKey), minted, now, false},
		{"other cookie name", mustCodec(t, "other", oldKey), minted, now, false},
		{"expired at expiry", mustCodec(t, "doorman", oldKey), minted, now.Add(time.Hour), false},
		{"just before expiry", mustCodec(t, "doorman", oldKey), minted, now.Add(time.Hour - time.Second), true},
		{"truncated", mustCodec(t, "doorman", oldKey), minted[:len(minted)-5], now, false},
		{"tampered", mustCodec(t, "doorman", oldKey), flip(minted, len(minted)/2), now, false},
		{"empty", mustCodec(t, "doorman", oldKey), "", now, false},
		{"oversized", mustCodec(t, "doorman", oldKey), strings.Repeat("A", maxCookieLen+1), now, false},
		{"legacy GAU=1", mustCodec(t, "doorman", oldKey), "1", now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.decoder.decodeSession(tt.value, tt.at)
			if (err == nil) != tt.wantOK {
				t.Fatalf("decodeSession() err = %v, want ok=%v", err, tt.wantOK)
			}
			if err != nil && !errors.Is(err, ErrNoSession) {
				t.Errorf("decodeSession() err = %v, want ErrNoSession", err)
			}
			if tt.wantOK && (got.Email != valid.Email || !got.Expires.Equal(valid.Expires)) {
				t.Errorf("decodeSession() = %+v, want %+v", got, valid)
			}
		})
	}
}

func TestSessionCodecFirstKeySigns(t *testing.T) {
	t.Parallel()
	now := time.Now()
	v := mustEncode(t, mustCodec(t, "doorman", secret(2), secret(1)), Session{ID: testSessionID, Email: "a@example.com", Expires: now.Add(time.Hour)})
	if _, err := mustCodec(t, "doorman", secret(2)).decodeSession(v, now); err != nil {
		t.Errorf("new first key does not verify its own cookie: %v", err)
	}
	if _, err := mustCodec(t, "doorman", secret(1)).decodeSession(v, now); err == nil {
		t.Error("cookie minted after rotation verifies with the old key alone; want the first key to sign")
	}
}

func TestSessionAndNonceKeysDiffer(t *testing.T) {
	t.Parallel()
	now := time.Now()
	nonces, err := newCodec([][]byte{secret(1)}, "nonce", "doorman", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v, err := nonces.encode(sessionWire{Email: "a@example.com", Expires: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustCodec(t, "doorman", secret(1)).decodeSession(v, now); err == nil {
		t.Error("a nonce-purpose cookie decoded as a session")
	}
}

func TestCookieValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pair, name, want string
		ok               bool
	}{
		{"doorman=abc", "doorman", "abc", true},
		{"  doorman=abc", "doorman", "abc", true},
		{`doorman="abc"`, "doorman", "abc", true},
		{"doorman2=abc", "doorman", "", false},
		{"xdoorman=abc", "doorman", "", false},
		{"doorman", "doorman", "", false},
		{"doorman=", "doorman", "", true},
	}
	for _, tt := range tests {
		got, ok := cookieValue(tt.pair, tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cookieValue(%q, %q) = %q, %v; want %q, %v", tt.pair, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// mustEncode encodes s with c.
func mustEncode(t testing.TB, c *codec, s Session) string {
	t.Helper()
	v, err := c.encodeSession(s)
	if err != nil {
		t.Fatalf("encodeSession: %v", err)
	}
	return v
}

// flip changes one character of s at i.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func FuzzDecodeSession(f *testing.F) {
	now := time.Now()
	c := mustCodec(f, "doorman", secret(1))
	f.Add(mustEncode(f, c, Session{ID: testSessionID, Email: "a@example.com", Expires: now.Add(time.Hour)}))
	f.Add("")
	f.Add("1")
	f.Add(strings.Repeat("A", 200))
	f.Fuzz(func(t *testing.T, value string) {
		s, err := c.decodeSession(value, now)
		if err == nil && s.Email != "a@example.com" {
			t.Fatalf("decodeSession(%q) accepted a cookie doorman never minted: %+v", value, s)
		}
	})
}

// TestVerifiedCacheKeepsOnlyTheValue checks that a cached cookie value does
// not hold on to the Cookie header it came in: with the app's own cookies
// beside it, a header may be kilobytes, and the cache keeps 10,000 values.
func TestVerifiedCacheKeepsOnlyTheValue(t *testing.T) {
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true})
	c := mintSession(t, td.h, "alice@example.com")
	header := "app=" + strings.Repeat("x", 4096) + "; " + c.Name + "=" + c.Value
	req := httptest.NewRequest(http.MethodGet, "/auth", nil)
	req.Header.Set("Cookie", header)
	if _, ok := td.h.findSession(req, "", true); !ok {
		t.Fatal("findSession() found no valid session")
	}
	start := uintptr(unsafe.Pointer(unsafe.StringData(header)))
	keys := 0
	td.h.verified.m.Load().Range(func(k, _ any) bool {
		keys++
		p := uintptr(unsafe.Pointer(unsafe.StringData(k.(string))))
		if p >= start && p < start+uintptr(len(header)) {
			t.Error("the cache's key is a slice of the request's Cookie header, which it keeps alive")
		}
		return true
	})
	if keys != 1 {
		t.Fatalf("cache holds %d values, want 1", keys)
	}
}
