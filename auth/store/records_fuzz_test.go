package store

// Fuzz targets for the records as the backends keep them: the JSON of
// lists and of a token in the change feed, and the fields the Redis
// scripts return. Each checks that arbitrary input never panics and that
// what the store writes reads back as it was written.

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// splitLists is the fuzz targets' spelling of a list of lists: ","
// between names; "" is no list, "," the main list twice.
func splitLists(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// asReply is args as a script gets them and reads them back from a hash:
// every value a string, integers in decimal, as go-redis writes them.
func asReply(args ...any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = v
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		default:
			panic("asReply: unexpected " + reflect.TypeOf(a).String())
		}
	}
	return out
}

// tokenReply is t as the token scripts return it, stored from
// CreateToken's arguments: {id, email, name, prefix, lists, created,
// expires, used, ended}.
func tokenReply(t Token) []any {
	return asReply(t.ID, t.Email, t.Name, t.Prefix, encodeLists(t.Lists),
		millis(t.Created), millis(t.Expires), millis(t.LastUsed), int64(0))
}

// sessionReply is s as the session scripts return it, stored from
// CreateSession's arguments: {id, email, created, expires, seen, ua, ip}.
func sessionReply(s Session) []any {
	return asReply(s.ID, s.Email, millis(s.Created), millis(s.Expires), millis(s.LastSeen), s.UserAgent, s.IP)
}

// deviceReply is d as the device scripts return it, stored from
// CreateDeviceCode's arguments and then decided: {id, user, name, lists,
// ip, created, expires, interval, status, approver, granted, poll}.
func deviceReply(d DeviceCode) []any {
	return asReply(d.ID, d.UserCode, d.Name, encodeLists(d.Lists), d.IP, millis(d.Created), millis(d.Expires),
		d.Interval.Milliseconds(), string(d.Status), d.Approver, encodeLists(d.Granted), millis(d.LastPoll))
}

// tokenFeedEntry is the change feed entry of t's making as XREAD returns
// its fields: the script's feed('token_made', …) call.
func tokenFeedEntry(t Token, epoch string, n uint64) map[string]any {
	f := asReply(t.ID, millis(t.Expires), t.Email, t.Name, t.Prefix, encodeLists(t.Lists), millis(t.Created))
	return map[string]any{"epoch": epoch, "n": strconv.FormatUint(n, 10), "kind": string(TokenMade),
		"id": f[0], "expires": f[1], "email": f[2], "name": f[3], "prefix": f[4], "lists": f[5], "created": f[6]}
}

// FuzzLists checks that decodeLists never panics, that what it accepts
// encodes to JSON it reads back the same, and that canonical lists
// survive encodeLists and decodeLists unchanged.
func FuzzLists(f *testing.F) {
	for _, tt := range listsTests {
		f.Add(strings.Join(tt.in, ","), tt.want)
	}
	f.Add("", `[]`)
	f.Add("a,,b", `null`)
	f.Add(",", `["\u0000"]`)
	f.Add("gpt4", `["a","\ud800"]`)
	f.Add("x", `["a"] `)
	f.Fuzz(func(t *testing.T, names, encoded string) {
		if lists, err := decodeLists(encoded); err == nil {
			again, err := decodeLists(encodeLists(lists))
			if err != nil || !slices.Equal(again, lists) {
				t.Fatalf("decodeLists(%q) = %q; encoded %s reads back %q, %v", encoded, lists, encodeLists(lists), again, err)
			}
		} else if lists != nil {
			t.Fatalf("decodeLists(%q) = %q with error %v", encoded, lists, err)
		}
		lists, err := canonicalLists(splitLists(names), 1)
		if err != nil {
			return
		}
		if !slices.IsSorted(lists) || len(slices.Compact(slices.Clone(lists))) != len(lists) || len(lists) == 0 {
			t.Fatalf("canonicalLists(%q) = %q, want sorted, without repeats, not empty", names, lists)
		}
		back, err := decodeLists(encodeLists(lists))
		if err != nil || !slices.Equal(back, lists) {
			t.Fatalf("decodeLists(encodeLists(%q)) = %q, %v", lists, back, err)
		}
	})
}

// FuzzTokenRecord checks that a token the store accepts reads back as
// prepared from every form the backends write it in: the change feed's
// JSON (SQLite), the token scripts' reply and the feed entry (Redis); and
// that decoding arbitrary bytes never panics.
func FuzzTokenRecord(f *testing.F) {
	const ms = 1_800_000_000_000
	f.Add("tok1", "alice@example.com", "laptop", "doorman_abcd", ",gpt4", int64(ms), int64(ms+3600_000), int64(0))
	f.Add("LPm3kHHZ2mYcJ0SvXbnQnV0Ue8CZ6yqBzz6Jh7pE0kQ", "Bob@Example.COM", "CI — nightly 🚀", "", "gpt4,gpt4,a.b", int64(1), int64(2), int64(ms))
	f.Add("t", "a@b", strings.Repeat("é", 64), "doorman_ABCD", "", int64(ms), int64(ms), int64(-1))
	f.Add("t", "a@example.com", "x", "p", "gpt4", int64(ms), int64(ms+1), int64(0))
	f.Add("t", "a@example.com", `{"id":"x"}`, "p", "a:b", int64(-5), int64(ms), int64(0))
	f.Fuzz(func(t *testing.T, id, email, name, prefix, lists string, created, expires, used int64) {
		_, _ = decodeToken(name) // arbitrary bytes: no panic
		tok := Token{ID: id, Email: email, Name: name, Prefix: prefix, Lists: splitLists(lists),
			Created: time.UnixMilli(created), Expires: time.UnixMilli(expires), LastUsed: time.UnixMilli(used)}
		want, err := tok.prepare()
		if err != nil {
			return
		}
		if again, err := want.prepare(); err != nil || !reflect.DeepEqual(again, want) {
			t.Fatalf("prepare(prepare(%+v)) = %+v, %v; want it unchanged", tok, again, err)
		}
		made := want
		made.LastUsed = time.Time{}
		if got, err := changeToken(TokenMade, encodeToken(want)); err != nil || !reflect.DeepEqual(*got, made) {
			t.Fatalf("feed JSON %s reads back as %+v, %v; want %+v", encodeToken(want), got, err, made)
		}
		if got, err := toToken(tokenReply(want)); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("script reply %q reads back as %+v, %v; want %+v", tokenReply(want), got, err, want)
		}
		c, epoch, n, err := toChange(tokenFeedEntry(want, "e1", 7))
		if err != nil || epoch != "e1" || n != 7 || c.Kind != TokenMade || c.ID != want.ID || !c.Expires.Equal(want.Expires) ||
			c.Token == nil || !reflect.DeepEqual(*c.Token, made) {
			t.Fatalf("feed entry %q reads back as %+v (token %+v), %s, %d, %v; want %+v", tokenFeedEntry(want, "e1", 7), c, c.Token, epoch, n, err, made)
		}
	})
}

// FuzzSessionRecord checks that a session the store accepts reads back as
// prepared from the session scripts' reply, and that preparing is
// idempotent: the User-Agent cut once stays as cut.
func FuzzSessionRecord(f *testing.F) {
	const ms = 1_800_000_000_000
	f.Add("s1", "alice@example.com", "Mozilla/5.0 (X11; Linux x86_64)", "203.0.113.9", int64(ms), int64(ms+3600_000), int64(0))
	f.Add("s", "a@b", strings.Repeat("é", 150), "::1", int64(1), int64(2), int64(ms))
	f.Add("s", "a@b", strings.Repeat("a", 199)+"😀", "", int64(ms), int64(ms+1), int64(-1))
	f.Add("s", "\xff", "\x00\xfe", strings.Repeat("1", 64), int64(ms), int64(ms+1), int64(0))
	f.Fuzz(func(t *testing.T, id, email, ua, ip string, created, expires, seen int64) {
		s := Session{ID: id, Email: email, Created: time.UnixMilli(created), Expires: time.UnixMilli(expires),
			LastSeen: time.UnixMilli(seen), UserAgent: ua, IP: ip}
		want, err := s.prepare()
		if err != nil {
			return
		}
		if len(want.UserAgent) > maxUserAgent || !strings.HasPrefix(ua, want.UserAgent) {
			t.Fatalf("prepare() kept User-Agent %q of %q", want.UserAgent, ua)
		}
		if again, err := want.prepare(); err != nil || !reflect.DeepEqual(again, want) {
			t.Fatalf("prepare(prepare(%+v)) = %+v, %v; want it unchanged", s, again, err)
		}
		if got, err := toSession(sessionReply(want)); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("script reply %q reads back as %+v, %v; want %+v", sessionReply(want), got, err, want)
		}
	})
}

// FuzzDeviceRecord checks that a device code the store accepts is kept in
// one canonical form, that a decision on it grants only lists both asked
// for and the approver's, and that it reads back from the device scripts'
// reply as prepared and as decided.
func FuzzDeviceRecord(f *testing.F) {
	const ms = 1_800_000_000_000
	f.Add("d1", "bcdf-ghjk", "laptop", ",gpt4", "203.0.113.9", int64(ms), int64(ms+600_000), int64(5_000_000_000), "alice@example.com", true, "gpt4,other")
	f.Add("d", "ZXWV TSRQ", "", "gpt4", "", int64(1), int64(2), int64(time.Millisecond), "a@b", false, "gpt4")
	f.Add("d", "BCDFGHJK", "x", "b,a,b", "", int64(ms), int64(ms+1), int64(1<<62), "a@b", true, "c")
	f.Add("d", "BCDFGHJA", "x", "a", "", int64(ms), int64(ms+1), int64(time.Second), "", true, "")
	f.Fuzz(func(t *testing.T, id, user, name, lists, ip string, created, expires, interval int64, approver string, approve bool, mine string) {
		d := DeviceCode{ID: id, UserCode: user, Name: name, Lists: splitLists(lists), IP: ip,
			Created: time.UnixMilli(created), Expires: time.UnixMilli(expires), Interval: time.Duration(interval)}
		want, err := d.prepare()
		if err != nil {
			return
		}
		if again, err := want.prepare(); err != nil || !reflect.DeepEqual(again, want) {
			t.Fatalf("prepare(prepare(%+v)) = %+v, %v; want it unchanged", d, again, err)
		}
		if got, err := toDevice(deviceReply(want), nil); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("script reply %q reads back as %+v, %v; want %+v", deviceReply(want), got, err, want)
		}
		if _, err := validDecision(user, approver, splitLists(mine)); err != nil {
			return
		}
		decided := want
		decided.Approver = approver
		decided.Status, decided.Granted = want.decision(approve, splitLists(mine))
		checkDecision(t, want, decided, approve, splitLists(mine))
		if got, err := toDevice(deviceReply(decided), nil); err != nil || !reflect.DeepEqual(got, decided) {
			t.Fatalf("script reply %q reads back as %+v, %v; want %+v", deviceReply(decided), got, err, decided)
		}
	})
}

// checkDecision checks the decision on d: what it grants is what was both
// asked for and among mine, in the order asked for, and it is approved
// exactly when approving grants something.
func checkDecision(t *testing.T, d, decided DeviceCode, approve bool, mine []string) {
	t.Helper()
	var want []string
	for _, l := range d.Lists {
		if approve && slices.Contains(mine, l) {
			want = append(want, l)
		}
	}
	approved := decided.Status == DeviceApproved
	if !slices.Equal(decided.Granted, want) || decided.Granted == nil || approved != (len(want) > 0) ||
		!approved && decided.Status != DeviceDenied {
		t.Fatalf("decision(%v, %q) on %q = %s, %q; want %q", approve, mine, d.Lists, decided.Status, decided.Granted, want)
	}
}

// A reply is encoded for FuzzRedisReply as bytes that readReply reads: an
// op byte, then its operands. Seeds are real replies put through
// writeReply; the fuzzer mutates them into every shape a script or a
// broken Redis could answer.
const (
	opString  = iota // a length byte, then that many bytes
	opInt            // 8 bytes, big-endian
	opNil            // nil
	opList           // a count byte, then that many replies
	opDecimal        // a byte, as a decimal string
	opCount
)

// readReply reads one reply from b and returns it and what is left.
func readReply(b []byte, depth int) (any, []byte) {
	if len(b) == 0 {
		return nil, b
	}
	op, b := b[0]%opCount, b[1:]
	take := func(n int) []byte {
		n = min(n, len(b))
		v := b[:n]
		b = b[n:]
		return v
	}
	switch {
	case op == opString && len(b) > 0:
		n := int(take(1)[0])
		return string(take(n)), b
	case op == opInt:
		var n int64
		for _, c := range take(8) {
			n = n<<8 | int64(c)
		}
		return n, b
	case op == opList && len(b) > 0 && depth < 4:
		n := int(take(1)[0])
		list := []any{}
		for ; n > 0 && len(b) > 0; n-- {
			var v any
			v, b = readReply(b, depth+1)
			list = append(list, v)
		}
		return list, b
	case op == opDecimal && len(b) > 0:
		return strconv.Itoa(int(take(1)[0])), b
	}
	return nil, b
}

// writeReply encodes v for readReply: strings of up to 255 bytes, int64s,
// nil and lists of up to 255 of these.
func writeReply(v any) []byte {
	switch v := v.(type) {
	case string:
		return append([]byte{opString, byte(len(v))}, v...)
	case int64:
		b := []byte{opInt}
		for i := 56; i >= 0; i -= 8 {
			b = append(b, byte(v>>i))
		}
		return b
	case []any:
		b := []byte{opList, byte(len(v))}
		for _, e := range v {
			b = append(b, writeReply(e)...)
		}
		return b
	}
	return []byte{opNil}
}

// FuzzRedisReply feeds the readers of the scripts' replies every shape of
// reply: none may panic, and a record read is a fixed point: written back
// as the scripts would and read again, it is the same record.
func FuzzRedisReply(f *testing.F) {
	at := time.UnixMilli(1_800_000_000_000).UTC()
	tok := Token{ID: "t1", Email: "a@example.com", Name: "laptop", Prefix: "doorman_abcd", Lists: []string{"", "gpt4"}, Created: at, Expires: at.Add(time.Hour)}
	sess := Session{ID: "s1", Email: "a@example.com", Created: at, Expires: at.Add(time.Hour), UserAgent: "curl", IP: "::1"}
	dev := DeviceCode{ID: "d1", UserCode: "BCDFGHJK", Lists: []string{"gpt4"}, Created: at, Expires: at.Add(time.Minute),
		Interval: 5 * time.Second, Status: DevicePending, Granted: []string{}}
	for _, v := range []any{
		tokenReply(tok), sessionReply(sess), deviceReply(dev),
		[]any{tokenReply(tok), tokenReply(tok)},
		[]any{"epoch", int64(3), "1-2", []any{"s1", "1800000000000", "s2", "1e300"}, []any{tokenReply(tok)}},
		[]any{int64(1), int64(5), int64(7)},
		nil, "", []any{},
	} {
		f.Add(writeReply(v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _ := readReply(b, 0)
		if tok, err := toToken(v); err == nil {
			if again, err := toToken(tokenReply(tok)); err != nil || !reflect.DeepEqual(again, tok) {
				t.Fatalf("toToken(%q) = %+v; written back and read: %+v, %v", v, tok, again, err)
			}
		}
		if s, err := toSession(v); err == nil {
			if again, err := toSession(sessionReply(s)); err != nil || !reflect.DeepEqual(again, s) {
				t.Fatalf("toSession(%q) = %+v; written back and read: %+v, %v", v, s, again, err)
			}
		}
		if d, err := toDevice(v, nil); err == nil {
			if again, err := toDevice(deviceReply(d), nil); err != nil || !reflect.DeepEqual(again, d) {
				t.Fatalf("toDevice(%q) = %+v; written back and read: %+v, %v", v, d, again, err)
			}
		}
		_, _ = toTokens(v, nil)
		_, _ = replyList(v, nil, toSession)
		_, _ = toVersion(v)
		_, _ = toInts(v, 3)
		if list, ok := v.([]any); ok {
			checkFeedEntry(t, list)
		}
	})
}

// checkFeedEntry reads list as a feed entry's fields, name then value:
// toChange must not panic, and a token made must carry its own id.
func checkFeedEntry(t *testing.T, list []any) {
	t.Helper()
	fields := map[string]any{}
	for i := 0; i+1 < len(list); i += 2 {
		if k, ok := list[i].(string); ok {
			fields[k] = list[i+1]
		}
	}
	c, _, _, err := toChange(fields)
	if err == nil && c.Kind == TokenMade && (c.Token == nil || c.Token.ID != c.ID) {
		t.Fatalf("toChange(%q) = %+v: a token made without its token", fields, c)
	}
}
