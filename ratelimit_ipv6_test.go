package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// startDoorman runs doorman through run() with the settings a deployment
// would give it plus args, and returns its address.
func startDoorman(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	wl := writeFile(t, dir, "whitelist.txt", "alice@example.com\n", 0o644)
	base := []string{"--listen=127.0.0.1:0", "--client-id=x", "--whitelist=" + wl, "--secret-file=" + filepath.Join(dir, "doorman.key")}
	ctx, cancel := context.WithCancel(context.Background())
	logs, logw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(base, args...), fakeEnv(nil), io.Discard, logw)
		logw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run() after cancel = %v, want nil", err)
		}
	})
	return startedAddr(t, logs)
}

// loginStatus sends GET /login to addr as nginx would, with X-Real-IP
// realIP (none when empty), and returns the status.
func loginStatus(t *testing.T, addr, realIP string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	if realIP != "" {
		req.Header.Set("X-Real-IP", realIP)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// floodLogin sends n quick /login requests, the i-th from realIP(i), and
// returns how many were limited.
func floodLogin(t *testing.T, addr string, n int, realIP func(i int) string) int {
	t.Helper()
	limited := 0
	for i := range n {
		if loginStatus(t, addr, realIP(i)) == http.StatusTooManyRequests {
			limited++
		}
	}
	return limited
}

// TestDefaultTrustSeparatesVisitorsBehindLocalNginx: run as the README
// deploys it (nginx on the same host sets X-Real-IP, no
// --trusted-ip-header), one visitor's burst of sign-in requests does not
// lock out another visitor.
func TestDefaultTrustSeparatesVisitorsBehindLocalNginx(t *testing.T) {
	t.Parallel()
	addr := startDoorman(t)
	if limited := floodLogin(t, addr, 60, func(int) string { return "192.0.2.1" }); limited == 0 {
		t.Fatalf("60 quick /login requests from one visitor: none limited, want the limit to apply")
	}
	if got := loginStatus(t, addr, "192.0.2.2"); got != http.StatusOK {
		t.Errorf("another visitor's /login after the first was limited = %d, want 200", got)
	}
	if got := loginStatus(t, addr, ""); got != http.StatusOK {
		t.Errorf("/login from the loopback peer itself = %d, want 200", got)
	}
}

// TestRateLimitAggregatesIPv6: the addresses of one IPv6 /64 are one
// client, so a host cannot walk around the limit within its own prefix.
func TestRateLimitAggregatesIPv6(t *testing.T) {
	t.Parallel()
	addr := startDoorman(t, "--trusted-ip-header=X-Real-IP", "--rate-limit=1")
	walk := func(i int) string { return fmt.Sprintf("2001:db8:1:2::%x", i+1) }
	if limited := floodLogin(t, addr, 15, walk); limited < 4 {
		t.Errorf("15 quick /login requests from 15 addresses of one /64: %d limited, want at least 4 (burst 10)", limited)
	}
	for _, other := range []string{"2001:db8:1:3::1", "192.0.2.9", "::ffff:192.0.2.10"} {
		if got := loginStatus(t, addr, other); got != http.StatusOK {
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
	h := rateLimit(10)(func(c echo.Context) error { return c.NoContent(http.StatusOK) })
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

func TestClientIPTrust(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setting string // --trusted-ip-header; "" leaves the default
		peer    string
		header  string // X-Real-IP sent; "" sends none
		want    string
	}{
		{"default: nginx beside doorman", "", "127.0.0.1", "203.0.113.9", "203.0.113.9"},
		{"default: nginx beside doorman over IPv6", "", "::1", "2001:db8::9", "2001:db8::9"},
		{"default: a direct client cannot claim an address", "", "198.51.100.7", "203.0.113.9", "198.51.100.7"},
		{"default: no header from loopback", "", "127.0.0.1", "", "127.0.0.1"},
		{"default: a garbage header", "", "127.0.0.1", "not-an-ip", "127.0.0.1"},
		{"explicit header from any peer", "X-Real-IP", "10.1.2.3", "203.0.113.9", "203.0.113.9"},
		{"none", "none", "127.0.0.1", "203.0.113.9", "127.0.0.1"},
		{"NONE", "NONE", "127.0.0.1", "203.0.113.9", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var args []string
			if tt.setting != "" {
				args = append(args, "--trusted-ip-header="+tt.setting)
			}
			cfg, err := parseConfig(append([]string{"--client-id=x"}, args...), fakeEnv(nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/login", nil)
			r.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(tt.peer), 4000).String()
			if tt.header != "" {
				r.Header.Set("X-Real-IP", tt.header)
			}
			if got := clientIP(cfg.ipTrust)(r); got != tt.want {
				t.Errorf("client of peer %s with X-Real-IP %q = %s, want %s", tt.peer, tt.header, got, tt.want)
			}
		})
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
