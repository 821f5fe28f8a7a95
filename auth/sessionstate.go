package auth

// What each doorman knows about the sessions it issued, kept in memory so
// that /auth never waits on the store: which sessions were ended (followed
// from the store's change feed) and when each was last used here (written
// to the store in batches, at most once a minute per session).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"doorman/auth/store"
)

const (
	// seenWindow is how often at most a session's last use is written to
	// the store: the first use in each window is, the rest are not.
	seenWindow = 60
	// flushEvery is how often the uses collected are written.
	flushEvery = time.Second
	// idleMargin is added to --session-idle before a session counts as
	// idle: a use inside the window of the last written one, and a use
	// not flushed yet, are not in the store.
	idleMargin = seenWindow*time.Second + 2*flushEvery
	// feedWait is how long one Changes call waits for a change.
	feedWait = time.Second
	// resyncEvery is how often the whole list of ended sessions is read
	// again, whatever the feed says.
	resyncEvery = time.Minute
	// storeTimeout bounds every store call a request makes.
	storeTimeout = 2 * time.Second
	// maxPendingTouches bounds the uses waiting to be written.
	maxPendingTouches = 1 << 16
	// countEvery is how often the live sessions are counted, for metrics.
	countEvery = 30 * time.Second
)

// sessionState is what this doorman knows about one session. The hot path
// reads and updates it without locks.
type sessionState struct {
	id      string       // the session's store id
	expires int64        // unix seconds; the state may be forgotten after it
	ended   atomic.Bool  // the session was ended: refuse every copy of its cookie
	window  atomic.Int64 // unix second of the first use in the current last-seen window
}

// sessionStates is every sessionState of this doorman, kept current from
// the store by run.
type sessionStates struct {
	store  store.Store
	logger *slog.Logger
	now    func() time.Time
	idle   time.Duration // --session-idle; 0 is off

	mu     sync.RWMutex
	states map[string]*sessionState // by store id; guarded by mu

	touched chan *sessionState // uses to write, from the hot path
	ready   atomic.Bool        // the first snapshot was read
	up      atomic.Bool        // the store answered the last call
	synced  atomic.Int64       // unix nanoseconds of the last time the view was known current
	live    atomic.Int64       // live sessions in the store, counted every countEvery; -1 before the first count

	tokens       atomic.Pointer[tokenMap] // the live personal tokens; replaced whole
	tokensMu     sync.Mutex               // serialises edits of tokens
	touchedToken chan *tokenState         // token uses to write, from the hot path
}

// newSessionStates returns an empty set of states over st.
func newSessionStates(st store.Store, idle time.Duration, logger *slog.Logger, now func() time.Time) *sessionStates {
	s := &sessionStates{
		store: st, idle: idle, logger: logger, now: now,
		states: map[string]*sessionState{}, touched: make(chan *sessionState, 4096), touchedToken: make(chan *tokenState, 1024),
	}
	s.up.Store(true)
	s.live.Store(-1)
	return s
}

// state returns the state of the session id, expiring at expires, creating
// it when this doorman has not seen the session before.
func (s *sessionStates) state(id string, expires int64) *sessionState {
	s.mu.RLock()
	st, ok := s.states[id]
	s.mu.RUnlock()
	if ok {
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok = s.states[id]; !ok {
		st = &sessionState{id: id, expires: expires}
		s.states[id] = st
	}
	return st
}

// markEnded records that the session id, expiring at expires, was ended.
func (s *sessionStates) markEnded(id string, expires time.Time) {
	s.state(id, expires.Unix()).ended.Store(true)
}

// used notes a use of st at now (unix seconds): the first use of a new
// window is queued for the store. It does not allocate or block; when the
// queue is full the use is noted again at the next request.
func (s *sessionStates) used(st *sessionState, now int64) {
	w := st.window.Load()
	if now-w < seenWindow || !st.window.CompareAndSwap(w, now) {
		return
	}
	select {
	case s.touched <- st:
	default:
		st.window.CompareAndSwap(now, w)
	}
}

// run keeps the states current until ctx is done: it reads the ended
// sessions, follows the change feed, writes uses, and with --session-idle
// ends idle sessions.
func (s *sessionStates) run(ctx context.Context) {
	go s.writeUses(ctx)
	var since store.Version
	lastSnapshot := time.Time{}
	for ctx.Err() == nil {
		var err error
		if since == (store.Version{}) || time.Since(lastSnapshot) > resyncEvery {
			if since, err = s.snapshot(ctx); err == nil {
				lastSnapshot = time.Now()
			}
		} else {
			since, err = s.follow(ctx, since)
			if errors.Is(err, store.ErrResync) {
				since, err = store.Version{}, nil
			}
		}
		s.setUp(ctx, err)
		if err != nil {
			sleep(ctx, 500*time.Millisecond)
		}
	}
}

// snapshot reads every ended session, and forgets expired states.
func (s *sessionStates) snapshot(ctx context.Context) (store.Version, error) {
	v, err := s.store.Snapshot(ctx, s.now())
	if err != nil {
		return store.Version{}, err
	}
	for id, exp := range v.Ended {
		s.markEnded(id, exp)
	}
	s.setTokens(v.Tokens)
	s.forgetExpired(s.now().Unix())
	s.ready.Store(true)
	s.synced.Store(time.Now().UnixNano())
	return v.Version, nil
}

// follow applies the changes after since.
func (s *sessionStates) follow(ctx context.Context, since store.Version) (store.Version, error) {
	changes, next, err := s.store.Changes(ctx, since, feedWait)
	if err != nil {
		return since, err
	}
	for _, c := range changes {
		switch {
		case c.Kind == store.SessionEnded:
			s.markEnded(c.ID, c.Expires)
		case c.Kind == store.TokenMade && c.Token != nil:
			s.tokenMade(*c.Token)
		case c.Kind == store.TokenEnded:
			s.tokenEnded(c.ID)
		}
	}
	s.synced.Store(time.Now().UnixNano())
	return next, nil
}

// setUp records whether the store answered, logging each change.
func (s *sessionStates) setUp(ctx context.Context, err error) {
	up := err == nil || ctx.Err() != nil
	if s.up.Swap(up) == up {
		return
	}
	if up {
		s.logger.Info("store reachable")
	} else {
		s.logger.Warn("store unreachable", "err", err)
	}
}

// forgetExpired drops the states of sessions expired at now: their cookies
// are refused anyway.
func (s *sessionStates) forgetExpired(now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, st := range s.states {
		if st.expires <= now {
			delete(s.states, id)
		}
	}
}

// writeUses writes the queued uses every flushEvery, keeping them while
// the store cannot be reached, and then ends idle sessions.
func (s *sessionStates) writeUses(ctx context.Context) {
	pending, pendingTokens := map[string]time.Time{}, map[string]time.Time{}
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	var counted time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-s.touched:
			if len(pending) < maxPendingTouches {
				pending[st.id] = time.Unix(st.window.Load(), 0)
			}
			continue
		case ts := <-s.touchedToken:
			if len(pendingTokens) < maxPendingTouches {
				pendingTokens[ts.id] = time.Unix(ts.window.Load(), 0)
			}
			continue
		case <-tick.C:
		}
		if len(pendingTokens) > 0 && s.store.TouchTokens(ctx, pendingTokens) == nil {
			clear(pendingTokens)
		}
		if len(pending) > 0 {
			if err := s.store.TouchSessions(ctx, pending); err != nil {
				continue // kept for the next tick; idle sessions wait too
			}
			clear(pending)
		}
		s.endIdle(ctx)
		if time.Since(counted) >= countEvery {
			if n, err := s.store.CountLiveSessions(ctx, s.now()); err == nil {
				s.live.Store(int64(n))
				counted = time.Now()
			}
		}
	}
}

// endIdle ends the sessions not used for --session-idle.
func (s *sessionStates) endIdle(ctx context.Context) {
	if s.idle <= 0 {
		return
	}
	now := s.now()
	ended, err := s.store.EndIdleSessions(ctx, now.Add(-s.idle-idleMargin), now)
	if err != nil {
		return
	}
	for _, e := range ended {
		s.markEnded(e.ID, e.Expires)
		logSessionEnded(s.logger, e, store.ReasonIdle)
	}
}

// logSessionEnded logs one ended session: who, which (the first 8
// characters of its store id), and by whom.
func logSessionEnded(logger *slog.Logger, s store.Session, by store.Reason) {
	logger.Info("session ended", "email", s.Email, "session", s.ID[:min(8, len(s.ID))], "by", string(by))
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// endSession ends email's session id in the store (any session of email's
// with by ReasonUser or ReasonAdmin), marks it ended here at once and logs
// it. Errors wrap store.ErrNotFound (no such live session of email's) or
// store.ErrUnavailable (nothing changed).
func (h *Handler) endSession(c echo.Context, email, id string, by store.Reason) error {
	ctx, cancel := h.storeContext(c)
	defer cancel()
	s, err := h.store.EndSession(ctx, email, id, by, h.now())
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	h.states.markEnded(s.ID, s.Expires)
	logSessionEnded(h.logger, s, by)
	return nil
}

// endSessionsOf ends every session of email, marks them ended here at once
// and logs each.
func (h *Handler) endSessionsOf(c echo.Context, email string, by store.Reason) error {
	ctx, cancel := h.storeContext(c)
	defer cancel()
	ended, err := h.store.EndSessionsOf(ctx, email, by, h.now())
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	for _, s := range ended {
		h.states.markEnded(s.ID, s.Expires)
		logSessionEnded(h.logger, s, by)
	}
	return nil
}

// storeContext bounds the store calls of one request.
func (h *Handler) storeContext(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), storeTimeout)
}

// usedToken notes a use of the token ts at now (unix seconds), as used
// does for a session.
func (s *sessionStates) usedToken(ts *tokenState, now int64) {
	w := ts.window.Load()
	if now-w < seenWindow || !ts.window.CompareAndSwap(w, now) {
		return
	}
	select {
	case s.touchedToken <- ts:
	default:
		ts.window.CompareAndSwap(now, w)
	}
}
