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

// FuzzWellFormedToken: no input panics, and whatever is accepted has the
// shape: 46 characters, the prefix, base62, and a checksum that holds.
func FuzzWellFormedToken(f *testing.F) {
	f.Add(newPersonalToken())
	f.Add("doorman_0123456789ABCDEFGHIJKLMNOPQRSTUV000000")
	f.Add("")
	f.Add("doorman_")
	f.Fuzz(func(t *testing.T, s string) {
		if !wellFormedToken(s) {
			return
		}
		body := s[8:40]
		var want [6]byte
		putChecksum(want[:], crc32.ChecksumIEEE([]byte(body)))
		if len(s) != 46 || s[:8] != "doorman_" || s[40:] != string(want[:]) {
			t.Fatalf("wellFormedToken(%q) = true for a token of the wrong shape", s)
		}
	})
}
