package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ChangeKind says what a Change is about. Callers must ignore kinds they do
// not know: a newer doorman sharing the store may write more of them.
type ChangeKind string

// The kinds of change.
const (
	SessionEnded ChangeKind = "session_ended" // Change.ID was ended; refuse it until Change.Expires
	TokenMade    ChangeKind = "token_made"    // Change.Token was made; accept it until its Expires
	TokenEnded   ChangeKind = "token_ended"   // the token Change.ID was ended; refuse it from now on
)

// Change is one entry of the change feed.
type Change struct {
	Kind    ChangeKind
	ID      string    // the record the change is about
	Expires time.Time // when the record expires anyway; it may be forgotten then
	Token   *Token    // TokenMade: the token made (its LastUsed zero); nil for other kinds
}

// View is the ended sessions and the live tokens at one point of the
// change feed.
type View struct {
	Ended map[string]time.Time // id → Expires of every ended, unexpired session
	// Tokens is every live token (neither ended nor expired), by ID: the
	// whole set, to replace a copy with, not to merge into one. A token
	// expired since is still here; check Expires on use.
	Tokens  map[string]Token
	Version Version // pass to Changes to follow on from here
}

// Version is a position in a store's change feed, returned by Snapshot and
// Changes. It is opaque: pass it back unchanged. The zero Version is no
// position at all; Changes answers ErrResync to it.
type Version struct {
	epoch string   // names the feed; a store gets a new one when its data starts over
	n     uint64   // how many changes the feed has had, this one included
	at    streamID // Redis only: the stream entry holding change n
}

// String shows v for logs and tests.
func (v Version) String() string {
	if v.epoch == "" {
		return "none"
	}
	return fmt.Sprintf("%s/%d/%s", v.epoch, v.n, v.at)
}

// follows reports whether change n with the given epoch comes right after v.
func (v Version) follows(epoch string, n uint64) bool {
	return epoch == v.epoch && n == v.n+1
}

// streamID is a Redis stream entry id, "<ms>-<seq>".
type streamID struct{ ms, seq uint64 }

// String returns id as Redis writes it.
func (id streamID) String() string {
	return strconv.FormatUint(id.ms, 10) + "-" + strconv.FormatUint(id.seq, 10)
}

// parseStreamID parses a stream id as Redis writes it: two decimal numbers
// without sign or leading zeros, joined by "-". It is strict so that every
// id has one spelling and String gives back the input.
func parseStreamID(s string) (streamID, error) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}, fmt.Errorf("stream id %q: no '-'", s)
	}
	a, err1 := parseDecimal(ms)
	b, err2 := parseDecimal(seq)
	if err := errors.Join(err1, err2); err != nil {
		return streamID{}, fmt.Errorf("stream id %q: %w", s, err)
	}
	return streamID{a, b}, nil
}

// parseDecimal parses an unsigned decimal without sign or leading zeros.
func parseDecimal(s string) (uint64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q is not a plain decimal", s)
	}
	return strconv.ParseUint(s, 10, 64)
}
