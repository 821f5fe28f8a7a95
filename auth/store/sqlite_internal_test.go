package store

import (
	"path/filepath"
	"testing"
	"time"
)

func openTestSQLite(t *testing.T, o Options) *sqliteStore {
	t.Helper()
	s, err := openSQLite(t.Context(), filepath.Join(t.TempDir(), "doorman.db"), o.withDefaults())
	if err != nil {
		t.Fatalf("openSQLite() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// query returns the one value q yields on one of the store's connections.
func query[T any](t *testing.T, s *sqliteStore, q string) T {
	t.Helper()
	var v T
	if err := s.db.QueryRowContext(t.Context(), q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func TestSQLitePragmas(t *testing.T) {
	s := openTestSQLite(t, Options{BusyTimeout: 3 * time.Second})
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "3000"},
		{"user_version", "3"},
	}
	for _, tt := range tests {
		if got := query[string](t, s, "PRAGMA "+tt.pragma); got != tt.want {
			t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
		}
	}
}

func TestSQLitePurgeAndTrim(t *testing.T) {
	s, now := openTestSQLite(t, Options{FeedLength: 2}), time.Now()
	for _, id := range []string{"a", "b", "c", "d"} {
		sess := Session{ID: id, Email: "a@example.com", Created: now, Expires: now.Add(24 * time.Hour)}
		if err := s.CreateSession(t.Context(), sess); err != nil {
			t.Fatalf("CreateSession(%s) = %v", id, err)
		}
		if _, err := s.EndSession(t.Context(), "", id, ReasonAdmin, now); err != nil {
			t.Fatalf("EndSession(%s) = %v", id, err)
		}
	}
	if got := query[int](t, s, "SELECT count(*) FROM changes"); got != 2 {
		t.Errorf("change rows = %d, want 2 (the feed's length)", got)
	}
	if got := query[int](t, s, "SELECT count(*) FROM sessions"); got != 4 {
		t.Errorf("session rows = %d, want 4 (ended, not yet expired)", got)
	}
	later := now.Add(25 * time.Hour)
	if err := s.CreateSession(t.Context(), Session{ID: "e", Email: "a@example.com", Created: later, Expires: later.Add(time.Hour)}); err != nil {
		t.Fatalf("CreateSession(e) = %v", err)
	}
	if got := query[int](t, s, "SELECT count(*) FROM sessions"); got != 1 {
		t.Errorf("session rows after they expired = %d, want 1", got)
	}
}
