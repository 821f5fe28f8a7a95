package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"doorman/auth/store"
)

func testCreateAndList(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1 := newSession("a1", alice, now.Add(2*time.Minute))
	a2 := newSession("a2", alice, now.Add(time.Minute))
	a2.LastSeen, a2.IP = now.Add(90*time.Second), ""
	b1 := newSession("b1", bob, now)
	mustCreate(t, s, a1, a2, b1)

	later := now.Add(5 * time.Minute)
	wantLive(t, s, alice, later, a2, a1)
	wantLive(t, s, bob, later, b1)
	wantLive(t, s, "", later, b1, a2, a1)
	wantLive(t, s, "carol@example.com", later)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping() = %v", err)
	}
}

func testCreateInvalid(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	valid := newSession("ok", alice, now)
	tests := []struct {
		name string
		edit func(*store.Session)
	}{
		{"empty id", func(s *store.Session) { s.ID = "" }},
		{"id with a space", func(s *store.Session) { s.ID = "a b" }},
		{"id with a colon", func(s *store.Session) { s.ID = "a:b" }},
		{"id of 65", func(s *store.Session) { s.ID = strings.Repeat("a", 65) }},
		{"id not ASCII", func(s *store.Session) { s.ID = "sessión" }},
		{"no email", func(s *store.Session) { s.Email = "" }},
		{"no created", func(s *store.Session) { s.Created = time.Time{} }},
		{"expires at created", func(s *store.Session) { s.Expires = s.Created }},
		{"expires before created", func(s *store.Session) { s.Expires = s.Created.Add(-time.Hour) }},
	}
	for _, tt := range tests {
		sess := valid
		tt.edit(&sess)
		if err := s.CreateSession(t.Context(), sess); err == nil {
			t.Errorf("CreateSession(%s) = nil, want an error", tt.name)
		}
	}
	wantLive(t, s, "", now)
	long := newSession(strings.Repeat("x", 64), alice, now)
	mustCreate(t, s, long)
	wantLive(t, s, alice, now, long)
}

func testIDTaken(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1 := newSession("a1", alice, now)
	mustCreate(t, s, a1)
	again := newSession("a1", bob, now.Add(time.Minute))
	if err := s.CreateSession(t.Context(), again); err == nil {
		t.Errorf("CreateSession(a1 again) = nil, want an error")
	}
	mustEnd(t, s, "a1", now.Add(time.Minute))
	if err := s.CreateSession(t.Context(), again); err == nil {
		t.Errorf("CreateSession(a1 after it ended) = nil, want an error")
	}
	wantLive(t, s, "", now.Add(time.Minute))
}

func testEndSession(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2, b1 := newSession("a1", alice, now), newSession("a2", alice, now.Add(time.Second)), newSession("b1", bob, now)
	mustCreate(t, s, a1, a2, b1)
	later := now.Add(time.Minute)

	got, err := s.EndSession(t.Context(), alice, "a1", store.ReasonUser, later)
	if err != nil {
		t.Fatalf("EndSession(alice, a1) = %v", err)
	}
	wantSessions(t, "EndSession(alice, a1)", []store.Session{got}, a1)
	wantLive(t, s, alice, later, a2)
	wantLive(t, s, "", later, b1, a2)

	got, err = s.EndSession(t.Context(), "", "a2", store.ReasonAdmin, later)
	if err != nil {
		t.Fatalf("EndSession(\"\", a2) = %v", err)
	}
	wantSessions(t, "EndSession(\"\", a2)", []store.Session{got}, a2)
	wantLive(t, s, "", later, b1)
	wantEnded(t, mustSnapshot(t, s, later), a1, a2)

	if _, err := s.EndSession(t.Context(), bob, "b1", "because", later); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession(reason \"because\") = %v, want an error other than ErrNotFound", err)
	}
}

func testEndSessionNotFound(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2 := newSession("a1", alice, now), newSession("a2", alice, now)
	a2.Expires = now.Add(time.Hour)
	mustCreate(t, s, a1, a2, newSession("gone", alice, now))
	mustEnd(t, s, "gone", now)
	later := now.Add(2 * time.Hour)
	tests := []struct {
		name, email, id string
	}{
		{"someone else's", bob, "a1"},
		{"unknown", alice, "nope"},
		{"unknown, admin", "", "nope"},
		{"ended", alice, "gone"},
		{"expired", alice, "a2"},
		{"invalid id", alice, "../a1"},
		{"empty id", alice, ""},
	}
	for _, tt := range tests {
		_, err := s.EndSession(t.Context(), tt.email, tt.id, store.ReasonUser, later)
		wantErr(t, "EndSession("+tt.name+")", err, store.ErrNotFound)
	}
	wantLive(t, s, alice, later, a1)
}

func testEndSessionsOf(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2, b1 := newSession("a1", alice, now), newSession("a2", alice, now.Add(time.Second)), newSession("b1", bob, now)
	expired, ended := newSession("a3", alice, now), newSession("a4", alice, now)
	expired.Expires = now.Add(time.Hour)
	mustCreate(t, s, a2, a1, b1, expired, ended)
	mustEnd(t, s, "a4", now)
	later := now.Add(2 * time.Hour)

	got, err := s.EndSessionsOf(t.Context(), alice, store.ReasonUserAll, later)
	if err != nil {
		t.Fatalf("EndSessionsOf(alice) = %v", err)
	}
	wantSessions(t, "EndSessionsOf(alice)", got, a1, a2)
	wantLive(t, s, alice, later)
	wantLive(t, s, "", later, b1)
	wantEnded(t, mustSnapshot(t, s, later), a1, a2, ended)

	got, err = s.EndSessionsOf(t.Context(), alice, store.ReasonAdmin, later)
	if err != nil || len(got) != 0 {
		t.Errorf("EndSessionsOf(alice) again = %v, %v; want none, nil", ids(got), err)
	}
}

func testExpired(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1 := newSession("a1", alice, now)
	a1.Expires = now.Add(time.Hour)
	mustCreate(t, s, a1)
	wantLive(t, s, alice, a1.Expires.Add(-time.Millisecond), a1)
	wantLive(t, s, alice, a1.Expires)
	wantLive(t, s, "", a1.Expires)

	later := now.Add(2 * time.Hour)
	_, err := s.EndSession(t.Context(), alice, "a1", store.ReasonUser, later)
	wantErr(t, "EndSession(expired)", err, store.ErrNotFound)
	if got, err := s.EndSessionsOf(t.Context(), alice, store.ReasonUserAll, later); err != nil || len(got) != 0 {
		t.Errorf("EndSessionsOf(alice) = %v, %v; want none, nil", ids(got), err)
	}
	wantEnded(t, mustSnapshot(t, s, later))
}

func testTouch(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2 := newSession("a1", alice, now), newSession("a2", alice, now)
	mustCreate(t, s, a1, a2)
	touch := func(seen map[string]time.Time) {
		t.Helper()
		if err := s.TouchSessions(t.Context(), seen); err != nil {
			t.Fatalf("TouchSessions(%v) = %v", seen, err)
		}
	}
	touch(map[string]time.Time{"a1": now.Add(5 * time.Minute), "a2": now.Add(time.Minute), "unknown": now})
	touch(map[string]time.Time{"a1": now.Add(3 * time.Minute), "a2": now.Add(2 * time.Minute)})
	touch(nil)
	a1.LastSeen, a2.LastSeen = now.Add(5*time.Minute), now.Add(2*time.Minute)
	wantLive(t, s, alice, now, a1, a2)

	mustEnd(t, s, "a2", now.Add(3*time.Minute))
	touch(map[string]time.Time{"a2": now.Add(4 * time.Minute)})
	wantLive(t, s, alice, now, a1)
	wantEnded(t, mustSnapshot(t, s, now), a2)

	if err := s.TouchSessions(t.Context(), map[string]time.Time{"a1": now, "bad id": now}); err == nil {
		t.Errorf("TouchSessions(bad id) = nil, want an error")
	}
}

func testIdle(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	cutoff, later := now.Add(45*time.Minute), now.Add(time.Hour)
	idle := newSession("idle", alice, now)                     // never seen
	stale := newSession("stale", bob, now)                     // seen, but long ago
	busy := newSession("busy", alice, now)                     // seen after cutoff
	edge := newSession("edge", alice, now)                     // seen at cutoff exactly
	fresh := newSession("fresh", bob, now.Add(50*time.Minute)) // created after cutoff
	expired := newSession("expired", bob, now)                 // idle, but over anyway
	expired.Expires = now.Add(30 * time.Minute)
	mustCreate(t, s, idle, stale, busy, edge, fresh, expired)
	err := s.TouchSessions(t.Context(), map[string]time.Time{
		"stale": now.Add(10 * time.Minute), "busy": now.Add(50 * time.Minute), "edge": cutoff,
	})
	if err != nil {
		t.Fatalf("TouchSessions() = %v", err)
	}
	stale.LastSeen, busy.LastSeen, edge.LastSeen = now.Add(10*time.Minute), now.Add(50*time.Minute), cutoff

	got, err := s.EndIdleSessions(t.Context(), cutoff, later)
	if err != nil {
		t.Fatalf("EndIdleSessions() = %v", err)
	}
	wantSessions(t, "EndIdleSessions()", got, idle, stale)
	wantLive(t, s, "", later, busy, edge, fresh)
	wantEnded(t, mustSnapshot(t, s, later), idle, stale)
	if got, err := s.EndIdleSessions(t.Context(), cutoff, later); err != nil || len(got) != 0 {
		t.Errorf("EndIdleSessions() again = %v, %v; want none, nil", ids(got), err)
	}
}

func testUserAgent(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	tests := []struct {
		id, ua, want string
	}{
		{"short", "curl/8.5.0", "curl/8.5.0"},
		{"empty", "", ""},
		{"exactly200", strings.Repeat("a", 200), strings.Repeat("a", 200)},
		{"ascii300", strings.Repeat("b", 300), strings.Repeat("b", 200)},
		{"two-byte-split", strings.Repeat("c", 199) + "é", strings.Repeat("c", 199)},
		{"three-byte-split", strings.Repeat("d", 198) + "€€", strings.Repeat("d", 198)},
		{"four-byte-fits", strings.Repeat("e", 196) + "😀😀", strings.Repeat("e", 196) + "😀"},
	}
	for _, tt := range tests {
		sess := newSession(tt.id, alice, now)
		sess.UserAgent = tt.ua
		mustCreate(t, s, sess)
	}
	got, err := s.LiveSessions(t.Context(), alice, now)
	if err != nil {
		t.Fatalf("LiveSessions() = %v", err)
	}
	byID := make(map[string]string)
	for _, g := range got {
		byID[g.ID] = g.UserAgent
	}
	for _, tt := range tests {
		if ua := byID[tt.id]; ua != tt.want || !utf8.ValidString(ua) {
			t.Errorf("UserAgent of %s = %q (%d bytes), want %q (%d bytes)", tt.id, ua, len(ua), tt.want, len(tt.want))
		}
	}
}
