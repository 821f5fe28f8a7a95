package auth

// Session cookies at /auth: tampered, truncated, oversized, foreign,
// rotated, quoted, legacy, cross-purpose, duplicated and expired.

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// flipHighBit flips the highest of the six bits the base64url character of s
// at i stands for. Unlike flip it always changes the decoded bytes, also
// at the last character, whose low bits base64 ignores.
func flipHighBit(s string, i int) string {
	b := []byte(s)
	b[i] = base64URLAlphabet[strings.IndexByte(base64URLAlphabet, b[i])^32]
	return string(b)
}

// lastDataIndex is the index of the last non-padding character of s.
func lastDataIndex(s string) int { return len(strings.TrimRight(s, "=")) - 1 }

// cookieAttack is one Cookie header sent to /auth.
type cookieAttack struct {
	name      string
	td        *testDoorman
	lines     []string // Cookie header lines
	wantCode  int
	wantEmail string
}

// TestSecurityCookie sends tampered, truncated, oversized, foreign,
// rotated, quoted, legacy, cross-purpose and duplicated session cookies to
// /auth.
func TestSecurityCookie(t *testing.T) {
	t.Parallel()
	k1, k2 := secret('k'), secret('2')
	list := "alice@example.com\np@example.com\npp@example.com\nppp@example.com\n[gpt4]\ncarol@example.com\n"
	td := newTestDoorman(t, list, testConfig{}) // keys [k1]
	offline := func(edit func(*Config)) *testDoorman {
		return newTestDoorman(t, list, testConfig{offline: true, auth: edit})
	}
	rotated := offline(func(c *Config) { c.Keys = [][]byte{k2, k1} })
	k1Removed := offline(func(c *Config) { c.Keys = [][]byte{k2} })
	otherName := offline(func(c *Config) { c.CookieName = "other" })
	foreign := offline(func(c *Config) { c.Keys = [][]byte{secret('3')} })
	removed := mintSession(t, td.h, "removed@example.com").Value // valid, but on no list any more

	v := td.session(t, "alice@example.com").Value
	carol := td.session(t, "carol@example.com").Value
	again := td.session(t, "alice@example.com").Value
	newKeyed := mintSession(t, rotated.h, "alice@example.com").Value
	_, _, nonceCookies := loginPage(t, td, "")
	var nonceValue string
	if c := nonceCookieOf(nonceCookies); c != nil {
		nonceValue = c.Value
	}
	if nonceValue == "" {
		t.Fatal("login page set no doorman-nonce cookie")
	}
	// A value that ends in base64 padding: one of three lengths of address
	// makes one.
	var padded string
	for _, email := range []string{"p@example.com", "pp@example.com", "ppp@example.com"} {
		if c := mintSession(t, td.h, email).Value; strings.HasSuffix(c, "=") {
			padded = c
		}
	}
	if padded == "" {
		t.Fatal("no session value with base64 padding to tamper with")
	}
	mid, end := len(v)/2, lastDataIndex(v)
	std := strings.NewReplacer("-", "+", "_", "/").Replace(v)
	if std == v {
		std = v[:mid] + "+" + v[mid+1:]
	}
	alice, none := "alice@example.com", ""
	tests := []cookieAttack{
		{"control: valid", td, []string{"doorman=" + v}, 200, alice},
		{"control: second sign-in of the same user", td, []string{"doorman=" + again}, 200, alice},
		{"flip first char", td, []string{"doorman=" + flip(v, 0)}, 401, none},
		{"flip middle char", td, []string{"doorman=" + flip(v, mid)}, 401, none},
		{"flip last data char", td, []string{"doorman=" + flipHighBit(v, end)}, 401, none},
		{"flip padding", td, []string{"doorman=" + flip(v, len(v)-1)}, 401, none},
		{"standard base64 alphabet", td, []string{"doorman=" + std}, 401, none},
		{"padding stripped", td, []string{"doorman=" + strings.TrimRight(padded, "=")}, 401, none},
		{"append char", td, []string{"doorman=" + v + "A"}, 401, none},
		{"append padding", td, []string{"doorman=" + v + "="}, 401, none},
		{"prepend char", td, []string{"doorman=A" + v}, 401, none},
		{"percent-encoded padding", td, []string{"doorman=" + strings.ReplaceAll(padded, "=", "%3D")}, 401, none},
		{"truncated to 1", td, []string{"doorman=" + v[:1]}, 401, none},
		{"truncated to a quarter", td, []string{"doorman=" + v[:len(v)/4]}, 401, none},
		{"truncated to half", td, []string{"doorman=" + v[:mid]}, 401, none},
		{"truncated by 1", td, []string{"doorman=" + v[:len(v)-1]}, 401, none},
		{"truncated by 2", td, []string{"doorman=" + v[:len(v)-2]}, 401, none},
		{"empty value", td, []string{"doorman="}, 401, none},
		{"5 KB value", td, []string{"doorman=" + strings.Repeat("A", 5<<10)}, 401, none},
		{"valid value padded to 5 KB", td, []string{"doorman=" + v + strings.Repeat("A", 5<<10)}, 401, none},
		{"100 KB header", td, []string{"x=" + strings.Repeat("A", 100<<10) + "; doorman=" + flip(v, mid)}, 401, none},
		{"foreign key", td, []string{"doorman=" + mintSession(t, foreign.h, "alice@example.com").Value}, 401, none},
		{"rotated: old key on the second line still verifies", rotated, []string{"doorman=" + v}, 200, alice},
		{"rotated: new key signs", rotated, []string{"doorman=" + newKeyed}, 200, alice},
		{"rotated: new cookie on a doorman without the new key", td, []string{"doorman=" + newKeyed}, 401, none},
		{"rotated: old key removed", k1Removed, []string{"doorman=" + v}, 401, none},
		{"quoted", td, []string{`doorman="` + v + `"`}, 200, alice},
		{"quoted tampered", td, []string{`doorman="` + flip(v, mid) + `"`}, 401, none},
		{"open quote", td, []string{`doorman="` + v}, 401, none},
		{"close quote", td, []string{`doorman=` + v + `"`}, 401, none},
		{"legacy GAU=1", td, []string{"GAU=1"}, 401, none},
		{"legacy GAU=1 as the value", td, []string{"doorman=GAU=1"}, 401, none},
		{"nonce cookie value as session", td, []string{"doorman=" + nonceValue}, 401, none},
		{"session of another cookie name", td, []string{"doorman=" + mintSession(t, otherName.h, "alice@example.com").Value}, 401, none},
		{"name in upper case", td, []string{"Doorman=" + v}, 401, none},
		{"space before =", td, []string{"doorman =" + v}, 401, none},
		{"longer name", td, []string{"doorman2=" + v}, 401, none},
		{"valid but not on the main list", td, []string{"doorman=" + carol}, 401, none},
		{"duplicate: forged then valid", td, []string{"doorman=" + flip(v, mid) + "; doorman=" + v}, 200, alice},
		{"duplicate: valid then forged", td, []string{"doorman=" + v + "; doorman=" + flip(v, mid)}, 200, alice},
		{"duplicate: empty then valid", td, []string{"doorman=; doorman=" + v}, 200, alice},
		{"valid but removed from every list", td, []string{"doorman=" + removed}, 401, none},
		{"duplicate: removed user then listed user", td, []string{"doorman=" + removed + "; doorman=" + v}, 200, alice},
		{"duplicate: listed user then removed user", td, []string{"doorman=" + v + "; doorman=" + removed}, 200, alice},
		{"duplicate: user of another list then listed user", td, []string{"doorman=" + carol + "; doorman=" + v}, 200, alice},
		{"duplicate: two Cookie lines, forged first", td, []string{"doorman=" + flip(v, 0), "doorman=" + v}, 200, alice},
		{"duplicate: two forged", td, []string{"doorman=" + flip(v, 0) + "; doorman=" + flipHighBit(v, end)}, 401, none},
		{"3 junk pairs then valid", td, []string{strings.Repeat("doorman=x; ", 3) + "doorman=" + v}, 200, alice},
		{"5000 junk pairs then valid: only the first four are looked at", td, []string{strings.Repeat("doorman=x; ", 5000) + "doorman=" + v}, 401, none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, email := authWithCookieHeader(t, tt.td, "/auth", tt.lines...)
			if code != tt.wantCode || email != tt.wantEmail {
				t.Errorf("GET /auth = %d %q, want %d %q", code, email, tt.wantCode, tt.wantEmail)
			}
		})
	}
	t.Run("unlisted user on gpt4 list", func(t *testing.T) {
		t.Parallel()
		if code, email := authWithCookieHeader(t, td, "/auth?list=gpt4", "doorman="+v+"; doorman="+carol); code != 200 || email != "carol@example.com" {
			t.Errorf("GET /auth?list=gpt4 with alice then carol = %d %q, want 200 carol@example.com", code, email)
		}
	})
	t.Run("non-canonical base64 is a tampered cookie", func(t *testing.T) {
		t.Parallel()
		// base64 ignores the unused low bits of the last data character, so a
		// few different strings decode to the same signed bytes. doorman
		// accepts only the exact spelling it minted.
		for _, c := range base64URLAlphabet {
			b := []byte(v)
			if b[end] == byte(c) {
				continue
			}
			b[end] = byte(c)
			if code, email := authWithCookieHeader(t, td, "/auth", "doorman="+string(b)); code != 401 {
				t.Errorf("variant %q of alice's cookie = %d %q, want 401", b[end-2:], code, email)
			}
		}
	})
}

// TestSecurityCookieExpiry moves doorman's clock (Config.Now) around a
// session's expiry.
func TestSecurityCookieExpiry(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64 // added to the real clock, in seconds
	td := newTestDoorman(t, "alice@example.com\n", testConfig{auth: func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load()) * time.Second) }
	}})
	alice := td.session(t, "alice@example.com")
	tests := []struct {
		name     string
		skew     time.Duration
		wantCode int
	}{
		{"fresh", 0, 200},
		{"a minute before expiry", time.Hour - time.Minute, 200},
		{"at expiry", time.Hour, 401},
		{"a day after expiry", 25 * time.Hour, 401},
		{"clock back before issue", -time.Hour, 200},
	}
	for _, tt := range tests { // sequential: they share the clock
		t.Run(tt.name, func(t *testing.T) {
			skew.Store(int64(tt.skew / time.Second))
			if code, _ := authReply(t, td, "/auth", nil, alice); code != tt.wantCode {
				t.Errorf("GET /auth at issue+%s = %d, want %d", tt.skew, code, tt.wantCode)
			}
		})
	}
}
