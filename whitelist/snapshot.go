package whitelist

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Logging limits per loaded file.
const (
	maxUnknownLogged = 100 // unknown list names logged
	maxSkippedLogged = 100 // skipped lines logged
)

// mainLabel names the main list in log lines; it is no valid list name.
const mainLabel = "(main)"

// snapshot is one loaded List with what belongs to that load.
type snapshot struct {
	list    *List
	skipped []LineError
	unknown unknownNames
}

// unknownNames remembers which unknown list names were logged for one
// snapshot. A name already logged, or any name once the cap is reached, costs
// no lock.
type unknownNames struct {
	seen sync.Map    // name -> struct{}; at most maxUnknownLogged names
	full atomic.Bool // the cap was reached and logged
	mu   sync.Mutex  // serialises adding names
	n    int         // names in seen; guarded by mu
}

// note logs name as an unknown list the first time it is seen. Names are
// told apart by their first maxShown bytes only, so that memory stays bounded
// whatever names requests carry.
func (u *unknownNames) note(logger *slog.Logger, path, name string) {
	key := name[:min(len(name), maxShown)]
	if _, ok := u.seen.Load(key); ok || u.full.Load() {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.seen.Load(key); ok || u.full.Load() {
		return
	}
	if u.n == maxUnknownLogged {
		u.full.Store(true)
		logger.Warn("further unknown list names suppressed", "path", path, "logged", u.n)
		return
	}
	u.n++
	u.seen.Store(strings.Clone(key), struct{}{}) // not pinning a long name
	logger.Warn("unknown whitelist list", "path", path, "list", key)
}

// apply makes l current, unless it is the same as the current List (the
// same entries, lists, skipped lines and budgets), and counts a successful
// load. It publishes l before it compares it with the previous List for the
// log line (a pass over every entry of both, which for a large file takes
// longer than the parse), so that /auth sees the new List, and its limits,
// as early as possible. Stats' Sizes and Skipped, which come from the
// List, change with it; Reloads moves last, after the log line, so whoever
// sees it move also finds the line.
func (w *Watcher) apply(l *List, skipped []LineError) {
	defer w.reloads.Add(1)
	w.lastSuccess.Store(time.Now().UnixNano())
	next := &snapshot{list: l, skipped: skipped}
	prev, old := w.cur.Swap(next), &List{}
	if prev != nil {
		old = prev.list
	}
	added, removed := countMissing(l, old), countMissing(old, l)
	if prev != nil && added == 0 && removed == 0 && slices.Equal(old.names, l.names) && slices.Equal(prev.skipped, skipped) && sameBudgets(old, l) {
		w.cur.CompareAndSwap(next, prev) // keep prev's record of the unknown list names it logged
		w.logger.Debug("whitelist unchanged", "path", w.path)
		return
	}
	w.logSkipped(skipped)
	attrs := append([]any{"path", w.path, "lists", logSizes(l)}, budgetAttrs(l)...)
	attrs = append(attrs, "skipped", len(skipped), "added", added, "removed", removed)
	w.logger.Info("whitelist reloaded", attrs...)
}

// logSkipped logs the first maxSkippedLogged skipped lines, each cut short.
func (w *Watcher) logSkipped(skipped []LineError) {
	for i, e := range skipped {
		if i == maxSkippedLogged {
			w.logger.Warn("further skipped whitelist lines not logged", "path", w.path, "count", len(skipped)-i)
			return
		}
		w.logger.Warn("whitelist line skipped", "path", w.path, "line", e.Line,
			"reason", e.Reason, "text", quoteShort(e.Text))
	}
}

// countMissing returns how many entries of a are not on the same list in b.
func countMissing(a, b *List) int {
	n := 0
	for name, s := range a.sets {
		other := b.sets[name]
		if other == nil {
			n += s.size()
			continue
		}
		n += missingKeys(&s.addrs, &other.addrs) + missingKeys(&s.domains, &other.domains)
	}
	return n
}

// missingKeys returns how many keys of a are not in b.
func missingKeys(a, b *keySet) int {
	n := 0
	for k := range a.all() {
		if !b.hasString(k) {
			n++
		}
	}
	return n
}

// logSizes returns List.Sizes with the main list named mainLabel.
func logSizes(l *List) map[string]int {
	sizes := l.Sizes()
	sizes[mainLabel] = sizes[MainList]
	delete(sizes, MainList)
	return sizes
}

// logLabel names the list name in log lines: the main list is mainLabel.
func logLabel(name string) string {
	if name == MainList {
		return mainLabel
	}
	return name
}
