package store_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"doorman/auth/store"
)

// testSnapshotWhileChanging takes snapshots of more records than one page
// while another store makes and ends tokens and ends sessions: each
// snapshot, with the changes after its Version applied, is what a
// snapshot taken once all is done says.
func testSnapshotWhileChanging(t *testing.T, fx fixture) {
	reader, writer, now := fx.open(t, store.Options{}), fx.open(t, store.Options{}), t0()
	const n, changes, maxViews = 1200, 60, 10
	b := store.Batch{EndedBy: store.ReasonAdmin, EndedAt: now}
	for i := range n {
		b.Sessions = append(b.Sessions, newSession(fmt.Sprintf("s%d", i), alice, now))
		b.Tokens = append(b.Tokens, newToken(fmt.Sprintf("t%d", i), alice, now))
		if i%2 == 0 {
			b.Ended = append(b.Ended, fmt.Sprintf("s%d", i))
		}
	}
	if err := store.Import(t.Context(), writer, b); err != nil {
		t.Fatalf("Import() = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- change(t, writer, changes, now) }()
	var views []store.View
	for len(views) < maxViews {
		views = append(views, mustSnapshot(t, reader, now))
		if len(done) > 0 {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := mustSnapshot(t, reader, now)
	if len(want.Ended) != n/2+changes || len(want.Tokens) != n {
		t.Fatalf("last snapshot: %d ended, %d tokens; want %d and %d", len(want.Ended), len(want.Tokens), n/2+changes, n)
	}
	for i, v := range views {
		cs, _ := collectAll(t, reader, v.Version)
		applyChanges(v, cs)
		if got, want := slices.Sorted(maps.Keys(v.Ended)), slices.Sorted(maps.Keys(want.Ended)); !slices.Equal(got, want) {
			t.Errorf("snapshot %d of %d: ended sessions: with the changes after it %d, after all %d", i+1, len(views), len(got), len(want))
		}
		if got, want := slices.Sorted(maps.Keys(v.Tokens)), slices.Sorted(maps.Keys(want.Tokens)); !slices.Equal(got, want) {
			t.Errorf("snapshot %d of %d: live tokens: with the changes after it %d, after all %d", i+1, len(views), len(got), len(want))
		}
	}
}

// change ends a token and a session and makes a token, n times.
func change(t *testing.T, s store.Store, n int, now time.Time) error {
	for i := range n {
		_, err1 := s.EndToken(t.Context(), "", fmt.Sprintf("t%d", i*7), store.ReasonUser, now)
		_, err2 := s.EndSession(t.Context(), "", fmt.Sprintf("s%d", i*2+1), store.ReasonUser, now)
		err3 := s.CreateToken(t.Context(), newToken(fmt.Sprintf("new%d", i), bob, now))
		if err := errors.Join(err1, err2, err3); err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
	}
	return nil
}

// applyChanges applies cs to v, as a doorman following the feed does.
func applyChanges(v store.View, cs []store.Change) {
	for _, c := range cs {
		switch c.Kind {
		case store.SessionEnded:
			v.Ended[c.ID] = c.Expires
		case store.TokenMade:
			v.Tokens[c.ID] = *c.Token
		case store.TokenEnded:
			delete(v.Tokens, c.ID)
		}
	}
}

// collectAll follows the feed from since to its end, and returns what it
// had.
func collectAll(t *testing.T, s store.Store, since store.Version) ([]store.Change, store.Version) {
	t.Helper()
	var all []store.Change
	for {
		cs, v, err := s.Changes(t.Context(), since, 0)
		if err != nil {
			t.Fatalf("Changes(%v) = %v", since, err)
		}
		if len(cs) == 0 {
			return all, v
		}
		all, since = append(all, cs...), v
	}
}
