package whitelist

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// hourTiming waits an hour for the debounce and the poll, so that only a
// reload at once can make a change show.
func hourTiming() timing {
	return timing{debounce: time.Hour, poll: time.Hour, pollLost: time.Hour, emptyGrace: emptyGrace, cutGrace: cutGrace}
}

// TestWatchRenameSkipsDebounce checks that a file renamed into place, or a
// ConfigMap's ..data swap, is read at once (on Linux, where the kernel says
// which new names are renames).
func TestWatchRenameSkipsDebounce(t *testing.T) {
	t.Parallel()
	at := map[string]func(t *testing.T) (path string, edit func()){
		"rename into place": func(t *testing.T) (string, func()) {
			path := tempWhitelist(t, alice+"\n")
			return path, func() { replaceFile(t, path, bob+"\n") }
		},
		"rename from another directory": func(t *testing.T) (string, func()) {
			path := tempWhitelist(t, alice+"\n")
			return path, func() {
				tmp := filepath.Join(t.TempDir(), "new.txt")
				writeFile(t, tmp, bob+"\n")
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
			}
		},
		"ConfigMap swap": func(t *testing.T) (string, func()) {
			cm := newConfigMapDir(t, "..2024_x", alice+"\n")
			return cm.path(), func() { cm.swap(t, "..2024_y", bob+"\n") }
		},
	}
	for name, setup := range at {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if runtime.GOOS != "linux" {
				t.Skip("renames are told from other new files only on Linux")
			}
			path, edit := setup(t)
			w, _ := newTestWatcherTiming(t, path, hourTiming())
			edit()
			waitFor(t, 2*time.Second, holds(w, []string{bob}, []string{alice}))
		})
	}
}

// TestWatchNewFileWaitsForDebounce checks that writes in place and a file
// created anew, after a delete or beside another file's rename, wait for the
// debounce: their writer may not have finished.
func TestWatchNewFileWaitsForDebounce(t *testing.T) {
	t.Parallel()
	waits := map[string]func(t *testing.T, path string){
		"write in place": func(t *testing.T, path string) { writeFile(t, path, bob+"\n") },
		"delete and create": func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, bob+"\n")
		},
		"moved away, then created": func(t *testing.T, path string) {
			if err := os.Rename(path, filepath.Join(t.TempDir(), "old.txt")); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, bob+"\n")
		},
		"another file moved out, then created": func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "other.txt")
			writeFile(t, other, "")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, filepath.Join(t.TempDir(), "other.txt")); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, bob+"\n")
		},
		"rename of another file": func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "other.txt")
			writeFile(t, other, "")
			if err := os.Rename(other, other+".old"); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, bob+"\n")
		},
	}
	for name, edit := range waits {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := tempWhitelist(t, alice+"\n")
			w, _ := newTestWatcherTiming(t, path, hourTiming())
			edit(t, path)
			time.Sleep(300 * time.Millisecond)
			if !holds(w, []string{alice}, []string{bob})() {
				t.Errorf("%s: read before the debounce, want the old list until then", name)
			}
		})
	}
}
