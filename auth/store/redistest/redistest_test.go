package redistest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"doorman/auth/store/redistest"
)

func newClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatalf("ParseURL(%q) = %v", srv.URL(), err)
	}
	opt.MaxRetries, opt.ReadTimeout, opt.DialTimeout = -1, 200*time.Millisecond, 200*time.Millisecond
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// pingErr pings through c, bounded to 300 ms.
func pingErr(t *testing.T, c *redis.Client) error {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	return c.Ping(ctx).Err()
}

func TestOutages(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := newClient(t, srv)
	steps := []struct {
		name   string
		do     func(testing.TB)
		answer bool
	}{
		{"started", func(testing.TB) {}, true},
		{"frozen", srv.Freeze, false},
		{"thawed", srv.Thaw, true},
		{"killed", srv.Kill, false},
		{"restarted", srv.Restart, true},
		{"stopped", srv.Stop, false},
		{"restarted again", srv.Restart, true},
	}
	for _, st := range steps {
		st.do(t)
		if err := pingErr(t, c); (err == nil) != st.answer {
			t.Errorf("PING when %s = %v, want an answer %v", st.name, err, st.answer)
		}
	}
}

func TestAppendOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []redistest.Option
		want string
	}{
		{"without persistence", nil, ""},
		{"append-only", []redistest.Option{redistest.AppendOnly()}, "kept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t, tt.opts...)
			c := newClient(t, srv)
			if err := c.Set(t.Context(), "k", "kept", 0).Err(); err != nil {
				t.Fatalf("SET = %v", err)
			}
			srv.Kill(t)
			srv.Restart(t)
			got, err := c.Get(t.Context(), "k").Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatalf("GET = %v", err)
			}
			if got != tt.want {
				t.Errorf("GET k after Kill and Restart = %q, want %q", got, tt.want)
			}
		})
	}
}
