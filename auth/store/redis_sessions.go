package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// CreateSession implements Store.
func (r *redisStore) CreateSession(ctx context.Context, s Session) error {
	s, err := s.prepare()
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	v, err := r.runWrite(ctx, r.scripts.create, sessionArgs(s)...)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if v != int64(1) {
		return errors.New("create session: session id is taken")
	}
	return nil
}

// sessionArgs are the create script's arguments for the prepared s.
func sessionArgs(s Session) []any {
	return []any{s.ID, s.Email, millis(s.Created), millis(s.Expires), millis(s.LastSeen), s.UserAgent, s.IP}
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
	if err := r.touch(ctx, r.scripts.touch, seen); err != nil {
		return fmt.Errorf("touch sessions: %w", err)
	}
	return nil
}

// touch runs script, which takes pairs of an id and a time, on seen.
func (r *redisStore) touch(ctx context.Context, script *redis.Script, seen map[string]time.Time) error {
	args := make([]any, 0, 2*len(seen))
	for id, t := range seen {
		if err := validID(id); err != nil {
			return err
		}
		args = append(args, id, millis(t))
	}
	if len(args) == 0 {
		return nil
	}
	_, err := r.runWrite(ctx, script, args...)
	return err
}

// sessions reads a script's reply of sessions, sorted by Created.
func (r *redisStore) sessions(v any, err error) ([]Session, error) {
	ss, err := replyList(v, err, toSession)
	return sortByCreated(ss), err
}

// toSession reads a session as the scripts return it:
// {id, email, created, expires, seen, ua, ip}.
func toSession(v any) (Session, error) {
	f, err := replyStrings(v, 7, "session")
	if err != nil {
		return Session{}, err
	}
	ms, err := replyMillis(f[0], f[2:5]...)
	if err != nil {
		return Session{}, err
	}
	return Session{ID: f[0], Email: f[1], Created: ms[0], Expires: ms[1],
		LastSeen: ms[2], UserAgent: f[5], IP: f[6]}, nil
}

// replyList reads a script's reply of records with read.
func replyList[T any](v any, err error, read func(any) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("reply is %T, want a list", v)
	}
	out := make([]T, 0, len(list))
	for _, e := range list {
		x, err := read(e)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// replyStrings reads the first n fields of a record in a script's reply,
// which must be strings.
func replyStrings(v any, n int, what string) ([]string, error) {
	f, ok := v.([]any)
	if !ok || len(f) < n {
		return nil, fmt.Errorf("reply %T of %d, want a %s's %d fields", v, len(f), what, n)
	}
	str := make([]string, n)
	for i, e := range f[:n] {
		if str[i], ok = e.(string); !ok {
			return nil, fmt.Errorf("%s field %d is %T, want a string", what, i, e)
		}
	}
	return str, nil
}

// replyMillis reads the times, in Unix milliseconds, of the record id.
func replyMillis(id string, fields ...string) ([]time.Time, error) {
	ts := make([]time.Time, len(fields))
	for i, s := range fields {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", id, err)
		}
		ts[i] = fromMillis(n)
	}
	return ts, nil
}
