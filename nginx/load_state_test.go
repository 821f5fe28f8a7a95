package nginx_test

// What the load benchmark puts into doorman's store and reads back from
// it: the live sessions and personal tokens of many people, so that the
// memory figure is that of a busy doorman, and the budget counters that
// show a counted check was counted.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"doorman/auth"
	"doorman/auth/store"
	"doorman/whitelist"
	"doorman/whitelist/budget"
)

// usedSessions is how many seeded sessions are used at /auth (at most):
// doorman caches up to 10,000 cookies that verified and empties the cache
// when one more comes, so a few places are left for the benchmark's own
// cookies and the cache is full, not emptied, when its memory is read.
const usedSessions = 9_990

// seedWorkers is how many /auth requests use runs at once, and store
// writes seedStore runs at once on Redis. On SQLite it runs one at a time:
// writers there take turns at the file's lock anyway, and waiting for it
// would only add timeouts.
const seedWorkers = 4

// seeded is what seedStore put in a doorman's store.
type seeded struct {
	users   []string // user i's address
	lists   []string // the list user i is on ("" is the main list)
	cookies []string // user i's session, as a Cookie header pair
	tokens  []string // user i's personal token for lists[i]
}

// seededUser is the i-th generated address of whitelistOf, over all five
// lists in turn, and its list: distinct for i below whitelistOf's n.
func seededUser(i int) (email, list string) {
	l := i % 5
	if l > 0 {
		list = fmt.Sprintf("list%d", l)
	}
	return fmt.Sprintf("user%d.%d@example.com", l, (i/5)%2000), list
}

// seedStore records, in the store of d (from newDoorman, not started yet),
// a live session and a personal token for each of n listed users: the
// sessions as doorman's sign-in records them (auth.Handler.SessionCookie,
// with the stack's key file, so their cookies are valid at d), the tokens
// as the tokens page does.
func (s *loadStack) seedStore(t *testing.T, d *sidecar, n int) *seeded {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := store.Open(ctx, d.store, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := s.sessionMinter(ctx, t, d, st)
	sd := &seeded{users: make([]string, n), lists: make([]string, n), cookies: make([]string, n), tokens: make([]string, n)}
	now, workers := time.Now(), 1
	if strings.HasPrefix(d.store, "redis://") {
		workers = seedWorkers
	}
	err = parallel(n, workers, func(i int) error {
		sd.users[i], sd.lists[i] = seededUser(i)
		c, err := h.SessionCookie(sd.users[i])
		if err != nil {
			return fmt.Errorf("session of %s: %w", sd.users[i], err)
		}
		sd.cookies[i], sd.tokens[i] = sessionName+"="+c.Value, newDoormanToken()
		return st.CreateToken(ctx, store.Token{
			ID: tokenIDOf(sd.tokens[i]), Email: sd.users[i], Name: "seeded", Prefix: sd.tokens[i][:12],
			Lists: []string{sd.lists[i]}, Created: now, Expires: now.Add(24 * time.Hour),
		})
	})
	if err != nil {
		t.Fatalf("seed %d sessions and tokens in %s's store: %v", n, d.name, err)
	}
	return sd
}

// sessionMinter is an auth.Handler over st with the stack's key file and
// d's whitelist and cookie name, for its SessionCookie.
func (s *loadStack) sessionMinter(ctx context.Context, t *testing.T, d *sidecar, st store.Store) *auth.Handler {
	t.Helper()
	keys, _, err := auth.LoadOrCreateKeys(s.secret)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	wl, err := whitelist.Watch(ctx, d.whitelist, logger)
	if err != nil {
		t.Fatal(err)
	}
	h, err := auth.New(auth.Config{ClientID: s.google.ClientID, Allowlist: wl, Store: st, Keys: keys,
		CookieName: sessionName, CookieTTL: 24 * time.Hour, Logger: logger, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// use asks d (running) once for each of the first usedSessions seeded
// sessions and for every seeded token, each on its own list, so that d
// holds them in memory as a doorman in use does, and fails unless every
// answer is 200.
func (sd *seeded) use(t *testing.T, d *sidecar) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: seedWorkers}}
	defer client.CloseIdleConnections()
	sessions := min(len(sd.cookies), usedSessions)
	err := parallel(sessions+len(sd.tokens), seedWorkers, func(i int) error {
		what, hdr, value := "session", "Cookie", ""
		if i < sessions {
			value = sd.cookies[i]
		} else {
			i -= sessions
			what, hdr, value = "token", "Authorization", "Bearer "+sd.tokens[i]
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+d.addr+"/auth?list="+sd.lists[i], nil)
		if err != nil {
			return err
		}
		req.Header.Set(hdr, value)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/auth?list=%s with the %s of %s = %d, want 200", sd.lists[i], what, sd.users[i], resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", d.name, err)
	}
}

// parallel calls f(0) to f(n-1) on workers goroutines and returns the
// first error; after one, the rest are not called.
func parallel(n, workers int, f func(i int) error) error {
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		i := next
		next++
		return i, i < n && first == nil
	}
	for range workers {
		wg.Go(func() {
			for i, ok := take(); ok; i, ok = take() {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// budgetUsed is email's count on list in d's store, summed over the day
// windows (doorman's default time zone, UTC) from "from" to "to": what its
// counted checks spent, when the list's budget is per day.
func budgetUsed(t *testing.T, d *sidecar, email, list string, from, to time.Time) int64 {
	t.Helper()
	st, err := store.Open(t.Context(), d.store, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var keys []string
	for _, at := range []time.Time{from, to} {
		start, _ := budget.Day.Window(at, time.UTC)
		if k := budget.Day.Key(start, time.UTC); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	used, err := st.Used(t.Context(), email, list, keys)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, u := range used {
		sum += u
	}
	return sum
}

// waitReady waits until d's /readyz answers 200: it has read its store
// once, and only then accepts any session or token.
func waitReady(t *testing.T, d *sidecar) {
	t.Helper()
	waitFor(t, 10*time.Second, d.name+" ready", func() bool {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+d.addr+"/readyz", nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
