package auth

// Personal tokens, for programs: "doorman_", 32 random base62 characters,
// then a 6-character checksum (the CRC-32 of those 32 characters in
// base62), 46 characters in all. The checksum lets doorman refuse a
// mistyped or made-up token without looking it up, and lets secret
// scanners recognise one. doorman keeps only a token's SHA-256.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash/crc32"
)

const (
	tokenPrefix   = "doorman_"
	tokenRandom   = 32 // base62 characters of randomness (about 190 bits)
	tokenChecksum = 6  // base62 characters of CRC-32
	tokenLen      = len(tokenPrefix) + tokenRandom + tokenChecksum
	// tokenShown is how much of a token lists show: its prefix and 4 more.
	tokenShown = 12
)

// base62 is the tokens' alphabet, in the checksum's digit order.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newPersonalToken returns a fresh token.
func newPersonalToken() string {
	b := make([]byte, tokenLen)
	copy(b, tokenPrefix)
	body := b[len(tokenPrefix) : len(tokenPrefix)+tokenRandom]
	var r [1]byte
	for i := 0; i < tokenRandom; {
		rand.Read(r[:])  // never fails (crypto/rand panics on failure)
		if r[0] >= 248 { // 248 = 4×62: keep the choice uniform
			continue
		}
		body[i] = base62[r[0]%62]
		i++
	}
	putChecksum(b[len(tokenPrefix)+tokenRandom:], crc32.ChecksumIEEE(body))
	return string(b)
}

// putChecksum writes sum in base62, most significant digit first,
// zero-padded to len(dst).
func putChecksum(dst []byte, sum uint32) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62[sum%62]
		sum /= 62
	}
}

// wellFormedToken reports whether t has a token's shape and its checksum
// holds. It does not allocate.
func wellFormedToken(t string) bool {
	if len(t) != tokenLen || t[:len(tokenPrefix)] != tokenPrefix {
		return false
	}
	body := t[len(tokenPrefix) : len(tokenPrefix)+tokenRandom]
	for i := 0; i < len(body); i++ {
		if base62Value(body[i]) < 0 {
			return false
		}
	}
	var sum uint64
	for _, c := range []byte(t[len(tokenPrefix)+tokenRandom:]) {
		v := base62Value(c)
		if v < 0 {
			return false
		}
		sum = sum*62 + uint64(v)
	}
	return sum == uint64(crc32String(body))
}

// crc32String is crc32.ChecksumIEEE of s, without copying s into a []byte
// (which escapes through the package's dispatch and allocates).
func crc32String(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// base62Value is c's value as a base62 digit, or -1.
func base62Value(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

// tokenHash is what doorman keeps of a token.
func tokenHash(t string) [sha256.Size]byte { return sha256.Sum256([]byte(t)) }

// tokenID is a token's id in the store: its hash, base64url.
func tokenID(sum [sha256.Size]byte) string { return base64.RawURLEncoding.EncodeToString(sum[:]) }
