package whitelist

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatchEmptiedThenWrittenKeepsList(t *testing.T) {
	t.Parallel()
	path, w := watchNewFile(t, "a@example.com\n")
	// An editor that truncates, then writes a moment later.
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(150 * time.Millisecond)
	for time.Now().Before(deadline) {
		if !w.Contains(MainList, "a@example.com") {
			t.Fatal("a@example.com refused while the file was briefly empty")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := os.WriteFile(path, []byte("a@example.com\nb@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { return w.Contains(MainList, "b@example.com") })
	if !w.Contains(MainList, "a@example.com") {
		t.Error("a@example.com refused after the rewrite")
	}
}

func TestWatchEmptiedFileRevokesWithinASecond(t *testing.T) {
	t.Parallel()
	path, w := watchNewFile(t, "a@example.com\n")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { return !w.Contains(MainList, "a@example.com") })
}

func TestWatchSymlinkTargetElsewhereEditedInPlace(t *testing.T) {
	t.Parallel()
	linkDir, targetDir := t.TempDir(), t.TempDir()
	target := filepath.Join(targetDir, "real.txt")
	if err := os.WriteFile(target, []byte("a@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(linkDir, "whitelist.txt")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	w, _ := newTestWatcher(t, path) // the stat poll runs every 2 s: only the target's directory watch is fast enough
	if err := os.WriteFile(target, []byte("a@example.com\nc@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { return w.Contains(MainList, "c@example.com") })
}

// watchNewFile writes content to a new whitelist file and watches it.
func watchNewFile(t *testing.T, content string) (string, *Watcher) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "whitelist.txt")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	w, _ := newTestWatcher(t, path)
	return path, w
}

// TestWatchSkippedLineLoggedASCII checks that a skipped line is logged
// ASCII-escaped: a Kelvin sign (U+212A) must not read as a plain "K".
func TestWatchSkippedLineLoggedASCII(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, alice+"\n\u212Aate@example.com\n")
	_, lb := newTestWatcher(t, path)
	recs := lb.records(t, "whitelist line skipped")
	if len(recs) != 1 {
		t.Fatalf("skipped records = %v, want 1", recs)
	}
	if got, want := recs[0]["text"], `"\u212aate@example.com"`; got != want {
		t.Errorf("logged text = %s, want %s", got, want)
	}
}
