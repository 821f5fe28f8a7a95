package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// counter is a live budget row as read: its count and its expiry.
type counter struct{ used, expires int64 }

// Spend implements Store. It is one write transaction (BEGIN IMMEDIATE:
// one writer at a time over every process using the file) that reads the
// counters, decides and writes them; the commit is durable (synchronous
// FULL) before it returns.
func (s *sqliteStore) Spend(ctx context.Context, email, list string, windows []BudgetWindow, cost int64) (bool, []int64, error) {
	sp, err := newSpend(email, list, windows, cost)
	if err != nil {
		return false, nil, fmt.Errorf("spend: %w", err)
	}
	release, err := s.takeTurn(ctx)
	if err != nil {
		return false, nil, fmt.Errorf("spend: %w", err)
	}
	defer release()
	now := millis(time.Now())
	// The zero time: sessions are purged by their callers' clocks, not here.
	err = s.write(ctx, time.Time{}, func(tx *sql.Tx) error {
		cur, err := readCounters(ctx, tx, email, list, sp.keys(), now)
		if err != nil {
			return err
		}
		for j, w := range sp.windows {
			sp.used[j] = cur[w.Key].used
		}
		if sp.allowed = sp.fits(); !sp.allowed {
			return nil
		}
		if err := s.addCounters(ctx, tx, sp, cur); err != nil {
			return err
		}
		return s.purgeBudget(ctx, tx, now)
	})
	if err != nil {
		return false, nil, fmt.Errorf("spend: %w", err)
	}
	return sp.allowed, sp.result(), nil
}

// takeTurn waits, up to the busy timeout, until no other Spend of this
// process writes, and returns the function that ends its turn. Spends of
// one process queue here in order, rather than all polling for the file's
// lock, which SQLite grants in no order: under load some would wait for
// seconds. Other processes still wait on the lock itself.
func (s *sqliteStore) takeTurn(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(s.busy)
	defer t.Stop()
	select {
	case s.spending <- struct{}{}:
		return func() { <-s.spending }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, fmt.Errorf("%w: no turn to write within %v", ErrUnavailable, s.busy)
	}
}

// addCounters adds sp's cost to its counters, whose live rows are cur. A
// live row keeps the later of its expiry and the window's; a new or
// expired one starts over.
func (s *sqliteStore) addCounters(ctx context.Context, tx *sql.Tx, sp *spend, cur map[string]counter) error {
	for j, w := range sp.windows {
		sp.used[j] += sp.cost
		expires := max(cur[w.Key].expires, millis(w.Expires))
		_, err := tx.ExecContext(ctx, `INSERT INTO budget (list, window_key, email, used, expires)
			VALUES (?1, ?2, ?3, ?4, ?5)
			ON CONFLICT DO UPDATE SET used = excluded.used, expires = excluded.expires`,
			sp.list, w.Key, sp.email, sp.used[j], expires)
		if err != nil {
			return err
		}
	}
	return nil
}

// purgeBudget deletes the counters expired at now, at most once a minute.
func (s *sqliteStore) purgeBudget(ctx context.Context, tx *sql.Tx, now int64) error {
	last := s.budgetAt.Load()
	if now-last < time.Minute.Milliseconds() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM budget WHERE expires <= ?", now); err != nil {
		return err
	}
	s.budgetAt.CompareAndSwap(last, now)
	return nil
}

// Used implements Store.
func (s *sqliteStore) Used(ctx context.Context, email, list string, keys []string) ([]int64, error) {
	if err := validCounter(email, list); err != nil {
		return nil, fmt.Errorf("budget used: %w", err)
	}
	if err := validKeys(keys); err != nil {
		return nil, fmt.Errorf("budget used: %w", err)
	}
	cur, err := readCounters(ctx, s.db, email, list, keys, millis(time.Now()))
	if err != nil {
		return nil, fmt.Errorf("budget used: %w", sqliteErr(err))
	}
	used := make([]int64, len(keys))
	for i, k := range keys {
		used[i] = cur[k].used
	}
	return used, nil
}

// querier is what readCounters needs of a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readCounters reads, in one statement, email's counters of list in the
// windows keys that are live at now; the others are missing from the map.
func readCounters(ctx context.Context, q querier, email, list string, keys []string, now int64) (map[string]counter, error) {
	cur := make(map[string]counter, len(keys))
	if len(keys) == 0 {
		return cur, nil
	}
	args := []any{list, email, now}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := q.QueryContext(ctx, `SELECT window_key, used, expires FROM budget
		WHERE list = ? AND email = ? AND expires > ? AND window_key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`,
		args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var c counter
		if err := rows.Scan(&k, &c.used, &c.expires); err != nil {
			return nil, err
		}
		cur[k] = c
	}
	return cur, rows.Err()
}

// Usage implements Store.
func (s *sqliteStore) Usage(ctx context.Context, list, key string) ([]BudgetUsage, error) {
	if err := validList(list); err != nil {
		return nil, fmt.Errorf("budget usage: %w", err)
	}
	if err := validWindowKey(key); err != nil {
		return nil, fmt.Errorf("budget usage: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT email, used FROM budget
		WHERE list = ? AND window_key = ? AND expires > ? ORDER BY email`, list, key, millis(time.Now()))
	if err != nil {
		return nil, fmt.Errorf("budget usage: %w", sqliteErr(err))
	}
	defer rows.Close()
	us := []BudgetUsage{}
	for rows.Next() {
		var u BudgetUsage
		if err := rows.Scan(&u.Email, &u.Used); err != nil {
			return nil, fmt.Errorf("budget usage: %w", sqliteErr(err))
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("budget usage: %w", sqliteErr(err))
	}
	return us, nil
}
