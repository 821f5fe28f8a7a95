package store_test

import (
	"fmt"
	"testing"
	"time"

	"doorman/auth/store"
)

// collect follows the feed from since until it has n changes, for up to
// 2 s, and returns them with the Version after them.
func collect(t *testing.T, s store.Store, since store.Version, n int) ([]store.Change, store.Version) {
	t.Helper()
	var all []store.Change
	deadline := time.Now().Add(2 * time.Second)
	for len(all) < n && time.Now().Before(deadline) {
		cs, v, err := s.Changes(t.Context(), since, time.Until(deadline))
		if err != nil {
			t.Fatalf("Changes(%v) = %v", since, err)
		}
		all, since = append(all, cs...), v
	}
	if len(all) != n {
		t.Fatalf("Changes(...) gave %d changes in 2 s, want %d", len(all), n)
	}
	return all, since
}

// wantChanges checks that cs say that sessions ss ended, in order.
func wantChanges(t *testing.T, cs []store.Change, ss ...store.Session) {
	t.Helper()
	if len(cs) != len(ss) {
		t.Fatalf("Changes() = %v, want %d changes", cs, len(ss))
	}
	for i, c := range cs {
		want := store.Change{Kind: store.SessionEnded, ID: ss[i].ID, Expires: ss[i].Expires}
		if c.Kind != want.Kind || c.ID != want.ID || !c.Expires.Equal(want.Expires) {
			t.Errorf("Changes()[%d] = %+v, want %+v", i, c, want)
		}
	}
}

// mustNoChanges checks that Changes(since, wait) returns nothing and since.
func mustNoChanges(t *testing.T, s store.Store, since store.Version, wait time.Duration) {
	t.Helper()
	cs, v, err := s.Changes(t.Context(), since, wait)
	if err != nil || len(cs) != 0 || v != since {
		t.Fatalf("Changes(%v, %v) = %v, %v, %v; want none, the same version, nil", since, wait, cs, v, err)
	}
}

func testSnapshot(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	soon, late, live := newSession("soon", alice, now), newSession("late", bob, now), newSession("live", alice, now)
	soon.Expires = now.Add(time.Hour)
	mustCreate(t, s, soon, late, live)
	wantEnded(t, mustSnapshot(t, s, now))
	mustEnd(t, s, "soon", now)
	mustEnd(t, s, "late", now)

	wantEnded(t, mustSnapshot(t, s, now.Add(time.Minute)), soon, late)
	wantEnded(t, mustSnapshot(t, s, soon.Expires), late)
}

func testChangesFromAnotherStore(t *testing.T, fx fixture) {
	reader, writer, now := fx.open(t, store.Options{}), fx.open(t, store.Options{}), t0()
	x, y, z := newSession("x", alice, now), newSession("y", alice, now.Add(time.Second)), newSession("z", bob, now)
	mustCreate(t, writer, x, y, z)
	v := mustSnapshot(t, reader, now).Version
	mustNoChanges(t, reader, v, 0)

	type result struct {
		at  time.Time
		err error
	}
	ended := make(chan result, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := writer.EndSession(t.Context(), alice, "x", store.ReasonUser, now)
		ended <- result{time.Now(), err}
	}()
	cs, v, err := reader.Changes(t.Context(), v, 5*time.Second)
	got := time.Now()
	if err != nil {
		t.Fatalf("Changes() = %v", err)
	}
	end := <-ended
	if end.err != nil {
		t.Fatalf("EndSession(x) = %v", end.err)
	}
	if lag := got.Sub(end.at); lag > time.Second {
		t.Errorf("Changes() saw the end %v after it, want within 1s", lag)
	}
	wantChanges(t, cs, x)

	if _, err := writer.EndSessionsOf(t.Context(), alice, store.ReasonUserAll, now); err != nil {
		t.Fatalf("EndSessionsOf(alice) = %v", err)
	}
	mustEnd(t, writer, "z", now)
	cs, v = collect(t, reader, v, 2)
	wantChanges(t, cs, y, z)
	mustNoChanges(t, reader, v, 0)
	wantEnded(t, mustSnapshot(t, reader, now), x, y, z)
}

func testChangesWait(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	v := mustSnapshot(t, s, now).Version
	for _, wait := range []time.Duration{0, 300 * time.Millisecond} {
		start := time.Now()
		mustNoChanges(t, s, v, wait)
		if took := time.Since(start); took < wait || took > wait+500*time.Millisecond {
			t.Errorf("Changes(wait %v) took %v, want about the wait", wait, took)
		}
	}
}

func testResyncForeign(t *testing.T, fx fixture) {
	s, other, now := fx.open(t, store.Options{}), fx.other(t), t0()
	_, _, err := s.Changes(t.Context(), store.Version{}, 0)
	wantErr(t, "Changes(zero Version)", err, store.ErrResync)

	mustCreate(t, other, newSession("o", alice, now))
	mustEnd(t, other, "o", now)
	foreign := mustSnapshot(t, other, now).Version
	// A Redis store may only notice a foreign Version at the next change.
	mustCreate(t, s, newSession("s", alice, now))
	mustEnd(t, s, "s", now)
	_, _, err = s.Changes(t.Context(), foreign, time.Second)
	wantErr(t, fmt.Sprintf("Changes(%v) of another store", foreign), err, store.ErrResync)
}

func testResyncTrimmed(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{FeedLength: 2}), t0()
	var ss []store.Session
	for i := range 5 {
		ss = append(ss, newSession(fmt.Sprint("s", i), alice, now.Add(time.Duration(i)*time.Second)))
	}
	mustCreate(t, s, ss...)
	old := mustSnapshot(t, s, now).Version
	mustEnd(t, s, "s0", now)
	recent := mustSnapshot(t, s, now).Version
	for _, id := range []string{"s1", "s2", "s3"} {
		mustEnd(t, s, id, now)
	}
	_, _, err := s.Changes(t.Context(), old, 0)
	wantErr(t, "Changes(before the trimmed changes)", err, store.ErrResync)
	_, _, err = s.Changes(t.Context(), recent, 0)
	wantErr(t, "Changes(at the trimmed changes)", err, store.ErrResync)

	v := mustSnapshot(t, s, now).Version
	mustEnd(t, s, "s4", now)
	cs, _ := collect(t, s, v, 1)
	wantChanges(t, cs, ss[4])
}

func testDurable(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2 := newSession("a1", alice, now), newSession("a2", alice, now)
	mustCreate(t, s, a1, a2)
	v := mustSnapshot(t, s, now).Version
	mustEnd(t, s, "a1", now)

	s = fx.reopen(t, s)
	wantEnded(t, mustSnapshot(t, s, now), a1)
	wantLive(t, s, alice, now, a2)
	cs, _ := collect(t, s, v, 1)
	wantChanges(t, cs, a1)
	_, err := s.EndSession(t.Context(), alice, "a1", store.ReasonUser, now)
	wantErr(t, "EndSession(a1 after the restart)", err, store.ErrNotFound)
}
