package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

// fixture is one empty database of a backend.
type fixture struct {
	// open returns a new Store on the fixture's data; each call is a
	// separate Store, as another process or replica would have.
	open func(t *testing.T, o store.Options) store.Store
	// other returns a Store on other, unrelated data.
	other func(t *testing.T) store.Store
	// reopen puts what s acknowledged through a restart and returns the
	// Store to go on with: SQLite is closed and opened again; Redis (with
	// its append-only file on) restarts under the same Store.
	reopen func(t *testing.T, s store.Store) store.Store
}

func sqliteFixture(t *testing.T) fixture {
	dir := t.TempDir()
	path := filepath.Join(dir, "doorman.db")
	open := func(t *testing.T, o store.Options) store.Store { return mustOpen(t, path, o) }
	return fixture{
		open:  open,
		other: func(t *testing.T) store.Store { return mustOpen(t, filepath.Join(dir, "other.db"), store.Options{}) },
		reopen: func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
			return open(t, store.Options{})
		},
	}
}

func redisFixture(t *testing.T) fixture {
	srv := redistest.Start(t, redistest.AppendOnly())
	return fixture{
		open:  func(t *testing.T, o store.Options) store.Store { return mustOpen(t, srv.URL(), o) },
		other: func(t *testing.T) store.Store { return mustOpen(t, srv.URL(), store.Options{KeyPrefix: "other:"}) },
		reopen: func(t *testing.T, s store.Store) store.Store {
			srv.Restart(t)
			return s
		},
	}
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	testStore(t, sqliteFixture)
}

func TestRedis(t *testing.T) {
	t.Parallel()
	testStore(t, redisFixture)
}

// testStore is the conformance suite every backend passes.
func testStore(t *testing.T, newFixture func(t *testing.T) fixture) {
	tests := []struct {
		name string
		test func(t *testing.T, fx fixture)
	}{
		{"CreateAndList", testCreateAndList},
		{"CreateInvalid", testCreateInvalid},
		{"IDTaken", testIDTaken},
		{"EndSession", testEndSession},
		{"EndSessionNotFound", testEndSessionNotFound},
		{"EndSessionsOf", testEndSessionsOf},
		{"Expired", testExpired},
		{"Touch", testTouch},
		{"Idle", testIdle},
		{"UserAgent", testUserAgent},
		{"Snapshot", testSnapshot},
		{"SnapshotWhileChanging", testSnapshotWhileChanging},
		{"ChangesFromAnotherStore", testChangesFromAnotherStore},
		{"ChangesWait", testChangesWait},
		{"ResyncForeign", testResyncForeign},
		{"ResyncTrimmed", testResyncTrimmed},
		{"Durable", testDurable},
		{"SpendLimit", testSpendLimit},
		{"SpendWindows", testSpendWindows},
		{"BudgetUsage", testBudgetUsage},
		{"BudgetInvalid", testBudgetInvalid},
		{"BudgetExpiry", testBudgetExpiry},
		{"BudgetDurable", testBudgetDurable},
		{"BudgetExact", testBudgetExact},
		{"TokenCreateAndList", testTokenCreateAndList},
		{"TokenInvalid", testTokenInvalid},
		{"TokenEnd", testTokenEnd},
		{"TokenEndAll", testTokenEndAll},
		{"TokenExpiry", testTokenExpiry},
		{"TokenTouch", testTokenTouch},
		{"TokenSnapshot", testTokenSnapshot},
		{"TokenChanges", testTokenChanges},
		{"TokenDurable", testTokenDurable},
		{"DeviceCreate", testDeviceCreate},
		{"DeviceInvalid", testDeviceInvalid},
		{"DeviceDecide", testDeviceDecide},
		{"DevicePoll", testDevicePoll},
		{"DeviceRedeem", testDeviceRedeem},
		{"DeviceRedeemRace", testDeviceRedeemRace},
		{"DeviceDurable", testDeviceDurable},
		{"Import", testImport},
		{"ImportRefused", testImportRefused},
		{"ImportMany", testImportMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newFixture(t))
		})
	}
}

// t0 is a time to build test sessions around: now, to the millisecond, so
// that Redis's own key expiry (by its clock) does not interfere.
func t0() time.Time {
	return time.Now().UTC().Truncate(time.Millisecond)
}

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
)

// newSession returns a session of email created at created, for a day.
func newSession(id, email string, created time.Time) store.Session {
	return store.Session{
		ID: id, Email: email, Created: created, Expires: created.Add(24 * time.Hour),
		UserAgent: "Mozilla/5.0 (" + id + ")", IP: "192.0.2.7",
	}
}

func mustOpen(t *testing.T, dsn string, o store.Options) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), dsn, o)
	if err != nil {
		t.Fatalf("Open(%q) = %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustCreate(t *testing.T, s store.Store, ss ...store.Session) {
	t.Helper()
	for _, sess := range ss {
		if err := s.CreateSession(t.Context(), sess); err != nil {
			t.Fatalf("CreateSession(%s) = %v", sess.ID, err)
		}
	}
}

func mustEnd(t *testing.T, s store.Store, id string, now time.Time) store.Session {
	t.Helper()
	got, err := s.EndSession(t.Context(), "", id, store.ReasonAdmin, now)
	if err != nil {
		t.Fatalf("EndSession(%s) = %v", id, err)
	}
	return got
}

func mustSnapshot(t *testing.T, s store.Store, now time.Time) store.View {
	t.Helper()
	v, err := s.Snapshot(t.Context(), now)
	if err != nil {
		t.Fatalf("Snapshot() = %v", err)
	}
	return v
}

// wantLive checks that the live sessions of email at now are want, in order.
func wantLive(t *testing.T, s store.Store, email string, now time.Time, want ...store.Session) {
	t.Helper()
	got, err := s.LiveSessions(t.Context(), email, now)
	if err != nil {
		t.Fatalf("LiveSessions(%q) = %v", email, err)
	}
	wantSessions(t, fmt.Sprintf("LiveSessions(%q)", email), got, want...)
	if email == "" { // everyone's: the count agrees
		if n, err := s.CountLiveSessions(t.Context(), now); err != nil || n != len(want) {
			t.Errorf("CountLiveSessions() = %d, %v; want %d", n, err, len(want))
		}
	}
}

// wantSessions checks that got are want, in order, field by field.
func wantSessions(t *testing.T, call string, got []store.Session, want ...store.Session) {
	t.Helper()
	wantRecords(t, call, got, want, ids, diffSession)
}

// wantRecords checks that got are want, in order, field by field: diff
// describes how one differs from the other, ids names them.
func wantRecords[T any](t *testing.T, call string, got, want []T, ids func([]T) []string, diff func(got, want T) string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", call, ids(got), ids(want))
	}
	for i := range got {
		if d := diff(got[i], want[i]); d != "" {
			t.Errorf("%s[%d]: %s", call, i, d)
		}
	}
}

// diffSession describes how got differs from want, or returns "".
func diffSession(got, want store.Session) string {
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Email", got.Email, want.Email)
	d.time("Created", got.Created, want.Created)
	d.time("Expires", got.Expires, want.Expires)
	d.time("LastSeen", got.LastSeen, want.LastSeen)
	d.str("UserAgent", got.UserAgent, want.UserAgent)
	d.str("IP", got.IP, want.IP)
	return d.String()
}

// diff collects how the fields of a record differ from what they should be.
type diff []string

func (d *diff) str(name, got, want string) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s = %q, want %q", name, got, want))
	}
}

func (d *diff) time(name string, got, want time.Time) {
	if !got.Equal(want) {
		*d = append(*d, fmt.Sprintf("%s = %v, want %v", name, got, want))
	}
}

func (d *diff) list(name string, got, want []string) {
	if !slices.Equal(got, want) {
		*d = append(*d, fmt.Sprintf("%s = %q, want %q", name, got, want))
	}
}

// String returns the differences found, or "" when there are none.
func (d diff) String() string { return strings.Join(d, "; ") }

func ids(ss []store.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

// wantEnded checks that the view's ended sessions are exactly want.
func wantEnded(t *testing.T, v store.View, want ...store.Session) {
	t.Helper()
	var got []string
	for id := range v.Ended {
		got = append(got, id)
	}
	slices.Sort(got)
	wantIDs := ids(want)
	slices.Sort(wantIDs)
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("Snapshot().Ended = %v, want %v", got, wantIDs)
	}
	for _, w := range want {
		if exp := v.Ended[w.ID]; !exp.Equal(w.Expires) {
			t.Errorf("Snapshot().Ended[%s] = %v, want %v", w.ID, exp, w.Expires)
		}
	}
}

// wantErr checks that err wraps want.
func wantErr(t *testing.T, call string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s = %v, want %v", call, err, want)
	}
}
