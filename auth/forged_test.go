package auth

import (
	"strings"
	"testing"
	"time"
)

// forgedValues are session cookie values doorman never minted, by how far
// they get: junk, base64 of the wrong shape, and a well-formed value signed
// with a key doorman does not hold.
func forgedValues(tb testing.TB) []struct{ name, value string } {
	tb.Helper()
	now := time.Unix(1_800_000_000, 0)
	foreign := mustEncode(tb, mustCodec(tb, "doorman", secret(9)), Session{Email: "mallory@example.com", Issued: now, Expires: now.Add(time.Hour)})
	return []struct{ name, value string }{
		{"short", "AAAAAAAA"},
		{"180 A", strings.Repeat("A", 180)},
		{"foreign key", foreign},
	}
}

func BenchmarkDecodeForged(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	for _, keys := range []int{1, 2} {
		secrets := [][]byte{secret(1), secret(2)}[:keys]
		c := mustCodec(b, "doorman", secrets...)
		for _, f := range forgedValues(b) {
			b.Run(f.name+"/keys="+string(rune('0'+keys)), func(b *testing.B) {
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
