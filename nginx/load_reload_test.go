package nginx_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// reloadRenames is how many times the 100k whitelist is replaced, both
// when timing reloads and under load.
const reloadRenames = 20

// reloadStats is what the reload part of TestLoad measured on the doorman
// with 100,000 addresses.
type reloadStats struct {
	observed  []time.Duration // rename → first /auth answer that reflects it
	logged    []time.Duration // under load: rename → "whitelist reloaded" in the log
	loads     []wrkResult     // under load: nginx listed, direct listed, direct unlisted
	wrong     int64           // answers of the loads that were not what the list says
	failed    int64           // requests of the loads that got no answer (socket errors, 2 s timeouts)
	answers   int64
	mem       memStat // after the reloads
	completed bool    // every rename was reloaded before the loads ended
}

// measureReload times reloads of the big doorman's whitelist, then replaces
// it reloadRenames times under load and counts wrong answers.
func (b *loadBench) measureReload(t *testing.T) reloadStats {
	t.Helper()
	var st reloadStats
	st.observed = b.reloadLatency(t)
	b.reloadUnderLoad(t, &st)
	var err error
	if st.mem, err = memory(b.big.pid()); err != nil {
		t.Fatal(err)
	}
	return st
}

// reloadLatency adds unlistedUser to list3 and removes them again, by
// rename, reloadRenames times, and times each change from the rename (the
// new file is written beforehand) to the first /auth answer that reflects
// it, polling doorman every half millisecond.
func (b *loadBench) reloadLatency(t *testing.T) []time.Duration {
	t.Helper()
	with := whitelistOf(100_000, map[string][]string{loadList: {unlistedUser}})
	without := whitelistOf(100_000, nil)
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	authStatus(t, client, b.big, loadList, b.unlisted) // decode the cookie once
	var out []time.Duration
	for i := range reloadRenames {
		content, want := with, http.StatusOK
		if i%2 == 1 {
			content, want = without, http.StatusUnauthorized
		}
		tmp := b.big.whitelist + ".new"
		writeFile(t, tmp, content)
		start := time.Now()
		if err := os.Rename(tmp, b.big.whitelist); err != nil {
			t.Fatal(err)
		}
		for authStatus(t, client, b.big, loadList, b.unlisted) != want {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("rename %d: /auth?list=%s for %s not %d within 5s", i, loadList, unlistedUser, want)
			}
			time.Sleep(500 * time.Microsecond) // leave doorman the CPU to reload
		}
		out = append(out, time.Since(start))
		time.Sleep(200 * time.Millisecond) // let the watcher settle: one reload per rename
	}
	return out
}

// reloadUnderLoad runs three loads on the big doorman — listedUser through
// nginx and directly (all must be 200), unlistedUser directly (all must be
// 401) — while the file is replaced reloadRenames times, each with another
// filler address so that every reload swaps the list.
func (b *loadBench) reloadUnderLoad(t *testing.T, st *reloadStats) {
	t.Helper()
	script := writeWrkScript(t, b.stack.dir, false)
	direct := "http://" + b.big.addr + "/auth?list=" + loadList
	stop := make(chan struct{})
	const most = 60 * time.Second // the renames end it much earlier
	runs := []wrkRun{
		{url: b.stack.url("/big"), cookie: b.listed, threads: 1, conns: 16, duration: most, stop: stop},
		{url: direct, cookie: b.listed, threads: 1, conns: 8, duration: most, stop: stop},
		{url: direct, cookie: b.unlisted, threads: 1, conns: 8, duration: most, stop: stop},
	}
	done := make(chan struct{})
	var loads []wrkResult
	var err error
	go func() { defer close(done); loads, err = runAll(t.Context(), b.wrk, script, runs) }()
	time.Sleep(time.Second)
	st.logged = b.renameUnderLoad(t)
	time.Sleep(time.Second)
	select {
	case <-done:
	default:
		st.completed = true
	}
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	st.loads = loads
	b.countWrong(t, st)
}

// renameUnderLoad replaces the big whitelist reloadRenames times, waiting
// for each reload in doorman's log, and returns how long each took.
func (b *loadBench) renameUnderLoad(t *testing.T) []time.Duration {
	t.Helper()
	reloads := func() int { return strings.Count(b.big.proc.output(), `"whitelist reloaded"`) }
	var out []time.Duration
	for i := range reloadRenames {
		filler := fmt.Sprintf("filler%d@example.com", i)
		content := whitelistOf(100_000, map[string][]string{"": {filler}})
		tmp := b.big.whitelist + ".new"
		writeFile(t, tmp, content)
		n, start := reloads(), time.Now()
		if err := os.Rename(tmp, b.big.whitelist); err != nil {
			t.Fatal(err)
		}
		for reloads() == n {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("rename %d under load: no reload logged within 5s", i)
			}
			time.Sleep(time.Millisecond)
		}
		out = append(out, time.Since(start))
	}
	return out
}

// countWrong fails the test for any answer that was not what the list
// says, and records the counts.
func (b *loadBench) countWrong(t *testing.T, st *reloadStats) {
	t.Helper()
	names := []string{"nginx, listed user", "direct, listed user", "direct, unlisted user"}
	for i, res := range st.loads {
		wrong := res.Status // listed: every answer must be 200
		if i == 2 {
			wrong = res.Requests - res.Status // unlisted: every answer must be 401
		}
		st.wrong += wrong
		st.failed += res.socketErrors()
		st.answers += res.Requests
		if wrong != 0 || res.socketErrors() != 0 || res.Requests == 0 {
			t.Errorf("reload under load, %s: %d wrong of %d answers; %d socket errors (connect %d, read %d, write %d, timeout %d)",
				names[i], wrong, res.Requests, res.socketErrors(), res.Connect, res.Read, res.Write, res.Timeout)
		}
	}
}

// print writes the reload figures.
func (st reloadStats) print(w io.Writer, parse testing.BenchmarkResult) {
	obs, logged := spreadOf(msOf(st.observed)), spreadOf(msOf(st.logged))
	fmt.Fprintf(w, "whitelist of 100,000 addresses in 5 lists (doorman RSS %s):\n", st.mem)
	fmt.Fprintf(w, "  parse (BenchmarkParse100k): %.1f ms, %d allocs, %.1f MB allocated per parse\n",
		float64(parse.NsPerOp())/1e6, parse.AllocsPerOp(), float64(parse.AllocedBytesPerOp())/1e6)
	fmt.Fprintf(w, "  rename → /auth answer changed, idle: median %.1f ms (%.1f–%.1f) over %d renames\n",
		obs.median, obs.min, obs.max, len(st.observed))
	fmt.Fprintf(w, "  rename → reload logged, under load: median %.1f ms (%.1f–%.1f) over %d renames\n",
		logged.median, logged.min, logged.max, len(st.logged))
	fmt.Fprintf(w, "  answers during the renames under load: %d, wrong: %d, no answer: %d", st.answers, st.wrong, st.failed)
	for _, res := range st.loads {
		fmt.Fprintf(w, "; %.0f req/s", res.rps())
	}
	if !st.completed {
		fmt.Fprint(w, " (the renames outlasted the load!)")
	}
	fmt.Fprintln(w)
}
