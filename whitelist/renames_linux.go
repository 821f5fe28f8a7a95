//go:build linux

package whitelist

import (
	"bytes"
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// maxRenamed bounds renameLog's names; past it they are dropped (those
// renames then wait for the debounce).
const maxRenamed = 64

// renameLog tells which fsnotify Create events are renames. fsnotify reports
// a file renamed into the directory (inotify's IN_MOVED_TO) as a Create, just
// like a new file that its writer may still be filling, and keeps the
// difference to itself. renameLog is a second inotify instance on the
// directory that asks the kernel for IN_MOVED_TO only. It is read, without
// blocking, when fsnotify's Create arrives: the kernel queues the event to
// both instances within the one rename call, so it is there by then. Should
// it not be, the Create waits for the debounce: slower, never wrong.
type renameLog struct {
	fd      int
	renamed map[string]bool // base names renamed to, not yet asked about
}

// newRenameLog returns a renameLog that watches no directory yet; it
// returns nil, and the Watcher waits for the debounce after every Create,
// if inotify is unavailable.
func newRenameLog() *renameLog {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	return &renameLog{fd: fd, renamed: map[string]bool{}}
}

// add watches dir, again after it was recreated; r may be nil. An error
// shows as renames that wait for the debounce.
func (r *renameLog) add(dir string) {
	if r != nil {
		_, _ = unix.InotifyAddWatch(r.fd, dir, unix.IN_MOVED_TO|unix.IN_ONLYDIR)
	}
}

// wasRenamed reports whether a file was renamed to name, a base name in the
// directory, since the last call for name; r may be nil.
func (r *renameLog) wasRenamed(name string) bool {
	if r == nil {
		return false
	}
	r.drain()
	ok := r.renamed[name]
	delete(r.renamed, name)
	return ok
}

// drain reads every queued event into r.renamed.
func (r *renameLog) drain() {
	var buf [4096]byte // holds at least one event: 16 bytes and a name of at most 256
	for {
		n, err := unix.Read(r.fd, buf[:])
		if err != nil || n <= 0 {
			return // EAGAIN: nothing more queued
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			end := min(n, off+unix.SizeofInotifyEvent+int(binary.NativeEndian.Uint32(buf[off+12:])))
			name := bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:end], "\x00")
			off = end
			if mask&unix.IN_MOVED_TO != 0 && len(r.renamed) < maxRenamed {
				r.renamed[string(name)] = true
			}
		}
	}
}

// close releases the inotify instance; r may be nil.
func (r *renameLog) close() {
	if r != nil {
		_ = unix.Close(r.fd)
	}
}
