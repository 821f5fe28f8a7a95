package auth

// Guessing personal tokens: a flood of made-up doorman_… tokens at /auth
// must cost no more than a bad cookie does. A token whose checksum fails
// is refused before any lookup; one whose checksum holds is looked up in
// this doorman's memory; neither reaches the store or the log.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"doorman/whitelist"
)

// guessedTokens are the floods of made-up tokens, by how far each gets:
// the i-th token of each kind.
func guessedTokens(real string) []struct {
	name  string
	token func(i int) string
} {
	return []struct {
		name  string
		token func(i int) string
	}{
		{"checksum wrong", func(int) string {
			tok := newPersonalToken()
			return tok[:tokenLen-1] + string(base62[(base62Value(tok[tokenLen-1])+1)%62])
		}},
		{"checksum right, unknown", func(int) string { return newPersonalToken() }},
		{"the real token, one character changed", func(i int) string {
			at := len(tokenPrefix) + i%(tokenRandom+tokenChecksum)
			return real[:at] + string(base62[(base62Value(real[at])+1+i/38%61)%62]) + real[at+1:]
		}},
		{"one character short", func(int) string { return newPersonalToken()[:tokenLen-1] }},
		{"not base62", func(i int) string { return tokenPrefix + strings.Repeat("-", tokenRandom+tokenChecksum) }},
	}
}

// deniedRE reads the main list's denied count from the metrics.
var deniedRE = regexp.MustCompile(`(?m)^doorman_auth_requests_total\{list="",result="denied"\} (\d+)$`)

// TestSecurityTokenGuessing floods /auth with 500 made-up tokens through
// a store that counts every call: each is an empty 401, the store hears of
// none of them (only the change feed's own upkeep runs meanwhile), the log
// gains not a line, and the metrics count them as denials with the store up.
func TestSecurityTokenGuessing(t *testing.T) {
	t.Parallel()
	cs := newCountingStore(testStore(t))
	var m *Metrics
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true, auth: func(c *Config) {
		m = newTestMetrics(c.Allowlist.(*whitelist.Watcher))
		c.Observer, c.Store = m, cs
	}})
	m.Register(td.h.StoreCollector())
	real := makeToken(t, cs, "alice@example.com", "real", time.Hour, "")
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	waitFor(t, 5*time.Second, "the real token admitted", func() bool { c, _ := authReply(t, td, "/auth", bearer(real)); return c == http.StatusOK })
	waitFor(t, 5*time.Second, "the real token's use written", func() bool { calls, _ := cs.counts(); return calls["TouchTokens"] > 0 })

	before, _ := cs.counts()
	logged := len(td.logs.String())
	start := time.Now()
	const perKind = 100
	for _, flood := range guessedTokens(real) {
		for i := range perKind {
			tok := flood.token(i)
			if code, _ := authReply(t, td, "/auth", bearer(tok)); code != http.StatusUnauthorized {
				t.Fatalf("%s: /auth with %q = %d, want 401", flood.name, tok, code)
			}
		}
	}
	elapsed := time.Since(start)
	after, _ := cs.counts()
	checkUpkeepOnly(t, before, after, elapsed)
	if extra := td.logs.String()[logged:]; extra != "" {
		t.Errorf("the flood was logged:\n%.2000s", extra)
	}
	text := scrape(t, m)
	denied := 0
	if m := deniedRE.FindStringSubmatch(text); m != nil {
		denied, _ = strconv.Atoi(m[1])
	}
	if denied < 5*perKind {
		t.Errorf("metrics count %d denials on the main list, want at least %d:\n%s", denied, 5*perKind, text)
	}
	if !strings.Contains(text, "doorman_store_up 1") {
		t.Errorf("metrics say the store is down after the flood:\n%s", text)
	}
	t.Logf("%d made-up tokens refused in %v; store calls meanwhile: %v", 5*perKind, elapsed, delta(before, after))
}

// checkUpkeepOnly fails unless the store calls between before and after,
// over elapsed, are the upkeep a doorman does on its own clock: following
// the change feed (a call a second when nothing changes), reading it whole
// once a minute, counting live sessions every 30 s.
func checkUpkeepOnly(t *testing.T, before, after map[string]int, elapsed time.Duration) {
	t.Helper()
	upkeep := map[string]int{
		"Changes":           int(elapsed/feedWait) + 2,
		"Snapshot":          int(elapsed/resyncEvery) + 1,
		"CountLiveSessions": int(elapsed/countEvery) + 1,
	}
	for method, n := range delta(before, after) {
		if n > upkeep[method] {
			t.Errorf("the store was called %d times with %s during %v of made-up tokens, want at most %d (upkeep, not per request)",
				n, method, elapsed.Round(time.Millisecond), upkeep[method])
		}
	}
}

// delta is after minus before, by method, leaving out methods not called.
func delta(before, after map[string]int) map[string]int {
	d := map[string]int{}
	for method, n := range after {
		if n > before[method] {
			d[method] = n - before[method]
		}
	}
	return d
}

// TestSecurityTokenGuessCostsNoMoreThanBadCookie: in allocations, /auth
// refuses each kind of made-up token at no more cost than a forged cookie.
// (Times are in BenchmarkGuessing.)
func TestSecurityTokenGuessCostsNoMoreThanBadCookie(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	h := newTestHandler(t, fakeAllowlist{"": {"alice@example.com"}}, &clock)
	real := makeToken(t, h.store, "alice@example.com", "real", time.Hour, "")
	waitFor(t, 5*time.Second, "the real token known", func() bool { _, ok := h.tokenFor(real, "", clock.Load()); return ok })
	allocs := func(name, header, value string) float64 {
		req := httptest.NewRequest(http.MethodGet, "/auth", nil)
		req.Header.Set(header, value)
		rec := httptest.NewRecorder()
		ctx := echo.New().NewContext(req, rec)
		return testing.AllocsPerRun(200, func() {
			clear(rec.Header())
			_ = h.check(ctx)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("%s: /auth = %d, want 401", name, rec.Code)
			}
		})
	}
	forged := forgedValues(t)
	badCookie := allocs("forged cookie", "Cookie", "doorman="+forged[len(forged)-1].value)
	for i, g := range guessedTokens(real) {
		if got := allocs(g.name, "Authorization", "Bearer "+g.token(i)); got > badCookie {
			t.Errorf("/auth with a made-up token (%s) allocates %.0f times, a forged cookie %.0f: want no more", g.name, got, badCookie)
		}
	}
}

// BenchmarkGuessing compares what /auth spends refusing made-up tokens and
// forged cookies, through Echo's router, each request a different value
// (as a flood's would be).
func BenchmarkGuessing(b *testing.B) {
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	h, err := New(Config{ClientID: testClientID, Allowlist: fakeAllowlist{"": {"alice@example.com"}}, Keys: [][]byte{secret(1)},
		Store: testStore(b), CookieName: "doorman", CookieTTL: time.Hour, Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
	if err != nil {
		b.Fatal(err)
	}
	go h.Run(b.Context())
	waitFor(b, 5*time.Second, "the store read", h.Ready)
	srv := NewServer(h, ServerConfig{Pages: mustPages(b)})
	real := makeToken(b, h.store, "alice@example.com", "real", time.Hour, "")
	const pool = 1024
	cases := map[string]func(i int) (header, value string){}
	for _, g := range guessedTokens(real) {
		cases["token, "+g.name] = func(i int) (string, string) { return "Authorization", "Bearer " + g.token(i) }
	}
	for _, f := range forgedValues(b) {
		cases["cookie, "+f.name] = func(i int) (string, string) {
			return "Cookie", "doorman=" + f.value[:len(f.value)-3] + fmt.Sprintf("%03d", i%1000)
		}
	}
	cases["no credentials"] = func(int) (string, string) { return "X-None", "" }
	for name, mk := range cases {
		b.Run(name, func(b *testing.B) {
			reqs := make([]*http.Request, pool)
			for i := range reqs {
				reqs[i], _ = http.NewRequest(http.MethodGet, "/auth", nil)
				k, v := mk(i)
				reqs[i].Header.Set(k, v)
			}
			w := &discardWriter{hdr: http.Header{}}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				clear(w.hdr)
				srv.ServeHTTP(w, reqs[i%pool])
				if w.code != http.StatusUnauthorized {
					b.Fatalf("%s: /auth = %d, want 401", name, w.code)
				}
			}
		})
	}
}
