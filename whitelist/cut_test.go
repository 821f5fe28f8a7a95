package whitelist

import (
	"os"
	"testing"
	"time"
)

// TestWatchSlowRewriteNeverAdmitsCutLine rewrites the file in place
// (truncate, then write) the way a slow writer does: it stops in the middle
// of a line for 300 ms, then finishes. While it pauses, the file ends in a
// line cut short — an address or a domain entry of a different, shorter
// domain — which must never be admitted; the entry kept by both versions
// must never be refused; and the finished file must apply within 1 s.
func TestWatchSlowRewriteNeverAdmitsCutLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		head, tail string // written before and after the pause
		list       string // the list the cut line is on
		cut, whole string // an address the cut line admits, one the whole line admits
	}{
		{"address", alice + "\nuser1000@example.co", "m\n", MainList, "user1000@example.co", "user1000@example.com"},
		{"domain entry", alice + "\n@example.co", "m\n", MainList, "anyone@example.co", "anyone@example.com"},
		{"named list", alice + "\n[gpt4]\nbob@example.co", "m\n[zeta]\n", "gpt4", "bob@example.co", "bob@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tempWhitelist(t, alice+"\n[gpt4]\n")
			w, _ := newTestWatcher(t, path)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(tt.head); err != nil {
				t.Fatal(err)
			}
			const pause = 300 * time.Millisecond
			polls := 0
			for start := time.Now(); time.Since(start) < pause; polls++ {
				if w.Contains(tt.list, tt.cut) {
					t.Fatalf("after %v of the pause: the cut line admits %s, want it never admitted", time.Since(start).Round(time.Millisecond), tt.cut)
				}
				if !w.Contains(MainList, alice) {
					t.Fatalf("after %v of the pause: %s, on every version, refused", time.Since(start).Round(time.Millisecond), alice)
				}
				time.Sleep(time.Millisecond)
			}
			if _, err := f.WriteString(tt.tail); err != nil {
				t.Fatal(err)
			}
			waitFor(t, time.Second, func() bool { return w.Contains(tt.list, tt.whole) })
			if w.Contains(tt.list, tt.cut) || !w.Contains(MainList, alice) {
				t.Errorf("finished file: Contains(%q, %q) = true or %s refused", tt.list, tt.cut, alice)
			}
			t.Logf("%d polls during the pause", polls)
		})
	}
}

// TestWatchUnterminatedLastLineApplies writes a file whose last line has
// no "\n" and is never finished (echo -n, many editors): it is taken as
// written within 1 s.
func TestWatchUnterminatedLastLineApplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		update func(t *testing.T, path, content string)
	}{
		{"in place", writeFile},
		{"atomic rename", replaceFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tempWhitelist(t, alice+"\n")
			w, _ := newTestWatcher(t, path)
			tt.update(t, path, alice+"\n"+bob)
			waitFor(t, time.Second, holds(w, []string{alice, bob}, nil))
		})
	}
}

// TestWatchStartsOnCutFile starts watching a file written a moment ago
// whose last line has no "\n": at first it loads without that line (it may
// be a writer's line cut short), then, once the file stayed unchanged,
// with it.
func TestWatchStartsOnCutFile(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, alice+"\nbob@example.co")
	w, _ := newTestWatcher(t, path)
	if !w.Contains(MainList, alice) || w.Contains(MainList, "bob@example.co") {
		t.Errorf("just after Watch: Contains(%q), Contains(%q) = %v, %v; want true, false",
			alice, "bob@example.co", w.Contains(MainList, alice), w.Contains(MainList, "bob@example.co"))
	}
	waitFor(t, time.Second, holds(w, []string{alice, "bob@example.co"}, nil))
}

// TestWatchOldUnterminatedFileLoadsAtOnce checks that a file whose last line
// has no "\n" but that has not changed for a while loads whole at once.
func TestWatchOldUnterminatedFileLoadsAtOnce(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, alice+"\n"+bob)
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	w, _ := newTestWatcher(t, path)
	if !holds(w, []string{alice, bob}, nil)() {
		t.Errorf("just after Watch: %s or %s refused, want both admitted", alice, bob)
	}
}

// TestWatchFutureModTimeUnterminatedApplies checks that a file whose
// modification time lies in the future (a skewed clock) and whose last line
// has no "\n" still counts as written within 1 s: the grace then runs from
// when doorman first saw the file as it is.
func TestWatchFutureModTimeUnterminatedApplies(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, alice+"\n")
	w, _ := newTestWatcher(t, path)
	writeFile(t, path, alice+"\n"+bob)
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, holds(w, []string{alice, bob}, nil))
}
