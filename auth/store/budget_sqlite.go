package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// counter is a live budget row as read: its count and its expiry.
type counter struct{ used, expires int64 }

// Spend implements Store. Spends of one process commit in groups: each
// joins the queue, and whichever holds the turn to write takes every Spend
// waiting and works them out one after another in one write transaction
// (BEGIN IMMEDIATE: one writer at a time over every process using the
// file), so one durable commit (synchronous FULL) serves them all. Each is
// decided on the counters as the ones before it left them, exactly as if
// they had run alone, and none returns before its group's commit.
func (s *sqliteStore) Spend(ctx context.Context, email, list string, windows []BudgetWindow, cost int64) (bool, []int64, error) {
	sp, err := newSpend(email, list, windows, cost)
	if err != nil {
		return false, nil, fmt.Errorf("spend: %w", err)
	}
	call := &spendCall{sp: sp, done: make(chan error, 1)}
	if err := s.spends.run(ctx, call, s.busy, s.spendGroup); err != nil {
		return false, nil, fmt.Errorf("spend: %w", err)
	}
	return sp.allowed, sp.result(), nil
}

// spendGroup works out calls in one write transaction, in order, and
// commits them together: an error leaves every counter as it was.
func (s *sqliteStore) spendGroup(ctx context.Context, calls []*spendCall) error {
	now := millis(time.Now())
	// The zero time: sessions are purged by their callers' clocks, not here.
	return s.write(ctx, time.Time{}, func(tx *sql.Tx) error {
		read, add := tx.StmtContext(ctx, s.readCounter), tx.StmtContext(ctx, s.addCounter)
		defer read.Close()
		defer add.Close()
		for _, c := range calls {
			if err := spendIn(ctx, read, add, c.sp, now); err != nil {
				return err
			}
		}
		return s.purgeBudget(ctx, tx, now)
	})
}

// Statements of a Spend, prepared once when the store opens: parsing them
// anew would cost more than running them.
const (
	// readCounterSQL reads one live counter: its count and expiry.
	readCounterSQL = `SELECT used, expires FROM budget
		WHERE list = ?1 AND window_key = ?2 AND email = ?3 AND expires > ?4`
	// addCounterSQL sets one counter to its new count, creating it as needed.
	addCounterSQL = `INSERT INTO budget (list, window_key, email, used, expires)
		VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT DO UPDATE SET used = excluded.used, expires = excluded.expires`
)

// spendIn reads sp's counters live at now with read, decides, and when the
// cost fits adds it with add. A live counter keeps the later of its expiry
// and the window's; a new or expired one starts over.
func spendIn(ctx context.Context, read, add *sql.Stmt, sp *spend, now int64) error {
	expires := make([]int64, len(sp.windows))
	for j, w := range sp.windows {
		err := read.QueryRowContext(ctx, sp.list, w.Key, sp.email, now).Scan(&sp.used[j], &expires[j])
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if sp.allowed = sp.fits(); !sp.allowed {
		return nil
	}
	for j, w := range sp.windows {
		sp.used[j] += sp.cost
		if _, err := add.ExecContext(ctx, sp.list, w.Key, sp.email, sp.used[j], max(expires[j], millis(w.Expires))); err != nil {
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
