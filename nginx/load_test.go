package nginx_test

// The load benchmark (README "Performance"): real nginx with keep-alive to the sidecar,
// doorman signed in through the fake Google, and an always-200 Go handler
// (the physical limit for any auth_request sidecar), side by side, measured
// with wrk in interleaved rounds: cookies and tokens on SQLite and on Redis,
// and counted checks (cost=1) on both, each doorman holding the live
// sessions and tokens of 10,000 people. The report ends with every target,
// met or not.
//
// Full run (a few minutes; prints the table):
//
//	go test ./nginx/ -run '^TestLoad$' -count=1 -v -timeout 30m -args -load
//	DOORMAN_LOAD=1 go test ./nginx/ -run '^TestLoad$' -count=1 -v -timeout 30m
//
// with -load.rounds, -load.duration and -load.conns after -args to change
// the defaults (7 rounds × 3 s per case, 2 wrk threads, 32 connections).
// -load.candidate=<binary> adds a second doorman, built from a patched
// tree, to the same interleaved rounds: on a shared machine, the only fair
// way to see what a change is worth.
// Without -load, TestLoadSmoke runs every case once for one second and
// checks only that each completes with the right answers — never a timing.
// Both skip when wrk or nginx is missing, unless CI is set.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"doorman/auth/store/redistest"
	"doorman/whitelist"
)

var (
	loadFlag     = flag.Bool("load", false, "run the full load benchmark TestLoad (or set DOORMAN_LOAD=1)")
	loadRounds   = flag.Int("load.rounds", 7, "TestLoad: interleaved rounds")
	loadDuration = flag.Duration("load.duration", 3*time.Second, "TestLoad: wrk duration per case and round (whole seconds)")
	loadConns    = flag.Int("load.conns", 32, "TestLoad: wrk connections")
	loadCand     = flag.String("load.candidate", "", "TestLoad: another doorman binary to measure in the same rounds (A/B)")
)

// loadThreads is wrk's thread count: the machine has 2 cores.
const loadThreads = 2

// Users of the load whitelist (loadWhitelist): listedUser is on list3, which
// every site asks for; unlistedUser is on the main list only.
const (
	listedUser   = "user3.42@example.com"
	unlistedUser = "user0.7@example.com"
	loadList     = "list3"
)

// loadBudget is loadList's budget: everyone on it has one, so that a
// counted check there makes its store round trip, and no run can spend it
// (whitelist/budget's largest N; a run spends well under a million).
const loadBudget = "budget 1000000000/day"

// How many people have a live session and a personal token in each
// doorman's store when the benchmark starts (seedStore): TestLoad's memory
// figure is for 10k; the smoke test only checks that seeding works.
const (
	loadSeeded  = 10_000
	smokeSeeded = 100
)

// loadWhitelist is whitelistOf(n) with loadBudget on loadList.
func loadWhitelist(n int) string {
	return whitelistOf(n, map[string][]string{loadList: {loadBudget}})
}

// loadCase is one thing wrk measures.
type loadCase struct {
	mode    string // "nginx" (through nginx) or "direct" (wrk → sidecar /auth)
	name    string
	url     string
	cookie  string
	ok      bool     // every answer must be 2xx; otherwise none may be
	sidecar *sidecar // whose CPU per request is reported
	isLimit bool     // the reference of its mode
	token   string   // a personal token sent as Authorization: Bearer; "" sends none
	counted bool     // a counted check (cost=1) of listedUser on loadList at sidecar
}

// loadBench is a running load stack with signed-in sessions.
type loadBench struct {
	stack          *loadStack
	wrk            string
	limit, doorman *sidecar
	redis          *sidecar     // doorman with its sessions in Redis
	floor          *sidecar     // the idtoken floor (startFloor); nil in the smoke test
	drivers        driverFloors // the floor with each store driver; zero in the smoke test
	big            *sidecar     // doorman with 100k addresses, for reloads; nil in the smoke test
	candidate      *sidecar     // -load.candidate's doorman; usually nil
	seeded         int          // people with a live session and a token in each doorman's store
	listed, bad    string       // Cookie headers: listedUser's session, and a tampered copy
	listedRedis    string       // listedUser's session recorded in the Redis store
	token          string       // a personal token of listedUser for loadList
	tokenRedis     string       // the same, recorded in the Redis store
	unlisted       string       // unlistedUser's session
}

// newLoadBench starts the limit, doorman with 10k addresses in 5 lists and
// seeded sessions and tokens (on SQLite and on Redis), (with big) the
// idtoken floor, alone and with each store driver, doorman with 100k
// addresses, and nginx in front of them, and signs listedUser and
// unlistedUser in through the fake Google.
func newLoadBench(t *testing.T, big bool) *loadBench {
	t.Helper()
	b := &loadBench{wrk: needWrk(t), stack: newLoadStack(t), seeded: smokeSeeded}
	if big {
		b.seeded = loadSeeded
	}
	s, redisURL := b.stack, redistest.Start(t).URL()
	b.limit = s.startLimit(t)
	b.doorman = s.startSeeded(t, "doorman", b.seeded)
	b.redis = s.startSeeded(t, "doormanredis", b.seeded, "--store="+redisURL)
	sites := []loadSite{
		{path: "/limit", auth: b.limit, list: loadList},
		{path: "/doorman", auth: b.doorman, list: loadList},
		{path: "/redis", auth: b.redis, list: loadList},
		{path: "/cached", auth: b.doorman, list: loadList, cached: true},
		{path: "/counted", auth: b.doorman, list: loadList, cost: 1},
		{path: "/rediscounted", auth: b.redis, list: loadList, cost: 1},
	}
	if big {
		b.floor = s.startFloor(t)
		b.drivers = s.startDriverFloors(t, redisURL)
		b.big = s.startDoorman(t, "doorman100k", whitelistOf(100_000, nil))
		sites = append(sites, loadSite{path: "/big", auth: b.big, list: loadList})
	}
	if big && *loadCand != "" {
		b.candidate = s.startDoormanBin(t, *loadCand, "candidate", loadWhitelist(10_000))
		sites = append(sites, loadSite{path: "/candidate", auth: b.candidate, list: loadList})
	}
	s.startNginx(t, loadConfig{sites: sites})
	b.listed, b.unlisted = s.signIn(t, b.doorman, listedUser, loadList), s.signIn(t, b.doorman, unlistedUser, "")
	b.listedRedis = s.signIn(t, b.redis, listedUser, loadList)
	b.token, b.tokenRedis = s.makeToken(t, b.doorman, listedUser, loadList), s.makeToken(t, b.redis, listedUser, loadList)
	b.bad = tampered(b.listed)
	return b
}

// startSeeded starts doorman name on loadWhitelist(10_000) with args, its
// store seeded with n people's sessions and tokens before it starts, and
// uses them at /auth once it is ready.
func (s *loadStack) startSeeded(t *testing.T, name string, n int, args ...string) *sidecar {
	t.Helper()
	d := s.newDoorman(t, doormanBin, name, loadWhitelist(10_000), args...)
	sd := s.seedStore(t, d, n)
	s.runDoorman(t, d, args...)
	waitReady(t, d)
	sd.use(t, d)
	return d
}

// cases lists every case: through nginx, then directly at the sidecars.
func (b *loadBench) cases() []loadCase {
	direct := func(c *sidecar) string { return "http://" + c.addr + "/auth?list=" + loadList }
	s, d, r := b.stack, b.doorman, b.redis
	cases := []loadCase{
		{mode: "nginx", name: "limit (always 200)", url: s.url("/limit"), cookie: b.listed, ok: true, sidecar: b.limit, isLimit: true},
		{mode: "nginx", name: "doorman, valid cookie", url: s.url("/doorman"), cookie: b.listed, ok: true, sidecar: d},
		{mode: "nginx", name: "doorman, no cookie (401)", url: s.url("/doorman"), sidecar: d},
		{mode: "nginx", name: "doorman, bad cookie (401)", url: s.url("/doorman"), cookie: b.bad, sidecar: d},
		{mode: "nginx", name: "doorman on Redis, valid cookie", url: s.url("/redis"), cookie: b.listedRedis, ok: true, sidecar: r},
		{mode: "nginx", name: "doorman, valid token", url: s.url("/doorman"), ok: true, sidecar: d, token: b.token},
		{mode: "nginx", name: "doorman on Redis, valid token", url: s.url("/redis"), ok: true, sidecar: r, token: b.tokenRedis},
		{mode: "nginx", name: "doorman, counted check", url: s.url("/counted"), cookie: b.listed, ok: true, sidecar: d, counted: true},
		{mode: "nginx", name: "doorman on Redis, counted check", url: s.url("/rediscounted"), cookie: b.listedRedis, ok: true, sidecar: r, counted: true},
		{mode: "nginx", name: "doorman + micro-cache, valid", url: s.url("/cached"), cookie: b.listed, ok: true, sidecar: d},
		{mode: "direct", name: "limit (always 200)", url: direct(b.limit), cookie: b.listed, ok: true, sidecar: b.limit, isLimit: true},
		{mode: "direct", name: "doorman, valid cookie", url: direct(d), cookie: b.listed, ok: true, sidecar: d},
		{mode: "direct", name: "doorman on Redis, valid cookie", url: direct(r), cookie: b.listedRedis, ok: true, sidecar: r},
		{mode: "direct", name: "doorman, valid token", url: direct(d), ok: true, sidecar: d, token: b.token},
		{mode: "direct", name: "doorman on Redis, valid token", url: direct(r), ok: true, sidecar: r, token: b.tokenRedis},
		{mode: "direct", name: "doorman, bad cookie (401)", url: direct(d), cookie: b.bad, sidecar: d},
		{mode: "direct", name: "doorman, no cookie (401)", url: direct(d), sidecar: d},
	}
	if b.floor != nil {
		cases = append(cases, loadCase{mode: "direct", name: "idtoken floor (always 200)", url: direct(b.floor), cookie: b.listed, ok: true, sidecar: b.floor})
	}
	if c := b.candidate; c != nil {
		cases = append(cases,
			loadCase{mode: "nginx", name: "candidate, valid cookie", url: s.url("/candidate"), cookie: b.listed, ok: true, sidecar: c},
			loadCase{mode: "direct", name: "candidate, valid cookie", url: direct(c), cookie: b.listed, ok: true, sidecar: c})
	}
	return cases
}

// checkAnswers fails unless res holds answers and every one is what c
// wants: all 2xx, or (a 401 case) none 2xx.
func checkAnswers(t *testing.T, c loadCase, res wrkResult) {
	t.Helper()
	switch {
	case res.Requests == 0:
		t.Errorf("%s %s: no answers", c.mode, c.name)
	case c.ok && (res.Status != 0 || res.Non2xx > 0):
		t.Errorf("%s %s: %d of %d answers not 2xx (%d over 399), want 0", c.mode, c.name, res.Non2xx, res.Requests, res.Status)
	case !c.ok && (res.Status != res.Requests || res.Non2xx >= 0 && res.Non2xx != res.Requests):
		t.Errorf("%s %s: %d of %d answers over 399 (%d not 2xx), want all", c.mode, c.name, res.Status, res.Requests, res.Non2xx)
	}
}

// TestLoadSmoke runs every case of the benchmark once for one second, all
// at once but for the counted checks, which run together after the rest,
// and checks only that each completes with the right answers, counted one
// by one, and that each counted check was counted once. (Under -race,
// SQLite's driver is slow enough that, beside a dozen other runs on two
// cores, a counted check might not get a single answer in a second.)
func TestLoadSmoke(t *testing.T) {
	t.Parallel()
	b := newLoadBench(t, false)
	script := writeWrkScript(t, b.stack.dir, true)
	var batches [2][]loadCase
	for _, c := range b.cases() {
		if c.counted {
			batches[1] = append(batches[1], c)
		} else {
			batches[0] = append(batches[0], c)
		}
	}
	for _, cases := range batches {
		runs := make([]wrkRun, len(cases))
		for i, c := range cases {
			runs[i] = wrkRun{url: c.url, cookie: c.cookie, token: c.token, threads: 1, conns: 2, duration: time.Second}
		}
		start := time.Now()
		results, err := runAll(t.Context(), b.wrk, script, runs)
		if err != nil {
			t.Fatal(err)
		}
		for i, res := range results {
			if res.Non2xx < 0 {
				t.Errorf("%s %s: answers not counted", cases[i].mode, cases[i].name)
			}
			checkAnswers(t, cases[i], res)
			if cases[i].counted {
				checkCounted(t, cases[i], res, runs[i].conns, start)
			}
		}
	}
}

// checkCounted fails unless listedUser's count on loadList at c's doorman
// grew by one per answer of res: at least the answers, and at most one
// more per connection (a request in flight when wrk stopped) and per
// socket error.
func checkCounted(t *testing.T, c loadCase, res wrkResult, conns int, since time.Time) {
	t.Helper()
	used := budgetUsed(t, c.sidecar, listedUser, loadList, since, time.Now())
	if most := res.Requests + int64(conns) + res.socketErrors(); used < res.Requests || used > most {
		t.Errorf("%s %s: %s's count on %s = %d after %d answers, want %d to %d", c.mode, c.name, listedUser, loadList, used, res.Requests, res.Requests, most)
	}
}

// TestLoad is the full benchmark; see the top of this file.
func TestLoad(t *testing.T) {
	if !*loadFlag && os.Getenv("DOORMAN_LOAD") == "" {
		t.Skip("the load benchmark runs with -args -load or DOORMAN_LOAD=1")
	}
	if raceEnabled {
		t.Skip("the load benchmark measures nothing useful under -race")
	}
	rep := &loadReport{machine: describeMachine(), loadBefore: loadAvg(), start: time.Now()}
	b := newLoadBench(t, true)
	rep.seeded = b.seeded
	var err error
	if rep.stores, err = b.measureStoreCost(b.drivers); err != nil {
		t.Fatal(err)
	}
	rep.throughput = b.measure(t, *loadRounds, *loadDuration, *loadConns)
	var errs [4]error
	rep.mem, errs[0] = memory(b.doorman.pid())
	rep.redisMem, errs[1] = memory(b.redis.pid())
	rep.limitMem, errs[2] = memory(b.limit.pid())
	rep.floorMem, errs[3] = memory(b.floor.pid())
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	if b.candidate != nil {
		rep.candMem, _ = memory(b.candidate.pid())
	}
	rep.parse = testing.Benchmark(BenchmarkParse100k)
	rep.reload = b.measureReload(t)
	rep.loadAfter = loadAvg()
	rep.print(t.Output(), *loadRounds, *loadDuration, *loadConns)
}

// measure warms every case up for a second, then runs rounds interleaved
// rounds, each case once per round, starting one case later each round.
func (b *loadBench) measure(t *testing.T, rounds int, d time.Duration, conns int) []caseStats {
	t.Helper()
	cases := b.cases()
	script := writeWrkScript(t, b.stack.dir, false)
	for _, c := range cases {
		b.sample(t, script, c, wrkRun{threads: loadThreads, conns: conns, duration: time.Second})
	}
	stats := make([]caseStats, len(cases))
	for r := range rounds {
		round := make([]loadSample, len(cases))
		for i := range cases {
			k := (i + r) % len(cases)
			round[k] = b.sample(t, script, cases[k], wrkRun{threads: loadThreads, conns: conns, duration: d})
		}
		addRound(stats, cases, round)
	}
	return stats
}

// loadSample is one measured run of one case.
type loadSample struct {
	res        wrkResult
	sidecarCPU time.Duration
	nginxCPU   time.Duration
}

// sample runs c once and reads the CPU time the sidecar and nginx's
// workers used meanwhile. A run during which a process went away (say, an
// nginx worker replaced after a SIGHUP from outside the test) is run
// again, at most twice.
func (b *loadBench) sample(t *testing.T, script string, c loadCase, run wrkRun) loadSample {
	t.Helper()
	run.url, run.cookie, run.token = c.url, c.cookie, c.token
	for attempt := 1; ; attempt++ {
		s, err := b.sampleOnce(t, script, run, c.sidecar.pid())
		if err == nil {
			checkAnswers(t, c, s.res)
			return s
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			t.Fatalf("%s %s: %v", c.mode, c.name, err)
		}
		t.Logf("%s %s: %v; running it again", c.mode, c.name, err)
	}
}

// sampleOnce runs wrk once between two readings of the CPU time of the
// sidecar pid and of nginx's current workers.
func (b *loadBench) sampleOnce(t *testing.T, script string, run wrkRun, pid int) (loadSample, error) {
	workers, err := nginxWorkers(b.stack.nginx.cmd.Process.Pid)
	if err != nil {
		return loadSample{}, err
	}
	side0, err1 := cpuTime(pid)
	ngx0, err2 := cpuTimes(workers)
	res, err := runWrk(t.Context(), b.wrk, script, run)
	side1, err3 := cpuTime(pid)
	ngx1, err4 := cpuTimes(workers)
	if err := errors.Join(err, err1, err2, err3, err4); err != nil {
		return loadSample{}, err
	}
	return loadSample{res: res, sidecarCPU: side1 - side0, nginxCPU: ngx1 - ngx0}, nil
}

// BenchmarkParse100k parses a whitelist file of 100,000 addresses in 5
// lists: the work of one reload.
func BenchmarkParse100k(b *testing.B) {
	data := []byte(whitelistOf(100_000, nil))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		l, skipped, err := whitelist.Parse(bytes.NewReader(data))
		if err != nil || len(skipped) > 0 || !l.Contains(loadList, listedUser) {
			b.Fatalf("Parse = %v, %d skipped; want %s on %s", err, len(skipped), listedUser, loadList)
		}
	}
}

// runAll runs the wrk runs concurrently and returns their results in order.
func runAll(ctx context.Context, wrk, script string, runs []wrkRun) ([]wrkResult, error) {
	out := make([]wrkResult, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() { out[i], errs[i] = runWrk(ctx, wrk, script, r) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i, err)
		}
	}
	return out, nil
}
