package admin_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"doorman/auth/store"
)

func TestRevoke(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		st := mustFill(t, dsn)
		tests := []struct {
			args []string
			want string
		}{
			{[]string{"revoke", "Alice@Example.com"}, "revoked 2 sessions and 2 tokens of alice@example.com\n"},
			{[]string{"revoke", "alice@example.com"}, "revoked 0 sessions and 0 tokens of alice@example.com: none was live\n"},
			{[]string{"revoke", "dave@example.com"}, "revoked 0 sessions and 0 tokens of dave@example.com: none was live\n"},
			{[]string{"revoke", "--json", "bob@example.com"}, "{\n  \"email\": \"bob@example.com\",\n  \"sessions_ended\": 1,\n  \"tokens_ended\": 1\n}\n"},
			{[]string{"revoke", "bob@example.com", "--json"}, "{\n  \"email\": \"bob@example.com\",\n  \"sessions_ended\": 0,\n  \"tokens_ended\": 0\n}\n"},
		}
		for _, tt := range tests {
			got, err := runAdmin(t, dsn, tt.args...)
			if got != tt.want || err != nil {
				t.Errorf("Run(%q) = %q, %v; want %q, nil", tt.args, got, err, tt.want)
			}
		}
		if live := mustLive(t, st, ""); len(live) != 0 {
			t.Errorf("LiveSessions() = %v, want none", live)
		}
		if live, err := st.Tokens(t.Context(), "", time.Now()); err != nil || len(live) != 0 {
			t.Errorf("Tokens() = %v, %v; want none", live, err)
		}
	})
}

func TestRevokeEndsOnlyThatPerson(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		st := mustFill(t, dsn)
		if _, err := runAdmin(t, dsn, "revoke", "alice@example.com"); err != nil {
			t.Fatalf("Run(revoke alice) = %v", err)
		}
		if live := mustLive(t, st, "alice@example.com"); len(live) != 0 {
			t.Errorf("LiveSessions(alice) = %v, want none", live)
		}
		if live := mustLive(t, st, ""); len(live) != 1 || live[0].ID != "bob0SessionIdHash" {
			t.Errorf("LiveSessions() = %v, want bob's one session", live)
		}
	})
}

// mustLive returns the live sessions of email ("" for everyone).
func mustLive(t *testing.T, st store.Store, email string) []store.Session {
	t.Helper()
	live, err := st.LiveSessions(t.Context(), email, time.Now())
	if err != nil {
		t.Fatalf("LiveSessions(%q) = %v", email, err)
	}
	return live
}

// TestRevokeReachesRunningDoorman revokes through a second handle on the
// store while a first follows its change feed the way a running doorman
// does, and checks that the first hears of each of the person's sessions
// and tokens within a second.
func TestRevokeReachesRunningDoorman(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		mustFill(t, dsn)
		changes, errs := follow(t, mustOpen(t, dsn))
		out, err := runAdmin(t, dsn, "revoke", "--json", "alice@example.com")
		if err != nil {
			t.Fatalf("Run(revoke alice) = %v", err)
		}
		var got struct {
			SessionsEnded int `json:"sessions_ended"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || got.SessionsEnded != 2 {
			t.Errorf("Run(revoke --json alice) wrote %q (%v), want sessions_ended 2", out, err)
		}
		pending := map[string]bool{"aliceOneSessionIdHash": true, "aliceTwoSessionIdHash": true, "aliceCiTokenHash": true, "aliceLaptopTokenHash": true}
		deadline := time.After(time.Second)
		for len(pending) > 0 {
			select {
			case c := <-changes:
				if (c.Kind == store.SessionEnded || c.Kind == store.TokenEnded) && !pending[c.ID] {
					t.Errorf("the server heard that %s ended, want only alice's sessions and tokens", c.ID)
				}
				delete(pending, c.ID)
			case err := <-errs:
				t.Fatalf("Changes() = %v", err)
			case <-deadline:
				t.Fatalf("the server did not hear within 1s that %v ended", pending)
			}
		}
	})
}

// follow follows st's change feed from a fresh Snapshot, as a running
// doorman does, until the test ends. It sends every change, and the error
// that stops it, if any.
func follow(t *testing.T, st store.Store) (<-chan store.Change, <-chan error) {
	t.Helper()
	view, err := st.Snapshot(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("Snapshot() = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	changes, errs, done := make(chan store.Change, 16), make(chan error, 1), make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for v := view.Version; ; {
			cs, next, err := st.Changes(ctx, v, time.Second)
			if ctx.Err() != nil {
				return
			} else if err != nil {
				errs <- err
				return
			}
			for _, c := range cs {
				select {
				case changes <- c:
				case <-ctx.Done():
					return
				}
			}
			v = next
		}
	}()
	return changes, errs
}
