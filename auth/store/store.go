// Package store keeps doorman's state: the sessions it issued and which of
// them were ended, and the personal tokens, with a change feed that lets
// every doorman process keep its own in-memory copy of the ended sessions
// and the live tokens current; the device codes of sign-in from a
// terminal; and the budget counters of what each person spent on each
// list, counted exactly.
//
// There are two backends behind the one Store interface:
//
//   - an embedded SQLite file (the default), for one doorman and the admin
//     commands run beside it on the same machine;
//   - Redis, for several doorman replicas sharing one Redis.
//
// Open picks the backend from the address:
//
//	st, err := store.Open(ctx, "doorman.db", store.Options{})          // SQLite
//	st, err := store.Open(ctx, "redis://redis:6379/0", store.Options{}) // Redis
//
// A doorman takes a Snapshot at start, then follows the feed with Changes,
// and takes a new Snapshot when Changes answers ErrResync (and now and then
// anyway). Its hot path reads only the in-memory copy, never the store.
//
// The store never sees a cookie, token or key: callers pass ids derived from
// them (hashes), which must be 1 to 64 characters of [A-Za-z0-9_-]. Times are
// kept to the millisecond and returned in UTC.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors. Errors returned by a Store wrap them; branch with errors.Is.
var (
	// ErrNotFound: no such live session, token or device code (or not one
	// of the given person's).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the change clashes with what is there: a user code
	// taken by a live device code, or a device code already redeemed.
	ErrConflict = errors.New("store: conflict")
	// ErrExpired: the device code is known but has expired.
	ErrExpired = errors.New("store: expired")
	// ErrUnavailable: the store cannot be reached or is too busy to answer
	// now; nothing was changed, or (for a write cut off mid-way) the change
	// may or may not have been made. Try again later.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrResync: Changes cannot follow on from the given Version (it is too
	// old, from another store, or the store was reset); take a new Snapshot.
	ErrResync = errors.New("store: change feed lost; take a new snapshot")
	// ErrNewerSchema: the SQLite file was written by a newer doorman, whose
	// schema this one does not know. Open refuses it rather than guess.
	ErrNewerSchema = errors.New("store: written by a newer doorman")
)

// Store is doorman's state. Its methods are safe for concurrent use, also by
// several processes (SQLite) or replicas (Redis) on the same data. Each
// method that changes something does so atomically: all of it or nothing.
type Store interface {
	// CreateSession records a new live session. Its ID must be new; its
	// UserAgent is cut to 200 bytes (on a UTF-8 boundary).
	CreateSession(ctx context.Context, s Session) error

	// LiveSessions returns the sessions that are neither ended nor expired
	// at now, of email or of everyone when email is "", sorted by Created.
	LiveSessions(ctx context.Context, email string, now time.Time) ([]Session, error)

	// CountLiveSessions counts the sessions neither ended nor expired at now.
	CountLiveSessions(ctx context.Context, now time.Time) (int, error)

	// EndSession ends the live session id and returns it. When email is
	// not "", the session must be email's: someone else's session is
	// ErrNotFound, like an unknown, ended or expired one.
	EndSession(ctx context.Context, email, id string, by Reason, now time.Time) (Session, error)

	// EndSessionsOf ends every live session of email and returns them
	// (none is not an error).
	EndSessionsOf(ctx context.Context, email string, by Reason, now time.Time) ([]Session, error)

	// TouchSessions records when sessions were last seen. It never moves a
	// LastSeen backwards and ignores unknown and ended ids. Callers batch
	// it: one call for many sessions, at most once a minute per session.
	TouchSessions(ctx context.Context, seen map[string]time.Time) error

	// EndIdleSessions ends, with ReasonIdle, the live sessions last seen
	// (or, never seen, created) before cutoff, and returns them.
	EndIdleSessions(ctx context.Context, cutoff, now time.Time) ([]Session, error)

	// CreateToken records a new live token. Its ID must be new. The change
	// feed gets a TokenMade.
	CreateToken(ctx context.Context, t Token) error

	// Tokens returns the tokens that are neither ended nor expired at now,
	// of email or of everyone when email is "", sorted by Created.
	Tokens(ctx context.Context, email string, now time.Time) ([]Token, error)

	// EndToken ends the live token id and returns it; the feed gets a
	// TokenEnded. When email is not "", the token must be email's:
	// someone else's token is ErrNotFound, like an unknown, ended or
	// expired one.
	EndToken(ctx context.Context, email, id string, by Reason, now time.Time) (Token, error)

	// EndTokensOf ends every live token of email and returns them (none is
	// not an error); the feed gets a TokenEnded for each.
	EndTokensOf(ctx context.Context, email string, by Reason, now time.Time) ([]Token, error)

	// TouchTokens records when tokens were last used. It never moves a
	// LastUsed backwards and ignores unknown and ended ids. Callers batch
	// it, as for TouchSessions.
	TouchTokens(ctx context.Context, used map[string]time.Time) error

	// CreateDeviceCode records a new pending device code (its state fields
	// are ignored). Its ID must be new; a UserCode held by another code
	// unexpired at d.Created is ErrConflict: make another and try again.
	CreateDeviceCode(ctx context.Context, d DeviceCode) error

	// DeviceCodeByUser returns the pending, unexpired device code of the
	// user code (any case, dashes and spaces ignored); else ErrNotFound.
	DeviceCodeByUser(ctx context.Context, userCode string, now time.Time) (DeviceCode, error)

	// DecideDeviceCode approves or denies, as approver, the pending,
	// unexpired device code of userCode, once: else ErrNotFound. Approving
	// grants the lists asked for that are among lists (the approver's);
	// when there are none, the code is denied instead. It returns the code
	// as decided.
	DecideDeviceCode(ctx context.Context, userCode, approver string, approve bool, lists []string, now time.Time) (DeviceCode, error)

	// PollDeviceCode returns the device code id as it was before this
	// poll, and records now as its LastPoll (never backwards). An unknown
	// id is ErrNotFound; an expired code is ErrExpired (kept for a while
	// after it expires, then unknown).
	PollDeviceCode(ctx context.Context, id string, now time.Time) (DeviceCode, error)

	// RedeemDeviceCode turns the approved, unexpired device code id into
	// the token t, once, all or nothing: the code becomes redeemed and t
	// is created as by CreateToken, owned by the Approver and opening the
	// Granted lists (t's own Email and Lists are ignored). It returns the
	// code as redeemed. A code already redeemed is ErrConflict; an
	// unknown, expired, pending or denied one ErrNotFound.
	RedeemDeviceCode(ctx context.Context, id string, t Token, now time.Time) (DeviceCode, error)

	// Snapshot returns every session that is ended but not expired at now
	// and every live token, and the Version of the change feed to follow
	// on from: they hold every change up to it, and may hold some made
	// after it (Redis reads them a page at a time), which Changes then
	// gives again.
	Snapshot(ctx context.Context, now time.Time) (View, error)

	// Changes returns the changes made after since, in order, and the
	// Version to pass next time. When there are none yet it waits for one
	// up to wait (not at all when wait <= 0), then returns none and since.
	// It answers ErrResync when since is the zero Version, too old (its
	// successors were trimmed), or from another store or from before the
	// store's data started over; Redis may only notice the last two when
	// the next change arrives. A change may repeat what a later Snapshot
	// already holds; applying it again must be harmless.
	Changes(ctx context.Context, since Version, wait time.Duration) ([]Change, Version, error)

	// Spend adds cost (1 to MaxBudget) to email's counter of list in every
	// window, all or nothing: when cost would take ANY counter over its
	// Limit, it adds nothing and reports allowed false. used[i] is
	// windows[i]'s counter after the call. Windows of the same Key are one
	// counter, added to once. list "" is the main list. It is exact across
	// processes and replicas, and durable (as the backend is) once it returns.
	Spend(ctx context.Context, email, list string, windows []BudgetWindow, cost int64) (allowed bool, used []int64, err error)

	// Used returns email's counters of list in the windows keys, 0 where
	// there is none (never spent, or expired).
	Used(ctx context.Context, email, list string, keys []string) ([]int64, error)

	// Usage returns every person's counter of list in the window key,
	// sorted by email; none is not an error.
	Usage(ctx context.Context, list, key string) ([]BudgetUsage, error)

	// Ping reports whether the store can be reached and used.
	Ping(ctx context.Context) error

	// Close releases the store's connections. No call may be made
	// after it.
	Close() error
}

// Options tunes a Store. The zero Options is the intended setting; tests
// shorten some of it.
type Options struct {
	// FeedLength is how many changes the feed keeps. A Changes call that
	// fell further behind gets ErrResync. 0 means 10000.
	FeedLength int

	// PollInterval is how often a SQLite store's Changes looks for changes
	// written by another process. 0 means 100 ms. Redis pushes instead.
	PollInterval time.Duration

	// BusyTimeout is how long a SQLite write waits for another process's
	// write to finish before failing with ErrUnavailable. 0 means 5 s.
	BusyTimeout time.Duration

	// KeyPrefix starts every Redis key. "" means "doorman:".
	KeyPrefix string

	// DialTimeout bounds connecting to Redis. 0 means 1 s.
	DialTimeout time.Duration

	// Timeout bounds each Redis call, waiting for a connection included
	// (Changes waits this long beyond its wait). Past it the call fails
	// with ErrUnavailable. 0 means 1 s.
	Timeout time.Duration
}

// withDefaults returns o with its zero fields set to their defaults.
func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.FeedLength <= 0 {
		o.FeedLength = 10000
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = "doorman:"
	}
	def(&o.PollInterval, 100*time.Millisecond)
	def(&o.BusyTimeout, 5*time.Second)
	def(&o.DialTimeout, time.Second)
	def(&o.Timeout, time.Second)
	return o
}

// Open opens the store at dsn: a "redis://" or "rediss://" URL
// (redis://[user:password@]host:port[/db]) means Redis, anything else is the
// path of a SQLite file, created with mode 0600 when missing.
//
// Opening a SQLite file creates or upgrades its schema. Opening Redis does
// NOT wait for Redis to answer: while it cannot be reached, calls fail with
// ErrUnavailable; use Ping to check. Error messages never show a password.
func Open(ctx context.Context, dsn string, opts Options) (Store, error) {
	opts = opts.withDefaults()
	if strings.HasPrefix(dsn, "redis://") || strings.HasPrefix(dsn, "rediss://") {
		return openRedis(dsn, opts)
	}
	return openSQLite(ctx, dsn, opts)
}
