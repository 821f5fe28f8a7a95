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
// sections; list4 has a budget, and user3.42 is on it too.
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
	cookie, err := h.SessionCookie("user3.42@example.com")
	if err != nil {
		b.Fatal(err)
	}
	valid := "doorman=" + cookie.Value
	ended, err := h.SessionCookie("user3.42@example.com")
	if err != nil {
		b.Fatal(err)
	}
	endedID := storeID(mustDecode(b, h, ended).ID)
	if _, err := cfg.Store.EndSession(b.Context(), "", endedID, store.ReasonAdmin, time.Now()); err != nil {
		b.Fatal(err)
	}
	h.states.markEnded(endedID, time.Now().Add(time.Hour))
	floods := forgedFloods(b, wl)
	token := makeToken(b, cfg.Store, "user3.42@example.com", "bench", time.Hour, "list3")
	waitFor(b, 2*time.Second, "the token known", func() bool {
		_, ok := h.tokenFor(token, "list3", time.Now().Unix())
		return ok
	})
	badToken := token[:45] + string(base62[(base62Value(token[45])+1)%62])
	cases := []struct {
		name, path, cookie, token string
		want                      int
	}{
		{"valid token", "/auth?list=list3", "", token, 200},
		{"token, bad checksum", "/auth?list=list3", "", badToken, 401},
		{"token, unknown", "/auth?list=list3", "", newPersonalToken(), 401},
		{"token, wrong list", "/auth?list=list1", "", token, 401},
		{"valid cookie", "/auth?list=list3", valid, "", 200},
		{"valid cookie, list with a budget, uncounted", "/auth?list=list4", valid, "", 200},
		{"counted check", "/auth?list=list4&cost=1", valid, "", 200},
		{"valid cookie, not on list", "/auth", valid, "", 401},
		{"ended session", "/auth?list=list3", "doorman=" + ended.Value, "", 401},
		{"invalid cookie", "/auth", "doorman=" + strings.Repeat("A", 180), "", 401},
		{"no cookie", "/auth", "", "", 401},
		{"forged flood, 3414 short", "/auth", floods[0], "", 401},
		{"forged flood, 300 well-formed", "/auth", floods[1], "", 401},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, bc.path, nil)
			if bc.cookie != "" {
				req.Header.Set("Cookie", "_ga=GA1.2.3; "+bc.cookie)
			}
			if bc.token != "" {
				req.Header.Set("Authorization", "Bearer "+bc.token)
			}
			w := &discardWriter{hdr: http.Header{}}
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

// forgedFloods are 60 KiB Cookie headers stuffed with session cookies of
// doorman's name that doorman never minted: 3,414 short junk values, and
// 300 well-formed ones signed with a key doorman does not hold.
func forgedFloods(b *testing.B, wl Allowlist) [2]string {
	b.Helper()
	foreign, err := New(Config{ClientID: "x", Allowlist: wl, Keys: [][]byte{secret('f')}, CookieName: "doorman", CookieTTL: time.Hour, Store: testStore(b)})
	if err != nil {
		b.Fatal(err)
	}
	forged, err := foreign.SessionCookie("user3.42@example.com")
	if err != nil {
		b.Fatal(err)
	}
	short := strings.Repeat("doorman=AAAAAAAA; ", 3414)
	wellFormed := strings.Repeat("doorman="+forged.Value+"; ", 300)
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
