package whitelist

import (
	"os"
	"time"
)

// A reload meets the file in whatever state its writer left it. Two states
// are most likely a writer in the middle of its work, and are not believed
// at once:
//
//   - an empty file, where the List was not: an editor that truncated the
//     file and has not written yet (see emptyWait);
//   - a file whose last line has no "\n" and that changed a moment ago: a
//     writer stopped in the middle of a line, whose first part may be an
//     entry of its own — user1000@example.com cut to user1000@example.co,
//     or @example.com to @example.co, a whole other domain (see cutWait).
//
// A file cut at the end of a line is taken as it is: each of its lines is
// whole and on the list it is on in the finished file, so it can only lack
// entries, never hold one the finished file does not.

// emptyWait returns how much longer to wait before an empty file counts, or
// 0 when the file is not empty, the current List is, or the grace is over.
func (w *Watcher) emptyWait() time.Duration {
	if w.stat == nil || w.stat.Size() != 0 || w.List().empty() {
		w.emptySince = time.Time{}
		return 0
	}
	if w.emptySince.IsZero() {
		w.emptySince = time.Now()
	}
	if left := w.timing.emptyGrace - time.Since(w.emptySince); left > 0 {
		return left
	}
	w.emptySince = time.Time{}
	return 0
}

// read opens path, following symlinks, and parses it. A last line with no
// "\n" is parsed only once the file has not changed for the cut grace:
// before that, read returns the List without it and how long until the
// grace is over. After it the line counts as written, since many editors
// and `echo -n` end a file without "\n".
func (w *Watcher) read() (l *List, skipped []LineError, wait time.Duration, err error) {
	f, err := os.Open(w.path)
	if err != nil {
		return nil, nil, 0, err // *fs.PathError names the path
	}
	defer f.Close()
	p, err := parse(f, maxFileSize)
	if err != nil {
		return nil, nil, 0, err
	}
	if p.tail != nil {
		wait = w.cutWait(f)
	}
	l, skipped = p.list(wait == 0)
	return l, skipped, wait, nil
}

// cutWait returns how much longer the file f, just read to its end, must
// stay unchanged before its unterminated last line counts, or 0. The file
// changed at its modification time, or, if that lies in the future (a
// skewed clock, a touched file), when a reload first saw it as it is now.
// f is stat'ed after it was read, so a write during the read shows as a
// change.
func (w *Watcher) cutWait(f *os.File) time.Duration {
	fi, err := f.Stat()
	if err != nil {
		return w.timing.cutGrace // cannot tell how old it is: look again
	}
	now := time.Now()
	if !sameStat(fi, w.cutStat) {
		w.cutStat, w.cutSeen = fi, now
	}
	changed := fi.ModTime()
	if changed.After(w.cutSeen) {
		changed = w.cutSeen
	}
	return max(0, w.timing.cutGrace-now.Sub(changed))
}
