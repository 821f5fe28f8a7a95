package nginx_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wrkRun is one bounded wrk run: threads, connections, duration.
type wrkRun struct {
	url      string
	cookie   string // Cookie header value; "" sends none
	token    string // a personal token sent as Authorization: Bearer; "" sends none
	threads  int
	conns    int
	duration time.Duration   // whole seconds: wrk's -d takes no fractions
	stop     <-chan struct{} // closed: interrupt wrk, which then reports so far; nil: run the duration
}

// wrkResult is one run's summary, printed as JSON by the script's done().
type wrkResult struct {
	Requests   int64 `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	Connect    int64 `json:"connect"`
	Read       int64 `json:"read"`
	Write      int64 `json:"write"`
	Timeout    int64 `json:"timeout"`
	Status     int64 `json:"status"` // wrk's "Non-2xx or 3xx": responses with status > 399
	Non2xx     int64 `json:"non2xx"` // responses outside 200–299; -1 unless counted
	P50US      int64 `json:"p50_us"`
	P99US      int64 `json:"p99_us"`
}

// rps is requests per second over the run.
func (r wrkResult) rps() float64 { return float64(r.Requests) / (float64(r.DurationUS) / 1e6) }

// socketErrors is every connect, read, write and timeout error.
func (r wrkResult) socketErrors() int64 { return r.Connect + r.Read + r.Write + r.Timeout }

// wrkScript prints the summary as one "WRKJSON {...}" line. With counting
// on, each thread counts responses outside 200–299 and done() adds them up.
const wrkScript = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
non2xx = 0
if counted then
  function response(status, headers, body)
    if status < 200 or status > 299 then non2xx = non2xx + 1 end
  end
end
function done(summary, latency, requests)
  local n = -1
  if counted then n = 0; for _, t in ipairs(threads) do n = n + t:get("non2xx") end end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"timeout":%d,"status":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status, n,
    latency:percentile(50), latency:percentile(99)))
end
`

// writeWrkScript writes the summary script into dir, with or without
// per-response counting, and returns its path.
func writeWrkScript(t *testing.T, dir string, count bool) string {
	t.Helper()
	name, src := "summary.lua", "counted = false\n"+wrkScript
	if count {
		name, src = "count.lua", "counted = true\n"+wrkScript
	}
	path := filepath.Join(dir, name)
	writeFile(t, path, src)
	return path
}

// needWrk returns wrk's path, or skips (fails when CI is set).
func needWrk(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("wrk")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("wrk is not on PATH and CI is set: %v", err)
	}
	t.Skipf("wrk is not on PATH: %v", err)
	return ""
}

// runWrk runs wrk once with script (see writeWrkScript), killed if it
// outlives its duration by 15 s, and returns its summary. When r.stop is
// closed first, wrk is interrupted (SIGINT) and reports what it measured.
func runWrk(ctx context.Context, wrk, script string, r wrkRun) (wrkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, r.duration+15*time.Second)
	defer cancel()
	args := []string{
		"-t", strconv.Itoa(r.threads), "-c", strconv.Itoa(r.conns),
		"-d", fmt.Sprintf("%ds", int(r.duration.Seconds())), "--timeout", "2s", "-s", script,
	}
	if r.token != "" {
		args = append(args, "-H", "Authorization: Bearer "+r.token)
	}
	if r.cookie != "" {
		args = append(args, "-H", "Cookie: "+r.cookie)
	}
	cmd := exec.CommandContext(ctx, wrk, append(args, r.url)...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return wrkResult{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-r.stop:
		cmd.Process.Signal(os.Interrupt)
		err = <-done
	}
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", r.url, err, out.String())
	}
	return parseWrk([]byte(out.String()))
}

// parseWrk finds the WRKJSON line in wrk's output.
func parseWrk(out []byte) (wrkResult, error) {
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if js, ok := strings.CutPrefix(sc.Text(), "WRKJSON "); ok {
			var res wrkResult
			err := json.Unmarshal([]byte(js), &res)
			return res, err
		}
	}
	return wrkResult{}, fmt.Errorf("no WRKJSON line in wrk output:\n%s", out)
}

// cpuTime is the CPU time (user + system, every thread, exited threads
// included) that process pid has used, from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the ")" that ends the command name start at field 3
	// (state); utime and stime are fields 14 and 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 in the Linux ABI
	return time.Duration(utime+stime) * tick, nil
}

// cpuTimes sums cpuTime over pids.
func cpuTimes(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		d, err := cpuTime(pid)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// memStat is a process's memory from /proc/<pid>/status, in bytes.
type memStat struct {
	rss  int64 // VmRSS: resident, = anon + file (+ shmem)
	hwm  int64 // VmHWM: peak VmRSS
	anon int64 // RssAnon: heap, stacks, runtime: what the process costs
	file int64 // RssFile: mapped files, mostly the binary's own pages
}

// memory reads pid's memStat.
func memory(pid int) (memStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStat{}, err
	}
	var m memStat
	fields := map[string]*int64{"VmRSS:": &m.rss, "VmHWM:": &m.hwm, "RssAnon:": &m.anon, "RssFile:": &m.file}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if p := fields[f[0]]; p != nil && len(f) >= 2 {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			*p = kb << 10
		}
	}
	return m, nil
}

// String is e.g. "27.5 MiB (anon 10.4, file 15.9; peak 28.1)".
func (m memStat) String() string {
	return fmt.Sprintf("%.1f MiB (anon %.1f, file %.1f; peak %.1f)", mib(m.rss), mib(m.anon), mib(m.file), mib(m.hwm))
}

// nginxWorkers returns the worker processes among the children of
// nginx's master pid (from /proc/<pid>/task/<pid>/children), leaving out
// its cache manager and cache loader, which exits a minute after start.
func nginxWorkers(master int) ([]int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", master, master))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		title, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.Contains(string(title), "worker process") {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("nginx %d has no worker process", master)
	}
	return pids, nil
}

// spreadStat is the median, minimum and maximum of a sample.
type spreadStat struct{ median, min, max float64 }

// spreadOf summarises xs; the median of an even count is the mean of the
// middle two.
func spreadOf(xs []float64) spreadStat {
	if len(xs) == 0 {
		return spreadStat{}
	}
	s := slices.Sorted(slices.Values(xs))
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spreadStat{median: m, min: s[0], max: s[len(s)-1]}
}

// loadAvg is /proc/loadavg's first three fields, as uptime prints them.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}
