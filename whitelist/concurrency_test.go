package whitelist

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWatchConcurrentReaders rewrites the file many times while readers
// query it. With atomic replacement, a user in every version is never absent;
// with in-place writes, which expose a half-written file, one in no version
// is still never present.
func TestWatchConcurrentReaders(t *testing.T) {
	t.Parallel()
	const always, never = "always@example.com", "never@example.com"
	version := func(i int) string {
		return fmt.Sprintf("# version %d\nuser%d@example.com\nALWAYS@example.com\n@v%d.example.com\n[gpt4]\nalways@example.com\nuser%d@example.com\n", i, i, i, i)
	}
	tests := []struct {
		name   string
		write  func(t *testing.T, path, content string)
		atomic bool
	}{
		{"atomic rename", replaceFile, true},
		{"in place", writeFile, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tempWhitelist(t, version(0))
			w, _ := newTestWatcher(t, path)
			var stop atomic.Bool
			var reads, missing, wrong atomic.Int64
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					for ; !stop.Load(); runtime.Gosched() {
						reads.Add(1)
						if !w.Contains(MainList, always) || !slices.Equal(w.ListsOf(always), []string{MainList, "gpt4"}) {
							missing.Add(1)
						}
						if w.Contains(MainList, never) || w.ListsOf(never) != nil || w.Contains("gpt4", never) {
							wrong.Add(1)
						}
					}
				})
			}
			const n = 100
			for i := 1; i <= n; i++ {
				tt.write(t, path, version(i))
				time.Sleep(time.Duration(i%3) * time.Millisecond) // vary the pace, so reloads land between writes
			}
			last := fmt.Sprintf("user%d@example.com", n)
			waitFor(t, time.Second, func() bool { return w.Contains("gpt4", last) })
			stop.Store(true)
			wg.Wait()
			if got := wrong.Load(); got != 0 {
				t.Errorf("%s reported present %d times, want 0", never, got)
			}
			if got := missing.Load(); tt.atomic && got != 0 {
				t.Errorf("%s reported absent %d times, want 0", always, got)
			}
			if got := reads.Load(); got < n {
				t.Errorf("readers made %d reads, want at least %d", got, n)
			}
			if got := w.Stats().Reloads; got < 2 {
				t.Errorf("Stats().Reloads = %d, want at least 2", got)
			}
		})
	}
}
