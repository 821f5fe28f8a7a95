package store

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestSQLiteUpgradeFromVersion1 opens a file of the first schema, with a
// session in it, and checks that it is upgraded in place.
func TestSQLiteUpgradeFromVersion1(t *testing.T) {
	path, now := filepath.Join(t.TempDir(), "doorman.db"), time.Now().UTC().Truncate(time.Millisecond)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{schema[0], "PRAGMA user_version = 1"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	db.Close()
	s1, err := openSQLite(t.Context(), path, Options{}.withDefaults())
	if err != nil {
		t.Fatalf("openSQLite(version 1) = %v", err)
	}
	sess := Session{ID: "a1", Email: "a@example.com", Created: now, Expires: now.Add(time.Hour)}
	if err := s1.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession() = %v", err)
	}
	s1.Close()

	s := openSQLitePath(t, path)
	if got := query[int](t, s, "PRAGMA user_version"); got != len(schema) {
		t.Errorf("user_version = %d, want %d", got, len(schema))
	}
	if ss, err := s.LiveSessions(t.Context(), "", now); err != nil || len(ss) != 1 {
		t.Errorf("LiveSessions() after the upgrade = %v, %v; want a1", ss, err)
	}
	w := BudgetWindow{Key: "day/1", Limit: 5, Expires: now.Add(time.Hour)}
	if ok, used, err := s.Spend(t.Context(), "a@example.com", "", []BudgetWindow{w}, 2); !ok || used[0] != 2 || err != nil {
		t.Errorf("Spend() after the upgrade = %v, %v, %v; want true, [2], nil", ok, used, err)
	}
}

func openSQLitePath(t *testing.T, path string) *sqliteStore {
	t.Helper()
	s, err := openSQLite(t.Context(), path, Options{}.withDefaults())
	if err != nil {
		t.Fatalf("openSQLite() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSQLiteBudgetRows checks what a counter's row keeps: the latest expiry
// given while it lives, a fresh one once it has expired, and that expired
// rows are purged.
func TestSQLiteBudgetRows(t *testing.T) {
	s, now := openTestSQLite(t, Options{}), time.Now().UTC().Truncate(time.Millisecond)
	spend := func(key string, expires time.Time) {
		t.Helper()
		w := BudgetWindow{Key: key, Limit: 100, Expires: expires}
		if _, _, err := s.Spend(t.Context(), "a@example.com", "", []BudgetWindow{w}, 1); err != nil {
			t.Fatalf("Spend(%s) = %v", key, err)
		}
	}
	expires := func(key string) time.Time {
		t.Helper()
		return fromMillis(query[int64](t, s, "SELECT expires FROM budget WHERE window_key = '"+key+"'"))
	}
	spend("day/1", now.Add(time.Hour))
	spend("day/1", now.Add(2*time.Hour))
	spend("day/1", now.Add(30*time.Minute))
	if got, want := expires("day/1"), now.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("expires of day/1 = %v, want the latest given, %v", got, want)
	}
	spend("day/0", now.Add(-time.Hour))
	spend("day/0", now.Add(-2*time.Hour))
	if got, want := expires("day/0"), now.Add(-2*time.Hour); !got.Equal(want) {
		t.Errorf("expires of expired day/0 = %v, want the new one, %v", got, want)
	}
	s.budgetAt.Store(0) // a minute has passed since the last purge
	spend("day/1", now.Add(time.Hour))
	if got := query[int](t, s, "SELECT count(*) FROM budget"); got != 1 {
		t.Errorf("budget rows after a purge = %d, want 1", got)
	}
}

// TestSQLiteBudgetLocked checks that a Spend that cannot get the file's
// write lock in time is ErrUnavailable and counts nothing, while Used and
// Usage go on answering.
func TestSQLiteBudgetLocked(t *testing.T) {
	s := openTestSQLite(t, Options{BusyTimeout: 100 * time.Millisecond})
	w := []BudgetWindow{{Key: "day/1", Limit: 10, Expires: time.Now().Add(time.Hour)}}
	if _, _, err := s.Spend(t.Context(), "a@example.com", "", w, 3); err != nil {
		t.Fatalf("Spend() = %v", err)
	}
	conn, err := s.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Spend(t.Context(), "a@example.com", "", w, 1); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Spend(while another writes) = %v, want ErrUnavailable", err)
	}
	if used, err := s.Used(t.Context(), "a@example.com", "", []string{"day/1"}); err != nil || used[0] != 3 {
		t.Errorf("Used(while another writes) = %v, %v; want [3]", used, err)
	}
	if us, err := s.Usage(t.Context(), "", "day/1"); err != nil || len(us) != 1 {
		t.Errorf("Usage(while another writes) = %v, %v; want a@example.com's", us, err)
	}
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if ok, used, err := s.Spend(t.Context(), "a@example.com", "", w, 1); !ok || used[0] != 4 || err != nil {
		t.Errorf("Spend(after) = %v, %v, %v; want true, [4], nil", ok, used, err)
	}
}
