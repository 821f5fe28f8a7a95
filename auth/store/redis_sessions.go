package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// CreateSession implements Store.
func (r *redisStore) CreateSession(ctx context.Context, s Session) error {
	s, err := s.prepare()
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	v, err := r.runWrite(ctx, r.scripts.create, s.ID, s.Email, millis(s.Created), millis(s.Expires),
		millis(s.LastSeen), s.UserAgent, s.IP)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if v != int64(1) {
		return errors.New("create session: session id is taken")
	}
	return nil
}

// LiveSessions implements Store.
func (r *redisStore) LiveSessions(ctx context.Context, email string, now time.Time) ([]Session, error) {
	ss, err := r.sessions(r.run(ctx, r.scripts.list, email, millis(now)))
	if err != nil {
		return nil, fmt.Errorf("live sessions: %w", err)
	}
	return ss, nil
}

// CountLiveSessions implements Store: the live index holds no ended
// session, and the expired ones are counted out by their score.
func (r *redisStore) CountLiveSessions(ctx context.Context, now time.Time) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	n, err := r.client.ZCount(cctx, r.prefix+"sessions", "("+strconv.FormatInt(millis(now), 10), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("count live sessions: %w", redisErr(ctx, err))
	}
	return int(n), nil
}

// EndSession implements Store.
func (r *redisStore) EndSession(ctx context.Context, email, id string, by Reason, now time.Time) (Session, error) {
	if err := validID(id); err != nil {
		return Session{}, fmt.Errorf("end session: %w: %w", ErrNotFound, err)
	}
	if err := validReason(by); err != nil {
		return Session{}, fmt.Errorf("end session: %w", err)
	}
	v, err := r.runWrite(ctx, r.scripts.end, email, id, millis(now))
	if err != nil {
		return Session{}, fmt.Errorf("end session: %w", err)
	}
	if v == nil {
		return Session{}, fmt.Errorf("end session: %w", ErrNotFound)
	}
	s, err := toSession(v)
	if err != nil {
		return Session{}, fmt.Errorf("end session: %w", err)
	}
	return s, nil
}

// EndSessionsOf implements Store.
func (r *redisStore) EndSessionsOf(ctx context.Context, email string, by Reason, now time.Time) ([]Session, error) {
	if err := validReason(by); err != nil {
		return nil, fmt.Errorf("end sessions of %s: %w", email, err)
	}
	ss, err := r.sessions(r.runWrite(ctx, r.scripts.endAll, email, millis(now)))
	if err != nil {
		return nil, fmt.Errorf("end sessions of %s: %w", email, err)
	}
	return ss, nil
}

// EndIdleSessions implements Store.
func (r *redisStore) EndIdleSessions(ctx context.Context, cutoff, now time.Time) ([]Session, error) {
	ss, err := r.sessions(r.runWrite(ctx, r.scripts.idle, millis(cutoff), millis(now)))
	if err != nil {
		return nil, fmt.Errorf("end idle sessions: %w", err)
	}
	return ss, nil
}

// TouchSessions implements Store.
func (r *redisStore) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	args := make([]any, 0, 2*len(seen))
	for id, t := range seen {
		if err := validID(id); err != nil {
			return fmt.Errorf("touch sessions: %w", err)
		}
		args = append(args, id, millis(t))
	}
	if len(args) == 0 {
		return nil
	}
	if _, err := r.runWrite(ctx, r.scripts.touch, args...); err != nil {
		return fmt.Errorf("touch sessions: %w", err)
	}
	return nil
}

// sessions reads a script's reply of sessions, sorted by Created.
func (r *redisStore) sessions(v any, err error) ([]Session, error) {
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("reply is %T, want a list of sessions", v)
	}
	ss := make([]Session, 0, len(list))
	for _, e := range list {
		s, err := toSession(e)
		if err != nil {
			return nil, err
		}
		ss = append(ss, s)
	}
	return sortByCreated(ss), nil
}

// toSession reads a session as the scripts return it:
// {id, email, created, expires, seen, ua, ip}.
func toSession(v any) (Session, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 7 {
		return Session{}, fmt.Errorf("reply %T of %d, want a session's 7 fields", v, len(f))
	}
	var str [7]string
	for i, e := range f {
		if str[i], ok = e.(string); !ok {
			return Session{}, fmt.Errorf("session field %d is %T, want a string", i, e)
		}
	}
	var ms [3]int64
	for i := range ms {
		n, err := strconv.ParseInt(str[2+i], 10, 64)
		if err != nil {
			return Session{}, fmt.Errorf("session %s: %w", str[0], err)
		}
		ms[i] = n
	}
	return Session{ID: str[0], Email: str[1], Created: fromMillis(ms[0]), Expires: fromMillis(ms[1]),
		LastSeen: fromMillis(ms[2]), UserAgent: str[5], IP: str[6]}, nil
}
