package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"doorman/auth/store"
)

const (
	dayKey   = "day/2026-12-07"
	hourKey  = "hour/2026-12-07T13"
	monthKey = "month/2026-12"
	carol    = "carol@example.com"
)

// window returns a window of key with limit, expiring in a day.
func window(key string, limit int64) store.BudgetWindow {
	return store.BudgetWindow{Key: key, Limit: limit, Expires: t0().Add(24 * time.Hour)}
}

// wantSpend spends cost and checks the answer.
func wantSpend(t *testing.T, s store.Store, email, list string, ws []store.BudgetWindow, cost int64, allowed bool, used ...int64) {
	t.Helper()
	ok, got, err := s.Spend(t.Context(), email, list, ws, cost)
	call := fmt.Sprintf("Spend(%s, %q, %d)", email, list, cost)
	if err != nil {
		t.Fatalf("%s = %v", call, err)
	}
	if ok != allowed || !slices.Equal(got, used) {
		t.Errorf("%s = %v, %v; want %v, %v", call, ok, got, allowed, used)
	}
}

// wantUsed checks email's counters of list in the windows keys.
func wantUsed(t *testing.T, s store.Store, email, list string, keys []string, want ...int64) {
	t.Helper()
	got, err := s.Used(t.Context(), email, list, keys)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Used(%s, %q, %v) = %v, %v; want %v", email, list, keys, got, err, want)
	}
}

// wantUsage checks everyone's counters of list in the window key.
func wantUsage(t *testing.T, s store.Store, list, key string, want ...store.BudgetUsage) {
	t.Helper()
	got, err := s.Usage(t.Context(), list, key)
	if err != nil || !slices.Equal(got, want) || got == nil {
		t.Errorf("Usage(%q, %s) = %v, %v; want %v", list, key, got, err, want)
	}
}

func testSpendLimit(t *testing.T, fx fixture) {
	s := fx.open(t, store.Options{})
	day := []store.BudgetWindow{window(dayKey, 10)}
	wantSpend(t, s, alice, "gpt4", day, 4, true, 4)
	wantSpend(t, s, alice, "gpt4", day, 6, true, 10) // to the limit exactly
	wantSpend(t, s, alice, "gpt4", day, 1, false, 10)
	wantUsed(t, s, alice, "gpt4", []string{dayKey}, 10)

	wantSpend(t, s, bob, "gpt4", day, 8, true, 8)
	wantSpend(t, s, bob, "gpt4", day, 3, false, 8) // would cross: nothing added
	wantSpend(t, s, bob, "gpt4", day, 11, false, 8)
	wantSpend(t, s, bob, "gpt4", day, 2, true, 10)
	wantSpend(t, s, carol, "gpt4", day, 11, false, 0)
	wantUsed(t, s, carol, "gpt4", []string{dayKey}, 0)

	// A higher limit (the whitelist changed) counts on from where it was.
	wantSpend(t, s, alice, "gpt4", []store.BudgetWindow{window(dayKey, 15)}, 5, true, 15)
}

func testSpendWindows(t *testing.T, fx fixture) {
	s := fx.open(t, store.Options{})
	ws := []store.BudgetWindow{window(dayKey, 100), window(hourKey, 5)}
	wantSpend(t, s, alice, "", ws, 5, true, 5, 5)
	wantSpend(t, s, alice, "", ws, 1, false, 5, 5) // the hour is full, the day is not
	wantUsed(t, s, alice, "", []string{dayKey, hourKey}, 5, 5)

	next := []store.BudgetWindow{window(dayKey, 100), window("hour/2026-12-07T14", 5)}
	wantSpend(t, s, alice, "", next, 1, true, 6, 1)

	// Two limits of one window are one counter, added to once, under the
	// smaller limit.
	same := []store.BudgetWindow{window(dayKey, 100), window(dayKey, 7), window(monthKey, 1000)}
	wantSpend(t, s, alice, "", same, 1, true, 7, 7, 1)
	wantSpend(t, s, alice, "", same, 1, false, 7, 7, 1)
	wantUsed(t, s, alice, "", []string{dayKey, monthKey, dayKey}, 7, 1, 7)
}

func testBudgetUsage(t *testing.T, fx fixture) {
	s := fx.open(t, store.Options{})
	day := []store.BudgetWindow{window(dayKey, 100)}
	wantSpend(t, s, carol, "gpt4", day, 3, true, 3)
	wantSpend(t, s, alice, "gpt4", day, 1, true, 1)
	wantSpend(t, s, bob, "gpt4", []store.BudgetWindow{window(dayKey, 100), window(hourKey, 50)}, 2, true, 2, 2)
	wantSpend(t, s, alice, "", day, 9, true, 9)
	wantSpend(t, s, alice, "gpt-4.1_mini", day, 4, true, 4)

	wantUsage(t, s, "gpt4", dayKey, store.BudgetUsage{Email: alice, Used: 1},
		store.BudgetUsage{Email: bob, Used: 2}, store.BudgetUsage{Email: carol, Used: 3})
	wantUsage(t, s, "gpt4", hourKey, store.BudgetUsage{Email: bob, Used: 2})
	wantUsage(t, s, "", dayKey, store.BudgetUsage{Email: alice, Used: 9})
	wantUsage(t, s, "gpt-4.1_mini", dayKey, store.BudgetUsage{Email: alice, Used: 4})
	wantUsage(t, s, "other", dayKey)
	wantUsage(t, s, "gpt4", monthKey)

	wantUsed(t, s, alice, "gpt4", []string{dayKey, hourKey, monthKey}, 1, 0, 0)
	wantUsed(t, s, alice, "", []string{dayKey}, 9)
	wantUsed(t, s, alice, "", nil)
	wantUsage(t, fx.other(t), "gpt4", dayKey)
}

func testBudgetInvalid(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	long := strings.Repeat("a", 310) + "@example.com" // 322 bytes
	tests := []struct {
		name, email, list string
		ws                []store.BudgetWindow
		cost              int64
	}{
		{"no email", "", "", []store.BudgetWindow{window(dayKey, 10)}, 1},
		{"long email", long, "", []store.BudgetWindow{window(dayKey, 10)}, 1},
		{"list with a colon", alice, "a:b", []store.BudgetWindow{window(dayKey, 10)}, 1},
		{"list with a space", alice, "a b", []store.BudgetWindow{window(dayKey, 10)}, 1},
		{"list of 65", alice, strings.Repeat("l", 65), []store.BudgetWindow{window(dayKey, 10)}, 1},
		{"cost 0", alice, "", []store.BudgetWindow{window(dayKey, 10)}, 0},
		{"cost -1", alice, "", []store.BudgetWindow{window(dayKey, 10)}, -1},
		{"cost too high", alice, "", []store.BudgetWindow{window(dayKey, 10)}, store.MaxBudget + 1},
		{"no windows", alice, "", nil, 1},
		{"17 windows", alice, "", slices.Repeat([]store.BudgetWindow{window(dayKey, 10)}, 17), 1},
		{"empty key", alice, "", []store.BudgetWindow{window("", 10)}, 1},
		{"key of 41", alice, "", []store.BudgetWindow{window(strings.Repeat("k", 41), 10)}, 1},
		{"key with a space", alice, "", []store.BudgetWindow{window("day 1", 10)}, 1},
		{"key with _", alice, "", []store.BudgetWindow{window("day_1", 10)}, 1},
		{"key with *", alice, "", []store.BudgetWindow{window("day*", 10)}, 1},
		{"limit 0", alice, "", []store.BudgetWindow{window(dayKey, 0)}, 1},
		{"limit too high", alice, "", []store.BudgetWindow{window(dayKey, store.MaxBudget+1)}, 1},
		{"one bad window", alice, "", []store.BudgetWindow{window(dayKey, 10), window(hourKey, -5)}, 1},
		{"no expiry", alice, "", []store.BudgetWindow{{Key: dayKey, Limit: 10}}, 1},
	}
	for _, tt := range tests {
		_, _, err := s.Spend(t.Context(), tt.email, tt.list, tt.ws, tt.cost)
		if err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Spend(%s) = %v, want an error other than ErrUnavailable", tt.name, err)
		}
	}
	wantUsage(t, s, "", dayKey)
	for name, err := range map[string]error{
		"Used(bad key)":   second(s.Used(t.Context(), alice, "", []string{dayKey, "day?"})),
		"Used(bad list)":  second(s.Used(t.Context(), alice, "a/b", []string{dayKey})),
		"Used(no email)":  second(s.Used(t.Context(), "", "", []string{dayKey})),
		"Usage(bad list)": second(s.Usage(t.Context(), "a b", dayKey)),
		"Usage(no key)":   second(s.Usage(t.Context(), "", "")),
		"Usage(long key)": second(s.Usage(t.Context(), "", strings.Repeat("k", 41))),
	} {
		if err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s = %v, want an error other than ErrUnavailable", name, err)
		}
	}
	// The longest names and the largest amounts are fine.
	biggest := store.BudgetWindow{Key: strings.Repeat("k", 40), Limit: store.MaxBudget, Expires: now.Add(time.Hour)}
	wantSpend(t, s, long[2:], strings.Repeat("l", 64), []store.BudgetWindow{biggest}, store.MaxBudget, true, store.MaxBudget)
}

// second returns its second argument: the error of a call.
func second[T any](_ T, err error) error { return err }

func testBudgetExpiry(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	past := []store.BudgetWindow{{Key: dayKey, Limit: 10, Expires: now.Add(-time.Minute)}}
	wantSpend(t, s, alice, "", past, 3, true, 3)
	wantSpend(t, s, alice, "", past, 8, true, 8) // the counter was gone at once
	wantUsed(t, s, alice, "", []string{dayKey}, 0)
	wantUsage(t, s, "", dayKey)

	soon := []store.BudgetWindow{{Key: hourKey, Limit: 10, Expires: now.Add(200 * time.Millisecond)}}
	wantSpend(t, s, alice, "", soon, 7, true, 7)
	wantUsage(t, s, "", hourKey, store.BudgetUsage{Email: alice, Used: 7})
	waitFor(t, 3*time.Second, func() bool {
		used, err := s.Used(t.Context(), alice, "", []string{hourKey})
		return err == nil && used[0] == 0
	})
	wantUsage(t, s, "", hourKey)
	wantSpend(t, s, alice, "", []store.BudgetWindow{window(hourKey, 10)}, 10, true, 10)
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testBudgetDurable(t *testing.T, fx fixture) {
	s := fx.open(t, store.Options{})
	ws := []store.BudgetWindow{window(dayKey, 10), window(hourKey, 4)}
	wantSpend(t, s, alice, "gpt4", ws, 3, true, 3, 3)
	wantSpend(t, s, bob, "", ws, 4, true, 4, 4)
	s = fx.reopen(t, s)
	wantUsed(t, s, alice, "gpt4", []string{dayKey, hourKey}, 3, 3)
	wantSpend(t, s, alice, "gpt4", ws, 2, false, 3, 3)
	wantSpend(t, s, alice, "gpt4", ws, 1, true, 4, 4)
	wantUsage(t, s, "", hourKey, store.BudgetUsage{Email: bob, Used: 4})
}

// testBudgetExact spends 1 at a time from many goroutines over two Stores
// (two processes or replicas) at once: exactly the limit is admitted, and
// each admitted Spend saw its own count.
func testBudgetExact(t *testing.T, fx fixture) {
	const handles, workers, tries, limit = 2, 16, 8, 100
	ws := []store.BudgetWindow{window(dayKey, limit), window(monthKey, 1000)}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex // guards seen and errs
		seen   []int64    // the day's count each admitted Spend reported
		errs   int
		stores []store.Store
	)
	for range handles {
		s := fx.open(t, store.Options{})
		stores = append(stores, s)
		for range workers {
			wg.Go(func() {
				for range tries {
					ok, used, err := s.Spend(t.Context(), alice, "gpt4", ws, 1)
					mu.Lock()
					if err != nil {
						errs++
					} else if ok {
						seen = append(seen, used[0])
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	attempts := handles * workers * tries
	t.Logf("%d goroutines over %d stores: %d attempts, %d admitted, %d refused, %d failed",
		handles*workers, handles, attempts, len(seen), attempts-len(seen)-errs, errs)
	slices.Sort(seen)
	if errs != 0 || len(seen) != limit || seen[0] != 1 || seen[limit-1] != limit || len(slices.Compact(seen)) != limit {
		t.Errorf("admitted %d (counts %v…), %d failed; want exactly 1 to %d, none failed", len(seen), seen[:min(5, len(seen))], errs, limit)
	}
	for _, s := range stores {
		wantUsed(t, s, alice, "gpt4", []string{dayKey, monthKey}, limit, limit)
	}
}
