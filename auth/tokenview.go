package auth

// What each doorman knows of the live personal tokens, in memory, so that
// /auth with a token never waits on the store: read whole at start and
// now and then, followed through the store's change feed in between.

import (
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"doorman/auth/store"
)

// tokenState is what /auth needs of one live token. It never changes
// once in a tokenMap, but for its last-use window.
type tokenState struct {
	id          string   // the store's id: the token's hash, base64url
	email       string   // its owner
	lists       []string // the lists it may open; "" is the main list
	expires     int64    // unix seconds
	emailHeader []string // X-Auth-Request-Email, shared, never modified
	nameHeader  []string // X-Auth-Request-Token: the token's name
	window      atomic.Int64
}

// tokenMap is every live token by hash. A doorman replaces it whole on
// each change (tokens change seldom), so /auth reads it without a lock.
type tokenMap map[[sha256.Size]byte]*tokenState

// newTokenState makes the state of the store's token t, or nil when its id
// is not a hash doorman made.
func newTokenState(t store.Token) (key [sha256.Size]byte, ts *tokenState) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(t.ID)
	if err != nil || len(raw) != sha256.Size {
		return key, nil
	}
	copy(key[:], raw)
	return key, &tokenState{
		id: t.ID, email: t.Email, lists: slices.Clone(t.Lists), expires: t.Expires.Unix(),
		emailHeader: []string{t.Email}, nameHeader: []string{t.Name},
	}
}

// setTokens replaces the live tokens with those of a snapshot.
func (s *sessionStates) setTokens(tokens map[string]store.Token) {
	m := make(tokenMap, len(tokens))
	for _, t := range tokens {
		if key, ts := newTokenState(t); ts != nil {
			m[key] = ts
		}
	}
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	s.tokens.Store(&m)
}

// tokenMade adds t to the live tokens; tokenEnded removes the token id.
func (s *sessionStates) tokenMade(t store.Token) {
	key, ts := newTokenState(t)
	if ts == nil {
		return
	}
	s.editTokens(func(m tokenMap) { m[key] = ts })
}

func (s *sessionStates) tokenEnded(id string) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(id)
	if err != nil || len(raw) != sha256.Size {
		return
	}
	s.editTokens(func(m tokenMap) { delete(m, [sha256.Size]byte(raw)) })
}

// editTokens replaces the live tokens with an edited copy; tokensMu keeps
// two edits from losing each other.
func (s *sessionStates) editTokens(edit func(tokenMap)) {
	s.tokensMu.Lock()
	defer s.tokensMu.Unlock()
	var m tokenMap
	if cur := s.tokens.Load(); cur != nil {
		m = maps.Clone(*cur)
	}
	if m == nil {
		m = tokenMap{}
	}
	edit(m)
	s.tokens.Store(&m)
}

// bearerToken returns the doorman token r carries in Authorization or
// Proxy-Authorization ("Bearer doorman_…"), and whether it carries one. An
// Authorization that is not a doorman token (another app's own "Bearer
// sk-…") is not: the cookie decides, and nginx passes it on untouched. It
// does not allocate.
func bearerToken(r *http.Request) (string, bool) {
	for _, name := range [2]string{"Authorization", "Proxy-Authorization"} {
		for _, v := range r.Header[name] {
			scheme, tok, ok := strings.Cut(v, " ")
			if ok && strings.EqualFold(scheme, "Bearer") && strings.HasPrefix(strings.TrimLeft(tok, " "), tokenPrefix) {
				return strings.TrimSpace(tok), true
			}
		}
	}
	return "", false
}

// tokenFor returns the live token tok, if it opens list and its owner is on
// list now. A token whose checksum does not hold is refused before any
// lookup.
func (h *Handler) tokenFor(tok, list string, now int64) (*tokenState, bool) {
	if !wellFormedToken(tok) || !h.states.ready.Load() {
		return nil, false
	}
	m := h.states.tokens.Load()
	if m == nil {
		return nil, false
	}
	var buf [tokenLen]byte // not []byte(tok), which allocates
	copy(buf[:], tok)
	ts, ok := (*m)[sha256.Sum256(buf[:])]
	if !ok || now >= ts.expires || !slices.Contains(ts.lists, list) || !h.allow.Contains(list, ts.email) {
		return nil, false
	}
	h.states.usedToken(ts, now)
	return ts, true
}
