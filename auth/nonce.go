package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	// nonceTTL is how long a login page's nonce stays usable.
	nonceTTL = 10 * time.Minute
	// maxNonces is how many login pages (tabs) may be open at once; /login
	// deletes the oldest nonce cookies beyond it.
	maxNonces = 8
	// maxNonceCookies is how many nonce cookies of one request are looked at.
	maxNonceCookies = 2 * maxNonces
)

// nonceEntry is one nonce handed to Google by a login page, as carried by
// its own cookie.
type nonceEntry struct {
	Value   string `json:"v"`
	Expires int64  `json:"x"`
	cookie  string // the cookie's name
}

// nonceCookieName is the prefix of the short-lived cookies that bind nonces
// to the browser: each login page sets a cookie of its own, named the prefix,
// "-" and a random tag, so that login pages opened together (a restored
// session's tabs) never overwrite each other's nonce. The __Host- prefix pins
// them to doorman's own host when Secure.
func nonceCookieName(secure bool) string {
	if secure {
		return "__Host-doorman-nonce"
	}
	return "doorman-nonce"
}

// newNonce returns 128 random bits, base64url encoded.
func newNonce() string { return randomString(16) }

// randomString returns n random bytes, base64url encoded.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics on failure)
	return base64.RawURLEncoding.EncodeToString(b)
}

// liveNonces returns the unexpired nonces bound to this browser, from at
// most maxNonceCookies of its nonce cookies.
func (h *Handler) liveNonces(r *http.Request) []nonceEntry {
	prefix, now := h.nonces.name+"-", h.now().Unix()
	var live []nonceEntry
	seen := 0
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		if seen++; seen > maxNonceCookies {
			break
		}
		var n nonceEntry
		if h.nonces.decode(c.Value, &n) == nil && n.Expires > now && n.Value != "" {
			n.cookie = c.Name
			live = append(live, n)
		}
	}
	return live
}

// bindNonce sets a fresh nonce in a cookie of its own and returns it. It
// deletes the oldest nonce cookies so that at most maxNonces stay.
func (h *Handler) bindNonce(w http.ResponseWriter, r *http.Request) (string, error) {
	n := nonceEntry{Value: newNonce(), Expires: h.now().Add(nonceTTL).Unix()}
	v, err := h.nonces.encode(n)
	if err != nil {
		return "", err
	}
	live := h.liveNonces(r)
	slices.SortFunc(live, func(a, b nonceEntry) int { return int(a.Expires - b.Expires) })
	for _, old := range live[:max(0, len(live)-maxNonces+1)] {
		h.retireNonce(w, old)
	}
	http.SetCookie(w, h.nonceCookie(h.nonces.name+"-"+randomString(6), v, int(nonceTTL/time.Second)))
	return n.Value, nil
}

// retireNonce deletes the cookie that carries n.
func (h *Handler) retireNonce(w http.ResponseWriter, n nonceEntry) {
	http.SetCookie(w, h.nonceCookie(n.cookie, "", -1))
}

// nonceCookie is a nonce cookie named name: set (maxAge > 0) or deleted.
func (h *Handler) nonceCookie(name, value string, maxAge int) *http.Cookie {
	return h.cookie.newCookie(name, value, "/", "", maxAge)
}

// nonceMatcher reports whether a token's nonce is one of entries.
func nonceMatcher(entries []nonceEntry) func(string) bool {
	return func(got string) bool {
		_, ok := findNonce(entries, got)
		return ok
	}
}

// findNonce returns the entry whose value is v.
func findNonce(entries []nonceEntry, v string) (nonceEntry, bool) {
	if v == "" {
		return nonceEntry{}, false
	}
	for _, n := range entries {
		if subtle.ConstantTimeCompare([]byte(n.Value), []byte(v)) == 1 {
			return n, true
		}
	}
	return nonceEntry{}, false
}
