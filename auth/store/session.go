package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// Session is one signed-in browser.
type Session struct {
	ID        string    // opaque id chosen by the caller: a hash of the cookie's secret, never the cookie itself
	Email     string    // who signed in, as the caller spells it (the store does not fold case)
	Created   time.Time // sign-in time
	Expires   time.Time // absolute end; the record may be dropped after it
	LastSeen  time.Time // when last used, as told by TouchSessions; zero if never
	UserAgent string    // the browser's User-Agent, at most 200 bytes (longer ones are cut)
	IP        string    // the client address; may be empty
}

// Reason says who or what ended a session.
type Reason string

// The reasons a session ends.
const (
	ReasonUser    Reason = "user"     // the person ended this one session
	ReasonUserAll Reason = "user_all" // the person signed out everywhere
	ReasonIdle    Reason = "idle"     // unused for too long
	ReasonAdmin   Reason = "admin"    // an administrator revoked it
)

const (
	maxIDLen     = 64  // longest id a caller may pass
	maxUserAgent = 200 // bytes of User-Agent kept
	maxEmailLen  = 320 // longest email kept
	maxIPLen     = 64  // longest client address kept
)

// validID reports whether id may name a record: 1 to 64 characters of
// [A-Za-z0-9_-]. Such ids are safe in Redis keys and never look like the
// cookies or tokens they are derived from.
func validID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("id of %d bytes, want 1 to %d", len(id), maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !idByte(c) {
			return fmt.Errorf("id has %q at %d, want only [A-Za-z0-9_-]", c, i)
		}
	}
	return nil
}

func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// validReason reports whether by is one of the Reason constants.
func validReason(by Reason) error {
	switch by {
	case ReasonUser, ReasonUserAll, ReasonIdle, ReasonAdmin:
		return nil
	}
	return fmt.Errorf("unknown reason %q", by)
}

// truncateUTF8 returns the longest prefix of s of at most n bytes that does
// not split a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// prepare checks s and returns it as it is to be stored: times to the
// millisecond, the User-Agent cut to size.
func (s Session) prepare() (Session, error) {
	if err := validID(s.ID); err != nil {
		return s, err
	}
	switch {
	case s.Email == "" || len(s.Email) > maxEmailLen:
		return s, fmt.Errorf("email of %d bytes, want 1 to %d", len(s.Email), maxEmailLen)
	case len(s.IP) > maxIPLen:
		return s, fmt.Errorf("ip of %d bytes, want at most %d", len(s.IP), maxIPLen)
	case s.Created.IsZero() || s.Created.UnixMilli() <= 0:
		return s, errors.New("no creation time")
	case millis(s.Expires) <= millis(s.Created):
		return s, errors.New("expires before it is created")
	}
	s.UserAgent = truncateUTF8(s.UserAgent, maxUserAgent)
	s.Created, s.Expires = fromMillis(millis(s.Created)), fromMillis(millis(s.Expires))
	s.LastSeen = fromMillis(millis(s.LastSeen))
	return s, nil
}

// millis returns t in Unix milliseconds; 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of millis, in UTC.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// sortByCreated sorts ss by Created, then ID, and returns it.
func sortByCreated(ss []Session) []Session {
	slices.SortFunc(ss, func(a, b Session) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return ss
}
