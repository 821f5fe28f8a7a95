package auth

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// maxBuckets bounds the rate limiter's memory: at most this many clients
// are tracked at once, about 5 MiB in all (TestRateLimitMemoryBounded).
const maxBuckets = 1 << 16

// rateLimit returns a per-client token bucket for one group of routes:
// perSecond requests a second on average, in bursts of up to four seconds'
// worth (at least 10). The client is c.RealIP() (see clientIP), an IPv6
// client's whole /64 counted as one. A client over the limit gets
// Retry-After and refuse's answer. Each call is a limiter of its own, so
// that one group's traffic never spends another's allowance. perSecond <= 0
// disables the limit; now nil means time.Now.
func rateLimit(perSecond float64, now func() time.Time, refuse echo.HandlerFunc) echo.MiddlewareFunc {
	if perSecond <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	if now == nil {
		now = time.Now
	}
	burst := max(10, math.Ceil(4*perSecond))
	l := newLimiter(perSecond, burst, maxBuckets, now)
	return func(next echo.HandlerFunc) echo.HandlerFunc { return l.middleware(next, refuse) }
}

// refusePage answers a page route's client over its limit: the 429 page.
func refusePage(echo.Context) error { return echo.NewHTTPError(http.StatusTooManyRequests) }

// refuseJSON answers a program's client over its limit: 429
// {"error":"slow_down"}, the error by which RFC 8628 (section 3.5) tells a
// polling program to wait longer, beside Retry-After.
func refuseJSON(c echo.Context) error { return jsonError(c, http.StatusTooManyRequests, "slow_down") }

// clientKey is what the limiter counts requests by: an IPv4 address, or the
// /64 prefix of an IPv6 one (as IPv6 bytes, the rest zero). A single host
// usually holds a whole /64, so counting its addresses apart would let it
// walk around the limit.
type clientKey [16]byte

// clientKeyOf returns the key of the address ip. Anything that is not an
// address (it cannot come from a TCP peer) shares the zero key.
func clientKeyOf(ip string) clientKey {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return clientKey{}
	}
	addr = addr.Unmap()
	key := clientKey(addr.As16()) // an IPv4 address as ::ffff:a.b.c.d, which no /64 key matches
	if addr.Is6() {
		clear(key[8:])
	}
	return key
}

// limiter is a token bucket per client in a table of at most max buckets.
//
// When the table is full, a newcomer takes over the least recently used
// bucket only if that bucket has refilled: a full bucket is exactly what a
// new one would be, so dropping it gives nobody a single extra request, and
// a flood of new addresses cannot reset a limited client's bucket. A bucket
// unused for burst/rate seconds (4 s by default) is full, so if even the
// least recently used one is not, every client in the table was seen within
// that time; newcomers then share one overflow bucket of the same size
// until buckets refill. Memory stays bounded and no allowance is ever lost
// or gained by eviction.
type limiter struct {
	rate  float64 // tokens added per second
	burst float64 // bucket size
	max   int
	now   func() time.Time
	start time.Time // buckets' times are offsets from it

	mu         sync.Mutex
	index      map[clientKey]int32 // key → position in buckets
	buckets    []bucket            // grows to max, then slots are reused
	head, tail int32               // most and least recently used; -1 when empty
	overflow   bucket              // shared by newcomers while no bucket can be reused
}

// bucket is one client's tokens, in the limiter's recency list.
type bucket struct {
	key        clientKey
	tokens     float64
	at         time.Duration // when tokens was counted, since limiter.start
	prev, next int32         // neighbours in the recency list; -1 at the ends
}

// newLimiter returns a limiter of rate tokens a second, buckets of burst,
// at most max of them, on the clock now.
func newLimiter(rate, burst float64, max int, now func() time.Time) *limiter {
	return &limiter{
		rate: rate, burst: burst, max: max, now: now, start: now(),
		index: make(map[clientKey]int32), head: -1, tail: -1,
		overflow: bucket{tokens: burst},
	}
}

// middleware answers a client over its limit with Retry-After and refuse.
func (l *limiter) middleware(next, refuse echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ok, retry := l.allow(clientKeyOf(c.RealIP()))
		if !ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
			return refuse(c)
		}
		return next(c)
	}
}

// allow takes a token from key's bucket. When there is none it returns
// false and how long until there is.
func (l *limiter) allow(key clientKey) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := l.now().Sub(l.start)
	i, ok := l.index[key]
	if !ok {
		if i, ok = l.claim(key, at); !ok {
			return l.take(&l.overflow, at)
		}
	}
	l.touch(i)
	return l.take(&l.buckets[i], at)
}

// level is b's token count at time at.
func (l *limiter) level(b *bucket, at time.Duration) float64 {
	return min(l.burst, b.tokens+l.rate*(at-b.at).Seconds())
}

// take takes one token from b at time at, if it has one.
func (l *limiter) take(b *bucket, at time.Duration) (bool, time.Duration) {
	b.tokens, b.at = l.level(b, at), at
	if b.tokens < 1 {
		wait := min((1-b.tokens)/l.rate, 3600) // seconds; a very low rate must not overflow
		return false, time.Duration(wait * float64(time.Second))
	}
	b.tokens--
	return true, 0
}

// claim gives key a full bucket: a new one while the table has room, else
// the least recently used one if it has refilled. It reports false when
// neither can be had.
func (l *limiter) claim(key clientKey, at time.Duration) (int32, bool) {
	var i int32
	switch {
	case len(l.buckets) < l.max:
		i = int32(len(l.buckets))
		l.buckets = append(l.buckets, bucket{prev: -1, next: -1})
	case l.level(&l.buckets[l.tail], at) >= l.burst:
		i = l.tail
		delete(l.index, l.buckets[i].key)
	default:
		return 0, false
	}
	b := &l.buckets[i]
	b.key, b.tokens, b.at = key, l.burst, at
	l.index[key] = i
	return i, true
}

// touch moves bucket i to the front of the recency list.
func (l *limiter) touch(i int32) {
	if l.head == i {
		return
	}
	b := &l.buckets[i]
	if b.prev >= 0 {
		l.buckets[b.prev].next = b.next
	}
	if b.next >= 0 {
		l.buckets[b.next].prev = b.prev
	}
	if l.tail == i {
		l.tail = b.prev
	}
	b.prev, b.next = -1, l.head
	if l.head >= 0 {
		l.buckets[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}
