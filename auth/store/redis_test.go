package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"maps"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

// calls is every Store method, each a call that would work on a healthy
// store holding session "a1" of alice.
func calls(s store.Store, now time.Time) map[string]func(ctx context.Context) error {
	m := map[string]func(ctx context.Context) error{
		"CreateSession": func(ctx context.Context) error {
			// A new id each time: a frozen Redis may yet run the last call once thawed.
			id := "new" + strconv.FormatInt(time.Now().UnixNano(), 36)
			return s.CreateSession(ctx, newSession(id, bob, now))
		},
		"LiveSessions":      func(ctx context.Context) error { _, err := s.LiveSessions(ctx, alice, now); return err },
		"CountLiveSessions": func(ctx context.Context) error { _, err := s.CountLiveSessions(ctx, now); return err },
		"EndSession": func(ctx context.Context) error {
			_, err := s.EndSession(ctx, alice, "a1", store.ReasonUser, now)
			if errors.Is(err, store.ErrNotFound) {
				return nil // ended by an earlier round
			}
			return err
		},
		"EndSessionsOf": func(ctx context.Context) error {
			_, err := s.EndSessionsOf(ctx, "carol@example.com", store.ReasonAdmin, now)
			return err
		},
		"TouchSessions": func(ctx context.Context) error {
			return s.TouchSessions(ctx, map[string]time.Time{"a1": now})
		},
		"EndIdleSessions": func(ctx context.Context) error {
			_, err := s.EndIdleSessions(ctx, now.Add(-time.Hour), now)
			return err
		},
		"Snapshot": func(ctx context.Context) error { _, err := s.Snapshot(ctx, now); return err },
		"Changes": func(ctx context.Context) error {
			v, err := s.Snapshot(ctx, now)
			if err == nil {
				_, _, err = s.Changes(ctx, v.Version, 500*time.Millisecond)
			}
			return err
		},
		"Ping": func(ctx context.Context) error { return s.Ping(ctx) },
		"Spend": func(ctx context.Context) error {
			w := store.BudgetWindow{Key: "day/2026-12-07", Limit: store.MaxBudget, Expires: now.Add(24 * time.Hour)}
			_, _, err := s.Spend(ctx, alice, "", []store.BudgetWindow{w}, 1)
			return err
		},
		"Used": func(ctx context.Context) error {
			_, err := s.Used(ctx, alice, "", []string{"day/2026-12-07"})
			return err
		},
		"Usage": func(ctx context.Context) error { _, err := s.Usage(ctx, "", "day/2026-12-07"); return err },
	}
	maps.Copy(m, tokenCalls(s, now))
	return m
}

// tokenCalls is every token and device code method of Store, each a call
// that works on a healthy store, whatever it holds.
func tokenCalls(s store.Store, now time.Time) map[string]func(ctx context.Context) error {
	notFound := func(err error) error {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	return map[string]func(ctx context.Context) error{
		"CreateToken": func(ctx context.Context) error { return s.CreateToken(ctx, newToken(newID(), bob, now)) },
		"Tokens":      func(ctx context.Context) error { _, err := s.Tokens(ctx, bob, now); return err },
		"EndToken": func(ctx context.Context) error {
			return notFound(second(s.EndToken(ctx, bob, "t1", store.ReasonUser, now)))
		},
		"EndTokensOf": func(ctx context.Context) error { return second(s.EndTokensOf(ctx, carol, store.ReasonAdmin, now)) },
		"TouchTokens": func(ctx context.Context) error { return s.TouchTokens(ctx, map[string]time.Time{"t1": now}) },
		"CreateDeviceCode": func(ctx context.Context) error {
			return s.CreateDeviceCode(ctx, newDevice(newID(), newUserCode(), now))
		},
		"DeviceCodeByUser": func(ctx context.Context) error { return notFound(second(s.DeviceCodeByUser(ctx, "BCDFGHJK", now))) },
		"DecideDeviceCode": func(ctx context.Context) error {
			return notFound(second(s.DecideDeviceCode(ctx, "BCDFGHJK", alice, true, []string{""}, now)))
		},
		"PollDeviceCode": func(ctx context.Context) error { return notFound(second(s.PollDeviceCode(ctx, "d1", now))) },
		"RedeemDeviceCode": func(ctx context.Context) error {
			return notFound(second(s.RedeemDeviceCode(ctx, "d1", newToken(newID(), alice, now), now)))
		},
	}
}

// newID returns a new id each time: a frozen Redis may yet run the last
// call once thawed.
func newID() string {
	return "new" + strconv.FormatInt(time.Now().UnixNano(), 36) + rand.Text()[:6]
}

// newUserCode returns a random user code.
func newUserCode() string {
	b := make([]byte, 8)
	for i := range b {
		b[i] = store.UserCodeAlphabet[mrand.IntN(len(store.UserCodeAlphabet))]
	}
	return string(b)
}

// wantUnavailable runs every call at once and checks that each fails with
// ErrUnavailable within bound.
func wantUnavailable(t *testing.T, s store.Store, now time.Time, bound time.Duration) {
	t.Helper()
	var wg sync.WaitGroup
	for name, call := range calls(s, now) {
		wg.Go(func() {
			start := time.Now()
			err := call(t.Context())
			if took := time.Since(start); !errors.Is(err, store.ErrUnavailable) || took > bound {
				t.Errorf("%s() = %v after %v, want ErrUnavailable within %v", name, err, took.Round(time.Millisecond), bound)
			}
		})
	}
	wg.Wait()
}

// wantWorking checks that every call works, waiting up to 2 s for the
// first one (Ping) to.
func wantWorking(t *testing.T, s store.Store, now time.Time) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for s.Ping(t.Context()) != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for name, call := range calls(s, now) {
		if err := call(t.Context()); err != nil {
			t.Errorf("%s() = %v, want it to work again", name, err)
		}
	}
}

func TestRedisFrozen(t *testing.T) {
	t.Parallel()
	srv, now := redistest.Start(t), t0()
	s := mustOpen(t, srv.URL(), store.Options{})
	mustCreate(t, s, newSession("a1", alice, now))
	srv.Freeze(t)
	wantUnavailable(t, s, now, 3*time.Second)
	srv.Thaw(t)
	wantWorking(t, s, now)
}

func TestRedisKilled(t *testing.T) {
	t.Parallel()
	srv, now := redistest.Start(t, redistest.AppendOnly()), t0()
	s := mustOpen(t, srv.URL(), store.Options{})
	mustCreate(t, s, newSession("a1", alice, now))
	srv.Kill(t)
	wantUnavailable(t, s, now, 3*time.Second)
	srv.Restart(t)
	wantWorking(t, s, now)
	wantLive(t, s, alice, now)
}

func TestRedisNotThere(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	srv.Stop(t)
	s := mustOpen(t, srv.URL(), store.Options{})
	wantUnavailable(t, s, t0(), 3*time.Second)
	srv.Restart(t)
	wantWorking(t, s, t0())
}

func TestRedisOpenURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dsn string
	}{
		{"bad port", "redis://u:s3cret@127.0.0.1:port/0"},
		{"bad db", "redis://u:s3cret@127.0.0.1:6379/x"},
		{"bad path", "redis://u:s3cret@127.0.0.1:6379/0/1"},
		{"bad option", "redis://u:s3cret@127.0.0.1:6379/0?nope=1"},
		{"bad escape", "rediss://u:s3cret%zz@127.0.0.1:6379/0"},
	}
	for _, tt := range tests {
		s, err := store.Open(t.Context(), tt.dsn, store.Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%s) = nil error, want one", tt.name)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%s) = %v, which shows the password", tt.name, err)
		}
	}
}

func TestRedisKeyPrefix(t *testing.T) {
	t.Parallel()
	srv, now := redistest.Start(t), t0()
	a := mustOpen(t, srv.URL(), store.Options{KeyPrefix: "a:"})
	b := mustOpen(t, srv.URL(), store.Options{KeyPrefix: "b:"})
	a1 := newSession("a1", alice, now)
	mustCreate(t, a, a1)
	wantLive(t, a, alice, now, a1)
	wantLive(t, b, alice, now)
	_, err := b.EndSession(t.Context(), "", "a1", store.ReasonAdmin, now)
	wantErr(t, "EndSession(a1) with another prefix", err, store.ErrNotFound)
}

func TestRedisKeysExpire(t *testing.T) {
	t.Parallel()
	srv, now := redistest.Start(t), t0()
	s := mustOpen(t, srv.URL(), store.Options{})
	a1, a2 := newSession("a1", alice, now), newSession("a2", alice, now)
	a2.Expires = now.Add(48 * time.Hour)
	mustCreate(t, s, a1, a2)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer c.Close()
	tests := []struct {
		key  string
		want time.Time
	}{
		{"doorman:session:a1", a1.Expires},
		{"doorman:session:a2", a2.Expires},
		{"doorman:email:" + alice, a2.Expires},
	}
	for _, tt := range tests {
		got, err := c.PExpireTime(t.Context(), tt.key).Result()
		if err != nil || got != time.Duration(tt.want.UnixMilli())*time.Millisecond {
			t.Errorf("PEXPIRETIME %s = %v, %v; want %v", tt.key, got, err, tt.want.UnixMilli())
		}
	}
	mustEnd(t, s, "a1", now)
	if n, err := c.Exists(t.Context(), "doorman:session:a1").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS doorman:session:a1 after it ended = %d, %v; want 0", n, err)
	}
}

// TestRedisFrozenWritesStayUndone: a change that failed with
// ErrUnavailable while Redis was frozen is not made when Redis thaws and
// finally runs the command it had in its buffer: "not done" stays true.
func TestRedisFrozenWritesStayUndone(t *testing.T) {
	t.Parallel()
	srv, now := redistest.Start(t), t0()
	s := mustOpen(t, srv.URL(), store.Options{Timeout: 300 * time.Millisecond})
	mustCreate(t, s, newSession("a1", alice, now))
	window := []store.BudgetWindow{{Key: "day/2026-12-07", Limit: 10, Expires: time.Now().Add(time.Hour)}}
	// The first Spend measures the clocks' offset too. On a loaded machine
	// one may outlast the short timeout (and may or may not have counted):
	// try again, then read what was counted before the freeze.
	for try := 1; ; try++ {
		_, _, err := s.Spend(t.Context(), alice, "", window, 1)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) || try == 5 {
			t.Fatal(err)
		}
	}
	before, err := s.Used(t.Context(), alice, "", []string{"day/2026-12-07"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Freeze(t)
	writes := map[string]func() error{
		"CreateSession": func() error { return s.CreateSession(t.Context(), newSession("b1", bob, now)) },
		"EndSession":    func() error { _, err := s.EndSession(t.Context(), alice, "a1", store.ReasonUser, now); return err },
		"Spend":         func() error { _, _, err := s.Spend(t.Context(), alice, "", window, 1); return err },
		"CreateToken":   func() error { return s.CreateToken(t.Context(), newToken("t1", bob, now)) },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("%s with Redis frozen = %v, want ErrUnavailable", name, err)
		}
	}
	srv.Thaw(t)
	time.Sleep(300 * time.Millisecond) // Redis runs what it had buffered
	wantLive(t, s, alice, now.Add(time.Minute), newSession("a1", alice, now))
	wantLive(t, s, bob, now.Add(time.Minute))
	wantTokens(t, s, bob, now.Add(time.Minute))
	if used, err := s.Used(t.Context(), alice, "", []string{"day/2026-12-07"}); err != nil || used[0] != before[0] {
		t.Errorf("Used after a Spend that failed = %v, %v; want %v (what was counted before the freeze)", used, err, before)
	}
}
