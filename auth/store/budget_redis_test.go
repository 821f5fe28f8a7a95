package store_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

// TestRedisBudgetKeys checks the layout: a hash per list and window, under
// the prefix, expiring at the latest Expires given while it lives.
func TestRedisBudgetKeys(t *testing.T) {
	t.Parallel()
	srv, now := redistest.Start(t), t0()
	s := mustOpen(t, srv.URL(), store.Options{KeyPrefix: "dm:"})
	spend := func(list, key string, expires time.Time) {
		t.Helper()
		w := store.BudgetWindow{Key: key, Limit: 100, Expires: expires}
		if _, _, err := s.Spend(t.Context(), alice, list, []store.BudgetWindow{w}, 2); err != nil {
			t.Fatalf("Spend(%q, %s) = %v", list, key, err)
		}
	}
	spend("", dayKey, now.Add(time.Hour))
	spend("", dayKey, now.Add(2*time.Hour))
	spend("", dayKey, now.Add(30*time.Minute))
	spend("gpt4", hourKey, now.Add(time.Hour))
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer c.Close()
	tests := []struct {
		key     string
		used    string
		expires time.Time
	}{
		{"dm:budget::" + dayKey, "6", now.Add(2 * time.Hour)},
		{"dm:budget:gpt4:" + hourKey, "2", now.Add(time.Hour)},
	}
	for _, tt := range tests {
		if got, err := c.HGet(t.Context(), tt.key, alice).Result(); err != nil || got != tt.used {
			t.Errorf("HGET %s %s = %q, %v; want %q", tt.key, alice, got, err, tt.used)
		}
		got, err := c.PExpireTime(t.Context(), tt.key).Result()
		if err != nil || got != time.Duration(tt.expires.UnixMilli())*time.Millisecond {
			t.Errorf("PEXPIRETIME %s = %v, %v; want %v", tt.key, got, err, tt.expires.UnixMilli())
		}
	}
}
