package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"doorman/auth/store"
)

// newDevice returns a pending device code made at created, for 600 s,
// asking for gpt4, the main list and images.
func newDevice(id, userCode string, created time.Time) store.DeviceCode {
	return store.DeviceCode{
		ID: id, UserCode: userCode, Name: "build box", Lists: []string{"gpt4", "", "images"},
		IP: "192.0.2.9", Created: created, Expires: created.Add(600 * time.Second), Interval: 5 * time.Second,
		Status: store.DevicePending, Granted: []string{},
	}
}

func mustCreateDevice(t *testing.T, s store.Store, ds ...store.DeviceCode) {
	t.Helper()
	for _, d := range ds {
		if err := s.CreateDeviceCode(t.Context(), d); err != nil {
			t.Fatalf("CreateDeviceCode(%s) = %v", d.ID, err)
		}
	}
}

func mustDecide(t *testing.T, s store.Store, userCode string, approve bool, lists []string, now time.Time) store.DeviceCode {
	t.Helper()
	d, err := s.DecideDeviceCode(t.Context(), userCode, alice, approve, lists, now)
	if err != nil {
		t.Fatalf("DecideDeviceCode(%s, %v) = %v", userCode, approve, err)
	}
	return d
}

// wantDevice checks that got is want, field by field.
func wantDevice(t *testing.T, call string, got, want store.DeviceCode) {
	t.Helper()
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("UserCode", got.UserCode, want.UserCode)
	d.str("Name", got.Name, want.Name)
	d.list("Lists", got.Lists, slices.Sorted(slices.Values(want.Lists)))
	d.str("IP", got.IP, want.IP)
	d.time("Created", got.Created, want.Created)
	d.time("Expires", got.Expires, want.Expires)
	d.str("Interval", got.Interval.String(), want.Interval.String())
	d.str("Status", string(got.Status), string(want.Status))
	d.str("Approver", got.Approver, want.Approver)
	d.list("Granted", got.Granted, want.Granted)
	d.time("LastPoll", got.LastPoll, want.LastPoll)
	if d != nil {
		t.Errorf("%s: %s", call, d)
	}
}

func testDeviceCreate(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	d := newDevice("d1", "BCDFGHJK", now)
	mustCreateDevice(t, s, d)
	for _, spelling := range []string{"BCDFGHJK", "bcdf-ghjk", "BCDF GHJK", " bcdfGHJK "} {
		got, err := s.DeviceCodeByUser(t.Context(), spelling, now.Add(time.Minute))
		if err != nil {
			t.Fatalf("DeviceCodeByUser(%q) = %v", spelling, err)
		}
		wantDevice(t, fmt.Sprintf("DeviceCodeByUser(%q)", spelling), got, d)
	}
	_, err := s.DeviceCodeByUser(t.Context(), "BCDFGHJL", now)
	wantErr(t, "DeviceCodeByUser(unknown)", err, store.ErrNotFound)
	_, err = s.DeviceCodeByUser(t.Context(), "AEIOUAEI", now)
	wantErr(t, "DeviceCodeByUser(malformed)", err, store.ErrNotFound)
	_, err = s.DeviceCodeByUser(t.Context(), "BCDFGHJK", d.Expires)
	wantErr(t, "DeviceCodeByUser(expired)", err, store.ErrNotFound)

	// A user code is unique among unexpired codes.
	err = s.CreateDeviceCode(t.Context(), newDevice("d2", "bcdf-ghjk", now.Add(time.Minute)))
	wantErr(t, "CreateDeviceCode(a taken user code)", err, store.ErrConflict)
	if err := s.CreateDeviceCode(t.Context(), newDevice("d1", "ZZZZZZZZ", now)); err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateDeviceCode(a taken id) = %v, want an error other than ErrConflict", err)
	}
	again := newDevice("d3", "BCDFGHJK", d.Expires)
	mustCreateDevice(t, s, again)
	got, err := s.DeviceCodeByUser(t.Context(), "BCDFGHJK", d.Expires)
	if err != nil {
		t.Fatalf("DeviceCodeByUser(reused code) = %v", err)
	}
	wantDevice(t, "DeviceCodeByUser(reused code)", got, again)
}

func testDeviceInvalid(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	tests := []struct {
		name string
		edit func(*store.DeviceCode)
	}{
		{"empty id", func(d *store.DeviceCode) { d.ID = "" }},
		{"id with a slash", func(d *store.DeviceCode) { d.ID = "a/b" }},
		{"user code of 7", func(d *store.DeviceCode) { d.UserCode = "BCDFGHJ" }},
		{"user code of 9", func(d *store.DeviceCode) { d.UserCode = "BCDFGHJKL" }},
		{"user code with a vowel", func(d *store.DeviceCode) { d.UserCode = "BCDFGHJA" }},
		{"user code with a digit", func(d *store.DeviceCode) { d.UserCode = "BCDF0HJK" }},
		{"name of 65", func(d *store.DeviceCode) { d.Name = strings.Repeat("n", 65) }},
		{"name with a tab", func(d *store.DeviceCode) { d.Name = "a\tb" }},
		{"no lists", func(d *store.DeviceCode) { d.Lists = nil }},
		{"bad list", func(d *store.DeviceCode) { d.Lists = []string{"a b"} }},
		{"long ip", func(d *store.DeviceCode) { d.IP = strings.Repeat("1", 65) }},
		{"no interval", func(d *store.DeviceCode) { d.Interval = 0 }},
		{"no created", func(d *store.DeviceCode) { d.Created = time.Time{} }},
		{"expires at created", func(d *store.DeviceCode) { d.Expires = d.Created }},
	}
	for _, tt := range tests {
		d := newDevice("d1", "BCDFGHJK", now)
		tt.edit(&d)
		if err := s.CreateDeviceCode(t.Context(), d); err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("CreateDeviceCode(%s) = %v, want an error other than ErrUnavailable", tt.name, err)
		}
	}
	// The state given is not taken: a new code is pending.
	d := newDevice("d1", "BCDFGHJK", now)
	d.Name, d.Status, d.Approver, d.Granted, d.LastPoll = "", store.DeviceApproved, alice, []string{"gpt4"}, now
	mustCreateDevice(t, s, d)
	got, err := s.DeviceCodeByUser(t.Context(), "BCDFGHJK", now)
	if err != nil {
		t.Fatalf("DeviceCodeByUser() = %v", err)
	}
	d.Status, d.Approver, d.Granted, d.LastPoll = store.DevicePending, "", []string{}, time.Time{}
	wantDevice(t, "DeviceCodeByUser()", got, d)
}

func testDeviceDecide(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	yes, no, none, old := newDevice("yes", "BBBBBBBB", now), newDevice("no", "CCCCCCCC", now),
		newDevice("none", "DDDDDDDD", now), newDevice("old", "FFFFFFFF", now.Add(-time.Hour))
	mustCreateDevice(t, s, yes, no, none, old)
	later := now.Add(time.Minute)

	got := mustDecide(t, s, "bbbb-bbbb", true, []string{"images", "gpt4", "other"}, later)
	yes.Status, yes.Approver, yes.Granted = store.DeviceApproved, alice, []string{"gpt4", "images"}
	wantDevice(t, "DecideDeviceCode(approve)", got, yes)
	got = mustDecide(t, s, "CCCCCCCC", false, []string{"gpt4"}, later)
	no.Status, no.Approver = store.DeviceDenied, alice
	wantDevice(t, "DecideDeviceCode(deny)", got, no)
	got = mustDecide(t, s, "DDDDDDDD", true, []string{"other"}, later)
	none.Status, none.Approver = store.DeviceDenied, alice
	wantDevice(t, "DecideDeviceCode(approve, nothing in common)", got, none)

	for _, code := range []string{"BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "FFFFFFFF", "GGGGGGGG", "B"} {
		for _, approve := range []bool{true, false} {
			_, err := s.DecideDeviceCode(t.Context(), code, bob, approve, []string{"gpt4"}, later)
			wantErr(t, fmt.Sprintf("DecideDeviceCode(%s, %v)", code, approve), err, store.ErrNotFound)
		}
		_, err := s.DeviceCodeByUser(t.Context(), code, later)
		wantErr(t, fmt.Sprintf("DeviceCodeByUser(%s) once decided", code), err, store.ErrNotFound)
	}
	mustCreateDevice(t, s, newDevice("next", "GGGGGGGG", now))
	if _, err := s.DecideDeviceCode(t.Context(), "GGGGGGGG", "", true, nil, later); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("DecideDeviceCode(no approver) = %v, want an error other than ErrNotFound", err)
	}
}

func testDevicePoll(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	d := newDevice("d1", "BCDFGHJK", now)
	mustCreateDevice(t, s, d)
	poll := func(at time.Time, want store.DeviceCode) {
		t.Helper()
		got, err := s.PollDeviceCode(t.Context(), "d1", at)
		if err != nil {
			t.Fatalf("PollDeviceCode(at %v) = %v", at.Sub(now), err)
		}
		wantDevice(t, fmt.Sprintf("PollDeviceCode(at %v)", at.Sub(now)), got, want)
	}
	poll(now.Add(5*time.Second), d)
	d.LastPoll = now.Add(5 * time.Second)
	poll(now.Add(7*time.Second), d)
	d.LastPoll = now.Add(7 * time.Second)
	poll(now.Add(6*time.Second), d) // never backwards
	poll(now.Add(12*time.Second), d)
	d.LastPoll = now.Add(12 * time.Second)

	approved := mustDecide(t, s, "BCDFGHJK", true, []string{"gpt4"}, now.Add(13*time.Second))
	d.Status, d.Approver, d.Granted = store.DeviceApproved, alice, []string{"gpt4"}
	wantDevice(t, "DecideDeviceCode()", approved, d)
	poll(now.Add(17*time.Second), d)

	_, err := s.PollDeviceCode(t.Context(), "d1", d.Expires)
	wantErr(t, "PollDeviceCode(expired)", err, store.ErrExpired)
	for _, id := range []string{"d2", "", "a:b"} {
		_, err := s.PollDeviceCode(t.Context(), id, now)
		wantErr(t, fmt.Sprintf("PollDeviceCode(%q)", id), err, store.ErrNotFound)
	}
}

// approvedDevice makes a device code and approves it for alice: gpt4.
func approvedDevice(t *testing.T, s store.Store, id, userCode string, now time.Time) store.DeviceCode {
	t.Helper()
	mustCreateDevice(t, s, newDevice(id, userCode, now))
	return mustDecide(t, s, userCode, true, []string{"gpt4", "chat"}, now)
}

func testDeviceRedeem(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	d := approvedDevice(t, s, "d1", "BCDFGHJK", now)
	mustCreateToken(t, s, newToken("taken", bob, now))
	v := mustSnapshot(t, s, now).Version
	tok := newToken("t1", "ignored@example.com", now)
	tok.Lists = []string{"ignored"}

	_, err := s.RedeemDeviceCode(t.Context(), "d1", newToken("taken", alice, now), now)
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		t.Errorf("RedeemDeviceCode(a taken token id) = %v, want another error", err)
	}
	got, err := s.RedeemDeviceCode(t.Context(), "d1", tok, now)
	if err != nil {
		t.Fatalf("RedeemDeviceCode(d1) = %v", err)
	}
	d.Status = store.DeviceRedeemed
	wantDevice(t, "RedeemDeviceCode(d1)", got, d)
	tok.Email, tok.Lists = alice, []string{"gpt4"}
	wantTokens(t, s, alice, now, tok)
	cs, _ := collect(t, s, v, 1)
	wantTokenChange(t, cs[0], tok)

	_, err = s.RedeemDeviceCode(t.Context(), "d1", newToken("t2", alice, now), now)
	wantErr(t, "RedeemDeviceCode(redeemed)", err, store.ErrConflict)
	mustCreateDevice(t, s, newDevice("pending", "CCCCCCCC", now), newDevice("denied", "DDDDDDDD", now))
	mustDecide(t, s, "DDDDDDDD", false, nil, now)
	approvedDevice(t, s, "expired", "FFFFFFFF", now.Add(-700*time.Second))
	for _, id := range []string{"pending", "denied", "expired", "unknown", "a b"} {
		_, err := s.RedeemDeviceCode(t.Context(), id, newToken("t-"+id, alice, now), now)
		wantErr(t, "RedeemDeviceCode("+id+")", err, store.ErrNotFound)
	}
	wantTokens(t, s, alice, now, tok)
}

// testDeviceRedeemRace redeems each of a few approved codes from many
// goroutines over two Stores (two processes or replicas) at once: exactly
// one redeems it, the others hear ErrConflict, and it yields one token.
func testDeviceRedeemRace(t *testing.T, fx fixture) {
	const handles, workers, codes = 2, 8, 4
	now := t0()
	stores := []store.Store{fx.open(t, store.Options{}), fx.open(t, store.Options{})}
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex // guards the counts
		won, lost, failed int
	)
	for c := range codes {
		id, userCode := fmt.Sprint("race", c), strings.Repeat(string(store.UserCodeAlphabet[c]), 8)
		approvedDevice(t, stores[0], id, userCode, now)
		for h := range handles * workers {
			wg.Go(func() {
				_, err := stores[h%handles].RedeemDeviceCode(t.Context(), id, newToken(fmt.Sprint(id, "-", h), alice, now), now)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, store.ErrConflict):
					lost++
				default:
					failed++
					t.Errorf("RedeemDeviceCode(%s) = %v", id, err)
				}
			})
		}
	}
	wg.Wait()
	t.Logf("%d codes, each redeemed by %d goroutines over %d stores: %d won, %d lost, %d failed",
		codes, handles*workers, handles, won, lost, failed)
	if won != codes || lost != codes*(handles*workers-1) {
		t.Errorf("won %d, lost %d; want %d and %d", won, lost, codes, codes*(handles*workers-1))
	}
	for _, s := range stores {
		if ts, err := s.Tokens(t.Context(), alice, now); err != nil || len(ts) != codes {
			t.Errorf("Tokens(alice) = %v, %v; want %d", tokenIDs(ts), err, codes)
		}
	}
}

func testDeviceDurable(t *testing.T, fx fixture) {
	s, now := fx.open(t, store.Options{}), t0()
	d := approvedDevice(t, s, "d1", "BCDFGHJK", now)
	mustCreateDevice(t, s, newDevice("d2", "CCCCCCCC", now))
	if _, err := s.PollDeviceCode(t.Context(), "d1", now.Add(time.Second)); err != nil {
		t.Fatalf("PollDeviceCode(d1) = %v", err)
	}
	d.LastPoll = now.Add(time.Second)

	s = fx.reopen(t, s)
	got, err := s.PollDeviceCode(t.Context(), "d1", now.Add(2*time.Second))
	if err != nil {
		t.Fatalf("PollDeviceCode(d1 after a restart) = %v", err)
	}
	wantDevice(t, "PollDeviceCode(d1 after a restart)", got, d)
	if _, err := s.RedeemDeviceCode(t.Context(), "d1", newToken("t1", alice, now), now); err != nil {
		t.Fatalf("RedeemDeviceCode(d1 after a restart) = %v", err)
	}
	err = s.CreateDeviceCode(t.Context(), newDevice("d3", "CCCCCCCC", now))
	wantErr(t, "CreateDeviceCode(the user code of d2 after a restart)", err, store.ErrConflict)

	s = fx.reopen(t, s)
	_, err = s.RedeemDeviceCode(t.Context(), "d1", newToken("t2", alice, now), now)
	wantErr(t, "RedeemDeviceCode(d1 again after a restart)", err, store.ErrConflict)
	tok := newToken("t1", alice, now)
	tok.Lists = []string{"gpt4"}
	wantTokens(t, s, alice, now, tok)
}
