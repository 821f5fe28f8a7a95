package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestRateLimitSignInPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		server    ServerConfig
		otherIP   string // X-Real-IP of a second client after the first is limited
		wantOther int
	}{
		{"peer address when no header is trusted", ServerConfig{RateLimit: 1, Clock: stoppedClock()}, "192.0.2.7", http.StatusTooManyRequests},
		{"trusted header separates clients", ServerConfig{RateLimit: 1, Clock: stoppedClock(), IPTrust: IPTrust{Header: "X-Real-IP", AnyPeer: true}}, "192.0.2.7", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true, server: tt.server})
			first := http.Header{"X-Real-Ip": {"192.0.2.1"}}
			limited := 0
			for range 15 { // burst is 10 at 1/s; the clock stands still
				resp, body := td.do(t, http.MethodGet, "/login", nil, first)
				if resp.StatusCode == http.StatusTooManyRequests {
					limited++
					if resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "<html") {
						t.Errorf("429 without Retry-After or page: %q", body)
					}
				}
			}
			if limited != 5 {
				t.Errorf("15 /login requests: %d limited, want 5 (burst 10)", limited)
			}
			resp, _ := td.do(t, http.MethodGet, "/login", nil, http.Header{"X-Real-Ip": {tt.otherIP}})
			if resp.StatusCode != tt.wantOther {
				t.Errorf("another client's /login = %d, want %d", resp.StatusCode, tt.wantOther)
			}
			if resp, _ := td.do(t, http.MethodGet, "/auth", nil, first); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("/auth of a limited client = %d, want 401 (never limited)", resp.StatusCode)
			}
		})
	}
}

// limitedDoorman serves doorman with the rate limit and the client address
// that --rate-limit and --trusted-ip-header (through ParseIPTrust) give it,
// its rate limits on a clock that stands still: no bucket refills, however
// slowly the test's requests come.
func limitedDoorman(t *testing.T, rate float64, trustedIPHeader string) *testDoorman {
	t.Helper()
	trust, err := ParseIPTrust(trustedIPHeader)
	if err != nil {
		t.Fatal(err)
	}
	return newTestDoorman(t, "alice@example.com\n", testConfig{offline: true, server: ServerConfig{RateLimit: rate, IPTrust: trust, Clock: stoppedClock()}})
}

// stoppedClock is a clock for the rate limits that never moves.
func stoppedClock() func() time.Time {
	at := time.Unix(1_800_000_000, 0)
	return func() time.Time { return at }
}

// loginStatus sends GET /login to td as nginx would, with X-Real-IP
// realIP (none when empty), and returns the status.
func loginStatus(t *testing.T, td *testDoorman, realIP string) int {
	t.Helper()
	hdr := http.Header{}
	if realIP != "" {
		hdr.Set("X-Real-IP", realIP)
	}
	resp, _ := td.do(t, http.MethodGet, "/login", nil, hdr)
	return resp.StatusCode
}

// floodLogin sends n quick /login requests, the i-th from realIP(i), and
// returns how many were limited.
func floodLogin(t *testing.T, td *testDoorman, n int, realIP func(i int) string) int {
	t.Helper()
	limited := 0
	for i := range n {
		if loginStatus(t, td, realIP(i)) == http.StatusTooManyRequests {
			limited++
		}
	}
	return limited
}

// TestDefaultTrustSeparatesVisitorsBehindLocalNginx: with the settings'
// defaults (--rate-limit 10, no --trusted-ip-header), as the README deploys
// doorman (nginx on the same host sets X-Real-IP), one visitor's burst of
// sign-in requests does not lock out another visitor.
func TestDefaultTrustSeparatesVisitorsBehindLocalNginx(t *testing.T) {
	t.Parallel()
	td := limitedDoorman(t, 10, "")
	if limited := floodLogin(t, td, 60, func(int) string { return "192.0.2.1" }); limited == 0 {
		t.Fatalf("60 quick /login requests from one visitor: none limited, want the limit to apply")
	}
	if got := loginStatus(t, td, "192.0.2.2"); got != http.StatusOK {
		t.Errorf("another visitor's /login after the first was limited = %d, want 200", got)
	}
	if got := loginStatus(t, td, ""); got != http.StatusOK {
		t.Errorf("/login from the loopback peer itself = %d, want 200", got)
	}
}

// TestRateLimitAggregatesIPv6: the addresses of one IPv6 /64 are one
// client, so a host cannot walk around the limit within its own prefix.
func TestRateLimitAggregatesIPv6(t *testing.T) {
	t.Parallel()
	td := limitedDoorman(t, 1, "X-Real-IP")
	walk := func(i int) string { return fmt.Sprintf("2001:db8:1:2::%x", i+1) }
	if limited := floodLogin(t, td, 15, walk); limited < 4 {
		t.Errorf("15 quick /login requests from 15 addresses of one /64: %d limited, want at least 4 (burst 10)", limited)
	}
	for _, other := range []string{"2001:db8:1:3::1", "192.0.2.9", "::ffff:192.0.2.10"} {
		if got := loginStatus(t, td, other); got != http.StatusOK {
			t.Errorf("/login from %s (another client) = %d, want 200", other, got)
		}
	}
}

// TestRateLimitMemoryBounded: a flood from 200,000 IPv6 prefixes (an
// attacker with a /40 has 16 million) leaves the limiter at a bounded size.
func TestRateLimitMemoryBounded(t *testing.T) {
	// Not parallel: it measures the heap.
	e := echo.New()
	e.IPExtractor = echo.ExtractIPDirect()
	h := rateLimit(10, nil, refusePage)(func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	before := liveHeap()
	req := httptest.NewRequest(http.MethodGet, "/login", nil)
	for i := range 200_000 {
		req.RemoteAddr = fmt.Sprintf("[2001:db8:%x:%x::1]:4000", i>>16, i&0xffff)
		rec := httptest.NewRecorder()
		var he *echo.HTTPError
		if err := h(e.NewContext(req, rec)); err != nil && !(errors.As(err, &he) && he.Code == http.StatusTooManyRequests) {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	grown := liveHeap() - before
	runtime.KeepAlive(h)
	t.Logf("limiter heap after 200,000 prefixes: %.1f MiB", float64(grown)/(1<<20))
	if grown > 12<<20 {
		t.Errorf("limiter holds %.1f MiB after 200,000 prefixes, want at most 12 MiB", float64(grown)/(1<<20))
	}
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// fakeClock is a settable clock for the limiter.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimiterEvictsOnlyRefilledBuckets(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLimiter(1, 4, 3, clock.now) // 1/s, burst 4, three buckets
	victim, a, b := clientKeyOf("192.0.2.1"), clientKeyOf("192.0.2.2"), clientKeyOf("192.0.2.3")
	for range 4 {
		l.allow(victim)
	}
	if ok, retry := l.allow(victim); ok || retry != time.Second {
		t.Fatalf("fifth request in a burst of 4 = %v (retry %s), want refused, retry 1s", ok, retry)
	}
	l.allow(a)
	l.allow(b)
	// The table is full and nothing has refilled: a flood of newcomers
	// shares one bucket and cannot push the victim's out.
	shared := 0
	for i := range 10 {
		if ok, _ := l.allow(clientKeyOf(fmt.Sprintf("198.51.100.%d", i))); ok {
			shared++
		}
	}
	if shared != 4 {
		t.Errorf("newcomers to a full table allowed %d times, want 4 (one shared burst)", shared)
	}
	if ok, _ := l.allow(victim); ok {
		t.Error("the flood of newcomers reset the limited client's bucket")
	}
	// Four seconds on, every bucket has refilled: dropping the least
	// recently used one (a's: the victim was just seen) changes nobody's
	// allowance.
	clock.advance(4 * time.Second)
	if ok, _ := l.allow(clientKeyOf("198.51.100.200")); !ok {
		t.Error("newcomer after the buckets refilled = refused, want its own bucket")
	}
	if n := len(l.index); n != 3 {
		t.Errorf("buckets held = %d, want the maximum, 3", n)
	}
	if _, held := l.index[a]; held {
		t.Error("the least recently used bucket is still held; want it dropped, once refilled")
	}
	if _, held := l.index[victim]; !held {
		t.Error("the victim's bucket was dropped; want the least recently used one dropped")
	}
}

func TestClientKeyOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"192.0.2.1", "::ffff:192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"0.0.0.1", "::1", false},
		{"fe80::1%eth0", "fe80::2", true},
	}
	for _, tt := range tests {
		if got := clientKeyOf(tt.a) == clientKeyOf(tt.b); got != tt.same {
			t.Errorf("clientKeyOf(%s) == clientKeyOf(%s) is %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

// BenchmarkLimiterAllow is one sign-in request's cost in the limiter with a
// full table: a known client, and a newcomer that takes over a refilled bucket.
func BenchmarkLimiterAllow(b *testing.B) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLimiter(10, 40, maxBuckets, clock.now)
	keys := make([]clientKey, 2*maxBuckets)
	for i := range keys {
		keys[i] = clientKeyOf(fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff))
	}
	for _, k := range keys[:maxBuckets] {
		l.allow(k)
	}
	b.Run("known", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			l.allow(keys[i%maxBuckets])
		}
	})
	b.Run("newcomer", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			clock.advance(5 * time.Second)          // every bucket has refilled
			l.allow(keys[(maxBuckets+i)%len(keys)]) // never among the last maxBuckets seen
		}
	})
}

// TestRateLimitGroups: /device/code, /device/token, /tokens/revoke and
// POST /tokens are limited per client like sign-in, programs answered in
// JSON as RFC 8628 polling expects, pages with the 429 page; each group
// has an allowance of its own, so a terminal polling or a script making
// tokens never spends a visitor's sign-ins, and /auth is never limited.
func TestRateLimitGroups(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		json       bool
		others     []string // paths of other groups, answered normally while this one is limited
	}{
		{"device code", "/device/code", true, []string{"/login", "/tokens"}},
		{"device token", "/device/token", true, []string{"/login", "/tokens"}},
		{"revoke", "/tokens/revoke", true, []string{"/login", "/tokens"}},
		{"making tokens", "/tokens", false, []string{"/login", "/device/token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// 1/s, a burst of 10, on a clock that stands still: no refill.
			td := newTestDoorman(t, twoLists, testConfig{offline: true, server: ServerConfig{RateLimit: 1, Clock: stoppedClock()}, auth: func(c *Config) {
				c.DeviceSignIn, c.PublicURL = true, devicePublicURL
			}})
			alice := mintSession(t, td.h, "alice@example.com")
			limited, made := 0, 0
			for range 15 {
				resp, body := limitedPost(t, td, tt.path, alice)
				switch resp.StatusCode {
				case http.StatusTooManyRequests:
					limited++
					checkTooMany(t, tt.path, resp, body, tt.json)
				case http.StatusOK:
					made++
				}
			}
			if limited != 5 {
				t.Errorf("15 POST %s: %d limited, want 5 (burst 10)", tt.path, limited)
			}
			if tt.path == "/tokens" {
				if n := len(mustTokens(t, td, "alice@example.com")); n != made || n != 10 {
					t.Errorf("tokens stored = %d after %d made, want the burst's 10", n, made)
				}
			}
			for _, other := range tt.others {
				if resp, body := limitedPost(t, td, other, alice); resp.StatusCode == http.StatusTooManyRequests {
					t.Errorf("%s while POST %s is limited = 429, want its own allowance:\n%s", other, tt.path, body)
				}
			}
			if resp, _ := td.do(t, http.MethodGet, "/auth", nil, nil, alice); resp.StatusCode != http.StatusOK {
				t.Errorf("/auth while POST %s is limited = %d, want 200 (never limited)", tt.path, resp.StatusCode)
			}
		})
	}
}

// limitedPost sends one request of path's group as its client would: GET
// /login, a token form as alice, or a program's form.
func limitedPost(t *testing.T, td *testDoorman, path string, alice *http.Cookie) (*http.Response, string) {
	t.Helper()
	switch path {
	case "/login":
		return td.do(t, http.MethodGet, "/login", nil, nil)
	case "/tokens":
		return postTokenForm(t, td, "/tokens", url.Values{"name": {"script"}, "list": {"gpt4"}, "days": {"1"}}, alice)
	case "/tokens/revoke":
		return td.do(t, http.MethodPost, path, nil, http.Header{"Authorization": {"Bearer " + newPersonalToken()}})
	}
	form := url.Values{"list": {""}, "grant_type": {deviceGrantType}, "device_code": {"unknown"}}
	return td.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), formHeader())
}

// checkTooMany checks a 429: Retry-After in whole seconds, and for a
// program RFC 8628's slow_down in JSON, for a browser the 429 page.
func checkTooMany(t *testing.T, path string, resp *http.Response, body string, json bool) {
	t.Helper()
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("POST %s: 429 with Retry-After %q, want 1 (second, at 1/s)", path, got)
	}
	ctype := resp.Header.Get("Content-Type")
	switch {
	case json && (strings.TrimSpace(body) != `{"error":"slow_down"}` || !strings.HasPrefix(ctype, "application/json")):
		t.Errorf("POST %s: 429 %s %q, want JSON {\"error\":\"slow_down\"}", path, ctype, body)
	case !json && (!strings.Contains(body, "<html") || !strings.HasPrefix(ctype, "text/html")):
		t.Errorf("POST %s: 429 %s, want the 429 page:\n%s", path, ctype, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("POST %s: 429 with Cache-Control %q, want no-store", path, resp.Header.Get("Cache-Control"))
	}
}
