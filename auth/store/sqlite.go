package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteStore is the Store in one SQLite file. Other processes (the admin
// commands) may use the same file at the same time: writes take the file's
// write lock (BEGIN IMMEDIATE, waiting up to BusyTimeout for it), and
// Changes polls the changes table, so their changes are seen too.
type sqliteStore struct {
	db        *sql.DB
	path      string
	epoch     string        // the file's feed epoch, read at open
	poll      time.Duration // Changes' polling interval
	feedLen   int           // change rows kept
	lastPurge atomic.Int64  // Unix ms of the last purge of expired records
	budgetAt  atomic.Int64  // Unix ms of the last purge of expired budget counters
	spends    *spendQueue   // this process's Spends, committed in groups
	busy      time.Duration // how long a write waits for its turn

	readCounter, addCounter *sql.Stmt // a Spend's statements, prepared at open
}

// schema holds the migrations in order: schema[i] takes the file from
// version i to i+1 (PRAGMA user_version). Never edit one; append.
//
// Times are Unix milliseconds. Ended sessions keep their row (ended is set)
// until they expire, so that they stay ended. The changes table is the
// change feed: its seq is a Version's n. Version 2 adds the budget
// counters, one row per list, window and person, kept until they expire.
// Version 3 adds the tokens (kept, like sessions, until they expire), the
// device codes (kept until deviceCodeKept after they expire) and the data
// of a change: a TokenMade's token, in JSON. Lists are JSON arrays.
var schema = []string{
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) STRICT;
	INSERT INTO meta (key, value) VALUES ('epoch', lower(hex(randomblob(8))));
	CREATE TABLE sessions (
		id         TEXT PRIMARY KEY,
		email      TEXT NOT NULL,
		created    INTEGER NOT NULL,
		expires    INTEGER NOT NULL,
		seen       INTEGER,          -- NULL until first seen
		user_agent TEXT NOT NULL,
		ip         TEXT NOT NULL,
		ended      INTEGER,          -- NULL while live
		ended_by   TEXT
	) STRICT;
	CREATE INDEX sessions_by_email ON sessions (email, created);
	CREATE INDEX sessions_by_expiry ON sessions (expires);
	CREATE INDEX sessions_ended ON sessions (expires) WHERE ended IS NOT NULL;
	CREATE TABLE changes (
		seq     INTEGER PRIMARY KEY AUTOINCREMENT,
		kind    TEXT NOT NULL,
		id      TEXT NOT NULL,
		expires INTEGER NOT NULL
	) STRICT;`,
	`CREATE TABLE budget (
		list       TEXT NOT NULL,    -- '' for the main list
		window_key TEXT NOT NULL,
		email      TEXT NOT NULL,
		used       INTEGER NOT NULL,
		expires    INTEGER NOT NULL,
		PRIMARY KEY (list, window_key, email)
	) STRICT, WITHOUT ROWID;
	CREATE INDEX budget_by_expiry ON budget (expires);`,
	`CREATE TABLE tokens (
		id       TEXT PRIMARY KEY,
		email    TEXT NOT NULL,
		name     TEXT NOT NULL,
		prefix   TEXT NOT NULL,
		lists    TEXT NOT NULL,
		created  INTEGER NOT NULL,
		expires  INTEGER NOT NULL,
		used     INTEGER,          -- NULL until first used
		ended    INTEGER,          -- NULL while live
		ended_by TEXT
	) STRICT;
	CREATE INDEX tokens_by_email ON tokens (email, created);
	CREATE INDEX tokens_by_expiry ON tokens (expires);
	CREATE TABLE device_codes (
		id        TEXT PRIMARY KEY,
		user_code TEXT NOT NULL,
		name      TEXT NOT NULL,
		lists     TEXT NOT NULL,
		ip        TEXT NOT NULL,
		created   INTEGER NOT NULL,
		expires   INTEGER NOT NULL,
		interval  INTEGER NOT NULL,
		status    TEXT NOT NULL,
		approver  TEXT NOT NULL,
		granted   TEXT NOT NULL,
		last_poll INTEGER,         -- NULL until first polled
		token     TEXT             -- the id of the token it was redeemed for
	) STRICT;
	CREATE INDEX device_codes_by_user_code ON device_codes (user_code, expires);
	CREATE INDEX device_codes_by_expiry ON device_codes (expires);
	ALTER TABLE changes ADD COLUMN data TEXT;`,
}

// openSQLite opens (creating and migrating as needed) the SQLite file path.
func openSQLite(ctx context.Context, path string, o Options) (*sqliteStore, error) {
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite store %q: want a plain file path, without '?'", path)
	}
	if err := createFile(path); err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	dsn := fmt.Sprintf("%s?_busy_timeout=%d&_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_txlock=immediate",
		path, o.BusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	s := &sqliteStore{db: db, path: path, poll: o.PollInterval, feedLen: o.FeedLength,
		spends: newSpendQueue(), busy: o.BusyTimeout}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	return s, nil
}

// createFile creates path with mode 0600 unless it exists, so that the
// database is never readable by others, not even for a moment.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// migrate brings the schema up to date, in one transaction, and reads the
// epoch. It refuses a file from a newer doorman.
func (s *sqliteStore) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return sqliteErr(err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return sqliteErr(err)
	}
	if v > len(schema) {
		return fmt.Errorf("%w: schema version %d, this doorman knows up to %d", ErrNewerSchema, v, len(schema))
	}
	for ; v < len(schema); v++ {
		if _, err := tx.ExecContext(ctx, schema[v]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, sqliteErr(err))
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		return sqliteErr(err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'epoch'").Scan(&s.epoch); err != nil {
		return sqliteErr(err)
	}
	return sqliteErr(tx.Commit())
}

// write runs f in a write transaction and commits it; now, when not zero,
// also purges expired records, at most once a minute.
func (s *sqliteStore) write(ctx context.Context, now time.Time, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return sqliteErr(err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return sqliteErr(err)
	}
	if err := s.purge(ctx, tx, now); err != nil {
		return sqliteErr(err)
	}
	return sqliteErr(tx.Commit())
}

// purge deletes the sessions and tokens expired at now, ended or not, and
// the device codes expired deviceCodeKept before, at most once a minute.
// Their change rows go with the feed's own trimming.
func (s *sqliteStore) purge(ctx context.Context, tx *sql.Tx, now time.Time) error {
	last := s.lastPurge.Load()
	if now.IsZero() || millis(now)-last < time.Minute.Milliseconds() {
		return nil
	}
	for table, cutoff := range map[string]int64{"sessions": millis(now), "tokens": millis(now),
		"device_codes": millis(now) - deviceCodeKept.Milliseconds()} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE expires <= ?", cutoff); err != nil {
			return err
		}
	}
	s.lastPurge.CompareAndSwap(last, millis(now))
	return nil
}

// Ping implements Store.
func (s *sqliteStore) Ping(ctx context.Context) error {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM meta").Scan(&n)
	if err != nil {
		return fmt.Errorf("ping: %w", sqliteErr(err))
	}
	return nil
}

// Close implements Store.
func (s *sqliteStore) Close() error {
	return errors.Join(s.readCounter.Close(), s.addCounter.Close(), s.db.Close())
}

// prepare prepares the statements the hot write path, Spend, runs.
func (s *sqliteStore) prepare(ctx context.Context) error {
	var err error
	if s.readCounter, err = s.db.PrepareContext(ctx, readCounterSQL); err != nil {
		return fmt.Errorf("prepare: %w", sqliteErr(err))
	}
	if s.addCounter, err = s.db.PrepareContext(ctx, addCounterSQL); err != nil {
		s.readCounter.Close()
		return fmt.Errorf("prepare: %w", sqliteErr(err))
	}
	return nil
}

// sqliteErr marks the errors that mean "try again later" (the file is
// locked by another process for too long, the disk fails or is full) as
// ErrUnavailable. It returns nil for nil.
func sqliteErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
