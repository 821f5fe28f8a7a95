package nginx_test

import (
	"slices"
	"time"
)

// reloadBound is how soon a whitelist edit is in force on every doorman
// (README "2. The whitelist": "doorman notices within a second").
const reloadBound = time.Second

// storeOutage is one time the chaos test took the store away.
type storeOutage struct {
	name   string
	start  time.Time // just before the fault began
	sure   time.Time // once it surely had: the signal sent, the process gone
	ending time.Time // just before the store was brought back; zero while it is away
	back   time.Time // once it answered again; zero until then
}

// downtime is one time a replica was stopped or killed: from the signal
// until it was seen ready again (zero until then).
type downtime struct{ from, ready time.Time }

// keyStart is the key generation a replica started with: how many
// rotations of the key file came before its start. A request sent after
// at meets that process; one sent before, an older one.
type keyStart struct {
	at  time.Time
	gen int
}

// whitelistEdit is one rewrite of the whitelist, from just before the
// write began until it returned, after which carol is on the lists or not.
type whitelistEdit struct {
	from, to time.Time
	carolOn  bool
}

// timeline is what the chaos test did and when: the windows inside which
// an answer may be either way. It is guarded by the ledger's mutex.
type timeline struct {
	outages []storeOutage
	down    map[string][]downtime
	gens    map[string][]keyStart
	keyGen  int // rotations of the key file so far
	edits   []whitelistEdit
	carolOn bool // before the first edit
}

// far stands for the end of a window still open.
var far = time.Unix(1<<40, 0)

// orFar is t, or far when t is zero.
func orFar(t time.Time) time.Time {
	if t.IsZero() {
		return far
	}
	return t
}

// overlaps reports whether [a1, a2] and [b1, b2] share a moment.
func overlaps(a1, a2, b1, b2 time.Time) bool { return !a2.Before(b1) && !b2.Before(a1) }

// storeDownAround reports whether [from, to] touches an outage, or the
// catchUpBound after its end within which doorman may still be catching up.
func (tl *timeline) storeDownAround(from, to time.Time) bool {
	return slices.ContainsFunc(tl.outages, func(o storeOutage) bool {
		return overlaps(from, to, o.start, orFar(o.back).Add(catchUpBound))
	})
}

// storeSurelyDown reports whether [from, to] lies within an outage: after
// it surely began and before the store was brought back.
func (tl *timeline) storeSurelyDown(from, to time.Time) bool {
	return slices.ContainsFunc(tl.outages, func(o storeOutage) bool {
		return !o.sure.IsZero() && !from.Before(o.sure) && !to.After(orFar(o.ending))
	})
}

// cutOff reports whether [from, to] touches the moments the store was
// going away (from just before the fault until it was surely in place):
// a write then may have been made though its answer was lost, which the
// store calls unavailable too.
func (tl *timeline) cutOff(from, to time.Time) bool {
	return slices.ContainsFunc(tl.outages, func(o storeOutage) bool { return overlaps(from, to, o.start, orFar(o.sure)) })
}

// inOutage reports whether [from, to] touches an outage itself.
func (tl *timeline) inOutage(from, to time.Time) bool {
	return slices.ContainsFunc(tl.outages, func(o storeOutage) bool { return overlaps(from, to, o.start, orFar(o.back)) })
}

// replicaDown reports whether [from, to] touches a downtime of the replica
// name, or of any replica when name is "".
func (tl *timeline) replicaDown(name string, from, to time.Time) bool {
	for r, ds := range tl.down {
		if name != "" && r != name {
			continue
		}
		if slices.ContainsFunc(ds, func(d downtime) bool { return overlaps(from, to, d.from, orFar(d.ready)) }) {
			return true
		}
	}
	return false
}

// genAt is the key generation the replica name ran with at at.
func (tl *timeline) genAt(name string, at time.Time) int {
	gen := 0
	for _, k := range tl.gens[name] {
		if !k.at.After(at) {
			gen = k.gen
		}
	}
	return gen
}

// deadline is when a change acknowledged by the replica by at acked must
// hold at the replica at: at once at by itself; elsewhere within
// propagationBound, or, when an outage touches that second, within
// catchUpBound of the store's return (README "Several replicas",
// "Sessions and the store").
func (tl *timeline) deadline(acked time.Time, by, at string) time.Time {
	if at == by {
		return acked
	}
	d := acked.Add(propagationBound)
	for _, o := range tl.outages {
		if overlaps(acked, d, o.start, orFar(o.back).Add(catchUpBound)) {
			d = maxTime(d, orFar(o.back).Add(catchUpBound))
		}
	}
	return d
}

// carol reports whether carol was on the lists throughout [from, to], and
// whether that is firm: no edit was being written or reloaded then.
func (tl *timeline) carol(from, to time.Time) (on, firm bool) {
	on = tl.carolOn
	for _, e := range tl.edits {
		if overlaps(from, to, e.from, orFar(e.to).Add(reloadBound)) {
			return false, false
		}
		if e.to.Before(from) {
			on = e.carolOn
		}
	}
	return on, true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// outageBegins opens an outage named name and returns its index.
func (l *ledger) outageBegins(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tl.outages = append(l.tl.outages, storeOutage{name: name, start: time.Now()})
	return len(l.tl.outages) - 1
}

// outageSure records that outage i surely began.
func (l *ledger) outageSure(i int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tl.outages[i].sure = time.Now()
}

// outageEnding records that the store of outage i is being brought back.
func (l *ledger) outageEnding(i int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tl.outages[i].ending = time.Now()
}

// outageOver records that the store of outage i answers again, and
// returns when.
func (l *ledger) outageOver(i int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tl.outages[i].back = time.Now()
	return l.tl.outages[i].back
}

// replicaStopping opens a downtime of the replica name.
func (l *ledger) replicaStopping(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tl.down[name] = append(l.tl.down[name], downtime{from: time.Now()})
}

// replicaStarting records that the replica name, its old process gone,
// starts with the key file as it is now: what is sent to it from now on
// meets the new process.
func (l *ledger) replicaStarting(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tl.gens[name] = append(l.tl.gens[name], keyStart{at: time.Now(), gen: l.tl.keyGen})
}

// replicaReady closes the downtime of the replica name.
func (l *ledger) replicaReady(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ds := l.tl.down[name]
	ds[len(ds)-1].ready = time.Now()
}

// keyRotated records a rotation of the key file.
func (l *ledger) keyRotated() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tl.keyGen++
}

// keyGens is how often the key file was rotated.
func (l *ledger) keyGens() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tl.keyGen
}

// editBegins opens a whitelist edit after which carol is on the lists or
// not, and returns its index.
func (l *ledger) editBegins(carolOn bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tl.edits = append(l.tl.edits, whitelistEdit{from: time.Now(), carolOn: carolOn})
	return len(l.tl.edits) - 1
}

// editDone records that edit i was written.
func (l *ledger) editDone(i int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tl.edits[i].to = time.Now()
}

// starting reports whether [from, to] touches a downtime of the replica
// name, which may still be open.
func (l *ledger) starting(name string, from, to time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tl.replicaDown(name, from, to)
}

// cutOff is timeline.cutOff, for the traffic.
func (l *ledger) cutOff(from, to time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tl.cutOff(from, to)
}

// canRead reports whether the replica name, asked at at, holds the key
// that signed the cookie c.
func (l *ledger) canRead(c *chaosCred, name string, at time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return c.gen <= l.tl.genAt(name, at)
}
