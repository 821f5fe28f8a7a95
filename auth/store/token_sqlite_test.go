package store

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestSQLiteUpgradeFromVersion2 opens a file of the second schema, with an
// ended session in its change feed, and checks that it is upgraded in
// place: the old change still reads, and tokens and device codes work.
func TestSQLiteUpgradeFromVersion2(t *testing.T) {
	path, now := filepath.Join(t.TempDir(), "doorman.db"), time.Now().UTC().Truncate(time.Millisecond)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{schema[0], schema[1], "PRAGMA user_version = 2",
		"INSERT INTO changes (kind, id, expires) VALUES ('session_ended', 'old', 1)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	db.Close()

	s := openSQLitePath(t, path)
	if got := query[int](t, s, "PRAGMA user_version"); got != len(schema) {
		t.Errorf("user_version = %d, want %d", got, len(schema))
	}
	tok := Token{ID: "t1", Email: "a@example.com", Name: "cli", Lists: []string{""}, Created: now, Expires: now.Add(time.Hour)}
	if err := s.CreateToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateToken() after the upgrade = %v", err)
	}
	cs, _, err := s.Changes(t.Context(), Version{epoch: s.epoch}, 0)
	if err != nil || len(cs) != 2 || cs[0].ID != "old" || cs[0].Token != nil || cs[1].Token == nil || cs[1].Token.ID != "t1" {
		t.Errorf("Changes() after the upgrade = %+v, %v; want old's end, then t1 made", cs, err)
	}
	d := DeviceCode{ID: "d1", UserCode: "BCDFGHJK", Lists: []string{""}, Created: now, Expires: now.Add(time.Minute), Interval: time.Second}
	if err := s.CreateDeviceCode(t.Context(), d); err != nil {
		t.Errorf("CreateDeviceCode() after the upgrade = %v", err)
	}
}

// TestSQLitePurgeTokensAndDevices checks that expired tokens go at once,
// ended or not, and expired device codes only deviceCodeKept later.
func TestSQLitePurgeTokensAndDevices(t *testing.T) {
	s, now := openTestSQLite(t, Options{}), time.Now().UTC().Truncate(time.Millisecond)
	for i, id := range []string{"t1", "t2", "t3"} {
		tok := Token{ID: id, Email: "a@example.com", Name: id, Lists: []string{""}, Created: now,
			Expires: now.Add(time.Duration(i+1) * time.Hour)}
		if err := s.CreateToken(t.Context(), tok); err != nil {
			t.Fatalf("CreateToken(%s) = %v", id, err)
		}
	}
	if _, err := s.EndToken(t.Context(), "", "t1", ReasonAdmin, now); err != nil {
		t.Fatalf("EndToken(t1) = %v", err)
	}
	for _, d := range []DeviceCode{
		{ID: "d1", UserCode: "BBBBBBBB", Lists: []string{""}, Created: now, Expires: now.Add(time.Hour), Interval: time.Second},
		{ID: "d2", UserCode: "CCCCCCCC", Lists: []string{""}, Created: now, Expires: now.Add(3 * time.Hour), Interval: time.Second},
	} {
		if err := s.CreateDeviceCode(t.Context(), d); err != nil {
			t.Fatalf("CreateDeviceCode(%s) = %v", d.ID, err)
		}
	}
	poll := func(id string, at time.Time, want error) {
		t.Helper()
		s.lastPurge.Store(0) // a minute has passed since the last purge
		if _, err := s.PollDeviceCode(t.Context(), id, at); !errors.Is(err, want) {
			t.Errorf("PollDeviceCode(%s, %v) = %v, want %v", id, at.Sub(now), err, want)
		}
	}
	almost := now.Add(time.Hour + deviceCodeKept - time.Millisecond)
	poll("d2", almost, nil)
	poll("d1", almost, ErrExpired)
	poll("d2", now.Add(2*time.Hour), nil)
	poll("d1", now.Add(2*time.Hour), ErrNotFound)
	if got := query[string](t, s, "SELECT group_concat(id) FROM tokens"); got != "t3" {
		t.Errorf("token rows after a purge = %s, want t3", got)
	}
	if got := query[string](t, s, "SELECT group_concat(id) FROM device_codes"); got != "d2" {
		t.Errorf("device code rows after a purge = %s, want d2", got)
	}
}
