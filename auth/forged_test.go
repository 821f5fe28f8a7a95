package auth

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// forgedValues are session cookie values that the codecs over secret(1)
// (and secret(2)) never minted, by how far they get: junk, base64 of the
// wrong shape, a well-formed value signed with another key, and one of
// their own whose mac was changed.
func forgedValues(tb testing.TB) []struct{ name, value string } {
	tb.Helper()
	now := time.Unix(1_800_000_000, 0)
	s := Session{ID: testSessionID, Email: "mallory@example.com", Issued: now, Expires: now.Add(time.Hour)}
	foreign := mustEncode(tb, mustCodec(tb, "doorman", secret(9)), s)
	own := mustEncode(tb, mustCodec(tb, "doorman", secret(1)), s)
	return []struct{ name, value string }{
		{"short", "AAAAAAAA"},
		{"180 A", strings.Repeat("A", 180)},
		{"foreign key", foreign},
		{"own key, mac changed", flip(own, len(own)-12)},
	}
}

func TestFindSessionLooksAtFirstFour(t *testing.T) {
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
	alice, carol := "doorman="+mint("alice@example.com"), "doorman="+mint("carol@example.com")
	forged := "doorman=" + forgedValues(t)[2].value
	junk := func(n int) string { return strings.Repeat(forged+"; ", n) }
	tests := []struct {
		name   string
		target string
		lines  []string
		want   string // email, "" for no session
	}{
		{"valid fourth", "/auth", []string{junk(3) + alice}, "alice@example.com"},
		{"valid fifth", "/auth", []string{junk(4) + alice}, ""},
		{"valid fourth, over two lines", "/auth", []string{junk(2), junk(1) + alice}, "alice@example.com"},
		{"valid fifth, over three lines", "/auth", []string{junk(2), junk(2), alice}, ""},
		{"empty values count", "/auth", []string{"doorman=; doorman=; doorman=; doorman=; " + alice}, ""},
		{"quoted values count", "/auth", []string{`doorman=""; doorman=""; doorman=""; doorman=""; ` + alice}, ""},
		{"other names do not count", "/auth", []string{strings.Repeat("doormanx=1; _ga=2; ", 50) + junk(3) + alice}, "alice@example.com"},
		{"a valid session off the list counts", "/auth?list=gpt4", []string{strings.Repeat(alice+"; ", 4) + carol}, ""},
		{"a valid session off the list, then the listed one fourth", "/auth?list=gpt4", []string{strings.Repeat(alice+"; ", 3) + carol}, "carol@example.com"},
		{"valid first, then a flood", "/auth", []string{alice + "; " + junk(3000)}, "alice@example.com"},
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
		})
	}
}

// TestForgedValueCostsNoAllocation refuses every kind of forged value,
// under one key and during a rotation, without allocating.
func TestForgedValueCostsNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	now := time.Unix(1_800_000_000, 0)
	for _, keys := range [][][]byte{{secret(1)}, {secret(1), secret(2)}} {
		c := mustCodec(t, "doorman", keys...)
		for _, f := range forgedValues(t) {
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := c.decodeSession(f.value, now); err == nil {
					t.Fatalf("decodeSession(%s) accepted a forged value", f.name)
				}
			})
			if allocs != 0 {
				t.Errorf("decodeSession(%s) with %d keys allocates %.0f times, want 0", f.name, len(keys), allocs)
			}
		}
	}
}

// TestForgedFloodCostsFourCookies checks that a Cookie header of 3,000
// well-formed forged session cookies costs what four of them cost, in
// allocations: the rest are not looked at.
func TestForgedFloodCostsFourCookies(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	var clock atomic.Int64
	clock.Store(1_800_000_000)
	h := newTestHandler(t, fakeAllowlist{"": {"alice@example.com"}}, &clock)
	forged := "doorman=" + forgedValues(t)[2].value
	allocsFor := func(n int) float64 {
		req := multiCookieRequest("/auth", strings.TrimSuffix(strings.Repeat(forged+"; ", n), "; "))
		rec := httptest.NewRecorder()
		ctx := echo.New().NewContext(req, rec)
		return testing.AllocsPerRun(20, func() {
			clear(rec.Header())
			_ = h.check(ctx)
			if rec.Code != 401 {
				t.Fatalf("Check with %d forged cookies = %d, want 401", n, rec.Code)
			}
		})
	}
	if four, flood := allocsFor(4), allocsFor(3000); flood > four {
		t.Errorf("Check with 3000 forged cookies allocates %.0f times, with 4 %.0f: want no more", flood, four)
	}
}

// TestSignerAcceptsEveryMintedValue mints sessions of every email length
// up to 200 (so every base64 padding and length) under each key of a
// rotation: the cheap MAC check must find the key that signed each one,
// and the value must then decode in full.
func TestSignerAcceptsEveryMintedValue(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	old, cur := mustCodec(t, "doorman", secret(1)), mustCodec(t, "doorman", secret(2))
	both := mustCodec(t, "doorman", secret(2), secret(1))
	for n := 1; n <= 200; n++ {
		email := strings.Repeat("a", n) + "@example.com"
		for want, minter := range []*codec{cur, old} {
			v := mustEncode(t, minter, Session{ID: testSessionID, Email: email, Issued: now, Expires: now.Add(time.Hour)})
			if key, ok := both.signer(v); !ok || key != want {
				t.Fatalf("signer(value of length %d minted with key %d) = %d, %v; want %d, true", len(v), want, key, ok, want)
			}
			if s, err := both.decodeSession(v, now); err != nil || s.Email != email {
				t.Fatalf("decodeSession(value of length %d) = %+v, %v; want %s", len(v), s, err, email)
			}
		}
	}
}

func TestSplitSigned(t *testing.T) {
	t.Parallel()
	mac := strings.Repeat("|", 32) // a mac may hold '|'
	tests := []struct {
		in     string
		signed string // "" means refused
	}{
		{"1800000000|dmFsdWU=|" + mac, "1800000000|dmFsdWU="},
		{"0|v|" + mac, "0|v"},
		{"|v|" + mac, ""},
		{"18x0|v|" + mac, ""},
		{"-1|v|" + mac, ""},
		{"12345678901234567890|v|" + mac, ""},
		{"1||" + mac, ""},
		{"1|v|" + mac[:31], ""},
		{"1|v|" + mac + "x", ""},
		{"1|v", ""},
		{"1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		signed, gotMAC, ok := splitSigned([]byte(tt.in))
		if ok != (tt.signed != "") || string(signed) != tt.signed || ok && len(gotMAC) != 32 {
			t.Errorf("splitSigned(%q) = %q, %d-byte mac, %v; want %q", tt.in, signed, len(gotMAC), ok, tt.signed)
		}
	}
}

func BenchmarkDecodeForged(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	for _, keys := range []int{1, 2} {
		secrets := [][]byte{secret(1), secret(2)}[:keys]
		c := mustCodec(b, "doorman", secrets...)
		for _, f := range forgedValues(b) {
			b.Run(fmt.Sprintf("%s/keys=%d", f.name, keys), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.decodeSession(f.value, now); err == nil {
						b.Fatal("forged value decoded")
					}
				}
			})
		}
	}
}
