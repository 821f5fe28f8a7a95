package store

import (
	"fmt"
	"time"
)

// BudgetWindow is one counter: a person's spending on one list in one
// calendar window of one limit. The caller works the windows out; the
// store only counts.
type BudgetWindow struct {
	// Key names the window, e.g. "day/2026-12-07" or "hour/2026-12-07T13":
	// 1 to 40 characters of [A-Za-z0-9/:-]. With the email and the list it
	// names the counter, whatever the Limit.
	Key string
	// Limit is the most that may be spent in the window: 1 to MaxBudget.
	Limit int64
	// Expires is when the counter may be dropped: the window's end, plus a
	// margin of the caller's. It is judged by the store's clock (the
	// machine's for SQLite, Redis's own), NOT by a clock the caller
	// injects: a window that has already expired counts nothing.
	Expires time.Time
}

// BudgetUsage is one person's counter in one window.
type BudgetUsage struct {
	Email string
	Used  int64
}

// MaxBudget bounds a Limit and a cost, so that every sum the store makes
// stays exact (Redis's scripts count in float64).
const MaxBudget = 1 << 50

const (
	maxWindowKeyLen = 40 // longest BudgetWindow.Key
	maxListLen      = 64 // longest list name
	maxWindows      = 16 // most windows one Spend may count in
)

// validList reports whether list may name a list: "" (the main list) or 1
// to 64 characters of [A-Za-z0-9._-].
func validList(list string) error {
	if len(list) > maxListLen {
		return fmt.Errorf("list name of %d bytes, want at most %d", len(list), maxListLen)
	}
	for i := 0; i < len(list); i++ {
		if c := list[i]; !idByte(c) && c != '.' {
			return fmt.Errorf("list name has %q at %d, want only [A-Za-z0-9._-]", c, i)
		}
	}
	return nil
}

// validWindowKey reports whether key may name a window: 1 to 40 characters
// of [A-Za-z0-9/:-].
func validWindowKey(key string) error {
	if key == "" || len(key) > maxWindowKeyLen {
		return fmt.Errorf("window key of %d bytes, want 1 to %d", len(key), maxWindowKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c == '_' || !idByte(c) && c != '/' && c != ':' {
			return fmt.Errorf("window key has %q at %d, want only [A-Za-z0-9/:-]", c, i)
		}
	}
	return nil
}

// validCounter checks the email and list that, with a window key, name a
// counter.
func validCounter(email, list string) error {
	if email == "" || len(email) > maxEmailLen {
		return fmt.Errorf("email of %d bytes, want 1 to %d", len(email), maxEmailLen)
	}
	return validList(list)
}

// validKeys checks every key of keys.
func validKeys(keys []string) error {
	for _, k := range keys {
		if err := validWindowKey(k); err != nil {
			return err
		}
	}
	return nil
}

// spend is one Spend being worked out: its windows merged by Key, and the
// counters of the merged windows as they are read, then as they are left.
type spend struct {
	email, list string
	cost        int64
	windows     []BudgetWindow // one per Key
	index       []int          // the caller's window i is windows[index[i]]
	used        []int64        // windows[j]'s counter
	allowed     bool
}

// newSpend checks a Spend's arguments and merges windows of the same Key
// (one counter: the smallest Limit and latest Expires apply).
func newSpend(email, list string, windows []BudgetWindow, cost int64) (*spend, error) {
	if err := validCounter(email, list); err != nil {
		return nil, err
	}
	if cost < 1 || cost > MaxBudget {
		return nil, fmt.Errorf("cost %d, want 1 to %d", cost, int64(MaxBudget))
	}
	if len(windows) == 0 || len(windows) > maxWindows {
		return nil, fmt.Errorf("%d windows, want 1 to %d", len(windows), maxWindows)
	}
	sp := &spend{email: email, list: list, cost: cost, index: make([]int, len(windows))}
	seen := make(map[string]int, len(windows))
	for i, w := range windows {
		if err := w.check(); err != nil {
			return nil, err
		}
		w.Expires = fromMillis(millis(w.Expires))
		j, ok := seen[w.Key]
		if !ok {
			j, seen[w.Key] = len(sp.windows), len(sp.windows)
			sp.windows = append(sp.windows, w)
		}
		sp.index[i] = j
		sp.windows[j].Limit = min(sp.windows[j].Limit, w.Limit)
		if w.Expires.After(sp.windows[j].Expires) {
			sp.windows[j].Expires = w.Expires
		}
	}
	sp.used = make([]int64, len(sp.windows))
	return sp, nil
}

// check checks one window.
func (w BudgetWindow) check() error {
	if err := validWindowKey(w.Key); err != nil {
		return err
	}
	if w.Limit < 1 || w.Limit > MaxBudget {
		return fmt.Errorf("window %s: limit %d, want 1 to %d", w.Key, w.Limit, int64(MaxBudget))
	}
	if millis(w.Expires) <= 0 {
		return fmt.Errorf("window %s: no expiry time", w.Key)
	}
	return nil
}

// fits reports whether cost fits in every window, given the counters read.
func (sp *spend) fits() bool {
	for j, w := range sp.windows {
		if sp.used[j]+sp.cost > w.Limit {
			return false
		}
	}
	return true
}

// keys returns the merged windows' keys.
func (sp *spend) keys() []string {
	keys := make([]string, len(sp.windows))
	for j, w := range sp.windows {
		keys[j] = w.Key
	}
	return keys
}

// result returns the counters in the order of the caller's windows.
func (sp *spend) result() []int64 {
	used := make([]int64, len(sp.index))
	for i, j := range sp.index {
		used[i] = sp.used[j]
	}
	return used
}
