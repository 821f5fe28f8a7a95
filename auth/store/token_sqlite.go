package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// tokenCols are the columns scanTokens reads, in Token's order.
const tokenCols = "id, email, name, prefix, lists, created, expires, used"

// CreateToken implements Store.
func (s *sqliteStore) CreateToken(ctx context.Context, t Token) error {
	t, err := t.prepare()
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	err = s.write(ctx, t.Created, func(tx *sql.Tx) error { return s.insertToken(ctx, tx, t) })
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// insertToken adds the prepared token t, whose id must be new, and records
// it in the change feed.
func (s *sqliteStore) insertToken(ctx context.Context, tx *sql.Tx, t Token) error {
	if err := insertNew(ctx, tx, "token", insertTokenSQL, tokenRow(t)...); err != nil {
		return err
	}
	return s.record(ctx, tx, []Change{tokenMade(t)})
}

// insertTokenSQL adds a token row, tokenRow's values, unless its id is
// taken.
const insertTokenSQL = `INSERT INTO tokens (` + tokenCols + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

// tokenRow is the prepared token t as insertTokenSQL's values.
func tokenRow(t Token) []any {
	return []any{t.ID, t.Email, t.Name, t.Prefix, encodeLists(t.Lists), millis(t.Created), millis(t.Expires), nullMillis(t.LastUsed)}
}

// tokenMade is the change that says t was made.
func tokenMade(t Token) Change {
	made := t
	made.LastUsed = time.Time{}
	return Change{Kind: TokenMade, ID: t.ID, Expires: t.Expires, Token: &made}
}

// Tokens implements Store.
func (s *sqliteStore) Tokens(ctx context.Context, email string, now time.Time) ([]Token, error) {
	ts, err := liveTokens(ctx, s.db, email, now)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", sqliteErr(err))
	}
	return ts, nil
}

// liveTokens returns the live tokens at now of email, or of everyone when
// email is "", sorted by Created.
func liveTokens(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, email string, now time.Time) ([]Token, error) {
	query := `SELECT ` + tokenCols + ` FROM tokens
		WHERE ended IS NULL AND expires > ?1 AND email = ?2 ORDER BY created, id`
	if email == "" {
		query = `SELECT ` + tokenCols + ` FROM tokens
			WHERE ended IS NULL AND expires > ?1 ORDER BY created, id`
	}
	rows, err := q.QueryContext(ctx, query, millis(now), email)
	if err != nil {
		return nil, err
	}
	return scanTokens(rows)
}

// EndToken implements Store.
func (s *sqliteStore) EndToken(ctx context.Context, email, id string, by Reason, now time.Time) (Token, error) {
	if err := validID(id); err != nil {
		return Token{}, fmt.Errorf("end token: %w: %w", ErrNotFound, err)
	}
	ts, err := s.endTokens(ctx, by, now, `id = ?3 AND (?4 = '' OR email = ?4)`, id, email)
	if err != nil {
		return Token{}, fmt.Errorf("end token: %w", err)
	}
	if len(ts) == 0 {
		return Token{}, fmt.Errorf("end token: %w", ErrNotFound)
	}
	return ts[0], nil
}

// EndTokensOf implements Store.
func (s *sqliteStore) EndTokensOf(ctx context.Context, email string, by Reason, now time.Time) ([]Token, error) {
	ts, err := s.endTokens(ctx, by, now, `email = ?3`, email)
	if err != nil {
		return nil, fmt.Errorf("end tokens of %s: %w", email, err)
	}
	return ts, nil
}

// endTokens ends the live tokens at now that match where (whose parameters
// start at ?3, after now and by) and records each in the change feed.
func (s *sqliteStore) endTokens(ctx context.Context, by Reason, now time.Time, where string, args ...any) ([]Token, error) {
	if err := validReason(by); err != nil {
		return nil, err
	}
	var ended []Token
	err := s.write(ctx, now, func(tx *sql.Tx) error {
		rows, err := endRows(ctx, tx, "tokens", tokenCols, by, now, where, args)
		if err != nil {
			return err
		}
		if ended, err = scanTokens(rows); err != nil {
			return err
		}
		cs := make([]Change, len(ended))
		for i, t := range ended {
			cs[i] = Change{Kind: TokenEnded, ID: t.ID, Expires: t.Expires}
		}
		return s.record(ctx, tx, cs)
	})
	return sortTokens(ended), err
}

// TouchTokens implements Store.
func (s *sqliteStore) TouchTokens(ctx context.Context, used map[string]time.Time) error {
	if err := s.touch(ctx, "tokens", "used", used); err != nil {
		return fmt.Errorf("touch tokens: %w", err)
	}
	return nil
}

// scanTokens reads tokenCols rows and closes rows.
func scanTokens(rows *sql.Rows) ([]Token, error) {
	defer rows.Close()
	var ts []Token
	for rows.Next() {
		var t Token
		var lists string
		var created, expires int64
		var used sql.NullInt64
		err := rows.Scan(&t.ID, &t.Email, &t.Name, &t.Prefix, &lists, &created, &expires, &used)
		if err != nil {
			return nil, err
		}
		if t.Lists, err = decodeLists(lists); err != nil {
			return nil, err
		}
		t.Created, t.Expires, t.LastUsed = fromMillis(created), fromMillis(expires), fromMillis(used.Int64)
		ts = append(ts, t)
	}
	return ts, rows.Err()
}
