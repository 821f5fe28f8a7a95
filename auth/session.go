package auth

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
)

// maxCookieLen caps an encoded cookie value; securecookie refuses longer ones
// before doing any work.
const maxCookieLen = 4096

// Session is what the session cookie carries.
type Session struct {
	Email   string    // lower-case ASCII address
	Issued  time.Time // sign-in time
	Expires time.Time // the session is invalid from this instant on
}

// sessionWire is Session as serialised inside the cookie: short keys, unix seconds.
type sessionWire struct {
	Email   string `json:"e"`
	Issued  int64  `json:"i"`
	Expires int64  `json:"x"`
}

// codec encodes and decodes one kind of cookie with securecookie:
// HMAC-SHA256 signed, AES-256 encrypted, JSON serialised. The first key
// signs, every key verifies.
type codec struct {
	name   string // cookie name, bound into the MAC
	codecs []securecookie.Codec
}

// newCodec derives a separate pair of keys for purpose from every secret,
// so a cookie of one kind never decodes as another.
func newCodec(secrets [][]byte, purpose, name string, ttl time.Duration) (*codec, error) {
	c := &codec{name: name}
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
	}
	return c, nil
}

// encode signs and encrypts v with the first key.
func (c *codec) encode(v any) (string, error) {
	return securecookie.EncodeMulti(c.name, v, c.codecs[:1]...)
}

// decode verifies and decrypts value into dst, trying every key.
func (c *codec) decode(value string, dst any) error {
	if len(value) > maxCookieLen {
		return errors.New("cookie too long")
	}
	// securecookie decodes base64 leniently: the spare bits of the last
	// character could be flipped without breaking the MAC. Only the exact
	// encoding doorman minted counts.
	if _, err := base64.URLEncoding.Strict().DecodeString(value); err != nil {
		return errors.New("cookie is not canonical base64")
	}
	for _, sc := range c.codecs {
		if sc.Decode(c.name, value, dst) == nil {
			return nil
		}
	}
	return errors.New("cookie does not verify with any key")
}

// encodeSession returns the cookie value for s.
func (c *codec) encodeSession(s Session) (string, error) {
	return c.encode(sessionWire{Email: s.Email, Issued: s.Issued.Unix(), Expires: s.Expires.Unix()})
}

// decodeSession returns the session in value if it verifies and has not
// expired at now.
func (c *codec) decodeSession(value string, now time.Time) (Session, error) {
	var w sessionWire
	if err := c.decode(value, &w); err != nil {
		return Session{}, fmt.Errorf("%w: %w", ErrNoSession, err)
	}
	if w.Email == "" || now.Unix() >= w.Expires {
		return Session{}, fmt.Errorf("%w: expired or empty", ErrNoSession)
	}
	return Session{Email: w.Email, Issued: time.Unix(w.Issued, 0), Expires: time.Unix(w.Expires, 0)}, nil
}

// findSession returns the first valid session in r's cookies. With
// onList, only a session whose email is on list counts. Several cookies may
// share the name (different domains or paths); any valid one counts.
func (h *Handler) findSession(r *http.Request, list string, onList bool) (*verifiedSession, bool) {
	now := h.now().Unix()
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
		}
	}
	return nil, false
}

// verifySession decodes value, from the cache of verified values when it
// was seen before, and checks expiry at now (unix seconds).
func (h *Handler) verifySession(value string, now int64) (*verifiedSession, bool) {
	vs, ok := h.verified.get(value)
	if !ok {
		s, err := h.sessions.decodeSession(value, time.Unix(now, 0))
		if err != nil {
			return nil, false
		}
		vs = &verifiedSession{session: s, expires: s.Expires.Unix(), emailHeader: []string{s.Email}}
		h.verified.put(value, vs)
	}
	return vs, now < vs.expires
}

// verifiedSession is a session cookie that verified, with what the hot path needs.
type verifiedSession struct {
	session     Session
	expires     int64    // session.Expires in unix seconds
	emailHeader []string // X-Auth-Request-Email value, shared, never modified
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
	return withExpiry(&http.Cookie{
		Name: cs.name, Value: value, Path: "/", Domain: cs.domain, MaxAge: maxAge,
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

// SessionCookie returns a session cookie for email, valid for the
// configured TTL. It does NOT verify anything: it is for callers that have
// established the identity themselves, such as benchmarks and tests.
func (h *Handler) SessionCookie(email string) (*http.Cookie, error) {
	now := h.now()
	value, err := h.sessions.encodeSession(Session{Email: asciiLower(email), Issued: now, Expires: now.Add(h.cookie.ttl)})
	if err != nil {
		return nil, fmt.Errorf("encode session: %w", err)
	}
	return h.cookie.sessionCookie(value, int(h.cookie.ttl/time.Second)), nil
}
