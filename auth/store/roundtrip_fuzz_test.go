package store

// Fuzz targets that write records through a real backend and read them
// back: a session, a token and a device code made of the fuzzer's strings
// are either refused, leaving nothing behind, or stored and read back
// (listed, ended, in the change feed) exactly as prepared. Each exec makes
// up to nine writes, so these targets are slow to fuzz; their seeds are
// quick.

import (
	"cmp"
	"errors"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"doorman/auth/store/redistest"
)

func FuzzSQLiteRecords(f *testing.F) {
	s, err := openSQLite(f.Context(), filepath.Join(f.TempDir(), "doorman.db"), Options{}.withDefaults())
	if err != nil {
		f.Fatalf("openSQLite() = %v", err)
	}
	f.Cleanup(func() { s.Close() })
	fuzzRecords(f, s)
}

func FuzzRedisRecords(f *testing.F) {
	s, err := openRedis(redistest.Start(f).URL(), Options{}.withDefaults())
	if err != nil {
		f.Fatalf("openRedis() = %v", err)
	}
	f.Cleanup(func() { s.Close() })
	fuzzRecords(f, s)
}

// roundTrip is the store a round-trip target writes to, and where it has
// followed the store's change feed to.
type roundTrip struct {
	st Store
	mu sync.Mutex // one exec at a time: each expects the feed to hold its changes only
	n  int        // records made, for new ids and user codes
	v  Version
}

// fuzzRecords seeds f and fuzzes it on st.
func fuzzRecords(f *testing.F, st Store) {
	view, err := st.Snapshot(f.Context(), time.Now())
	if err != nil {
		f.Fatalf("Snapshot() = %v", err)
	}
	rt := &roundTrip{st: st, v: view.Version}
	f.Add("alice@example.com", "laptop", "Mozilla/5.0 (X11; Linux x86_64)", "203.0.113.9", ",gpt4", "doorman_abcd", int64(0))
	f.Add("Bob@Example.COM", "CI — nightly 🚀", strings.Repeat("é", 101), "2001:db8::9", "gpt4,a.b,gpt4", "", int64(61_000))
	f.Add("a'b\"c@x\x00y", "x\u00a0y", "\xff\xfe\x00ua", strings.Repeat("1", 64), "-,_,.", "A-_z", int64(3_600_000))
	f.Add("", "", "", "", "", "", int64(-1))
	f.Add("c@example.com", "a\tb", "", strings.Repeat("1", 65), "a:b", "doorman_abcdefgh", int64(1))
	f.Fuzz(func(t *testing.T, email, name, ua, ip, lists, prefix string, ago int64) {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		now := time.Now()
		created := now.Add(-time.Duration(ago%86_400_000) * time.Millisecond).Add(-time.Minute)
		rt.session(t, Session{ID: rt.newID(), Email: email, Created: created, Expires: now.Add(time.Hour), UserAgent: ua, IP: ip}, now)
		rt.token(t, Token{ID: rt.newID(), Email: email, Name: name, Prefix: prefix, Lists: splitLists(lists),
			Created: created, Expires: now.Add(time.Hour)}, now)
		d := DeviceCode{ID: rt.newID(), UserCode: rt.newUserCode(), Name: name, Lists: splitLists(lists), IP: ip,
			Created: created, Expires: now.Add(10 * time.Minute), Interval: 5 * time.Second}
		rt.device(t, d, email, ago%2 == 0, now)
		rt.unknown(t, email, name, now)
	})
}

// unknown checks that the string s, which names no record, is not found
// as a session, token or device code id, nor as a user code, whatever its
// bytes: what the pages and /device/token turn into a 404 or an
// invalid_grant, never an error.
func (rt *roundTrip) unknown(t *testing.T, email, s string, now time.Time) {
	t.Helper()
	if strings.HasPrefix(s, "fz") { // may be a record of an earlier exec
		return
	}
	ctx := t.Context()
	for what, err := range map[string]error{
		"EndSession":       second(rt.st.EndSession(ctx, email, s, ReasonUser, now)),
		"EndToken":         second(rt.st.EndToken(ctx, email, s, ReasonUser, now)),
		"PollDeviceCode":   second(rt.st.PollDeviceCode(ctx, s, now)),
		"DeviceCodeByUser": second(rt.st.DeviceCodeByUser(ctx, s, now)),
		"DecideDeviceCode": second(rt.st.DecideDeviceCode(ctx, s, "approver@example.com", true, []string{""}, now)),
		"RedeemDeviceCode": second(rt.st.RedeemDeviceCode(ctx, s, Token{ID: rt.newID(), Name: "x", Created: now, Expires: now.Add(time.Hour)}, now)),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s(%q) = %v, want ErrNotFound", what, s, err)
		}
	}
	rt.wantChanges(t)
}

// second returns the error of a call's two results.
func second[T any](_ T, err error) error { return err }

// newID returns an id no record of this store has had.
func (rt *roundTrip) newID() string {
	rt.n++
	return "fz" + strconv.Itoa(rt.n)
}

// newUserCode returns a user code no device code of this store has had.
func (rt *roundTrip) newUserCode() string {
	rt.n++
	b := []byte("BBBBBBBB")
	for i, n := len(b)-1, rt.n; n > 0; i, n = i-1, n/len(UserCodeAlphabet) {
		b[i] = UserCodeAlphabet[n%len(UserCodeAlphabet)]
	}
	return string(b)
}

// session creates s and, when the store accepts it, lists it, ends it
// and follows the feed, checking that it reads back as prepared.
func (rt *roundTrip) session(t *testing.T, s Session, now time.Time) {
	t.Helper()
	ctx := t.Context()
	want, perr := s.prepare()
	if err := rt.st.CreateSession(ctx, s); (err == nil) != (perr == nil) {
		t.Fatalf("CreateSession(%q) = %v; prepare() = %v", s.Email, err, perr)
	} else if err != nil {
		if _, err := rt.st.EndSession(ctx, "", s.ID, ReasonAdmin, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("EndSession(%s) of a session refused = %v, want ErrNotFound", s.ID, err)
		}
		rt.wantChanges(t)
		return
	}
	live, err := rt.st.LiveSessions(ctx, s.Email, now)
	if got := find(live, func(x Session) bool { return x.ID == s.ID }); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LiveSessions(%q) = %v, %v; want %+v among them", s.Email, live, err, want)
	}
	if got, err := rt.st.EndSession(ctx, s.Email, s.ID, ReasonAdmin, now); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("EndSession(%q, %s) = %+v, %v; want %+v", s.Email, s.ID, got, err, want)
	}
	rt.wantChanges(t, Change{Kind: SessionEnded, ID: s.ID, Expires: want.Expires})
}

// token creates tok and, when the store accepts it, lists it, ends it and
// follows the feed, checking that it reads back as prepared.
func (rt *roundTrip) token(t *testing.T, tok Token, now time.Time) {
	t.Helper()
	ctx := t.Context()
	want, perr := tok.prepare()
	if err := rt.st.CreateToken(ctx, tok); (err == nil) != (perr == nil) {
		t.Fatalf("CreateToken(%q, %q, %q) = %v; prepare() = %v", tok.Email, tok.Name, tok.Lists, err, perr)
	} else if err != nil {
		if _, err := rt.st.EndToken(ctx, "", tok.ID, ReasonAdmin, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("EndToken(%s) of a token refused = %v, want ErrNotFound", tok.ID, err)
		}
		rt.wantChanges(t)
		return
	}
	live, err := rt.st.Tokens(ctx, tok.Email, now)
	if got := find(live, func(x Token) bool { return x.ID == tok.ID }); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Tokens(%q) = %v, %v; want %+v among them", tok.Email, live, err, want)
	}
	rt.wantChanges(t, Change{Kind: TokenMade, ID: want.ID, Expires: want.Expires, Token: &want})
	rt.endToken(t, want, now)
}

// endToken ends want, which must read back as it is, and follows the feed.
func (rt *roundTrip) endToken(t *testing.T, want Token, now time.Time) {
	t.Helper()
	if got, err := rt.st.EndToken(t.Context(), want.Email, want.ID, ReasonAdmin, now); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("EndToken(%q, %s) = %+v, %v; want %+v", want.Email, want.ID, got, err, want)
	}
	rt.wantChanges(t, Change{Kind: TokenEnded, ID: want.ID, Expires: want.Expires})
}

// device creates d and, when the store accepts it, finds it by its user
// code, has approver decide it and, approved, redeems it, checking each
// step against what d's prepared form says.
func (rt *roundTrip) device(t *testing.T, d DeviceCode, approver string, approve bool, now time.Time) {
	t.Helper()
	ctx := t.Context()
	want, perr := d.prepare()
	if err := rt.st.CreateDeviceCode(ctx, d); (err == nil) != (perr == nil) {
		t.Fatalf("CreateDeviceCode(%q, %q) = %v; prepare() = %v", d.Name, d.Lists, err, perr)
	} else if err != nil {
		if _, err := rt.st.DeviceCodeByUser(ctx, d.UserCode, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("DeviceCodeByUser(%s) of a code refused = %v, want ErrNotFound", d.UserCode, err)
		}
		return
	}
	user := strings.ToLower(d.UserCode[:4] + "-" + d.UserCode[4:])
	if got, err := rt.st.DeviceCodeByUser(ctx, user, now); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("DeviceCodeByUser(%s) = %+v, %v; want %+v", user, got, err, want)
	}
	if validEmail(approver) != nil {
		approver = "approver@example.com"
	}
	mine := want.Lists[len(want.Lists)/2:]
	decided := want
	decided.Approver = approver
	decided.Status, decided.Granted = want.decision(approve, mine)
	if got, err := rt.st.DecideDeviceCode(ctx, user, approver, approve, mine, now); err != nil || !reflect.DeepEqual(got, decided) {
		t.Fatalf("DecideDeviceCode(%s, %v, %q) = %+v, %v; want %+v", user, approve, mine, got, err, decided)
	}
	if got, err := rt.st.PollDeviceCode(ctx, d.ID, now); err != nil || !reflect.DeepEqual(got, decided) {
		t.Fatalf("PollDeviceCode(%s) = %+v, %v; want %+v", d.ID, got, err, decided)
	}
	if decided.Status == DeviceApproved {
		rt.redeem(t, decided, now)
	}
}

// redeem turns the approved device code d into a token named as the code
// asks, as doorman's /device/token does, and checks the token the feed
// shows: a code the store accepted always yields one it accepts.
func (rt *roundTrip) redeem(t *testing.T, d DeviceCode, now time.Time) {
	t.Helper()
	name := cmp.Or(d.Name, "device sign-in")
	tok := Token{ID: rt.newID(), Name: name, Prefix: "doorman_fz", Created: now, Expires: now.Add(time.Hour)}
	redeemed := d
	redeemed.Status = DeviceRedeemed
	redeemed.LastPoll = fromMillis(millis(now))
	if got, err := rt.st.RedeemDeviceCode(t.Context(), d.ID, tok, now); err != nil || !reflect.DeepEqual(got, redeemed) {
		t.Fatalf("RedeemDeviceCode(%s) = %+v, %v; want %+v", d.ID, got, err, redeemed)
	}
	tok.Email, tok.Lists = d.Approver, d.Granted
	want, err := tok.prepare()
	if err != nil {
		t.Fatalf("the redeemed token %+v is not one the store accepts: %v", tok, err)
	}
	rt.wantChanges(t, Change{Kind: TokenMade, ID: want.ID, Expires: want.Expires, Token: &want})
	rt.endToken(t, want, now)
}

// wantChanges follows the feed and checks that it holds want and nothing
// more.
func (rt *roundTrip) wantChanges(t *testing.T, want ...Change) {
	t.Helper()
	var got []Change
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		cs, v, err := rt.st.Changes(t.Context(), rt.v, time.Until(deadline))
		if err != nil {
			t.Fatalf("Changes(%v) = %v", rt.v, err)
		}
		got, rt.v = append(got, cs...), v
	}
	cs, v, err := rt.st.Changes(t.Context(), rt.v, 0)
	got, rt.v = append(got, cs...), v
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Changes() = %s, %v; want %s", showChanges(got), err, showChanges(want))
	}
}

// showChanges shows cs with their tokens.
func showChanges(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(strconv.Quote(string(c.Kind)) + " " + c.ID + " " + c.Expires.String())
		if c.Token != nil {
			b.WriteString(" " + strconv.Quote(c.Token.Email) + " " + strconv.Quote(c.Token.Name) + " " + strconv.Quote(encodeLists(c.Token.Lists)))
		}
		b.WriteString("; ")
	}
	return "[" + b.String() + "]"
}

// find returns the element of xs that match says is the one, or the zero
// value.
func find[T any](xs []T, match func(T) bool) T {
	for _, x := range xs {
		if match(x) {
			return x
		}
	}
	var zero T
	return zero
}
