package store_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

// TestRedisTokenKeys checks the layout of tokens and device codes: keys
// under the prefix, each expiring with what it holds (a device code ten
// minutes later), an ended token's hash kept so that its id stays taken.
func TestRedisTokenKeys(t *testing.T) {
	t.Parallel()
	srv, now := redistest.Start(t), t0()
	s := mustOpen(t, srv.URL(), store.Options{KeyPrefix: "dm:"})
	a1, a2 := newToken("a1", alice, now), newToken("a2", alice, now)
	a2.Expires = a1.Expires.Add(time.Hour)
	mustCreateToken(t, s, a1, a2)
	mustEndToken(t, s, "a2", now)
	d := newDevice("d1", "BCDFGHJK", now)
	mustCreateDevice(t, s, d)

	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer c.Close()
	for _, tt := range []struct {
		key  string
		want time.Time
	}{
		{"dm:token:a1", a1.Expires},
		{"dm:token:a2", a2.Expires},
		{"dm:tokens:" + alice, a2.Expires},
		{"dm:device:d1", d.Expires.Add(10 * time.Minute)},
		{"dm:devuser:BCDFGHJK", d.Expires.Add(10 * time.Minute)},
	} {
		got, err := c.PExpireTime(t.Context(), tt.key).Result()
		if err != nil || got != time.Duration(tt.want.UnixMilli())*time.Millisecond {
			t.Errorf("PEXPIRETIME %s = %v, %v; want %v", tt.key, got, err, tt.want.UnixMilli())
		}
	}
	if got, err := c.ZRange(t.Context(), "dm:tokens", 0, -1).Result(); err != nil || len(got) != 1 || got[0] != "a1" {
		t.Errorf("ZRANGE dm:tokens = %v, %v; want [a1]", got, err)
	}
	if got, err := c.HGet(t.Context(), "dm:token:a2", "ended_by").Result(); err != nil || got != "admin" {
		t.Errorf("HGET dm:token:a2 ended_by = %q, %v; want admin", got, err)
	}
}
