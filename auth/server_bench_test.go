package auth

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
	"doorman/whitelist"
)

// discardWriter is a reusable http.ResponseWriter that keeps only headers.
type discardWriter struct {
	hdr  http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.hdr }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// benchWhitelist writes n addresses spread over the main list and 4
// sections; list4 has a budget no benchmark can spend, and user3.42 is on
// it too; on the small list "capped", user3.42's budget is 1 a day.
func benchWhitelist(b *testing.B, n int) string {
	b.Helper()
	var sb strings.Builder
	for l := 0; l < 5; l++ {
		if l > 0 {
			fmt.Fprintf(&sb, "[list%d]\n", l)
		}
		if l == 4 { // a list with a budget, which the benchmarked user is on too
			fmt.Fprintf(&sb, "budget 1000000000/day\nuser3.42@example.com\n")
		}
		for i := 0; i < n/5; i++ {
			fmt.Fprintf(&sb, "user%d.%d@example.com\n", l, i)
		}
	}
	sb.WriteString("[capped]\nbudget 1/day\nuser3.42@example.com\n")
	path := filepath.Join(b.TempDir(), "whitelist.txt")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkAuth measures GET /auth through Echo's router, as nginx calls it,
// with 10k whitelist entries in 5 lists.
func BenchmarkAuth(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	wl, err := whitelist.Watch(b.Context(), benchWhitelist(b, 10_000), logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("metrics=off", func(b *testing.B) { benchAuth(b, wl, logger, nil) })
	b.Run("metrics=on", func(b *testing.B) {
		benchAuth(b, wl, logger, func(c *Config) { c.Observer = newTestMetrics(wl) })
	})
	// The store and --session-idle stay off the hot path: the same cases
	// on Redis, and with idle sessions ended.
	b.Run("store=redis", func(b *testing.B) {
		st, err := store.Open(b.Context(), redistest.Start(b).URL(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		benchAuth(b, wl, logger, func(c *Config) { c.Store = st })
	})
	b.Run("session-idle=1h", func(b *testing.B) {
		benchAuth(b, wl, logger, func(c *Config) { c.SessionIdle = time.Hour })
	})
}

// benchAuth runs the /auth cases against one server, its Config edited by
// edit (unless nil).
func benchAuth(b *testing.B, wl *whitelist.Watcher, logger *slog.Logger, edit func(*Config)) {
	keys := [][]byte{secret('k')}
	cfg := Config{ClientID: "x", Allowlist: wl, Keys: keys, CookieName: "doorman", CookieTTL: time.Hour, Logger: logger, Store: testStore(b)}
	if edit != nil {
		edit(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	go h.Run(b.Context())
	waitFor(b, 5*time.Second, "the store read", h.Ready)
	srv := NewServer(h, ServerConfig{Pages: mustPages(b), Ready: wl.Ready})
	for _, bc := range authBenchCases(b, h, cfg.Store, wl) {
		b.Run(bc.name, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, bc.path, nil)
			if bc.cookie != "" {
				req.Header.Set("Cookie", "_ga=GA1.2.3; "+bc.cookie)
			}
			if bc.token != "" {
				req.Header.Set("Authorization", "Bearer "+bc.token)
			}
			w := &discardWriter{hdr: http.Header{}}
			if bc.before != "" { // spend the budget up to its ceiling, unless an earlier run (-count) did
				before := req.Clone(req.Context())
				before.URL.RawQuery = bc.before
				if srv.ServeHTTP(w, before); w.code != http.StatusOK && w.code != bc.want {
					b.Fatalf("GET /auth?%s = %d, want 200 (or %d once spent)", bc.before, w.code, bc.want)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.hdr)
				srv.ServeHTTP(w, req)
			}
			if w.code != bc.want {
				b.Fatalf("GET %s = %d, want %d", bc.path, w.code, bc.want)
			}
		})
	}
}

// authBenchCase is one /auth request of BenchmarkAuth and its answer.
type authBenchCase struct {
	name, path, cookie, token string
	before                    string // a query sent once before the loop; "" sends none
	want                      int
}

// authBenchCases are BenchmarkAuth's requests: cookies (valid, ended,
// forged, none), tokens (valid, bad checksum, unknown, ended), counted
// checks (allowed, and refused at the ceiling) and refusals (not on the
// list, unknown list, bad cost), all for user3.42 at h over st.
func authBenchCases(b *testing.B, h *Handler, st store.Store, wl Allowlist) []authBenchCase {
	valid, ended := "doorman="+mustSessionCookie(b, h), "doorman="+endedSessionCookie(b, h, st)
	floods := forgedFloods(b, wl)
	token := makeToken(b, st, "user3.42@example.com", "bench", time.Hour, "list3")
	endedToken := makeToken(b, st, "user3.42@example.com", "ended", time.Hour, "list3")
	if _, err := st.EndToken(b.Context(), "", tokenID(tokenHash(endedToken)), store.ReasonAdmin, time.Now()); err != nil {
		b.Fatal(err)
	}
	waitFor(b, 2*time.Second, "the token known, the ended one not", func() bool {
		_, ok := h.tokenFor(token, "list3", time.Now().Unix())
		_, endedOK := h.tokenFor(endedToken, "list3", time.Now().Unix())
		return ok && !endedOK
	})
	badToken := token[:45] + string(base62[(base62Value(token[45])+1)%62])
	return []authBenchCase{
		{name: "valid token", path: "/auth?list=list3", token: token, want: 200},
		{name: "token, bad checksum", path: "/auth?list=list3", token: badToken, want: 401},
		{name: "token, unknown", path: "/auth?list=list3", token: newPersonalToken(), want: 401},
		{name: "token, ended", path: "/auth?list=list3", token: endedToken, want: 401},
		{name: "token, wrong list", path: "/auth?list=list1", token: token, want: 401},
		{name: "valid cookie", path: "/auth?list=list3", cookie: valid, want: 200},
		{name: "valid cookie, list with a budget, uncounted", path: "/auth?list=list4", cookie: valid, want: 200},
		{name: "counted check", path: "/auth?list=list4&cost=1", cookie: valid, want: 200},
		{name: "counted check, at the ceiling (403)", path: "/auth?list=capped&cost=1", cookie: valid,
			before: "list=capped&cost=1", want: 403},
		{name: "counted check, bad cost", path: "/auth?list=list4&cost=0", cookie: valid, want: 401},
		{name: "valid cookie, not on list", path: "/auth", cookie: valid, want: 401},
		{name: "valid cookie, unknown list", path: "/auth?list=nosuch", cookie: valid, want: 401},
		{name: "ended session", path: "/auth?list=list3", cookie: ended, want: 401},
		{name: "forged cookie", path: "/auth?list=list3", cookie: forgedCookie(b, wl), want: 401},
		{name: "invalid cookie", path: "/auth", cookie: "doorman=" + strings.Repeat("A", 180), want: 401},
		{name: "no cookie", path: "/auth", want: 401},
		{name: "forged flood, 3414 short", path: "/auth", cookie: floods[0], want: 401},
		{name: "forged flood, 300 well-formed", path: "/auth", cookie: floods[1], want: 401},
	}
}

// mustSessionCookie starts a session of user3.42 at h and returns its
// cookie's value.
func mustSessionCookie(b *testing.B, h *Handler) string {
	b.Helper()
	c, err := h.SessionCookie("user3.42@example.com")
	if err != nil {
		b.Fatal(err)
	}
	return c.Value
}

// endedSessionCookie is the value of a session cookie of user3.42 whose
// session was ended in st, as h knows.
func endedSessionCookie(b *testing.B, h *Handler, st store.Store) string {
	b.Helper()
	value := mustSessionCookie(b, h)
	id := storeID(mustDecode(b, h, &http.Cookie{Value: value}).ID)
	if _, err := st.EndSession(b.Context(), "", id, store.ReasonAdmin, time.Now()); err != nil {
		b.Fatal(err)
	}
	h.states.markEnded(id, time.Now().Add(time.Hour))
	return value
}

// forgedCookie is a well-formed session cookie pair of user3.42 that
// doorman never minted: signed with a key it does not hold.
func forgedCookie(b *testing.B, wl Allowlist) string {
	b.Helper()
	foreign, err := New(Config{ClientID: "x", Allowlist: wl, Keys: [][]byte{secret('f')}, CookieName: "doorman", CookieTTL: time.Hour, Store: testStore(b)})
	if err != nil {
		b.Fatal(err)
	}
	return "doorman=" + mustSessionCookie(b, foreign)
}

// forgedFloods are 60 KiB Cookie headers stuffed with session cookies of
// doorman's name that doorman never minted: 3,414 short junk values, and
// 300 well-formed ones signed with a key doorman does not hold.
func forgedFloods(b *testing.B, wl Allowlist) [2]string {
	b.Helper()
	short := strings.Repeat("doorman=AAAAAAAA; ", 3414)
	wellFormed := strings.Repeat(forgedCookie(b, wl)+"; ", 300)
	return [2]string{strings.TrimSuffix(short, "; "), strings.TrimSuffix(wellFormed, "; ")}
}

// mustDecode returns the session cookie c carries, as h reads it.
func mustDecode(tb testing.TB, h *Handler, c *http.Cookie) Session {
	tb.Helper()
	s, err := h.sessions.decodeSession(c.Value, h.now())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
