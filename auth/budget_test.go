package auth

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
	"doorman/whitelist"
)

// authQueryTests are parseAuthQuery's cases; FuzzParseAuthQuery seeds
// from them too.
var authQueryTests = []struct {
	query, list string
	cost        int64
	set, bad    bool
}{
	{"", "", 0, false, false},
	{"list=gpt4", "gpt4", 0, false, false},
	{"list=gpt4&cost=1", "gpt4", 1, true, false},
	{"cost=1000&list=gpt4", "gpt4", 1000, true, false},
	{"cost=7", "", 7, true, false},
	{"list=a&list=b&cost=2", "a", 2, true, false},
	{"cost=1001", "", 0, true, true},
	{"cost=0", "", 0, true, true},
	{"cost=01", "", 0, true, true},
	{"cost=+1", "", 0, true, true},
	{"cost=-1", "", 0, true, true},
	{"cost=", "", 0, true, true},
	{"cost", "", 0, true, true},
	{"cost=1&cost=1", "", 0, true, true},
	{"cost=1e3", "", 0, true, true},
	{"cost=%31", "", 0, true, true},
	{"cost=99999999999999999999", "", 0, true, true},
	{"costly=1", "", 0, false, false},
}

func TestParseAuthQuery(t *testing.T) {
	for _, tt := range authQueryTests {
		q := parseAuthQuery(tt.query)
		if q.list != tt.list || q.costSet != tt.set || q.costBad != tt.bad || !q.costBad && q.cost != tt.cost {
			t.Errorf("parseAuthQuery(%q) = %+v, want list %q cost %d set %v bad %v", tt.query, q, tt.list, tt.cost, tt.set, tt.bad)
		}
	}
	if n := testing.AllocsPerRun(100, func() { parseAuthQuery("list=gpt4&cost=12") }); n != 0 {
		t.Errorf("parseAuthQuery allocates %v times, want 0", n)
	}
}

// FuzzParseAuthQuery checks parseAuthQuery against the README's rule,
// restated over strings.Split: list is the first "list=" value, raw; a
// check is counted when "cost" is given, and its cost is refused unless
// given once as 1 to 1000 in decimal without sign or leading zero. It also
// checks that a list name is well-formed exactly when the store could
// keep it.
func FuzzParseAuthQuery(f *testing.F) {
	for _, tt := range authQueryTests {
		f.Add(tt.query)
	}
	f.Add("list=gpt%34&cost=5&list=b")
	f.Add("&&cost=1000&&")
	f.Fuzz(func(t *testing.T, query string) {
		q := parseAuthQuery(query)
		list, listSet, costs := "", false, []string(nil)
		for _, kv := range strings.Split(query, "&") {
			if v, ok := strings.CutPrefix(kv, "list="); ok && !listSet {
				list, listSet = v, true
			}
			if name, v, _ := strings.Cut(kv, "="); name == "cost" {
				costs = append(costs, v)
			}
		}
		n, err := strconv.Atoi(strings.Join(costs, "&"))
		good := len(costs) == 1 && err == nil && n >= 1 && n <= 1000 && strconv.Itoa(n) == costs[0]
		if q.list != list || q.costSet != (len(costs) > 0) || q.costBad != (len(costs) > 0 && !good) || good && q.cost != int64(n) ||
			len(costs) > 0 && q.costRaw != costs[len(costs)-1] {
			t.Fatalf("parseAuthQuery(%q) = %+v; want list %q, costs %q", query, q, list, costs)
		}
		const listBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
		if want := len(list) >= 1 && len(list) <= 64 && strings.Trim(list, listBytes) == ""; validListName(list) != want {
			t.Fatalf("validListName(%q) = %v, want %v", list, !want, want)
		}
	})
}

// budgetDoorman serves a whitelist with budgets over st, on a clock.
func budgetDoorman(t *testing.T, list string, st store.Store, clock *atomic.Int64, edit func(*Config)) *testDoorman {
	t.Helper()
	return newTestDoorman(t, list, testConfig{offline: true, auth: func(c *Config) {
		c.Store = st
		if clock != nil {
			c.Now = func() time.Time { return time.Unix(clock.Load(), 0) }
		}
		if edit != nil {
			edit(c)
		}
	}})
}

// counted is a counted /auth check of cookie on list.
func counted(t *testing.T, td *testDoorman, list string, cost int, cookie *http.Cookie) *http.Response {
	t.Helper()
	resp, body := td.do(t, http.MethodGet, "/auth?list="+list+"&cost="+strconv.Itoa(cost), nil, nil, cookie)
	if body != "" || resp.Header.Get("Content-Length") != "0" {
		t.Errorf("counted /auth answered a body %q (Content-Length %q), want none", body, resp.Header.Get("Content-Length"))
	}
	return resp
}

const budgetList = "alice@example.com\nbob@example.com\n[gpt4]\nbudget 3/day 10/month\nalice@example.com\nbob@example.com budget none\n[free]\nalice@example.com\n"

// TestBudgetCeiling: counted checks are admitted while they fit, with what
// remains, and refused at the ceiling with when to come back; uncounted
// checks are never refused, and people and lists without a budget are
// admitted uncounted.
func TestBudgetCeiling(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Date(2030, 3, 4, 22, 0, 0, 0, time.UTC).Unix()) // two hours before the day's end
	td := budgetDoorman(t, budgetList, testStore(t), &clock, func(c *Config) { c.CookieTTL = 72 * time.Hour })
	alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")
	for i, want := range []string{"2", "1", "0"} {
		resp := counted(t, td, "gpt4", 1, alice)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Doorman-Budget-Remaining") != want || resp.Header.Get("X-Auth-Request-Email") != "alice@example.com" {
			t.Errorf("counted check %d = %d, remaining %q; want 200, %s", i+1, resp.StatusCode, resp.Header.Get("X-Doorman-Budget-Remaining"), want)
		}
	}
	resp := counted(t, td, "gpt4", 1, alice)
	wantHeaders := map[string]string{
		"X-Doorman-Refusal": "budget", "Retry-After": "7200",
		"X-Doorman-Budget": "limit=3, used=3, window=day, reset=7200", "X-Auth-Request-Email": "alice@example.com",
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("counted check at the ceiling = %d, want 403", resp.StatusCode)
	}
	for h, want := range wantHeaders {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("at the ceiling: %s = %q, want %q", h, got, want)
		}
	}
	if resp, _ := td.do(t, http.MethodGet, "/auth?list=gpt4", nil, nil, alice); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Doorman-Budget-Remaining") != "" {
		t.Errorf("uncounted check at the ceiling = %d (remaining %q), want 200 without budget headers", resp.StatusCode, resp.Header.Get("X-Doorman-Budget-Remaining"))
	}
	for name, check := range map[string]func() *http.Response{
		"budget none":         func() *http.Response { return counted(t, td, "gpt4", 1, bob) },
		"list without budget": func() *http.Response { return counted(t, td, "free", 5, alice) },
	} {
		if resp := check(); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Doorman-Budget-Remaining") != "" {
			t.Errorf("%s: counted check = %d (remaining %q), want 200 uncounted", name, resp.StatusCode, resp.Header.Get("X-Doorman-Budget-Remaining"))
		}
	}
	clock.Add(7200) // a new day: room again, the month still counts
	if resp := counted(t, td, "gpt4", 1, alice); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Doorman-Budget-Remaining") != "2" {
		t.Errorf("next day: %d, remaining %q; want 200, 2", resp.StatusCode, resp.Header.Get("X-Doorman-Budget-Remaining"))
	}
	if resp := counted(t, td, "gpt4", 3, alice); resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Doorman-Budget") != "limit=3, used=1, window=day, reset=86400" {
		t.Errorf("a cost that would cross = %d, %q; want 403, limit=3, used=1 (nothing added)", resp.StatusCode, resp.Header.Get("X-Doorman-Budget"))
	}
}

// TestBudgetNotSignedIn: a counted check without a session is a 401 and
// counts nothing; a malformed cost is a 401 for everyone, logged once.
func TestBudgetNotSignedIn(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	td := budgetDoorman(t, budgetList, st, nil, nil)
	alice := mintSession(t, td.h, "alice@example.com")
	if resp := counted(t, td, "gpt4", 1, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("counted check without a session = %d, want 401", resp.StatusCode)
	}
	for range 3 {
		for _, bad := range []string{"0", "01", "%2B1", "1001"} {
			if resp, _ := td.do(t, http.MethodGet, "/auth?list=gpt4&cost="+bad, nil, nil, alice); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("cost=%s = %d, want 401", bad, resp.StatusCode)
			}
		}
	}
	if n := strings.Count(td.logs.String(), `"msg":"malformed cost"`); n != 4 {
		t.Errorf("malformed cost logged %d times for 4 values sent 3 times each, want 4", n)
	}
	usage, err := st.Usage(t.Context(), "gpt4", "day/"+time.Now().UTC().Format("2006-01-02"))
	if err != nil || len(usage) != 0 {
		t.Errorf("usage after refused checks = %v, %v; want nothing counted", usage, err)
	}
}

// TestBudgetExact: many counted checks at once for one person admit
// exactly the limit, on two doormans sharing one store.
func TestBudgetExact(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	open := func() store.Store { return openStore(t, redis.URL(), store.Options{}) }
	list := "[gpt4]\nbudget 25/day\nalice@example.com\n"
	a, b := budgetDoorman(t, list, open(), nil, nil), budgetDoorman(t, list, open(), nil, nil)
	alice := mintSession(t, a.h, "alice@example.com")
	var admitted, refused, other atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		td := []*testDoorman{a, b}[g%2]
		wg.Go(func() {
			for range 5 {
				switch counted(t, td, "gpt4", 1, alice).StatusCode {
				case http.StatusOK:
					admitted.Add(1)
				case http.StatusForbidden:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("80 counted checks on 2 doormans: %d admitted, %d refused (limit 25)", admitted.Load(), refused.Load())
	if admitted.Load() != 25 || other.Load() != 0 {
		t.Errorf("admitted %d, other answers %d; want exactly 25 and none", admitted.Load(), other.Load())
	}
}

// TestBudgetStoreDown: with the store down, a counted check of a person
// with a budget is refused as unavailable (or, with BudgetFailOpen,
// admitted uncounted); people without a budget are admitted as ever.
func TestBudgetStoreDown(t *testing.T) {
	t.Parallel()
	for _, failOpen := range []bool{false, true} {
		redis := redistest.Start(t)
		st := openStore(t, redis.URL(), store.Options{Timeout: 300 * time.Millisecond})
		td := budgetDoorman(t, budgetList, st, nil, func(c *Config) { c.BudgetFailOpen = failOpen })
		alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")
		redis.Kill(t)
		want, refusal := http.StatusForbidden, "unavailable"
		if failOpen {
			want, refusal = http.StatusOK, ""
		}
		for range 3 {
			if resp := counted(t, td, "gpt4", 1, alice); resp.StatusCode != want || resp.Header.Get("X-Doorman-Refusal") != refusal {
				t.Errorf("fail-open %v, store down: counted check = %d, refusal %q; want %d, %q", failOpen, resp.StatusCode, resp.Header.Get("X-Doorman-Refusal"), want, refusal)
			}
		}
		if resp := counted(t, td, "gpt4", 1, bob); resp.StatusCode != http.StatusOK {
			t.Errorf("fail-open %v, store down: budget none = %d, want 200", failOpen, resp.StatusCode)
		}
		if n := strings.Count(td.logs.String(), `"msg":"budget store unreachable"`); n != 1 {
			t.Errorf("fail-open %v: budget store unreachable logged %d times for 3 checks, want once", failOpen, n)
		}
	}
}

// TestBudgetStoreHangs: with the store hung (Redis frozen, its calls
// bounded by a timeout longer than the check's own second), a counted check
// is refused as unavailable, and the outage is logged as "budget store
// unreachable" once, never as an error per check. TestChaosReplicasRedis
// found it: the check's own deadline came first, and the refusal was logged
// as a failed check, once per request.
func TestBudgetStoreHangs(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	st := openStore(t, redis.URL(), store.Options{Timeout: 5 * time.Second})
	td := budgetDoorman(t, budgetList, st, nil, nil)
	alice := mintSession(t, td.h, "alice@example.com")
	if resp := counted(t, td, "gpt4", 1, alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("counted check before the freeze = %d, want 200", resp.StatusCode)
	}
	redis.Freeze(t)
	t.Cleanup(func() { redis.Thaw(t) })
	for range 2 {
		if resp := counted(t, td, "gpt4", 1, alice); resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Doorman-Refusal") != "unavailable" {
			t.Errorf("store hung: counted check = %d, refusal %q; want 403, unavailable", resp.StatusCode, resp.Header.Get("X-Doorman-Refusal"))
		}
	}
	logs := td.logs.String()
	if n := strings.Count(logs, `"msg":"budget store unreachable"`); n != 1 {
		t.Errorf("budget store unreachable logged %d times for 2 checks, want once", n)
	}
	if strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("a hung store was logged as an error:\n%s", logs)
	}
}

// TestBudgetCountsSurvive: counts outlive a whitelist reload that changes
// the limit, and a restart of doorman on the same store.
func TestBudgetCountsSurvive(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	td := budgetDoorman(t, "[gpt4]\nbudget 3/day\nalice@example.com\n", st, nil, nil)
	alice := mintSession(t, td.h, "alice@example.com")
	for range 2 {
		counted(t, td, "gpt4", 1, alice)
	}
	replaceWhitelist(t, td.whitelist, "[gpt4]\nbudget 4/day\nalice@example.com\n")
	waitFor(t, time.Second, "the new limit", func() bool { return td.h.allow.BudgetOf("gpt4", "alice@example.com").String() == "4/day" })
	if resp := counted(t, td, "gpt4", 1, alice); resp.Header.Get("X-Doorman-Budget-Remaining") != "1" {
		t.Errorf("after a reload to 4/day with 2 used: remaining %q, want 1", resp.Header.Get("X-Doorman-Budget-Remaining"))
	}
	restarted := budgetDoorman(t, "[gpt4]\nbudget 4/day\nalice@example.com\n", st, nil, func(c *Config) { c.Keys = [][]byte{secret('k')} })
	if resp := counted(t, restarted, "gpt4", 1, alice); resp.Header.Get("X-Doorman-Budget-Remaining") != "0" {
		t.Errorf("another doorman on the same store: remaining %q, want 0", resp.Header.Get("X-Doorman-Budget-Remaining"))
	}
	if resp := counted(t, restarted, "gpt4", 1, alice); resp.StatusCode != http.StatusForbidden {
		t.Errorf("over the limit after a restart = %d, want 403", resp.StatusCode)
	}
}

// TestBudgetZone: windows are calendar windows of --budget-timezone: a day
// there ends at its own midnight; and the metrics count by list.
func TestBudgetZone(t *testing.T) {
	t.Parallel()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	var clock atomic.Int64
	clock.Store(time.Date(2030, 3, 4, 22, 0, 0, 0, time.UTC).Unix()) // 07:00 on the 5th in Tokyo
	var m *Metrics
	td := budgetDoorman(t, "[gpt4]\nbudget 1/day\nalice@example.com\n", testStore(t), &clock, func(c *Config) {
		c.BudgetZone = tokyo
		m = newTestMetrics(c.Allowlist.(*whitelist.Watcher))
		c.Observer = m
	})
	alice := mintSession(t, td.h, "alice@example.com")
	counted(t, td, "gpt4", 1, alice)
	resp := counted(t, td, "gpt4", 1, alice)
	if got, want := resp.Header.Get("Retry-After"), strconv.Itoa(17*3600); resp.StatusCode != http.StatusForbidden || got != want {
		t.Errorf("at the ceiling in Tokyo: %d, Retry-After %s; want 403, %s (Tokyo's midnight)", resp.StatusCode, got, want)
	}
	text := scrape(t, m)
	for _, want := range []string{`doorman_budget_checks_total{list="gpt4",outcome="allowed"} 1`, `doorman_budget_checks_total{list="gpt4",outcome="refused"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "alice") {
		t.Error("a metric names a person")
	}
}
