package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"time"
)

const (
	// nonceTTL is how long a login page's nonce stays usable.
	nonceTTL = 10 * time.Minute
	// maxNonces is how many login pages (tabs) may be open at once.
	maxNonces = 4
)

// nonceEntry is one nonce handed to Google by a login page.
type nonceEntry struct {
	Value   string `json:"v"`
	Expires int64  `json:"x"`
}

// nonceWire is the nonce cookie's content.
type nonceWire struct {
	Nonces []nonceEntry `json:"n"`
}

// nonceCookieName is the short-lived cookie that binds nonces to the
// browser. The __Host- prefix pins it to doorman's own host when Secure.
func nonceCookieName(secure bool) string {
	if secure {
		return "__Host-doorman-nonce"
	}
	return "doorman-nonce"
}

// newNonce returns 128 random bits, base64url encoded.
func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand panics on failure)
	return base64.RawURLEncoding.EncodeToString(b)
}

// liveNonces returns the unexpired nonces bound to this browser.
func (h *Handler) liveNonces(r *http.Request) []nonceEntry {
	c, err := r.Cookie(h.nonces.name)
	if err != nil {
		return nil
	}
	var w nonceWire
	if h.nonces.decode(c.Value, &w) != nil {
		return nil
	}
	now := h.now().Unix()
	live := w.Nonces[:0]
	for _, n := range w.Nonces {
		if n.Expires > now && n.Value != "" {
			live = append(live, n)
		}
	}
	return live
}

// bindNonce adds a fresh nonce to the browser's nonce cookie and returns it.
func (h *Handler) bindNonce(w http.ResponseWriter, r *http.Request) (string, error) {
	nonce := newNonce()
	entries := append(h.liveNonces(r), nonceEntry{Value: nonce, Expires: h.now().Add(nonceTTL).Unix()})
	if len(entries) > maxNonces {
		entries = entries[len(entries)-maxNonces:]
	}
	return nonce, h.setNonces(w, entries)
}

// setNonces writes entries to the nonce cookie, or deletes it when empty.
func (h *Handler) setNonces(w http.ResponseWriter, entries []nonceEntry) error {
	value, maxAge := "", -1
	if len(entries) > 0 {
		v, err := h.nonces.encode(nonceWire{Nonces: entries})
		if err != nil {
			return err
		}
		value, maxAge = v, int(nonceTTL/time.Second)
	}
	http.SetCookie(w, withExpiry(&http.Cookie{
		Name: h.nonces.name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: h.cookie.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}))
	return nil
}

// nonceMatcher reports whether a token's nonce is one of entries.
func nonceMatcher(entries []nonceEntry) func(string) bool {
	return func(got string) bool {
		if got == "" {
			return false
		}
		for _, n := range entries {
			if subtle.ConstantTimeCompare([]byte(n.Value), []byte(got)) == 1 {
				return true
			}
		}
		return false
	}
}

// without returns entries less the one with value v.
func without(entries []nonceEntry, v string) []nonceEntry {
	out := make([]nonceEntry, 0, len(entries))
	for _, n := range entries {
		if n.Value != v {
			out = append(out, n)
		}
	}
	return out
}
