package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// maxBatch bounds the changes one Changes call returns.
const maxBatch = 1000

// appendChanges records the ending of ended in the change feed.
func (s *sqliteStore) appendChanges(ctx context.Context, tx *sql.Tx, ended []Session) error {
	cs := make([]Change, len(ended))
	for i, e := range ended {
		cs[i] = Change{Kind: SessionEnded, ID: e.ID, Expires: e.Expires}
	}
	return s.record(ctx, tx, cs)
}

// record appends cs to the change feed, a TokenMade's token as the row's
// data, and trims the feed to its length. Rows' seq never repeat
// (AUTOINCREMENT) and, as SQLite has one writer at a time, commit in seq
// order: the rows a reader sees are gapless past the trimmed ones.
func (s *sqliteStore) record(ctx context.Context, tx *sql.Tx, cs []Change) error {
	if len(cs) == 0 {
		return nil
	}
	insert, err := tx.PrepareContext(ctx, `INSERT INTO changes (kind, id, expires, data) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	for _, c := range cs {
		var data sql.NullString
		if c.Token != nil {
			data = sql.NullString{String: encodeToken(*c.Token), Valid: true}
		}
		if _, err := insert.ExecContext(ctx, string(c.Kind), c.ID, millis(c.Expires), data); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?`, s.feedLen)
	return err
}

// Snapshot implements Store.
func (s *sqliteStore) Snapshot(ctx context.Context, now time.Time) (View, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return View{}, fmt.Errorf("snapshot: %w", sqliteErr(err))
	}
	defer tx.Rollback()
	v, err := s.lastVersion(ctx, tx)
	if err != nil {
		return View{}, fmt.Errorf("snapshot: %w", sqliteErr(err))
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, expires FROM sessions
		WHERE ended IS NOT NULL AND expires > ?`, millis(now))
	if err != nil {
		return View{}, fmt.Errorf("snapshot: %w", sqliteErr(err))
	}
	ended, err := scanEnded(rows)
	if err != nil {
		return View{}, fmt.Errorf("snapshot: %w", sqliteErr(err))
	}
	tokens, err := snapshotTokens(ctx, tx, now)
	if err != nil {
		return View{}, fmt.Errorf("snapshot: %w", sqliteErr(err))
	}
	return View{Ended: ended, Tokens: tokenMap(tokens), Version: v}, nil
}

// snapshotTokens returns every live token at now in no particular order:
// unlike Tokens, Snapshot has no use for the order, whose sort was most of
// its time with 100,000 tokens.
func snapshotTokens(ctx context.Context, tx *sql.Tx, now time.Time) ([]Token, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens
		WHERE ended IS NULL AND expires > ?`, millis(now))
	if err != nil {
		return nil, err
	}
	return scanTokens(rows)
}

// scanEnded reads (id, expires) rows and closes rows.
func scanEnded(rows *sql.Rows) (map[string]time.Time, error) {
	defer rows.Close()
	ended := make(map[string]time.Time)
	for rows.Next() {
		var id string
		var expires int64
		if err := rows.Scan(&id, &expires); err != nil {
			return nil, err
		}
		ended[id] = fromMillis(expires)
	}
	return ended, rows.Err()
}

// lastVersion returns the Version of the newest change written.
func (s *sqliteStore) lastVersion(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (Version, error) {
	var n uint64
	err := q.QueryRowContext(ctx, `SELECT coalesce(
		(SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)`).Scan(&n)
	return Version{epoch: s.epoch, n: n}, err
}

// Changes implements Store. It polls the changes table, so that it also
// sees what other processes write.
func (s *sqliteStore) Changes(ctx context.Context, since Version, wait time.Duration) ([]Change, Version, error) {
	if err := s.checkVersion(ctx, since); err != nil {
		return nil, since, fmt.Errorf("changes after %s: %w", since, err)
	}
	deadline := time.Now().Add(wait)
	for {
		cs, v, err := s.changesAfter(ctx, since)
		if err != nil || len(cs) > 0 {
			return cs, v, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, since, nil
		}
		select {
		case <-ctx.Done():
			return nil, since, fmt.Errorf("changes after %s: %w", since, ctx.Err())
		case <-time.After(min(left, s.poll)):
		}
	}
}

// checkVersion answers ErrResync unless since is a position in this file's
// feed (not one ahead of it, as after restoring an older copy).
func (s *sqliteStore) checkVersion(ctx context.Context, since Version) error {
	if since.epoch != s.epoch || since.at != (streamID{}) {
		return ErrResync
	}
	last, err := s.lastVersion(ctx, s.db)
	if err != nil {
		return sqliteErr(err)
	}
	if since.n > last.n {
		return ErrResync
	}
	return nil
}

// changesAfter returns the changes after since that are in the table now,
// or ErrResync when some of them were already trimmed.
func (s *sqliteStore) changesAfter(ctx context.Context, since Version) ([]Change, Version, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, kind, id, expires, data FROM changes
		WHERE seq > ? ORDER BY seq LIMIT ?`, since.n, maxBatch)
	if err != nil {
		return nil, since, fmt.Errorf("changes after %s: %w", since, sqliteErr(err))
	}
	defer rows.Close()
	var cs []Change
	v := since
	for rows.Next() {
		var c Change
		var seq uint64
		var expires int64
		var data sql.NullString
		if err := rows.Scan(&seq, &c.Kind, &c.ID, &expires, &data); err != nil {
			return nil, since, fmt.Errorf("changes after %s: %w", since, sqliteErr(err))
		}
		if c.Token, err = changeToken(c.Kind, data.String); err != nil {
			return nil, since, fmt.Errorf("changes after %s: change %d: %w", since, seq, err)
		}
		if !v.follows(s.epoch, seq) {
			return nil, since, fmt.Errorf("changes after %s: next is %d: %w", since, seq, ErrResync)
		}
		c.Expires, v.n = fromMillis(expires), seq
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, since, fmt.Errorf("changes after %s: %w", since, sqliteErr(err))
	}
	return cs, v, nil
}
