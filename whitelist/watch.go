package whitelist

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"doorman/whitelist/budget"
)

// Default timing of a Watcher.
const (
	debounceDelay = 50 * time.Millisecond  // from the first event of a burst to the reload
	pollWatching  = 2 * time.Second        // safety-net stat poll while the directory is watched
	pollLost      = 500 * time.Millisecond // stat poll while the directory watch is lost
	emptyGrace    = 300 * time.Millisecond // how long an emptied file may stay empty before it counts
	cutGrace      = 700 * time.Millisecond // how long a file ending in a line with no "\n" must stay unchanged before that line counts
)

// timing is a Watcher's delays; tests shorten them.
type timing struct {
	debounce, poll, pollLost, emptyGrace, cutGrace time.Duration
}

// Stats is a Watcher's counters, for metrics.
type Stats struct {
	Reloads     uint64         // successful loads, the first one and unchanged ones included
	Failures    uint64         // loads that could not read the file
	LastSuccess time.Time      // time of the last successful load
	Sizes       map[string]int // entries per list of the current List (see List.Sizes)
	Skipped     int            // lines skipped in the current List
}

// Watcher keeps the List parsed from a whitelist file current while the file
// changes on disk. Its methods are safe for concurrent use and take no lock
// on the hot path: each reads the current List through an atomic pointer, so
// a caller sees either the old or the new List, never a partial one. Create
// one with Watch; the zero Watcher is not usable.
type Watcher struct {
	path   string
	dir    string // parent directory of path, watched with fsnotify
	logger *slog.Logger
	timing timing
	done   chan struct{} // closed when the watch goroutine has exited (tests wait for it)

	cur         atomic.Pointer[snapshot] // never nil after Watch succeeded
	reloads     atomic.Uint64
	failures    atomic.Uint64
	lastSuccess atomic.Int64 // unix nanoseconds

	// Used only by Watch and then by the watch goroutine.
	stat       os.FileInfo // of path at the last load attempt; nil if it could not be stat'ed
	lost       bool        // the directory watch is lost and was logged
	targetDir  string      // directory of path's symlink target, also watched when not dir
	renames    *renameLog  // which Creates in dir are renames; nil without fsnotify or off Linux
	emptySince time.Time   // when a reload first found the file empty; zero otherwise
	cutStat    os.FileInfo // of the file when a reload last found its last line unterminated
	cutSeen    time.Time   // when a reload first found the file as cutStat describes it
}

// Watch loads the whitelist file at path, then keeps it current until ctx is
// done. It returns an error, and starts nothing, if the file cannot be read.
//
// Watch watches the file's parent directory, not the file, and reloads on any
// event there (debounced by 50 ms; at once when a file was renamed into
// place, which is complete by then), so that in-place writes, atomic renames,
// delete-and-recreate and Kubernetes ConfigMap symlink swaps all take effect
// within a second. It also compares os.Stat of path every 2 s (every 0.5 s
// while the directory watch is lost, which it retries), so that changes still
// converge if the directory is recreated or fsnotify is unavailable. path is
// opened as given, following symlinks.
//
// A file that looks half-written is not believed at once: one that is
// suddenly empty counts after 0.3 s, and a last line with no "\n" in a file
// that changed less than 0.7 s ago counts once the file has stayed unchanged
// that long; until then the last good List stays (at start, the file is
// loaded without that line). A line cut short by a writer is so never
// admitted, and every edit still takes effect within a second.
//
// A successful reload logs "whitelist reloaded" with the entries per list and
// the entries added and removed, and each skipped line (at most 100) at Warn
// level; one that finds the same entries and skipped lines changes nothing
// and logs only at Debug level. A reload that cannot read the file keeps the
// last good List, logs and counts the failure, and never stops the Watcher; a
// later event or poll reloads the file when it returns. A nil logger
// discards log output.
func Watch(ctx context.Context, path string, logger *slog.Logger) (*Watcher, error) {
	return watch(ctx, path, logger, defaultTiming())
}

// defaultTiming returns the timing of Watch.
func defaultTiming() timing {
	return timing{debounce: debounceDelay, poll: pollWatching, pollLost: pollLost, emptyGrace: emptyGrace, cutGrace: cutGrace}
}

func watch(ctx context.Context, path string, logger *slog.Logger, t timing) (*Watcher, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{path: path, dir: filepath.Dir(path), logger: logger, timing: t, done: make(chan struct{})}
	w.stat = statOrNil(path) // a change before the watch starts shows in the poll
	l, skipped, wait, err := w.read()
	if err != nil {
		return nil, fmt.Errorf("whitelist: %w", err)
	}
	w.apply(l, skipped) // without a last line that may be cut short: fewer entries until it counts, never a wrong one
	go w.run(ctx, w.startFS(), wait)
	return w, nil
}

// List returns the current List. It is never nil after Watch succeeded.
func (w *Watcher) List() *List { return w.cur.Load().list }

// Contains reports whether email is on the list named list (MainList for the
// main list) of the current List; see List.Contains. An unknown list name
// contains nobody. Contains takes no lock, logs nothing and does not
// allocate.
func (w *Watcher) Contains(list, email string) bool {
	return w.cur.Load().list.Contains(list, email)
}

// BudgetOf returns the budget of email on the list named list of the
// current List; see List.BudgetOf. It is nil when no budget applies, and
// when the list is unknown or email is not on it. A reload changes it at
// once. BudgetOf takes no lock, logs nothing and does not allocate.
func (w *Watcher) BudgetOf(list, email string) budget.Budget {
	return w.cur.Load().list.BudgetOf(list, email)
}

// ReportUnknown logs list at Warn level if the current List has no list of
// that name, once per name per loaded file (at most 100 names, then one line
// saying further names are suppressed). It takes no lock once a name was
// logged.
func (w *Watcher) ReportUnknown(list string) {
	s := w.cur.Load()
	if _, ok := s.list.sets[list]; !ok {
		s.unknown.note(w.logger, w.path, list)
	}
}

// ListsOf returns the names of the lists of the current List that contain
// email: MainList first when the main list contains it, then named lists in
// sorted order; nil when no list contains email.
func (w *Watcher) ListsOf(email string) []string { return w.List().listsOf(email) }

// Ready reports whether a List is loaded. It is true for every Watcher that
// Watch returned, and false for a nil Watcher.
func (w *Watcher) Ready() bool { return w != nil && w.cur.Load() != nil }

// Stats returns the Watcher's counters and the sizes of the current List.
func (w *Watcher) Stats() Stats {
	s := w.cur.Load()
	var last time.Time
	if ns := w.lastSuccess.Load(); ns != 0 {
		last = time.Unix(0, ns)
	}
	return Stats{
		Reloads:     w.reloads.Load(),
		Failures:    w.failures.Load(),
		LastSuccess: last,
		Sizes:       s.list.Sizes(),
		Skipped:     len(s.skipped),
	}
}

// startFS starts watching the parent directory. It returns nil, after
// logging, if fsnotify is unavailable; the stat poll then does the work.
func (w *Watcher) startFS() *fsnotify.Watcher {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		w.logger.Warn("whitelist watch failed, polling instead", "path", w.path, "err", err)
		return nil
	}
	w.renames = newRenameLog()
	w.addDir(fw)
	w.followTarget(fw)
	return fw
}

// followTarget also watches the directory of path's symlink target when it
// lies outside the parent directory, so that an in-place edit of the target
// shows at once. (A Kubernetes ConfigMap's target lies inside it: the swap
// of ..data shows in the parent directory.)
func (w *Watcher) followTarget(fw *fsnotify.Watcher) {
	if fw == nil {
		return
	}
	target, err := filepath.EvalSymlinks(w.path)
	if err != nil {
		return
	}
	dir := filepath.Dir(target)
	parent, err := filepath.EvalSymlinks(w.dir)
	if err != nil || dir == w.targetDir || dir == parent || filepath.Dir(dir) == parent {
		return
	}
	if w.targetDir != "" {
		_ = fw.Remove(w.targetDir)
	}
	if fw.Add(dir) == nil {
		w.targetDir = dir
	}
}

// addDir adds the parent directory to fw; it logs only the first failure.
func (w *Watcher) addDir(fw *fsnotify.Watcher) bool {
	err := fw.Add(w.dir)
	if err == nil {
		w.renames.add(w.dir)
	}
	if err != nil && !w.lost {
		w.logger.Warn("whitelist watch failed, polling instead", "path", w.path, "err", err)
	}
	w.lost = err != nil
	return err == nil
}

// run reloads on directory events and polls, and after wait if it is not
// 0, until ctx is done.
func (w *Watcher) run(ctx context.Context, fw *fsnotify.Watcher, wait time.Duration) {
	defer close(w.done)
	var events <-chan fsnotify.Event // nil (never ready) without fsnotify
	var errs <-chan error
	if fw != nil {
		defer fw.Close()
		defer w.renames.close()
		events, errs = fw.Events, fw.Errors
	}
	burst := newBurst(w.timing.debounce)
	burst.retry(wait)
	poll := time.NewTicker(w.pollEvery(fw))
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil // closed: leave it to the poll
				continue
			}
			if w.movedIn(ev) {
				burst.now() // a whole file, renamed into place: nothing to wait for
			} else {
				burst.add()
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.logger.Warn("whitelist watch error", "path", w.path, "err", err)
			burst.add() // events may have been lost
		case <-burst.timer.C:
			burst.pending = false
			burst.retry(w.reload()) // a file that may be half-written: look again before believing it
			w.followTarget(fw)
		case <-poll.C:
			burst.retry(w.poll(fw))
			poll.Reset(w.pollEvery(fw))
		}
	}
}

// movedIn reports whether ev is the arrival of a file renamed into the
// directory at path, or of a new link at the first step of path's relative
// symlink, as a Kubernetes ConfigMap update swaps ..data. Such a file was
// written in full before it was renamed, so it is read at once. Any other
// event waits for the debounce, since a file written in place, or created
// and then written, may still be incomplete. It asks the renameLog about
// every Create in the directory, so that none stays behind in it.
func (w *Watcher) movedIn(ev fsnotify.Event) bool {
	if !ev.Has(fsnotify.Create) || filepath.Dir(ev.Name) != w.dir || !w.renames.wasRenamed(filepath.Base(ev.Name)) {
		return false
	}
	if ev.Name == filepath.Join(w.dir, filepath.Base(w.path)) {
		return true
	}
	link, err := os.Readlink(w.path)
	if err != nil || filepath.IsAbs(link) {
		return false
	}
	first, _, _ := strings.Cut(filepath.ToSlash(link), "/")
	return ev.Name == filepath.Join(w.dir, first)
}

// burst coalesces directory events: the reload runs delay after the first
// event of a burst. Every event is followed by a reload that starts after it,
// and a steady stream of events cannot postpone reloads indefinitely: the
// timer is only ever moved earlier.
type burst struct {
	timer   *time.Timer
	delay   time.Duration
	pending bool      // timer is running
	due     time.Time // when it fires, if pending
}

func newBurst(delay time.Duration) *burst {
	b := &burst{timer: time.NewTimer(delay), delay: delay}
	b.timer.Stop()
	return b
}

// now makes the reload run at once, whether or not a burst is pending.
func (b *burst) now() { b.at(0) }

// add notes an event: the reload runs within delay.
func (b *burst) add() { b.at(b.delay) }

// retry makes a reload run within d, if d is not 0: a reload that found
// the file not yet complete looks again.
func (b *burst) retry(d time.Duration) {
	if d > 0 {
		b.at(d)
	}
}

// at makes the reload run within d: it starts the timer unless it fires
// sooner.
func (b *burst) at(d time.Duration) {
	due := time.Now().Add(d)
	if b.pending && !due.Before(b.due) {
		return
	}
	b.timer.Reset(d)
	b.pending, b.due = true, due
}

// pollEvery returns the stat poll interval: short while no directory watch
// is active.
func (w *Watcher) pollEvery(fw *fsnotify.Watcher) time.Duration {
	if fw == nil || w.lost {
		return w.timing.pollLost
	}
	return w.timing.poll
}

// poll restores a lost directory watch, and reloads if the watch was restored
// or os.Stat of path changed since the last load. It returns reload's retry.
func (w *Watcher) poll(fw *fsnotify.Watcher) (retry time.Duration) {
	if fw != nil && len(fw.WatchList()) == 0 && w.addDir(fw) {
		w.logger.Info("whitelist watch restored", "path", w.path)
		return w.reload()
	}
	if !sameStat(w.stat, statOrNil(w.path)) || !w.emptySince.IsZero() {
		return w.reload()
	}
	return 0
}

// reload reads the file and makes it current, or keeps the last good List.
// A file that is suddenly empty, or that ends in a line with no "\n" and
// changed a moment ago, is most likely a writer in the middle of its work
// (see complete.go): reload keeps the current List and returns how long to
// wait before reading again. Once the grace is over, the file counts as it
// is (emptying the file still revokes everyone, and a last line with no
// "\n" applies, within a second).
func (w *Watcher) reload() (retry time.Duration) {
	w.stat = statOrNil(w.path)
	if wait := w.emptyWait(); wait > 0 {
		return wait
	}
	l, skipped, wait, err := w.read()
	if err != nil {
		level := slog.LevelError
		if errors.Is(err, fs.ErrNotExist) {
			level = slog.LevelWarn
		}
		w.logger.Log(context.Background(), level, "whitelist reload failed", "path", w.path, "err", err)
		w.failures.Add(1)
		return 0
	}
	if wait > 0 {
		w.logger.Debug("whitelist last line unterminated, waiting", "path", w.path, "wait", wait)
		return wait
	}
	w.apply(l, skipped)
	return 0
}

// statOrNil returns os.Stat of path, or nil if it fails.
func statOrNil(path string) os.FileInfo {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	return fi
}

// sameStat reports whether a and b (either may be nil) describe the same,
// unchanged file.
func sameStat(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && a.Mode() == b.Mode()
}
