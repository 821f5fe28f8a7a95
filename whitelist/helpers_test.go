package whitelist

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// logBuffer collects JSON log lines written by a Watcher's goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the logged records whose message is msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range bytes.Lines(b.buf.Bytes()) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// count returns how many records have message msg.
func (b *logBuffer) count(t *testing.T, msg string) int {
	t.Helper()
	return len(b.records(t, msg))
}

// newTestLogger returns a debug-level JSON logger writing to a logBuffer and
// to the test output.
func newTestLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	h := slog.NewJSONHandler(io.MultiWriter(lb, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(h), lb
}

// newTestWatcher watches path with default timing until the test ends.
func newTestWatcher(t *testing.T, path string) (*Watcher, *logBuffer) {
	t.Helper()
	return newTestWatcherTiming(t, path, defaultTiming())
}

// newTestWatcherTiming watches path with timing tm until the test ends, and
// checks that the Watcher stops then.
func newTestWatcherTiming(t *testing.T, path string, tm timing) (*Watcher, *logBuffer) {
	t.Helper()
	logger, lb := newTestLogger(t)
	w, err := watch(t.Context(), path, logger, tm)
	if err != nil {
		t.Fatalf("Watch(%q) error = %v", path, err)
	}
	t.Cleanup(func() {
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
			t.Errorf("Watcher did not stop after the test context was canceled")
		}
	})
	return w, lb
}

// waitFor polls cond until it holds, or fails the test after d.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeFile writes content to path in place (truncate, then write).
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes content to a temporary file beside path and renames it
// over path, as editors and config tools do.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// tempWhitelist writes content to whitelist.txt in a new temporary directory
// and returns its path.
func tempWhitelist(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "whitelist.txt")
	writeFile(t, path, content)
	return path
}

// holds returns a condition: the Watcher's main list contains every email
// of in and none of out.
func holds(w *Watcher, in []string, out []string) func() bool {
	return func() bool {
		for _, e := range in {
			if !w.Contains(MainList, e) {
				return false
			}
		}
		for _, e := range out {
			if w.Contains(MainList, e) {
				return false
			}
		}
		return true
	}
}

// configMapDir is a directory laid out the way the kubelet mounts a
// ConfigMap: whitelist.txt -> ..data/whitelist.txt, ..data -> a versioned
// directory that each update replaces.
type configMapDir struct {
	dir, version string
}

// newConfigMapDir lays out a ConfigMap mount whose whitelist.txt holds content.
func newConfigMapDir(t *testing.T, version, content string) *configMapDir {
	t.Helper()
	cm := &configMapDir{dir: t.TempDir(), version: version}
	cm.writeVersion(t, version, content)
	cm.symlink(t, version, "..data")
	cm.symlink(t, "..data/whitelist.txt", "whitelist.txt")
	return cm
}

// path is the whitelist file as doorman is given it.
func (cm *configMapDir) path() string { return filepath.Join(cm.dir, "whitelist.txt") }

func (cm *configMapDir) writeVersion(t *testing.T, version, content string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(cm.dir, version), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(cm.dir, version, "whitelist.txt"), content)
}

func (cm *configMapDir) symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, filepath.Join(cm.dir, name)); err != nil {
		t.Fatal(err)
	}
}

// swap updates the ConfigMap to content the way the kubelet does: a new
// version directory, a new ..data_tmp link renamed over ..data, and the old
// version removed.
func (cm *configMapDir) swap(t *testing.T, version, content string) {
	t.Helper()
	cm.writeVersion(t, version, content)
	cm.symlink(t, version, "..data_tmp")
	if err := os.Rename(filepath.Join(cm.dir, "..data_tmp"), filepath.Join(cm.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(cm.dir, cm.version)); err != nil {
		t.Fatal(err)
	}
	cm.version = version
}
