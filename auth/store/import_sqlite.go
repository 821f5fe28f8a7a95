package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// sqliteImportChunk is how many records Import writes in one SQLite
// transaction: few enough that a transaction stays a few MiB.
const sqliteImportChunk = 20000

// importBatch implements importer with the statements of CreateSession,
// EndSession and CreateToken, prepared once per transaction of
// sqliteImportChunk records.
func (s *sqliteStore) importBatch(ctx context.Context, b Batch) error {
	for part := range slices.Chunk(b.Sessions, sqliteImportChunk) {
		err := s.write(ctx, time.Time{}, func(tx *sql.Tx) error {
			return insertAll(ctx, tx, "session", insertSessionSQL, part, sessionRow)
		})
		if err != nil {
			return fmt.Errorf("create sessions: %w", err)
		}
	}
	for part := range slices.Chunk(b.Ended, sqliteImportChunk) {
		if err := s.write(ctx, b.EndedAt, func(tx *sql.Tx) error { return s.endAll(ctx, tx, b, part) }); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
	}
	for part := range slices.Chunk(b.Tokens, sqliteImportChunk) {
		err := s.write(ctx, time.Time{}, func(tx *sql.Tx) error {
			if err := insertAll(ctx, tx, "token", insertTokenSQL, part, tokenRow); err != nil {
				return err
			}
			cs := make([]Change, len(part))
			for i, t := range part {
				cs[i] = tokenMade(t)
			}
			return s.record(ctx, tx, cs)
		})
		if err != nil {
			return fmt.Errorf("create tokens: %w", err)
		}
	}
	return nil
}

// insertAll runs q, an INSERT … ON CONFLICT DO NOTHING of a record of
// kind what, prepared once, with row(r) for each of records, and fails
// at the first whose id is taken.
func insertAll[T any](ctx context.Context, tx *sql.Tx, what, q string, records []T, row func(T) []any) error {
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range records {
		args := row(r)
		res, err := stmt.ExecContext(ctx, args...)
		if err := added(what, res, err); err != nil {
			return fmt.Errorf("%v: %w", args[0], err)
		}
	}
	return nil
}

// endAll ends the live sessions ids as EndSession would, all in one
// statement, and fails unless every one of them was live.
func (s *sqliteStore) endAll(ctx context.Context, tx *sql.Tx, b Batch, ids []string) error {
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	ended, err := s.endIn(ctx, tx, b.EndedBy, b.EndedAt, `id IN (SELECT value FROM json_each(?3))`, []any{string(list)})
	if err != nil || len(ended) == len(ids) {
		return err
	}
	done := make(map[string]bool, len(ended))
	for _, e := range ended {
		done[e.ID] = true
	}
	for _, id := range ids {
		if !done[id] {
			return fmt.Errorf("%s: %w", id, ErrNotFound)
		}
	}
	return fmt.Errorf("%d ids, %d sessions ended", len(ids), len(ended))
}
