package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"
)

// Token is one personal token of a person, for programs. The store never
// sees the token itself: its ID is a hash of it.
type Token struct {
	ID       string    // a hash of the token, as the caller encodes it (e.g. base64url of its SHA-256)
	Email    string    // its owner
	Name     string    // 1 to 64 printable characters, chosen by the owner
	Prefix   string    // the token's first characters (at most 12), to recognise it by; never the whole token
	Lists    []string  // the lists it may open ("" is the main list): at least one, kept sorted and without repeats
	Created  time.Time // when it was made
	Expires  time.Time // when it stops working; the record may be dropped after it
	LastUsed time.Time // when last used, as told by TouchTokens; zero if never
}

const (
	maxNameLen   = 64 // most characters of a token's name
	maxPrefixLen = 12 // most bytes of a token's prefix
	maxLists     = 64 // most lists a token or device code names
)

// prepare checks t and returns it as it is to be stored: times to the
// millisecond, its lists sorted and without repeats.
func (t Token) prepare() (Token, error) {
	if err := validEmail(t.Email); err != nil {
		return t, err
	}
	lists, err := canonicalLists(t.Lists, 1)
	if err != nil {
		return t, err
	}
	t.Lists = lists
	return t.prepareUnowned()
}

// prepareUnowned is prepare but for the owner and the lists, which a
// device code's approval gives a token.
func (t Token) prepareUnowned() (Token, error) {
	if err := validID(t.ID); err != nil {
		return t, err
	}
	if err := validName(t.Name, 1); err != nil {
		return t, err
	}
	if err := validPrefix(t.Prefix); err != nil {
		return t, err
	}
	if err := validSpan(t.Created, t.Expires); err != nil {
		return t, err
	}
	t.Created, t.Expires = fromMillis(millis(t.Created)), fromMillis(millis(t.Expires))
	t.LastUsed = fromMillis(millis(t.LastUsed))
	return t, nil
}

// validEmail checks an owner's or approver's email: 1 to 320 bytes of
// valid UTF-8, which the change feed's JSON carries unchanged.
func validEmail(email string) error {
	if email == "" || len(email) > maxEmailLen {
		return fmt.Errorf("email of %d bytes, want 1 to %d", len(email), maxEmailLen)
	}
	if !utf8.ValidString(email) {
		return fmt.Errorf("email %q is not valid UTF-8", email)
	}
	return nil
}

// validName checks a token's name: min to 64 printable characters.
func validName(name string, min int) error {
	n := utf8.RuneCountInString(name)
	if !utf8.ValidString(name) || n < min || n > maxNameLen {
		return fmt.Errorf("name of %d characters, want %d to %d of valid UTF-8", n, min, maxNameLen)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("name has %q, want printable characters only", r)
		}
	}
	return nil
}

// validPrefix checks a token's prefix: at most 12 bytes of
// [A-Za-z0-9_-], so that a whole token is never stored by mistake.
func validPrefix(prefix string) error {
	if len(prefix) > maxPrefixLen {
		return fmt.Errorf("prefix of %d bytes, want at most %d", len(prefix), maxPrefixLen)
	}
	if prefix != "" {
		return validID(prefix)
	}
	return nil
}

// validSpan checks a record's creation and expiry times.
func validSpan(created, expires time.Time) error {
	switch {
	case created.IsZero() || created.UnixMilli() <= 0:
		return errors.New("no creation time")
	case millis(expires) <= millis(created):
		return errors.New("expires before it is created")
	}
	return nil
}

// canonicalLists checks lists (at least min, at most 64 valid list names)
// and returns them sorted, without repeats, in a new slice.
func canonicalLists(lists []string, min int) ([]string, error) {
	for _, l := range lists {
		if err := validList(l); err != nil {
			return nil, err
		}
	}
	out := slices.Compact(slices.Sorted(slices.Values(lists)))
	if len(out) < min || len(out) > maxLists {
		return nil, fmt.Errorf("%d lists, want %d to %d", len(out), min, maxLists)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// encodeLists writes lists as a JSON array, as the stores keep them.
func encodeLists(lists []string) string {
	if lists == nil {
		return "[]"
	}
	b, _ := json.Marshal(lists)
	return string(b)
}

// decodeLists reads lists as encodeLists writes them.
func decodeLists(s string) ([]string, error) {
	lists := []string{}
	if err := json.Unmarshal([]byte(s), &lists); err != nil {
		return nil, fmt.Errorf("lists %q: %w", s, err)
	}
	return lists, nil
}

// tokenRecord is a Token as a change feed entry carries it, in JSON.
type tokenRecord struct {
	ID      string   `json:"id"`
	Email   string   `json:"email"`
	Name    string   `json:"name"`
	Prefix  string   `json:"prefix"`
	Lists   []string `json:"lists"`
	Created int64    `json:"created"`
	Expires int64    `json:"expires"`
}

// encodeToken writes t for a change feed entry (without LastUsed).
func encodeToken(t Token) string {
	b, _ := json.Marshal(tokenRecord{t.ID, t.Email, t.Name, t.Prefix, t.Lists, millis(t.Created), millis(t.Expires)})
	return string(b)
}

// decodeToken reads a token as encodeToken writes it.
func decodeToken(s string) (*Token, error) {
	var r tokenRecord
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("token record: %w", err)
	}
	return &Token{ID: r.ID, Email: r.Email, Name: r.Name, Prefix: r.Prefix, Lists: r.Lists,
		Created: fromMillis(r.Created), Expires: fromMillis(r.Expires)}, nil
}

// sortTokens sorts ts by Created, then ID, and returns it.
func sortTokens(ts []Token) []Token {
	slices.SortFunc(ts, func(a, b Token) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return ts
}

// changeToken reads the token that a change of kind carries as data: a
// TokenMade's; nil for other kinds.
func changeToken(kind ChangeKind, data string) (*Token, error) {
	if kind != TokenMade {
		return nil, nil
	}
	return decodeToken(data)
}

// tokenMap returns ts by ID.
func tokenMap(ts []Token) map[string]Token {
	m := make(map[string]Token, len(ts))
	for _, t := range ts {
		m[t.ID] = t
	}
	return m
}
