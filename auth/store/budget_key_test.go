package store

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var budgetNameTests = []struct {
	list, key string
	ok        bool
}{
	{"", "day/2026-12-07", true},
	{"gpt4", "hour/2026-12-07T13", true},
	{"gpt-4.1_mini", "minute/2026-12-07T13:05", true},
	{strings.Repeat("l", 64), strings.Repeat("k", 40), true},
	{"a", "w", true},
	{strings.Repeat("l", 65), "day/2026-12-07", false},
	{"a:b", "day/2026-12-07", false},
	{"a b", "day/2026-12-07", false},
	{"a/b", "day/2026-12-07", false},
	{"é", "day/2026-12-07", false},
	{"gpt4", "", false},
	{"gpt4", strings.Repeat("k", 41), false},
	{"gpt4", "day_1", false},
	{"gpt4", "day 1", false},
	{"gpt4", "day.1", false},
	{"gpt4", "day*", false},
	{"gpt4", "day\x00", false},
}

func TestBudgetNames(t *testing.T) {
	for _, tt := range budgetNameTests {
		err := validList(tt.list)
		if err == nil {
			err = validWindowKey(tt.key)
		}
		if (err == nil) != tt.ok {
			t.Errorf("validList(%q), validWindowKey(%q) = %v, want ok %v", tt.list, tt.key, err, tt.ok)
		}
	}
}

// FuzzBudgetKey checks that exactly the documented names are accepted, and
// that the Redis keys built of them part back into the same list and
// window key: no two counters share a Redis key.
func FuzzBudgetKey(f *testing.F) {
	for _, tt := range budgetNameTests {
		f.Add(tt.list, tt.key)
	}
	f.Fuzz(func(t *testing.T, list, key string) {
		const listBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
		if want := len(list) <= 64 && strings.Trim(list, listBytes) == ""; (validList(list) == nil) != want {
			t.Errorf("validList(%q) = %v, want ok %v", list, validList(list), want)
		}
		const keyBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:-"
		if want := key != "" && len(key) <= 40 && strings.Trim(key, keyBytes) == ""; (validWindowKey(key) == nil) != want {
			t.Errorf("validWindowKey(%q) = %v, want ok %v", key, validWindowKey(key), want)
		}
		if validList(list) != nil || validWindowKey(key) != nil {
			return
		}
		rest, ok := strings.CutPrefix(budgetKey("doorman:", list, key), "doorman:budget:")
		gotList, gotKey, _ := strings.Cut(rest, ":")
		if !ok || gotList != list || gotKey != key {
			t.Errorf("budgetKey(%q, %q) parts into %q, %q", list, key, gotList, gotKey)
		}
	})
}

func TestNewSpendMerges(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_000).UTC()
	ws := []BudgetWindow{
		{Key: "day/1", Limit: 100, Expires: at},
		{Key: "hour/1", Limit: 20, Expires: at},
		{Key: "day/1", Limit: 50, Expires: at.Add(time.Hour)},
		{Key: "day/1", Limit: 70, Expires: at.Add(time.Nanosecond)},
	}
	sp, err := newSpend("a@example.com", "", ws, 1)
	if err != nil {
		t.Fatalf("newSpend() = %v", err)
	}
	want := []BudgetWindow{{Key: "day/1", Limit: 50, Expires: at.Add(time.Hour)}, {Key: "hour/1", Limit: 20, Expires: at}}
	if !slices.Equal(sp.windows, want) || !slices.Equal(sp.index, []int{0, 1, 0, 0}) {
		t.Errorf("newSpend() merged into %v, %v; want %v, [0 1 0 0]", sp.windows, sp.index, want)
	}
	sp.used = []int64{7, 3}
	if got := sp.result(); !slices.Equal(got, []int64{7, 3, 7, 7}) {
		t.Errorf("result() = %v, want [7 3 7 7]", got)
	}
}
