package auth

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"

	"doorman/auth/store"
)

// maxCookieLen caps an encoded cookie value; securecookie refuses longer ones
// before doing any work.
const maxCookieLen = 4096

// minCookieLen is the length of the shortest value securecookie can accept:
// the padded base64 of "d|v|" and a 32-byte HMAC-SHA256.
const minCookieLen = 48

// maxSessionCookies is how many cookies of the session cookie's name a
// request may carry for doorman to look at: any valid one among the first
// four counts, the rest are not looked at, so that a request stuffed with
// forged cookies costs no more than four bad ones.
const maxSessionCookies = 4

// errForgedCookie is why a value that doorman did not mint is refused. It
// is static: refusing a forged value must cost no allocation.
var (
	errForgedCookie  = errors.New("cookie is malformed or does not verify with any key")
	errForgedSession = fmt.Errorf("%w: %w", ErrNoSession, errForgedCookie)
)

// Session is what the session cookie carries.
type Session struct {
	ID      string    // the session's secret id: 128 random bits, base64url; never logged or stored
	Email   string    // lower-case ASCII address
	Issued  time.Time // sign-in time
	Expires time.Time // the session is invalid from this instant on
}

// sessionWire is Session as serialised inside the cookie: short keys, unix seconds.
type sessionWire struct {
	ID      string `json:"s"`
	Email   string `json:"e"`
	Issued  int64  `json:"i"`
	Expires int64  `json:"x"`
}

// sessionIDLen is the length of a session id: 16 random bytes, base64url.
const sessionIDLen = 22

// sessionIDBytes is how many random bytes a session id carries.
const sessionIDBytes = 16

// newSessionID returns a fresh session id.
func newSessionID() string { return randomString(sessionIDBytes) }

// storeID is the id under which the store keeps the session whose secret
// id is sid: a hash, so that the store never holds what a cookie carries.
func storeID(sid string) string {
	sum := sha256.Sum256([]byte("doorman session\x00" + sid))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// validSessionID reports whether sid has the shape newSessionID gives.
func validSessionID(sid string) bool {
	if len(sid) != sessionIDLen {
		return false
	}
	// The decoder skips '\r' and '\n', so 22 characters with a line
	// break among them decode to fewer bytes: only 16 bytes is the one
	// spelling.
	b, err := base64.RawURLEncoding.Strict().DecodeString(sid)
	return err == nil && len(b) == sessionIDBytes
}

// codec encodes and decodes one kind of cookie with securecookie:
// HMAC-SHA256 signed, AES-256 encrypted, JSON serialised. The first key
// signs, every key verifies. A value is decoded by securecookie only once
// its HMAC has been found to match one key, by a check that costs no
// allocation, so that a forged value is cheap to refuse.
type codec struct {
	name      string // cookie name, bound into the MAC
	macPrefix []byte // name + "|": securecookie's MAC is over "name|date|value"
	hashKeys  [][]byte
	codecs    []securecookie.Codec
	b64       *base64.Encoding // securecookie's alphabet, strict
	scratch   sync.Pool        // *macScratch
}

// macScratch is the memory one MAC check reuses: the value as bytes, its
// decoding, an HMAC under every key and the sum.
type macScratch struct {
	raw  []byte
	data []byte
	macs []hash.Hash
	sum  []byte
}

// newCodec derives a separate pair of keys for purpose from every secret,
// so a cookie of one kind never decodes as another.
func newCodec(secrets [][]byte, purpose, name string, ttl time.Duration) (*codec, error) {
	c := &codec{name: name, macPrefix: []byte(name + "|"), b64: base64.URLEncoding.Strict()}
	for i, secret := range secrets {
		hashKey, err := hkdf.Key(sha256.New, secret, nil, "doorman "+purpose+" hmac-sha256", 32)
		if err != nil {
			return nil, fmt.Errorf("derive key %d: %w", i+1, err)
		}
		blockKey, err := hkdf.Key(sha256.New, secret, nil, "doorman "+purpose+" aes-256", 32)
		if err != nil {
			return nil, fmt.Errorf("derive key %d: %w", i+1, err)
		}
		sc := securecookie.New(hashKey, blockKey).
			SetSerializer(securecookie.JSONEncoder{}).
			MaxAge(int(ttl / time.Second)).
			MaxLength(maxCookieLen)
		c.codecs = append(c.codecs, sc)
		c.hashKeys = append(c.hashKeys, hashKey)
	}
	c.scratch.New = c.newScratch
	return c, nil
}

// newScratch allocates a macScratch for c's keys.
func (c *codec) newScratch() any {
	s := &macScratch{
		raw:  make([]byte, 0, maxCookieLen),
		data: make([]byte, c.b64.DecodedLen(maxCookieLen)),
		sum:  make([]byte, 0, sha256.Size),
	}
	for _, k := range c.hashKeys {
		s.macs = append(s.macs, hmac.New(sha256.New, k))
	}
	return s
}

// encode signs and encrypts v with the first key.
func (c *codec) encode(v any) (string, error) {
	return securecookie.EncodeMulti(c.name, v, c.codecs[:1]...)
}

// decode verifies and decrypts value into dst with the key whose HMAC it
// carries. securecookie verifies the HMAC again, with the timestamp, before
// it decrypts: signer only spares it the values that cannot verify.
func (c *codec) decode(value string, dst any) error {
	key, ok := c.signer(value)
	if !ok {
		return errForgedCookie
	}
	return c.codecs[key].Decode(c.name, value, dst)
}

// signer returns the index of the key under which value carries a valid
// HMAC, or false. It does not allocate. Before any HMAC it refuses a
// length securecookie cannot have written, base64 that is not exactly the
// encoding doorman minted (securecookie's lenient base64 would let the
// spare bits of the last character flip without breaking the MAC), and a
// decoding not of securecookie's shape "date|value|mac".
func (c *codec) signer(value string) (int, bool) {
	if len(value) < minCookieLen || len(value) > maxCookieLen || len(value)%4 != 0 {
		return 0, false
	}
	s := c.scratch.Get().(*macScratch)
	defer c.scratch.Put(s)
	s.raw = append(s.raw[:0], value...)
	n, err := c.b64.Decode(s.data, s.raw)
	if err != nil {
		return 0, false
	}
	signed, mac, ok := splitSigned(s.data[:n])
	if !ok {
		return 0, false
	}
	for i, h := range s.macs {
		h.Reset()
		h.Write(c.macPrefix)
		h.Write(signed)
		if hmac.Equal(h.Sum(s.sum[:0]), mac) {
			return i, true
		}
	}
	return 0, false
}

// splitSigned splits a decoded securecookie value "date|value|mac" into
// the signed part "date|value" and the mac, as securecookie does (the mac
// may contain '|'), and checks that the date is decimal digits, the value
// is not empty and the mac is 32 bytes.
func splitSigned(b []byte) (signed, mac []byte, ok bool) {
	date := bytes.IndexByte(b, '|')
	if date < 1 || date > 19 {
		return nil, nil, false
	}
	for _, d := range b[:date] {
		if d < '0' || d > '9' {
			return nil, nil, false
		}
	}
	end := bytes.IndexByte(b[date+1:], '|') + date + 1
	if end <= date+1 || len(b)-end-1 != sha256.Size {
		return nil, nil, false
	}
	return b[:end], b[end+1:], true
}

// encodeSession returns the cookie value for s.
func (c *codec) encodeSession(s Session) (string, error) {
	return c.encode(sessionWire{ID: s.ID, Email: s.Email, Issued: s.Issued.Unix(), Expires: s.Expires.Unix()})
}

// decodeSession returns the session in value if it verifies and has not
// expired at now.
func (c *codec) decodeSession(value string, now time.Time) (Session, error) {
	key, ok := c.signer(value)
	if !ok {
		return Session{}, errForgedSession
	}
	return c.openSession(key, value, now)
}

// openSession decodes value, whose HMAC verifies under key, in full.
func (c *codec) openSession(key int, value string, now time.Time) (Session, error) {
	var w sessionWire
	if err := c.codecs[key].Decode(c.name, value, &w); err != nil {
		return Session{}, fmt.Errorf("%w: %w", ErrNoSession, err)
	}
	if w.Email == "" || now.Unix() >= w.Expires {
		return Session{}, fmt.Errorf("%w: expired or empty", ErrNoSession)
	}
	if !validSessionID(w.ID) { // a cookie from before sessions could be ended
		return Session{}, fmt.Errorf("%w: no session id", ErrNoSession)
	}
	return Session{ID: w.ID, Email: w.Email, Issued: time.Unix(w.Issued, 0), Expires: time.Unix(w.Expires, 0)}, nil
}

// findSession returns the first valid session in r's cookies. With
// onList, only a session whose email is on list counts. Several cookies may
// share the name (different domains or paths); any valid one among the
// first maxSessionCookies counts, and the rest are not looked at.
func (h *Handler) findSession(r *http.Request, list string, onList bool) (*verifiedSession, bool) {
	now := h.now().Unix()
	looked := 0
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			v, ok := cookieValue(part, h.cookie.name)
			if !ok {
				continue
			}
			vs, ok := h.verifySession(v, now)
			if ok && (!onList || h.allow.Contains(list, vs.session.Email)) {
				return vs, true
			}
			if looked++; looked == maxSessionCookies {
				return nil, false
			}
		}
	}
	return nil, false
}

// hasSessionCookie reports whether r carries a cookie of the session's
// name, valid or not.
func (h *Handler) hasSessionCookie(r *http.Request) bool {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			if _, ok := cookieValue(part, h.cookie.name); ok {
				return true
			}
		}
	}
	return false
}

// verifySession decodes value, from the cache of verified values when it
// was seen before, and checks expiry at now (unix seconds) and that the
// session was not ended (refusing every session until the store's ended
// sessions were read once, after a start). A session that passes is noted
// as used.
func (h *Handler) verifySession(value string, now int64) (*verifiedSession, bool) {
	vs, ok := h.verified.get(value)
	if !ok {
		s, err := h.sessions.decodeSession(value, time.Unix(now, 0))
		if err != nil {
			return nil, false
		}
		id := storeID(s.ID)
		vs = &verifiedSession{session: s, expires: s.Expires.Unix(), emailHeader: []string{s.Email},
			state: h.states.state(id, s.Expires.Unix())}
		// value is a slice of the request's Cookie header, which may hold
		// kilobytes of the app's own cookies: the cache keeps a copy of just
		// this value, not the whole header, for as long as it holds it.
		h.verified.put(strings.Clone(value), vs)
	}
	// Until the store's ended sessions were read once, any cookie may be
	// one that was ended: none counts yet.
	if now >= vs.expires || vs.state.ended.Load() || !h.states.ready.Load() {
		return nil, false
	}
	h.states.used(vs.state, now)
	return vs, true
}

// verifiedSession is a session cookie that verified, with what the hot path needs.
type verifiedSession struct {
	session     Session
	expires     int64         // session.Expires in unix seconds
	emailHeader []string      // X-Auth-Request-Email value, shared, never modified
	state       *sessionState // whether it was ended, and its last use
}

// verifiedCache remembers cookie values that verified, so /auth skips
// HMAC, AES and JSON for a cookie it has seen: one map hit, no allocation.
// Only values that verified are stored, keyed by their exact text, so a
// tampered value is never found. Expiry and the whitelist are still
// checked on every request. When full it starts again empty.
type verifiedCache struct {
	m     atomic.Pointer[sync.Map]
	count atomic.Int64
	max   int64
}

// newVerifiedCache returns a cache of at most max entries.
func newVerifiedCache(max int64) *verifiedCache {
	c := &verifiedCache{max: max}
	c.m.Store(new(sync.Map))
	return c
}

// get returns the verified session for value, if cached.
func (c *verifiedCache) get(value string) (*verifiedSession, bool) {
	v, ok := c.m.Load().Load(value)
	if !ok {
		return nil, false
	}
	return v.(*verifiedSession), true
}

// put caches vs under value, dropping everything first when full.
func (c *verifiedCache) put(value string, vs *verifiedSession) {
	if c.count.Add(1) > c.max {
		c.m.Store(new(sync.Map))
		c.count.Store(1)
	}
	c.m.Load().Store(value, vs)
}

// cookieValue returns the value of one "name=value" pair from a Cookie
// header if its name is name. It does not allocate.
func cookieValue(pair, name string) (string, bool) {
	pair = strings.Trim(pair, " \t")
	if len(pair) <= len(name) || pair[len(name)] != '=' || pair[:len(name)] != name {
		return "", false
	}
	v := pair[len(name)+1:]
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return v, true
}

// sessionCookie builds the Set-Cookie for value; maxAge < 0 deletes it.
func (cs cookieSettings) sessionCookie(value string, maxAge int) *http.Cookie {
	return cs.newCookie(cs.name, value, "/", cs.domain, maxAge)
}

// newCookie builds every cookie doorman sets: HttpOnly, SameSite=Lax,
// Secure as --cookie-secure says, on domain ("" is host-only), and deleted
// when maxAge < 0.
func (cs cookieSettings) newCookie(name, value, path, domain string, maxAge int) *http.Cookie {
	return withExpiry(&http.Cookie{
		Name: name, Value: value, Path: path, Domain: domain, MaxAge: maxAge,
		Secure: cs.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// withExpiry adds an Expires in the past to a deleting cookie (MaxAge < 0):
// "Max-Age=0" alone is not honoured by every client (curl keeps the cookie).
func withExpiry(c *http.Cookie) *http.Cookie {
	if c.MaxAge < 0 {
		c.Expires = time.Unix(1, 0)
	}
	return c
}

// SessionCookie starts a session for email, recorded in the store, and
// returns its cookie, valid for the configured TTL. It does NOT verify
// anything: it is for callers that have established the identity
// themselves, such as benchmarks and tests.
func (h *Handler) SessionCookie(email string) (*http.Cookie, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return h.newSession(ctx, asciiLower(email), "", "")
}

// newSession records a new session of email in the store, with the
// browser's User-Agent and address, and returns its cookie. A store that
// cannot be reached is an error wrapping store.ErrUnavailable, and no
// cookie.
func (h *Handler) newSession(ctx context.Context, email, userAgent, ip string) (*http.Cookie, error) {
	now := h.now()
	s := Session{ID: newSessionID(), Email: email, Issued: now, Expires: now.Add(h.cookie.ttl)}
	value, err := h.sessions.encodeSession(s)
	if err != nil {
		return nil, fmt.Errorf("encode session: %w", err)
	}
	rec := store.Session{ID: storeID(s.ID), Email: email, Created: now, Expires: s.Expires, UserAgent: userAgent, IP: ip}
	if err := h.store.CreateSession(ctx, rec); err != nil {
		return nil, fmt.Errorf("record session: %w", err)
	}
	return h.cookie.sessionCookie(value, int(h.cookie.ttl/time.Second)), nil
}
