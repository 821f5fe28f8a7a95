package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"doorman/auth/store"
)

// newToken returns a token of email made at created, for 90 days, opening
// the main list and gpt4.
func newToken(id, email string, created time.Time) store.Token {
	return store.Token{
		ID: id, Email: email, Name: "laptop " + id, Prefix: "doorman_AbC9",
		Lists: []string{"", "gpt4"}, Created: created, Expires: created.Add(90 * 24 * time.Hour),
	}
}

func mustCreateToken(t *testing.T, s store.Store, ts ...store.Token) {
	t.Helper()
	for _, tok := range ts {
		if err := s.CreateToken(t.Context(), tok); err != nil {
			t.Fatalf("CreateToken(%s) = %v", tok.ID, err)
		}
	}
}

func mustEndToken(t *testing.T, s store.Store, id string, now time.Time) store.Token {
	t.Helper()
	got, err := s.EndToken(t.Context(), "", id, store.ReasonAdmin, now)
	if err != nil {
		t.Fatalf("EndToken(%s) = %v", id, err)
	}
	return got
}

// wantTokens checks that the live tokens of email at now are want, in order.
func wantTokens(t *testing.T, s store.Store, email string, now time.Time, want ...store.Token) {
	t.Helper()
	got, err := s.Tokens(t.Context(), email, now)
	if err != nil {
		t.Fatalf("Tokens(%q) = %v", email, err)
	}
	wantTokenList(t, fmt.Sprintf("Tokens(%q)", email), got, want...)
}

// wantTokenList checks that got are want, in order, field by field.
func wantTokenList(t *testing.T, call string, got []store.Token, want ...store.Token) {
	t.Helper()
	wantRecords(t, call, got, want, tokenIDs, diffToken)
}

// diffToken describes how got differs from want, or returns "".
func diffToken(got, want store.Token) string {
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Email", got.Email, want.Email)
	d.str("Name", got.Name, want.Name)
	d.str("Prefix", got.Prefix, want.Prefix)
	d.list("Lists", got.Lists, want.Lists)
	d.time("Created", got.Created, want.Created)
	d.time("Expires", got.Expires, want.Expires)
	d.time("LastUsed", got.LastUsed, want.LastUsed)
	return d.String()
}

func tokenIDs(ts []store.Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

// wantViewTokens checks that the view's live tokens are exactly want.
func wantViewTokens(t *testing.T, v store.View, want ...store.Token) {
	t.Helper()
	var got []store.Token
	for id, tok := range v.Tokens {
		if tok.ID != id {
			t.Errorf("Snapshot().Tokens[%s].ID = %s", id, tok.ID)
		}
		got = append(got, tok)
	}
	byID := func(a, b store.Token) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(got, byID)
	wantTokenList(t, "Snapshot().Tokens", got, slices.SortedFunc(slices.Values(want), byID)...)
}

func testTokenCreateAndList(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1 := newToken("LPm3kHHZ2mYcJ0SvXbnQnV0Ue8CZ6yqBzz6Jh7pE0kQ", alice, now.Add(time.Minute))
	a2 := newToken("a2", alice, now)
	a2.Name, a2.Prefix, a2.Lists = "Ünïcode — “quoted” 🚀", "", []string{"gpt4", "", "gpt4", "b.c-d_e"}
	b1 := newToken("b1", bob, now)
	b1.LastUsed = now.Add(time.Second)
	mustCreateToken(t, s, a1, a2, b1)
	a2.Lists = []string{"", "b.c-d_e", "gpt4"} // sorted, without repeats

	later := now.Add(5 * time.Minute)
	wantTokens(t, s, alice, later, a2, a1)
	wantTokens(t, s, bob, later, b1)
	wantTokens(t, s, "", later, a2, b1, a1)
	wantTokens(t, s, carol, later)
	wantTokens(t, fx.other(t), "", later)
}

func testTokenInvalid(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	tests := []struct {
		name string
		edit func(*store.Token)
	}{
		{"empty id", func(t *store.Token) { t.ID = "" }},
		{"id with a colon", func(t *store.Token) { t.ID = "a:b" }},
		{"id of 65", func(t *store.Token) { t.ID = strings.Repeat("a", 65) }},
		{"no email", func(t *store.Token) { t.Email = "" }},
		{"no name", func(t *store.Token) { t.Name = "" }},
		{"name of 65", func(t *store.Token) { t.Name = strings.Repeat("é", 65) }},
		{"name with a newline", func(t *store.Token) { t.Name = "a\nb" }},
		{"name not UTF-8", func(t *store.Token) { t.Name = "a\xffb" }},
		{"the whole token as prefix", func(t *store.Token) { t.Prefix = "doorman_" + strings.Repeat("x", 38) }},
		{"prefix with a space", func(t *store.Token) { t.Prefix = "doorman AbC" }},
		{"no lists", func(t *store.Token) { t.Lists = nil }},
		{"list with a colon", func(t *store.Token) { t.Lists = []string{"a:b"} }},
		{"65 lists", func(t *store.Token) { t.Lists = numbered("l", 65) }},
		{"no created", func(t *store.Token) { t.Created = time.Time{} }},
		{"expires at created", func(t *store.Token) { t.Expires = t.Created }},
	}
	for _, tt := range tests {
		tok := newToken("ok", alice, now)
		tt.edit(&tok)
		if err := s.CreateToken(t.Context(), tok); err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("CreateToken(%s) = %v, want an error other than ErrUnavailable", tt.name, err)
		}
	}
	wantTokens(t, s, "", now)
	biggest := newToken(strings.Repeat("x", 64), alice, now)
	biggest.Name, biggest.Prefix, biggest.Lists = strings.Repeat("é", 64), "doorman_AbC9", numbered("l", 64)
	mustCreateToken(t, s, biggest)
	slices.Sort(biggest.Lists)
	wantTokens(t, s, alice, now, biggest)

	// An id is never used twice, also once its token has ended.
	mustEndToken(t, s, biggest.ID, now)
	if err := s.CreateToken(t.Context(), newToken(biggest.ID, bob, now)); err == nil {
		t.Errorf("CreateToken(the id of an ended token) = nil, want an error")
	}
	wantTokens(t, s, "", now)
}

// numbered returns n names: prefix0, prefix1, ….
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(prefix, i)
	}
	return out
}

func testTokenEnd(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2, b1 := newToken("a1", alice, now), newToken("a2", alice, now.Add(time.Second)), newToken("b1", bob, now)
	short, gone := newToken("short", alice, now), newToken("gone", alice, now)
	short.Expires = now.Add(time.Hour)
	mustCreateToken(t, s, a1, a2, b1, short, gone)
	mustEndToken(t, s, "gone", now)
	later := now.Add(2 * time.Hour)

	got, err := s.EndToken(t.Context(), alice, "a1", store.ReasonUser, later)
	if err != nil {
		t.Fatalf("EndToken(alice, a1) = %v", err)
	}
	wantTokenList(t, "EndToken(alice, a1)", []store.Token{got}, a1)
	got, err = s.EndToken(t.Context(), "", "b1", store.ReasonAdmin, later)
	if err != nil {
		t.Fatalf("EndToken(\"\", b1) = %v", err)
	}
	wantTokenList(t, "EndToken(\"\", b1)", []store.Token{got}, b1)

	for _, tt := range []struct{ name, email, id string }{
		{"someone else's", bob, "a2"},
		{"unknown", alice, "nope"},
		{"unknown, admin", "", "nope"},
		{"ended", alice, "a1"},
		{"ended before", "", "gone"},
		{"expired", alice, "short"},
		{"invalid id", alice, "../a2"},
		{"empty id", "", ""},
	} {
		_, err := s.EndToken(t.Context(), tt.email, tt.id, store.ReasonUser, later)
		wantErr(t, "EndToken("+tt.name+")", err, store.ErrNotFound)
	}
	if _, err := s.EndToken(t.Context(), alice, "a2", "because", later); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndToken(reason \"because\") = %v, want an error other than ErrNotFound", err)
	}
	wantTokens(t, s, "", later, a2)
}

func testTokenEndAll(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2, b1 := newToken("a1", alice, now.Add(time.Second)), newToken("a2", alice, now), newToken("b1", bob, now)
	short, gone := newToken("short", alice, now), newToken("gone", alice, now)
	short.Expires = now.Add(time.Hour)
	mustCreateToken(t, s, a1, a2, b1, short, gone)
	mustEndToken(t, s, "gone", now)
	later := now.Add(2 * time.Hour)

	got, err := s.EndTokensOf(t.Context(), alice, store.ReasonAdmin, later)
	if err != nil {
		t.Fatalf("EndTokensOf(alice) = %v", err)
	}
	wantTokenList(t, "EndTokensOf(alice)", got, a2, a1)
	wantTokens(t, s, "", later, b1)
	if got, err := s.EndTokensOf(t.Context(), alice, store.ReasonAdmin, later); err != nil || len(got) != 0 {
		t.Errorf("EndTokensOf(alice) again = %v, %v; want none, nil", tokenIDs(got), err)
	}
	if _, err := s.EndTokensOf(t.Context(), bob, "", later); err == nil {
		t.Errorf("EndTokensOf(reason \"\") = nil, want an error")
	}
}

func testTokenExpiry(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2 := newToken("a1", alice, now), newToken("a2", alice, now)
	a1.Expires = now.Add(time.Hour)
	mustCreateToken(t, s, a1, a2)
	wantTokens(t, s, alice, a1.Expires.Add(-time.Millisecond), a1, a2)
	wantTokens(t, s, alice, a1.Expires, a2)
	wantViewTokens(t, mustSnapshot(t, s, a1.Expires), a2)
	// A later write purges it; it stays gone.
	mustCreateToken(t, s, newToken("b1", bob, now.Add(2*time.Hour)))
	wantTokens(t, s, alice, now, a2)
}

func testTokenTouch(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2, gone := newToken("a1", alice, now), newToken("a2", alice, now), newToken("gone", alice, now)
	mustCreateToken(t, s, a1, a2, gone)
	mustEndToken(t, s, "gone", now)
	touch := func(used map[string]time.Time) {
		t.Helper()
		if err := s.TouchTokens(t.Context(), used); err != nil {
			t.Fatalf("TouchTokens(%v) = %v", used, err)
		}
	}
	touch(map[string]time.Time{"a1": now.Add(5 * time.Minute), "a2": now.Add(time.Minute), "unknown": now, "gone": now})
	touch(map[string]time.Time{"a1": now.Add(3 * time.Minute), "a2": now.Add(2 * time.Minute)})
	touch(nil)
	a1.LastUsed, a2.LastUsed = now.Add(5*time.Minute), now.Add(2*time.Minute)
	wantTokens(t, s, alice, now, a1, a2)
	wantViewTokens(t, mustSnapshot(t, s, now), a1, a2)
	if err := s.TouchTokens(t.Context(), map[string]time.Time{"a1": now, "bad id": now}); err == nil {
		t.Errorf("TouchTokens(bad id) = nil, want an error")
	}
}

func testTokenSnapshot(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	wantViewTokens(t, mustSnapshot(t, s, now))
	a1, b1, gone := newToken("a1", alice, now), newToken("b1", bob, now), newToken("gone", bob, now)
	mustCreateToken(t, s, a1, b1, gone)
	mustCreate(t, s, newSession("s1", alice, now))
	mustEndToken(t, s, "gone", now)
	mustEnd(t, s, "s1", now)
	v := mustSnapshot(t, s, now)
	wantViewTokens(t, v, a1, b1)
	wantEnded(t, v, newSession("s1", alice, now))
}

// wantTokenChange checks that c says that want was made, or ended when
// want has no Name.
func wantTokenChange(t *testing.T, c store.Change, want store.Token) {
	t.Helper()
	if want.Name == "" {
		if c.Kind != store.TokenEnded || c.ID != want.ID || !c.Expires.Equal(want.Expires) || c.Token != nil {
			t.Errorf("change = %+v, want %s ended, expiring %v", c, want.ID, want.Expires)
		}
		return
	}
	if c.Kind != store.TokenMade || c.ID != want.ID || !c.Expires.Equal(want.Expires) || c.Token == nil {
		t.Fatalf("change = %+v, want %s made, expiring %v", c, want.ID, want.Expires)
	}
	want.LastUsed = time.Time{}
	if d := diffToken(*c.Token, want); d != "" {
		t.Errorf("change of %s: Token: %s", want.ID, d)
	}
}

// ended returns what a TokenEnded change of tok says.
func ended(tok store.Token) store.Token {
	return store.Token{ID: tok.ID, Expires: tok.Expires}
}

func testTokenChanges(t *testing.T, fx fixture) {
	reader, writer, now := fx.open(t, store.Options{}), fx.open(t, store.Options{}), t0()
	v := mustSnapshot(t, reader, now).Version
	a1, a2, b1 := newToken("a1", alice, now), newToken("a2", alice, now.Add(time.Second)), newToken("b1", bob, now)
	a1.LastUsed = now.Add(time.Minute) // not in the change

	for _, step := range []struct {
		name  string
		write func() error
		want  store.Token
	}{
		{"CreateToken(a1)", func() error { return writer.CreateToken(t.Context(), a1) }, a1},
		{"EndToken(a1)", func() error { _, err := writer.EndToken(t.Context(), alice, "a1", store.ReasonUser, now); return err }, ended(a1)},
	} {
		done := make(chan time.Time, 1)
		go func() {
			time.Sleep(200 * time.Millisecond)
			if err := step.write(); err != nil {
				t.Errorf("%s = %v", step.name, err)
			}
			done <- time.Now()
		}()
		var cs []store.Change
		cs, v = collect(t, reader, v, 1)
		lag := time.Since(<-done)
		if lag > time.Second {
			t.Errorf("Changes() saw %s %v after it, want within 1s", step.name, lag)
		}
		t.Logf("another Store saw %s %v after it", step.name, lag.Round(time.Millisecond))
		wantTokenChange(t, cs[0], step.want)
	}

	mustCreateToken(t, writer, a2, b1)
	mustCreate(t, writer, newSession("s1", alice, now))
	mustEnd(t, writer, "s1", now)
	if _, err := writer.EndTokensOf(t.Context(), alice, store.ReasonAdmin, now); err != nil {
		t.Fatalf("EndTokensOf(alice) = %v", err)
	}
	cs, _ := collect(t, reader, v, 4)
	wantTokenChange(t, cs[0], a2)
	wantTokenChange(t, cs[1], b1)
	wantChanges(t, cs[2:3], newSession("s1", alice, now))
	wantTokenChange(t, cs[3], ended(a2))
	wantViewTokens(t, mustSnapshot(t, reader, now), b1)
}

func testTokenDurable(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	a1, a2 := newToken("a1", alice, now), newToken("a2", alice, now)
	mustCreateToken(t, s, a1, a2)
	v := mustSnapshot(t, s, now).Version
	mustEndToken(t, s, "a1", now)
	if err := s.TouchTokens(t.Context(), map[string]time.Time{"a2": now.Add(time.Minute)}); err != nil {
		t.Fatalf("TouchTokens() = %v", err)
	}
	a2.LastUsed = now.Add(time.Minute)

	s = fx.reopen(t, s)
	wantTokens(t, s, alice, now, a2)
	wantViewTokens(t, mustSnapshot(t, s, now), a2)
	cs, _ := collect(t, s, v, 1)
	wantTokenChange(t, cs[0], ended(a1))
	_, err := s.EndToken(t.Context(), alice, "a1", store.ReasonUser, now)
	wantErr(t, "EndToken(a1 after the restart)", err, store.ErrNotFound)
	if err := s.CreateToken(t.Context(), a1); err == nil {
		t.Errorf("CreateToken(a1 again after the restart) = nil, want an error")
	}
}
