package nginx_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// caseStats collects one case's samples over the rounds.
type caseStats struct {
	c          loadCase
	rps        []float64
	ratio      []float64 // to the limit of the same mode in the same round
	sidecarUS  []float64 // sidecar CPU µs per request
	extraUS    []float64 // sidecarUS minus the limit's, same mode and round
	nginxUS    []float64 // nginx workers' CPU µs per request
	p50US      []float64
	requests   int64
	socketErrs int64
}

// addRound adds one round's samples (round[i] is cases[i]'s) to stats.
func addRound(stats []caseStats, cases []loadCase, round []loadSample) {
	limit, limitUS := map[string]float64{}, map[string]float64{}
	for i, c := range cases {
		if c.isLimit {
			limit[c.mode] = round[i].res.rps()
			limitUS[c.mode] = perRequest(round[i].sidecarCPU, round[i].res.Requests)
		}
	}
	for i, c := range cases {
		s, res := round[i], round[i].res
		st := &stats[i]
		st.c = c
		st.rps = append(st.rps, res.rps())
		st.ratio = append(st.ratio, res.rps()/limit[c.mode])
		st.sidecarUS = append(st.sidecarUS, perRequest(s.sidecarCPU, res.Requests))
		st.extraUS = append(st.extraUS, perRequest(s.sidecarCPU, res.Requests)-limitUS[c.mode])
		st.nginxUS = append(st.nginxUS, perRequest(s.nginxCPU, res.Requests))
		st.p50US = append(st.p50US, float64(res.P50US))
		st.requests += res.Requests
		st.socketErrs += res.socketErrors()
	}
}

// perRequest is d in µs per request.
func perRequest(d time.Duration, requests int64) float64 {
	if requests == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(requests)
}

// loadReport is everything TestLoad prints.
type loadReport struct {
	machine               string
	start                 time.Time
	loadBefore, loadAfter string
	throughput            []caseStats
	seeded                int       // people with a live session and a token in each doorman's store
	mem, limitMem         memStat   // doorman (10k, SQLite) and the limit, after the load
	redisMem              memStat   // doorman on Redis, after the load
	floorMem              memStat   // the idtoken floor, after the load
	candMem               memStat   // -load.candidate's doorman, if any
	stores                storeCost // the store drivers, idle
	parse                 testing.BenchmarkResult
	reload                reloadStats
}

// print writes the report: machine, table, memory, reload, targets.
func (r *loadReport) print(w io.Writer, rounds int, d time.Duration, conns int) {
	fmt.Fprintf(w, "\ndoorman load benchmark, %s\n%s\n", r.start.UTC().Format("2006-01-02 15:04 MST"), r.machine)
	fmt.Fprintf(w, "load average (1, 5, 15 min): %s before, %s after\n", r.loadBefore, r.loadAfter)
	fmt.Fprintf(w, "wrk: %d threads, %d connections; %d interleaved rounds × %s per case; median (min–max) over rounds\n\n",
		loadThreads, conns, rounds, d)
	r.printTable(w)
	used := min(r.seeded, usedSessions)
	fmt.Fprintf(w, "\nRSS after load, with 10,000 addresses in 5 lists, %d live sessions (%d used at /auth) and %d tokens:\n",
		r.seeded, used, r.seeded)
	fmt.Fprintf(w, "  doorman on SQLite %s\n  doorman on Redis  %s: %+.1f MiB\n  limit %s\n  idtoken floor %s\n",
		r.mem, r.redisMem, mib(r.redisMem.rss-r.mem.rss), r.limitMem, r.floorMem)
	if r.candMem.rss > 0 {
		fmt.Fprintf(w, "  candidate %s\n", r.candMem)
	}
	r.stores.print(w)
	r.reload.print(w, r.parse)
	fmt.Fprintln(w)
	r.printTargets(w)
}

// printTable writes one row per case.
func (r *loadReport) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tcase\treq/s\t(min–max)\t× limit\t(min–max)\tsidecar CPU µs/req\t(min–max)\tnginx µs/req\tp50 µs\terrors\t")
	for _, st := range r.throughput {
		rps, ratio, p50, cpu := spreadOf(st.rps), spreadOf(st.ratio), spreadOf(st.p50US), spreadOf(st.sidecarUS)
		ngx := "-"
		if st.c.mode == "nginx" {
			ngx = fmt.Sprintf("%.1f", spreadOf(st.nginxUS).median)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t(%.0f–%.0f)\t%.2f\t(%.2f–%.2f)\t%.1f\t(%.1f–%.1f)\t%s\t%.0f\t%d\t\n",
			st.c.mode, st.c.name, rps.median, rps.min, rps.max, ratio.median, ratio.min, ratio.max,
			cpu.median, cpu.min, cpu.max, ngx, p50.median, st.socketErrs)
	}
	tw.Flush()
}

// printTargets compares the medians with doorman's performance targets.
func (r *loadReport) printTargets(w io.Writer) {
	fmt.Fprintln(w, "targets:")
	for _, tc := range []struct{ name, who string }{
		{"doorman, valid cookie", "cookie on SQLite"},
		{"doorman on Redis, valid cookie", "cookie on Redis"},
		{"doorman, valid token", "token on SQLite"},
		{"doorman on Redis, valid token", "token on Redis"},
		{"candidate, valid cookie", "candidate, cookie"},
	} {
		if len(r.stats("direct", tc.name).rps) == 0 {
			continue // no candidate
		}
		ratio := r.ratio("nginx", tc.name)
		printTarget(w, tc.who+": through nginx ≥ 0.95× limit", ratio >= 0.95, "%.2f×", ratio)
		ratio = r.ratio("direct", tc.name)
		printTarget(w, tc.who+": directly ≥ 0.85× limit", ratio >= 0.85, "%.2f×", ratio)
		for _, mode := range []string{"nginx", "direct"} {
			extra := spreadOf(r.stats(mode, tc.name).extraUS)
			printTarget(w, tc.who+": sidecar CPU ≤ limit + 3 µs/req ("+mode+")", extra.median <= 3,
				"%+.1f µs (%+.1f to %+.1f over rounds)", extra.median, extra.min, extra.max)
		}
	}
	for _, tc := range []struct {
		name, who string
		min       float64
	}{{"doorman on Redis, counted check", "counted on Redis", 0.8}, {"doorman, counted check", "counted on SQLite", 0.5}} {
		ratio := r.ratio("nginx", tc.name)
		printTarget(w, fmt.Sprintf("%s: through nginx ≥ %.2g× limit", tc.who, tc.min), ratio >= tc.min, "%.2f×", ratio)
	}
	r.printOtherTargets(w)
}

// printOtherTargets compares memory, the micro-cache and reloads with
// their targets.
func (r *loadReport) printOtherTargets(w io.Writer) {
	over := r.mem.rss - r.floorMem.rss
	printTarget(w, fmt.Sprintf("RSS ≤ idtoken floor + 6 MiB (%d sessions, %d tokens)", r.seeded, r.seeded), over <= 6<<20,
		"%.1f MiB = floor %.1f %+.1f MiB", mib(r.mem.rss), mib(r.floorMem.rss), mib(over))
	printTarget(w, "RSS ≤ 20 MiB with 10k addresses", r.mem.rss <= 20<<20, "%s", r.mem)
	printTarget(w, "  (the idtoken floor alone ≤ 20 MiB)", r.floorMem.rss <= 20<<20, "%s", r.floorMem)
	cached := r.ratio("nginx", "doorman + micro-cache, valid")
	printTarget(w, "micro-cache ≥ 1.8× limit through nginx", cached >= 1.8, "%.2f×", cached)
	parseMS := float64(r.parse.NsPerOp()) / 1e6
	printTarget(w, "parse of 100k addresses ≤ 50 ms", parseMS <= 50, "%.1f ms", parseMS)
	obs := spreadOf(msOf(r.reload.observed)).median
	printTarget(w, "rename → /auth answer ≤ 50 ms (100k)", obs <= 50, "%.1f ms median", obs)
	printTarget(w, "no wrong or failed /auth answer, 20 reloads under load", r.reload.wrong+r.reload.failed == 0,
		"%d wrong, %d failed of %d", r.reload.wrong, r.reload.failed, r.reload.answers)
}

// stats is the case of mode and name; zero if there is none.
func (r *loadReport) stats(mode, name string) caseStats {
	for _, st := range r.throughput {
		if st.c.mode == mode && st.c.name == name {
			return st
		}
	}
	return caseStats{}
}

// ratio is the median ratio to the limit of the case of mode and name.
func (r *loadReport) ratio(mode, name string) float64 {
	return spreadOf(r.stats(mode, name).ratio).median
}

// printTarget writes one target line: met or not, and the measured value.
func printTarget(w io.Writer, what string, met bool, format string, args ...any) {
	mark := "MET    "
	if !met {
		mark = "NOT MET"
	}
	fmt.Fprintf(w, "  %s  %-60s %s\n", mark, what, fmt.Sprintf(format, args...))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// msOf converts durations to milliseconds.
func msOf(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d.Microseconds()) / 1000
	}
	return out
}

// describeMachine names the CPU, the core count and the versions of nginx,
// Go and wrk.
func describeMachine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	ngx, _ := exec.Command("nginx", "-v").CombinedOutput()
	wrk, _ := exec.Command("wrk", "-v").CombinedOutput()
	wrkVersion, _, _ := strings.Cut(string(wrk), "\n")
	wrkVersion, _, _ = strings.Cut(wrkVersion, " Copyright")
	return fmt.Sprintf("machine: %d × %s; %s; %s; %s", runtime.NumCPU(), model,
		strings.TrimSpace(string(ngx)), runtime.Version(), strings.TrimSpace(wrkVersion))
}
