package nginx_test

import (
	"fmt"
	"io"
	"net/http"
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
	ready   heapStat      // at once after the start and the checks
	loaded  heapStat      // after the wrk rounds
	rss     memStat       // after the wrk rounds
	cases   [len(scaleCaseNames)]caseFigures
}

// heapStat is a doorman's Go heap, from its /metrics.
type heapStat struct {
	inuse float64 // go_memstats_heap_inuse_bytes
	alloc float64 // go_memstats_alloc_bytes: live and not yet swept
	gcs   float64 // go_gc_duration_seconds_count: collections so far
}

// caseFigures are one /auth case's medians over the rounds.
type caseFigures struct{ p50, p99, rps float64 }

// scaleCaseNames are what /auth is asked about, in scaleRun's order.
var scaleCaseNames = [...]string{"cookie", "ended", "token"}

// measure reads both doormen's heaps, runs the wrk rounds, and reads the
// heaps and RSS again.
func (b *scaleBench) measure(t *testing.T) scaleRow {
	t.Helper()
	row := scaleRow{kind: b.kind, seeded: b.seeded.took}
	ds := [2]*scaleDoorman{b.empty, b.full}
	for i, d := range ds {
		row.stores[i].startup, row.stores[i].ready = d.startup, heapOf(t, d)
	}
	b.measureAuth(t, &row)
	for i, d := range ds {
		row.stores[i].loaded = heapOf(t, d)
		m, err := memory(d.pid())
		if err != nil {
			t.Fatal(err)
		}
		row.stores[i].rss = m
	}
	return row
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

// heapOf reads d's Go heap from its /metrics.
func heapOf(t *testing.T, d *scaleDoorman) heapStat {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, body := do(t, client, newRequest(t, http.MethodGet, "http://"+d.metrics+"/metrics", nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s /metrics = %d, want 200", d.name, resp.StatusCode)
	}
	value := func(name string) float64 {
		v, err := strconv.ParseFloat(metricValue(body, name), 64)
		if err != nil {
			t.Fatalf("%s /metrics: %s: %v", d.name, name, err)
		}
		return v
	}
	return heapStat{value("go_memstats_heap_inuse_bytes"), value("go_memstats_alloc_bytes"), value("go_gc_duration_seconds_count")}
}

// printScale prints the table of the full run.
func printScale(w io.Writer, size scaleSize, rows []scaleRow) {
	fmt.Fprintf(w, "\nScale: %d sessions (%d of them ended) and %d tokens in the store, beside an empty store.\n",
		size.sessions, size.ended, size.tokens)
	fmt.Fprintf(w, "Machine: %s; load average %s.\n", describeMachine(), loadAvg())
	fmt.Fprintf(w, "/auth straight at the sidecar, wrk %d threads × %d connections, %d rounds × %s per case; medians.\n\n",
		2, *scaleConns, *scaleRounds, *scaleDuration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "backend\tstore\tseeded in\tstart-up\theap in use: ready\tafter load\tRSS\t")
	for _, c := range scaleCaseNames {
		fmt.Fprintf(tw, "%s p50/p99 µs\treq/s\t", c)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		for i, f := range r.stores {
			name, seeded := "empty", ""
			if i == 1 {
				name, seeded = "seeded", fmt.Sprintf("%.1f s", r.seeded.Seconds())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f s\t%.1f MiB\t%.1f MiB\t%.1f MiB\t", r.kind, name, seeded,
				f.startup.Seconds(), f.ready.inuse/(1<<20), f.loaded.inuse/(1<<20), mib(f.rss.rss))
			for _, c := range f.cases {
				fmt.Fprintf(tw, "%.0f/%.0f\t%.0f\t", c.p50, c.p99, c.rps)
			}
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()
}
