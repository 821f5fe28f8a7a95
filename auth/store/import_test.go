package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"doorman/auth/store"
)

// oneByOne hides a backend's own import, so that Import makes one call
// per record: what the backend's import must match.
type oneByOne struct{ store.Store }

// importers are a backend's store on fresh data, importing its own way
// and one by one.
func importers(t *testing.T, fx fixture) map[string]store.Store {
	return map[string]store.Store{"own": fx.open(t, store.Options{}), "one by one": oneByOne{fx.other(t)}}
}

func testImport(t *testing.T, fx fixture) {
	now := t0()
	endedAt := now.Add(time.Minute)
	old, a1, a2, b1 := newSession("old", alice, now), newSession("a1", alice, now), newSession("a2", alice, now.Add(time.Second)), newSession("b1", bob, now)
	a2.LastSeen = now.Add(2 * time.Second)
	t1, t2 := newToken("t1", alice, now), newToken("t2", bob, now.Add(time.Second))
	t2.Lists = []string{"gpt4", "", "gpt4"}
	for name, s := range importers(t, fx) {
		t.Run(name, func(t *testing.T) {
			since := mustSnapshot(t, s, now).Version
			mustCreate(t, s, old)
			err := store.Import(t.Context(), s, store.Batch{
				Sessions: []store.Session{a1, a2, b1}, Ended: []string{"old", "a2"},
				EndedBy: store.ReasonAdmin, EndedAt: endedAt, Tokens: []store.Token{t1, t2},
			})
			if err != nil {
				t.Fatalf("Import() = %v", err)
			}
			t2 := t2
			t2.Lists = []string{"", "gpt4"}
			wantLive(t, s, "", endedAt, a1, b1)
			wantTokens(t, s, "", endedAt, t1, t2)
			v := mustSnapshot(t, s, endedAt)
			wantEnded(t, v, old, a2)
			wantViewTokens(t, v, t1, t2)
			cs, _ := collect(t, s, since, 4)
			slices.SortFunc(cs[:2], func(a, b store.Change) int { return strings.Compare(a.ID, b.ID) })
			wantChanges(t, cs[:2], a2, old) // ended together: in no order in particular
			wantTokenChange(t, cs[2], t1)
			wantTokenChange(t, cs[3], t2)
		})
	}
}

func testImportRefused(t *testing.T, fx fixture) {
	now := t0()
	admin := func(b store.Batch, ids ...string) store.Batch {
		b.Ended, b.EndedBy, b.EndedAt = ids, store.ReasonAdmin, now
		return b
	}
	tests := []struct {
		name    string
		batch   func(ok store.Session) store.Batch // ok is a valid session of the case's own
		checked bool                               // refused before anything is written, ok included
		want    error                              // the error Import wraps, if one in particular
	}{
		{"invalid session", func(ok store.Session) store.Batch {
			return store.Batch{Sessions: []store.Session{ok, newSession("a b", alice, now)}}
		}, true, nil},
		{"invalid token", func(ok store.Session) store.Batch {
			return store.Batch{Sessions: []store.Session{ok}, Tokens: []store.Token{newToken("", alice, now)}}
		}, true, nil},
		{"invalid ended id", func(ok store.Session) store.Batch {
			return admin(store.Batch{Sessions: []store.Session{ok}}, "a:b")
		}, true, nil},
		{"ended without a reason", func(ok store.Session) store.Batch {
			return store.Batch{Sessions: []store.Session{ok}, Ended: []string{ok.ID}, EndedAt: now}
		}, true, nil},
		{"ended without a time", func(ok store.Session) store.Batch {
			return store.Batch{Sessions: []store.Session{ok}, Ended: []string{ok.ID}, EndedBy: store.ReasonAdmin}
		}, true, nil},
		{"session id taken", func(ok store.Session) store.Batch {
			return store.Batch{Sessions: []store.Session{ok, newSession("taken", bob, now)}}
		}, false, nil},
		{"token id taken", func(ok store.Session) store.Batch {
			return store.Batch{Sessions: []store.Session{ok}, Tokens: []store.Token{newToken("taken", bob, now)}}
		}, false, nil},
		{"ended unknown", func(ok store.Session) store.Batch {
			return admin(store.Batch{Sessions: []store.Session{ok}}, "nope")
		}, false, store.ErrNotFound},
	}
	for name, s := range importers(t, fx) {
		mustCreate(t, s, newSession("taken", alice, now))
		mustCreateToken(t, s, newToken("taken", alice, now))
		for i, tt := range tests {
			ok := newSession(fmt.Sprintf("ok%d", i), fmt.Sprintf("case%d@example.com", i), now)
			err := store.Import(t.Context(), s, tt.batch(ok))
			call := fmt.Sprintf("%s: Import(%s)", name, tt.name)
			if err == nil {
				t.Errorf("%s = nil, want an error", call)
			} else if tt.want != nil {
				wantErr(t, call, err, tt.want)
			}
			if tt.checked {
				wantLive(t, s, ok.Email, now)
			}
		}
	}
}

// testImportMany imports more records than go in one pipeline or
// transaction, and finds every one.
func testImportMany(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	const n = 2345
	b := store.Batch{EndedBy: store.ReasonIdle, EndedAt: now}
	for i := range n {
		b.Sessions = append(b.Sessions, newSession(fmt.Sprintf("s%d", i), fmt.Sprintf("u%d@example.com", i%100), now))
		b.Tokens = append(b.Tokens, newToken(fmt.Sprintf("t%d", i), fmt.Sprintf("u%d@example.com", i%100), now))
		if i%2 == 1 {
			b.Ended = append(b.Ended, fmt.Sprintf("s%d", i))
		}
	}
	if err := store.Import(t.Context(), s, b); err != nil {
		t.Fatalf("Import() = %v", err)
	}
	if got, err := s.CountLiveSessions(t.Context(), now); err != nil || got != n-n/2 {
		t.Errorf("CountLiveSessions() = %d, %v; want %d", got, err, n-n/2)
	}
	v := mustSnapshot(t, s, now)
	if len(v.Ended) != n/2 || len(v.Tokens) != n {
		t.Errorf("Snapshot() has %d ended sessions and %d tokens, want %d and %d", len(v.Ended), len(v.Tokens), n/2, n)
	}
	if last := b.Ended[len(b.Ended)-1]; v.Ended[last].IsZero() {
		t.Errorf("Snapshot().Ended has no %s, the last one ended", last)
	}
	wantTokens(t, s, "u44@example.com", now, tokensOf(b.Tokens, "u44@example.com")...)
}

// tokensOf returns the tokens of ts owned by email, sorted as Tokens sorts
// them when they were all made at once: by ID.
func tokensOf(ts []store.Token, email string) []store.Token {
	var out []store.Token
	for _, t := range ts {
		if t.Email == email {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b store.Token) int { return strings.Compare(a.ID, b.ID) })
	return out
}
