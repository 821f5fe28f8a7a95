package store_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"doorman/auth/store"
)

func TestSQLiteFileMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "doorman.db")
	s := mustOpen(t, path, store.Options{})
	mustCreate(t, s, newSession("a1", alice, t0()))
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("Stat(%s) = %v", filepath.Base(p), err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("mode of %s = %#o, want 0600", filepath.Base(p), got)
		}
	}
}

func TestSQLiteKeepsModeOfExistingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "doorman.db")
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, path, store.Options{})
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("Stat() = %v, %v; want mode 0640 kept", fi.Mode(), err)
	}
}

func TestSQLiteNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "doorman.db")
	s := mustOpen(t, path, store.Options{})
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = store.Open(t.Context(), path, store.Options{})
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, store.ErrNewerSchema) {
		t.Errorf("Open(schema version 99) = %v, want ErrNewerSchema", err)
	}
}

func TestSQLiteOpenBad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("not a database, not at all, but long enough to look like one"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dsn string
	}{
		{"not a database", junk},
		{"empty path", ""},
		{"query in path", filepath.Join(dir, "a.db?mode=ro")},
		{"URI", "file:" + filepath.Join(dir, "a.db")},
		{"missing directory", filepath.Join(dir, "no", "such", "a.db")},
	}
	for _, tt := range tests {
		s, err := store.Open(t.Context(), tt.dsn, store.Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%s) = nil error, want one", tt.name)
		}
	}
}

func TestSQLiteLocked(t *testing.T) {
	t.Parallel()
	path, now := filepath.Join(t.TempDir(), "doorman.db"), t0()
	s := mustOpen(t, path, store.Options{BusyTimeout: 100 * time.Millisecond})
	a1 := newSession("a1", alice, now)
	mustCreate(t, s, a1)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	err = s.CreateSession(t.Context(), newSession("a2", alice, now))
	wantErr(t, "CreateSession(while another process writes)", err, store.ErrUnavailable)
	wantLive(t, s, alice, now, a1)
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, newSession("a2", alice, now))
}
