package whitelist

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// bigFile returns a whitelist file of n addresses in 5 lists (the main list
// and list1..list4), with extra added to list3: the file of the nginx load
// test.
func bigFile(n int, extra string) string {
	var b strings.Builder
	for l := range 5 {
		if l > 0 {
			fmt.Fprintf(&b, "[list%d]\n", l)
		}
		for i := range n / 5 {
			fmt.Fprintf(&b, "user%d.%d@example.com\n", l, i)
		}
		if l == 3 && extra != "" {
			b.WriteString(extra + "\n")
		}
	}
	return b.String()
}

// BenchmarkRenameToAnswer times how long a file of 100,000 addresses
// renamed into place takes to show in Contains: each op writes the new
// version beside the file, renames it over the file, and polls Contains
// every 200 µs until the answer changes. It reports the median time
// (ms/rename-median) and the mean (ms/rename-mean), and the reloads per
// rename (reloads/rename: the file is parsed again after any event that
// the rename's own reload did not absorb); ns/op is the whole op,
// the writing and a 200 ms pause between renames included. Run it with
// -benchtime=20x, as the nginx load test does 20 renames.
func BenchmarkRenameToAnswer(b *testing.B) {
	const who = "extra@example.com"
	with, without := bigFile(100_000, who), bigFile(100_000, "")
	path := filepath.Join(b.TempDir(), "whitelist.txt")
	if err := os.WriteFile(path, []byte(without), 0o644); err != nil {
		b.Fatal(err)
	}
	w, err := Watch(b.Context(), path, nil)
	if err != nil {
		b.Fatal(err)
	}
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		content, want := with, true
		if i%2 == 1 {
			content, want = without, false
		}
		took = append(took, renameAndWait(b, path, content, func() bool { return w.Contains("list3", who) == want }))
		time.Sleep(200 * time.Millisecond) // one reload per rename
	}
	slices.Sort(took)
	var sum time.Duration
	for _, d := range took {
		sum += d
	}
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms/rename-median")
	b.ReportMetric(float64(sum.Microseconds())/1000/float64(len(took)), "ms/rename-mean")
	b.ReportMetric(float64(w.Stats().Reloads-1)/float64(len(took)), "reloads/rename")
}

// renameAndWait writes content beside path, renames it over path, and
// returns how long after the rename done first held.
func renameAndWait(b *testing.B, path, content string, done func() bool) time.Duration {
	b.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	for !done() {
		if time.Since(start) > 5*time.Second {
			b.Fatal("the renamed file did not show within 5 s")
		}
		time.Sleep(200 * time.Microsecond)
	}
	return time.Since(start)
}
