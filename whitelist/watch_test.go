package whitelist

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
)

func TestWatchUpdates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		update func(t *testing.T, path, content string)
	}{
		{"in place", writeFile},
		{"atomic rename", replaceFile},
		{"delete and recreate", func(t *testing.T, path, content string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, content)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tempWhitelist(t, alice+"\n")
			w, _ := newTestWatcher(t, path)
			if !w.Contains(MainList, alice) || !w.Ready() {
				t.Fatalf("after Watch: Contains(%q) = false or Ready() = false, want true", alice)
			}
			tt.update(t, path, bob+"\n")
			waitFor(t, time.Second, holds(w, []string{bob}, []string{alice}))
			tt.update(t, path, alice+"\n[gpt4]\n"+bob+"\n")
			waitFor(t, time.Second, func() bool { return w.Contains("gpt4", bob) && w.Contains(MainList, alice) })
		})
	}
}

func TestWatchConfigMapSwap(t *testing.T) {
	t.Parallel()
	cm := newConfigMapDir(t, "..2024_x", alice+"\n")
	w, _ := newTestWatcher(t, cm.path())
	if !w.Contains(MainList, alice) {
		t.Fatalf("after Watch: Contains(%q) = false, want true", alice)
	}
	cm.swap(t, "..2024_y", bob+"\n")
	waitFor(t, time.Second, holds(w, []string{bob}, []string{alice}))
	cm.swap(t, "..2024_z", alice+"\n")
	waitFor(t, time.Second, holds(w, []string{alice}, []string{bob}))
}

func TestWatchVanishThenReturn(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, alice+"\n")
	w, lb := newTestWatcher(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { return w.Stats().Failures > 0 })
	if !w.Contains(MainList, alice) || !w.Ready() {
		t.Errorf("while missing: Contains(%q) = %v, Ready() = %v, want true, true", alice, w.Contains(MainList, alice), w.Ready())
	}
	recs := lb.records(t, "whitelist reload failed")
	if len(recs) == 0 || recs[0]["path"] != path || recs[0]["level"] != "WARN" || recs[0]["err"] == "" {
		t.Errorf("reload failed records = %v, want a WARN with path %q and err", recs, path)
	}
	writeFile(t, path, bob+"\n")
	waitFor(t, time.Second, holds(w, []string{bob}, []string{alice}))
}

func TestWatchUnreadableKeepsLastGood(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, alice+"\n")
	w, lb := newTestWatcher(t, path)
	if err := os.Remove(path); err != nil { // a directory in its place cannot be read
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool {
		for _, rec := range lb.records(t, "whitelist reload failed") {
			if rec["level"] == "ERROR" {
				return true
			}
		}
		return false
	})
	if !w.Contains(MainList, alice) {
		t.Errorf("while unreadable: Contains(%q) = false, want true", alice)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, bob+"\n")
	waitFor(t, time.Second, holds(w, []string{bob}, []string{alice}))
}

func TestWatchPermissionDenied(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	path := tempWhitelist(t, alice+"\n")
	w, _ := newTestWatcher(t, path)
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(filepath.Dir(path), "other"), "") // an event in the directory
	waitFor(t, time.Second, func() bool { return w.Stats().Failures > 0 })
	if !w.Contains(MainList, alice) {
		t.Errorf("while unreadable: Contains(%q) = false, want true", alice)
	}
}

func TestWatchEmptyFileDeniesEveryone(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, alice+"\n")
	w, _ := newTestWatcher(t, path)
	writeFile(t, path, "")
	waitFor(t, time.Second, holds(w, nil, []string{alice}))
}

func TestWatchDirectoryRecreated(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "conf")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "whitelist.txt")
	writeFile(t, path, alice+"\n")
	w, lb := newTestWatcherTiming(t, path, timing{debounce: debounceDelay, poll: 100 * time.Millisecond, pollLost: 50 * time.Millisecond, emptyGrace: emptyGrace, cutGrace: cutGrace})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { return w.Stats().Failures > 0 })
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, bob+"\n")
	waitFor(t, time.Second, holds(w, []string{bob}, []string{alice}))
	writeFile(t, path, alice+"\n") // the restored watch sees this
	waitFor(t, time.Second, holds(w, []string{alice}, []string{bob}))
	if n := lb.count(t, "whitelist watch restored"); n == 0 {
		t.Errorf(`"whitelist watch restored" logged %d times, want at least 1`, n)
	}
}

func TestWatchBadLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1000)
	path := tempWhitelist(t, "bob\n"+alice+"\n[bad name]\ncarol@example.com\n"+long+"\n")
	w, lb := newTestWatcher(t, path)
	if !w.Contains(MainList, alice) {
		t.Errorf("Contains(%q) = false, want true", alice)
	}
	if got := w.Stats().Skipped; got != 4 {
		t.Errorf("Stats().Skipped = %d, want 4", got)
	}
	recs := lb.records(t, "whitelist line skipped")
	var lines []float64
	for _, rec := range recs {
		lines = append(lines, rec["line"].(float64))
		if text, _ := rec["text"].(string); len(text) > 90 || rec["reason"] == "" || rec["path"] != path {
			t.Errorf("skipped record = %v, want path, reason and text of at most 90 bytes", rec)
		}
	}
	if want := []float64{1, 3, 4, 5}; fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("skipped lines logged = %v, want %v", lines, want)
	}
}

func TestWatchUnknownListLoggedOncePerLoad(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, alice+"\n[gpt4]\n")
	w, lb := newTestWatcher(t, path)
	const msg = "unknown whitelist list"
	for range 10 {
		for _, list := range []string{"nope", "other", "gpt4", MainList} {
			w.Contains(list, alice) // logs nothing
			w.ReportUnknown(list)
		}
	}
	if n := lb.count(t, msg); n != 2 {
		t.Errorf("%q logged %d times, want 2 (once per unknown name)", msg, n)
	}
	replaceFile(t, path, alice+"\n"+bob+"\n")
	waitFor(t, time.Second, holds(w, []string{bob}, nil))
	w.ReportUnknown("nope")
	w.ReportUnknown("nope")
	if n := lb.count(t, msg); n != 3 {
		t.Errorf("%q logged %d times after a reload, want 3", msg, n)
	}
}

// TestWatchContainsLogsNothing: asking about unknown lists spends none of
// the budget of logged unknown names, which only ReportUnknown (nginx's
// names, at /auth) may spend.
func TestWatchContainsLogsNothing(t *testing.T) {
	t.Parallel()
	w, lb := newTestWatcher(t, tempWhitelist(t, alice+"\n"))
	for i := range 200 {
		w.Contains(fmt.Sprintf("junk%d", i), alice)
	}
	if n := lb.count(t, "unknown whitelist list"); n != 0 {
		t.Errorf("Contains logged %d unknown names, want 0", n)
	}
	w.ReportUnknown("gtp4")
	if n := lb.count(t, "unknown whitelist list"); n != 1 {
		t.Errorf("after 200 asked-about names, ReportUnknown(gtp4) logged %d lines, want 1", n)
	}
}

func TestWatchUnknownListCap(t *testing.T) {
	t.Parallel()
	w, lb := newTestWatcher(t, tempWhitelist(t, alice+"\n"))
	done := make(chan struct{})
	for g := range 4 { // concurrent callers, for the race detector
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 150 {
				w.ReportUnknown(fmt.Sprintf("list%d", (i+g*37)%150))
			}
		}()
	}
	for range 4 {
		<-done
	}
	if n := lb.count(t, "unknown whitelist list"); n != maxUnknownLogged {
		t.Errorf("unknown list names logged = %d, want %d", n, maxUnknownLogged)
	}
	if n := lb.count(t, "further unknown list names suppressed"); n != 1 {
		t.Errorf("suppression logged %d times, want 1", n)
	}
}

func TestWatchStatsAndReloadLog(t *testing.T) {
	t.Parallel()
	before := time.Now()
	path := tempWhitelist(t, alice+"\nbad\n[gpt4]\n"+bob+"\n")
	w, lb := newTestWatcher(t, path)
	s := w.Stats()
	if s.Reloads != 1 || s.Failures != 0 || s.Skipped != 1 || s.LastSuccess.Before(before) {
		t.Errorf("Stats() = %+v, want 1 reload, 0 failures, 1 skipped, LastSuccess after %v", s, before)
	}
	if want := map[string]int{MainList: 1, "gpt4": 1}; !maps.Equal(s.Sizes, want) {
		t.Errorf("Stats().Sizes = %v, want %v", s.Sizes, want)
	}
	replaceFile(t, path, alice+"\ncarol@example.com\ndave@example.com\n[gpt4]\n")
	// The Reloads counter moves after the log line; the List, and with it
	// Skipped and Sizes, is published before it.
	waitFor(t, time.Second, func() bool { return w.Stats().Reloads == 2 })
	if s := w.Stats(); s.Skipped != 0 {
		t.Errorf("Stats().Skipped = %d after the reload, want 0", s.Skipped)
	}
	recs := lb.records(t, "whitelist reloaded")
	if len(recs) != 2 {
		t.Fatalf(`"whitelist reloaded" logged %d times, want 2`, len(recs))
	}
	got := fmt.Sprint(recs[1]["lists"], recs[1]["skipped"], recs[1]["added"], recs[1]["removed"])
	if want := "map[(main):3 gpt4:0] 0 2 1"; got != want {
		t.Errorf("reload record lists, skipped, added, removed = %s, want %s", got, want)
	}
	reloads := w.Stats().Reloads
	replaceFile(t, path, "# same entries\n"+alice+"\ncarol@example.com\ndave@example.com\n[gpt4]\n")
	waitFor(t, time.Second, func() bool { return w.Stats().Reloads > reloads })
	if n := lb.count(t, "whitelist reloaded"); n != 2 {
		t.Errorf(`"whitelist reloaded" logged %d times after an unchanged reload, want 2`, n)
	}
	os.Remove(path)
	waitFor(t, time.Second, func() bool { return w.Stats().Failures > 0 })
}

func TestWatchMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing.txt")
	w, err := Watch(t.Context(), path, nil)
	if !errors.Is(err, fs.ErrNotExist) || w != nil {
		t.Errorf("Watch(missing) = %v, %v; want nil, an error wrapping fs.ErrNotExist", w, err)
	}
	var nilWatcher *Watcher
	if nilWatcher.Ready() {
		t.Errorf("(*Watcher)(nil).Ready() = true, want false")
	}
}

func TestWatchCancelStops(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, alice+"\n")
	ctx, cancel := context.WithCancel(t.Context())
	w, err := Watch(ctx, path, nil) // a nil logger discards
	if err != nil {
		t.Fatalf("Watch() error = %v", err)
	}
	cancel()
	select {
	case <-w.done:
	case <-time.After(time.Second):
		t.Fatal("the Watcher did not stop within 1s of cancel")
	}
	if !w.Contains(MainList, alice) || len(w.ListsOf(alice)) != 1 || w.List() == nil {
		t.Errorf("after stop: the last List is not served")
	}
}

func TestWatcherContainsAllocs(t *testing.T) {
	w, _ := newTestWatcher(t, tempWhitelist(t, testFile))
	for _, tt := range []struct{ list, email string }{
		{MainList, alice},
		{"gpt4", "BOB@example.com"},
		{"alpha", "someone@example.com"},
	} {
		if got := testing.AllocsPerRun(100, func() { w.Contains(tt.list, tt.email) }); got != 0 {
			t.Errorf("Watcher.Contains(%q, %q) allocs = %v, want 0", tt.list, tt.email, got)
		}
	}
}

func BenchmarkWatcherContains(b *testing.B) {
	path := filepath.Join(b.TempDir(), "whitelist.txt")
	if err := os.WriteFile(path, []byte(testFile), 0o644); err != nil {
		b.Fatal(err)
	}
	w, err := Watch(b.Context(), path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Contains("gpt4", bob)
		}
	})
}
