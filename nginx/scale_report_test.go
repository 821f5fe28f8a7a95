package nginx_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"text/tabwriter"
	"time"
)

// scaleRow is one backend's figures: the empty store's doorman, then the
// seeded store's.
type scaleRow struct {
	kind   string
	seeded time.Duration // store.Import of everything
	stores [2]storeFigures
}

// storeFigures are one doorman's figures.
type storeFigures struct {
	startup time.Duration // process start to /readyz 200
	idleCPU time.Duration // CPU time used in scaleIdle without requests: the view kept current
	live    float64       // MiB of live heap, the least a collection marked in the wrk rounds (gctrace)
	inuse   float64       // MiB of heap in use after the wrk rounds: live, garbage not yet collected, free spans
	rss     memStat       // after the wrk rounds
	cases   [len(scaleCaseNames)]caseFigures
}

// scaleIdle is how long measure watches the idle doormen's CPU time: a
// little over resyncEvery, so that it sees one re-read of the whole view.
const scaleIdle = 62 * time.Second

// caseFigures are one /auth case's medians over the rounds.
type caseFigures struct{ p50, p99, rps float64 }

// scaleCaseNames are what /auth is asked about, as runCase sends them.
var scaleCaseNames = [...]string{"cookie", "ended", "token"}

// measure watches both doormen idle, runs the wrk rounds, then reads
// their heaps and RSS.
func (b *scaleBench) measure(t *testing.T) scaleRow {
	t.Helper()
	row := scaleRow{kind: b.kind, seeded: b.seeded.took}
	ds := [2]*scaleDoorman{b.empty, b.full}
	var before [2]time.Duration
	for i, d := range ds {
		row.stores[i].startup, before[i] = d.startup, mustCPUTime(t, d)
	}
	time.Sleep(scaleIdle)
	for i, d := range ds {
		row.stores[i].idleCPU = mustCPUTime(t, d) - before[i]
	}
	var gcs [2]int
	for i, d := range ds {
		gcs[i] = len(gcTrace.FindAllString(d.proc.output(), -1))
	}
	b.measureAuth(t, &row)
	for i, d := range ds {
		f := &row.stores[i]
		f.live, f.inuse = liveHeap(t, d, gcs[i]), heapInUse(t, d)
		m, err := memory(d.pid())
		if err != nil {
			t.Fatal(err)
		}
		f.rss = m
	}
	return row
}

// mustCPUTime is d's CPU time so far.
func mustCPUTime(t *testing.T, d *scaleDoorman) time.Duration {
	t.Helper()
	cpu, err := cpuTime(d.pid())
	if err != nil {
		t.Fatal(err)
	}
	return cpu
}

// measureAuth runs every case at both doormen once for a second to warm
// up, then in -scale.rounds interleaved rounds, and keeps the medians.
// Every answer is counted: a live cookie and a token must get only 2xx,
// an ended session none.
func (b *scaleBench) measureAuth(t *testing.T, row *scaleRow) {
	t.Helper()
	wrk := needWrk(t)
	script := writeWrkScript(t, b.stack.dir, true)
	ds := [2]*scaleDoorman{b.empty, b.full}
	var samples [2][len(scaleCaseNames)][]wrkResult
	for round := -1; round < *scaleRounds; round++ {
		d := *scaleDuration
		if round < 0 {
			d = time.Second // warm-up, not kept
		}
		for c := range scaleCaseNames {
			for k := range ds {
				i := (k + max(round, 0)) % 2 // each doorman first every other round
				res := b.runCase(t, wrk, script, ds[i], c, d)
				if round >= 0 {
					samples[i][c] = append(samples[i][c], res)
				}
			}
		}
	}
	for i := range ds {
		for c := range scaleCaseNames {
			var p50, p99, rps []float64
			for _, r := range samples[i][c] {
				p50, p99, rps = append(p50, float64(r.P50US)), append(p99, float64(r.P99US)), append(rps, r.rps())
			}
			row.stores[i].cases[c] = caseFigures{spreadOf(p50).median, spreadOf(p99).median, spreadOf(rps).median}
		}
	}
}

// runCase runs wrk for d at doorman dm's /auth with case c and checks
// every answer was the one the case wants. Socket errors (a timeout on a
// machine busy with other work) are logged, not failed.
func (b *scaleBench) runCase(t *testing.T, wrk, script string, dm *scaleDoorman, c int, d time.Duration) wrkResult {
	t.Helper()
	run := wrkRun{url: "http://" + dm.addr + "/auth", threads: 2, conns: *scaleConns, duration: d}
	wantOK := true
	switch scaleCaseNames[c] {
	case "cookie":
		run.cookie = b.live
	case "ended":
		run.cookie, wantOK = b.ended, false
		if dm == b.empty {
			run.cookie = b.endedEmpty
		}
	case "token":
		run.token = b.seeded.tokens[len(b.seeded.tokens)/2]
		if dm == b.empty {
			run.token = b.tokenEmpty
		}
	}
	res, err := runWrk(t.Context(), wrk, script, run)
	if err != nil {
		t.Fatal(err)
	}
	checkAnswers(t, loadCase{mode: b.kind + " " + dm.name, name: scaleCaseNames[c], ok: wantOK}, res)
	if n := res.socketErrors(); n > 0 {
		t.Logf("%s %s %s: %d socket errors in %d requests (connect %d, read %d, write %d, timeout %d)",
			b.kind, dm.name, scaleCaseNames[c], n, res.Requests, res.Connect, res.Read, res.Write, res.Timeout)
	}
	return res
}

// heapInUse reads go_memstats_heap_inuse_bytes from d's /metrics, in MiB.
func heapInUse(t *testing.T, d *scaleDoorman) float64 {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, body := do(t, client, newRequest(t, http.MethodGet, "http://"+d.metrics+"/metrics", nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s /metrics = %d, want 200", d.name, resp.StatusCode)
	}
	v, err := strconv.ParseFloat(metricValue(body, "go_memstats_heap_inuse_bytes"), 64)
	if err != nil {
		t.Fatalf("%s /metrics: go_memstats_heap_inuse_bytes: %v", d.name, err)
	}
	return v / (1 << 20)
}

// gcTrace matches the heap sizes of a GODEBUG=gctrace=1 line: at the
// start of the collection, at its end, and marked live (MiB).
var gcTrace = regexp.MustCompile(`(\d+)->(\d+)->(\d+) MB, \d+ MB goal`)

// liveHeap is the least live heap that d's garbage collections after the
// first skip of them (or the last one) marked, in MiB, from its gctrace:
// what the heap holds, garbage and free spans aside, at a moment when no
// re-read of the store held a second copy of the view.
func liveHeap(t *testing.T, d *scaleDoorman, skip int) float64 {
	t.Helper()
	all := gcTrace.FindAllStringSubmatch(d.proc.output(), -1)
	if len(all) == 0 {
		t.Fatalf("%s wrote no gctrace line", d.name)
	}
	skip = min(skip, len(all)-1) // no collection in the rounds: the last one
	least := math.Inf(1)
	for _, m := range all[skip:] {
		mib, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		least = min(least, mib)
	}
	return least
}

// printScale prints the table of the full run.
func printScale(w io.Writer, size scaleSize, rows []scaleRow) {
	fmt.Fprintf(w, "\nScale: %d sessions (%d of them ended) and %d tokens in the store, beside an empty store.\n",
		size.sessions, size.ended, size.tokens)
	fmt.Fprintf(w, "%s; load average %s.\n", describeMachine(), loadAvg())
	fmt.Fprintf(w, "Idle CPU over %s; live heap: the least a GC marked during the wrk rounds; heap in use and RSS after them.\n", scaleIdle)
	fmt.Fprintf(w, "/auth straight at the sidecar, wrk %d threads × %d connections, %d rounds × %s per case; medians.\n\n",
		2, *scaleConns, *scaleRounds, *scaleDuration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "backend\tstore\tseeded in\tstart-up\tidle CPU\tlive heap\theap in use\tRSS\t")
	for _, c := range scaleCaseNames {
		fmt.Fprintf(tw, "%s p50/p99 µs\treq/s\t", c)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		for i, f := range r.stores {
			name, seeded := "empty", ""
			if i == 1 {
				name, seeded = "seeded", fmt.Sprintf("%.0f s", r.seeded.Seconds())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f s\t%.2f s\t%.0f MiB\t%.1f MiB\t%.1f MiB\t", r.kind, name, seeded,
				f.startup.Seconds(), f.idleCPU.Seconds(), f.live, f.inuse, mib(f.rss.rss))
			for _, c := range f.cases {
				fmt.Fprintf(tw, "%.0f/%.0f\t%.0f\t", c.p50, c.p99, c.rps)
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()
}
