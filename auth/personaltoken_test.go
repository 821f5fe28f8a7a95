package auth

import (
	"hash/crc32"
	"strings"
	"testing"
)

func TestPersonalTokenFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := newPersonalToken()
		if len(tok) != 46 || !strings.HasPrefix(tok, "doorman_") || !wellFormedToken(tok) || seen[tok] {
			t.Fatalf("newPersonalToken() = %q: want 46 characters, doorman_, a checksum that holds, never twice", tok)
		}
		for _, c := range tok[len(tokenPrefix):] {
			if !strings.ContainsRune(base62, c) {
				t.Fatalf("token %q has %q, not base62", tok, c)
			}
		}
		seen[tok] = true
	}
	// The checksum as the README describes it, computed independently.
	body := "0123456789ABCDEFGHIJKLMNOPQRSTUV"
	sum, digits := crc32.ChecksumIEEE([]byte(body)), ""
	for range 6 {
		digits = string(base62[sum%62]) + digits
		sum /= 62
	}
	good := "doorman_" + body + digits
	tests := []struct {
		name, token string
		want        bool
	}{
		{"well formed", good, true},
		{"one character changed", "doorman_1" + good[9:], false},
		{"checksum changed", good[:45] + string(base62[(strings.IndexByte(base62, good[45])+1)%62]), false},
		{"two characters swapped", "doorman_1023456789ABCDEFGHIJKLMNOPQRSTUV" + digits, false},
		{"too short", good[:45], false},
		{"too long", good + "0", false},
		{"other prefix", "doormen_" + good[8:], false},
		{"not base62", "doorman_0123456789ABCDEFGHIJKLMNOPQRST-V" + digits, false},
		{"upper prefix", "DOORMAN_" + good[8:], false},
		{"empty", "", false},
		{"OpenAI key", "sk-proj-0123456789abcdefghijklmnopqrstuvwxyz", false},
	}
	for _, tt := range tests {
		if got := wellFormedToken(tt.token); got != tt.want {
			t.Errorf("wellFormedToken(%s %q) = %v, want %v", tt.name, tt.token, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { wellFormedToken(good) }); n != 0 {
		t.Errorf("wellFormedToken allocates %v times, want 0", n)
	}
}

// FuzzWellFormedToken: no input panics, and a token is accepted exactly
// when it has the shape: 46 characters, the prefix, 32 base62 characters
// and their checksum. Any 32 base62 characters with their checksum make
// one.
func FuzzWellFormedToken(f *testing.F) {
	f.Add(newPersonalToken())
	f.Add("doorman_0123456789ABCDEFGHIJKLMNOPQRSTUV000000")
	f.Add("")
	f.Add("doorman_")
	f.Add("doorman_00000000000000000000000000000000" + "2wjyrI") // all zeros, and their checksum
	f.Fuzz(func(t *testing.T, s string) {
		want := len(s) == 46 && s[:8] == "doorman_" && strings.Trim(s[8:40], base62) == "" && s[40:] == checksumOf(s[8:40])
		if wellFormedToken(s) != want {
			t.Fatalf("wellFormedToken(%q) = %v, want %v", s, !want, want)
		}
		body := []byte(strings.Repeat("0", 32))
		for i := 0; i < len(s) && i < len(body); i++ {
			body[i] = base62[s[i]%62]
		}
		if made := "doorman_" + string(body) + checksumOf(string(body)); !wellFormedToken(made) {
			t.Fatalf("wellFormedToken(%q) = false for a token made of %q", made, s)
		}
	})
}

// checksumOf is body's checksum as a token ends with it, worked out with
// hash/crc32 rather than the code under test's own CRC.
func checksumOf(body string) string {
	var sum [6]byte
	putChecksum(sum[:], crc32.ChecksumIEEE([]byte(body)))
	return string(sum[:])
}
