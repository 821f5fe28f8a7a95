package nginx_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// chaosStats counts what the chaos traffic got, as judged.
type chaosStats struct {
	answers int
	byKind  map[string]int // "cookie", "token", "counted"
	codes   map[string]int // by kind and status: "cookie 200"
	// Counted checks: admitted (200), refused at the ceiling, refused
	// because the store could not be reached.
	countedOK, atCeiling, unavailable int
	wrong, falseRefusals              int
	// Answers where either was right, by why: credentials refused that
	// may be live (a replica starting, …), and ended ones admitted within
	// the bound of their end.
	toleratedRefusals, toleratedAdmissions map[string]int
	slowStore                              int // refused as unavailable with the store up, after storeCallBound
	doorman5xx, sidecarDown, down          int
	failed                                 int
	changes                                map[string]map[string]int // kind → outcome → count
	slowest, slowestOutage                 time.Duration             // of uncounted /auth answers
	// latestEnded is the latest 200 for an ended credential after its end
	// was acknowledged, at a replica that did not acknowledge it, while
	// the store was up (bound: propagationBound); latestEndedOutage when
	// an outage touched the second after (bound: catchUpBound after it).
	latestEnded, latestEndedOutage time.Duration
}

func newChaosStats() chaosStats {
	return chaosStats{byKind: map[string]int{}, codes: map[string]int{}, changes: map[string]map[string]int{},
		toleratedRefusals: map[string]int{}, toleratedAdmissions: map[string]int{}}
}

// storeCallBound is how long doorman waits for the store: a counted
// check's own second, each Redis call's timeout. A refusal as unavailable
// with the store up that took this long is a store too slow to answer on
// a starved machine, which doorman cannot tell from one that is gone; a
// quicker one is a failure.
const storeCallBound = time.Second

// endNotYet is why an ended credential may still be admitted: the bound
// of its end's propagation has not passed.
const endNotYet = "its end not yet in force there"

// expectation is what an answer must be: either, 200, or 401.
type expectation int

const (
	either expectation = iota
	admit
	refuse
)

// expect is what replica at must answer for c, asked at sent and answering
// at got, and why either answer is right when it is. Until its end was
// sent, a credential is live. l.mu is held.
func (l *ledger) expect(c *chaosCred, at string, sent, got time.Time) (expectation, string) {
	tl := &l.tl
	switch {
	case !c.unsure.IsZero() && !got.Before(c.unsure):
		return either, "its end unsure"
	case !c.endedAt.IsZero() && !sent.Before(tl.deadline(c.endedAt, c.endedBy, at)):
		return refuse, ""
	case !c.endSent.IsZero() && !got.Before(c.endSent):
		return either, endNotYet
	}
	if c.owner == carol {
		switch on, firm := tl.carol(sent, got); {
		case !firm:
			return either, "whitelist reloading"
		case !on:
			return refuse, ""
		}
	}
	switch {
	case tl.replicaDown(at, sent, got):
		return either, "replica restarting"
	case c.kind == "token" && sent.Before(tl.deadline(c.made, c.by, at)):
		return either, "token not yet there"
	case c.kind == "cookie" && c.gen > tl.genAt(at, sent):
		return either, "new key not yet there"
	}
	return admit, ""
}

// state says why c must be refused, for a note. The ledger's mutex is held.
func (c *chaosCred) state() string {
	if c.endedAt.IsZero() {
		return "its owner is off the whitelist"
	}
	return fmt.Sprintf("its end was sent at %s, acknowledged at %s by %s", since(c.endSent), since(c.endedAt), c.endedBy)
}

// describe names an answer for a note.
func (a *chaosAnswer) describe() string {
	what := a.c.kind
	if a.counted {
		what = "counted " + what
	}
	return fmt.Sprintf("%s of %s (made by %s) via %s, answered by %q, sent %s, took %v",
		what, a.c.owner, a.c.by, a.via, a.by, since(a.sent), a.got.Sub(a.sent).Round(time.Millisecond))
}

// judgeAnswer judges one answer. l.mu is held.
func (l *ledger) judgeAnswer(a *chaosAnswer) {
	st := &l.stats
	st.answers++
	kind := a.c.kind
	if a.counted {
		kind = "counted"
	}
	st.byKind[kind]++
	if a.err != nil || a.code >= 500 {
		l.judgeFailure(a)
		return
	}
	st.codes[fmt.Sprintf("%s %d", kind, a.code)]++
	if a.by == "" {
		l.fail("%s: %d without X-Auth-Upstream", a.describe(), a.code)
		return
	}
	e, why := l.expect(a.c, a.by, a.sent, a.got)
	authorized := a.code == http.StatusOK || a.counted && a.code == http.StatusForbidden
	switch {
	case authorized && e == refuse:
		st.wrong++
		l.fail("WRONG: %s = %d, want 401 (%s)", a.describe(), a.code, a.c.state())
		return
	case a.code == http.StatusUnauthorized && e == admit:
		st.falseRefusals++
		l.fail("refused a live credential: %s = 401, want 200", a.describe())
	case !authorized && a.code != http.StatusUnauthorized:
		l.fail("%s = %d, want 200 or 401", a.describe(), a.code)
		return
	case e == either && a.code == http.StatusUnauthorized && why != endNotYet:
		st.toleratedRefusals[why]++
	case e == either && authorized && why == endNotYet:
		st.toleratedAdmissions[why]++
	}
	if end := a.c.endedAt; a.code == http.StatusOK && !end.IsZero() && a.by != a.c.endedBy {
		if l.tl.deadline(end, a.c.endedBy, a.by).Equal(end.Add(propagationBound)) {
			st.latestEnded = max(st.latestEnded, a.sent.Sub(end))
		} else {
			st.latestEndedOutage = max(st.latestEndedOutage, a.sent.Sub(end))
		}
	}
	switch {
	case a.counted && authorized:
		l.judgeCounted(a)
	case !a.counted:
		took := a.got.Sub(a.sent)
		st.slowest = max(st.slowest, took)
		if l.tl.inOutage(a.sent, a.got) {
			st.slowestOutage = max(st.slowestOutage, took)
		}
	}
}

// judgeCounted judges a counted check doorman let through authorization
// (200, or 403 for the budget) and adds it to the person's spend. l.mu is held.
func (l *ledger) judgeCounted(a *chaosAnswer) {
	st, sp := &l.stats, l.spendOf(a.c.owner, a.sent)
	if a.retried {
		sp.retried++
	}
	budgeted := l.limits[a.c.owner] > 0
	sure := l.tl.storeSurelyDown(a.sent, a.got)
	switch {
	case a.code == http.StatusOK && budgeted && sure:
		st.wrong++
		l.fail("WRONG: %s = 200 with the store down, want 403 unavailable", a.describe())
	case a.code == http.StatusOK:
		st.countedOK++
		if budgeted {
			sp.admitted++
		}
	case !budgeted:
		l.fail("%s = 403 (%s) for a person without a budget, want 200", a.describe(), a.refusal)
	case a.refusal == "budget" && !sure:
		st.atCeiling++
		sp.ceiling = true
	case a.refusal == "unavailable" && l.tl.storeDownAround(a.sent, a.got):
		st.unavailable++
		if l.tl.cutOff(a.sent, a.got) {
			sp.unsure++
		}
	case a.refusal == "unavailable" && a.got.Sub(a.sent) >= storeCallBound:
		st.slowStore++
	default:
		l.fail("%s = 403 with X-Doorman-Refusal %q (store surely down: %v)", a.describe(), a.refusal, sure)
	}
}

// judgeFailure judges an answer that is an error or a 5xx. l.mu is held.
func (l *ledger) judgeFailure(a *chaosAnswer) {
	st := &l.stats
	if a.counted {
		l.spendOf(a.c.owner, a.sent).lost++
	}
	switch {
	case a.via != "nginx" && a.err != nil && l.tl.replicaDown(a.via, a.sent, a.got):
		st.down++
	case a.via != "nginx" && a.err != nil:
		st.failed++
		l.fail("%s: %v, and %s was not down", a.describe(), a.err, a.via)
	case a.via != "nginx" || doormanAnswered5xx(a.status):
		st.doorman5xx++
		l.fail("5xx from doorman: %s = %d (upstream status %q)", a.describe(), a.code, a.status)
	case a.err == nil && l.sole && l.tl.replicaDown("", a.sent, a.got):
		st.sidecarDown++
	default:
		st.failed++
		l.fail("nginx: %s = %d, %v (upstream status %q)", a.describe(), a.code, a.err, a.status)
	}
}

// judgeChange judges one state change. l.mu is held.
func (l *ledger) judgeChange(ch chaosChange) {
	if l.stats.changes[ch.kind] == nil {
		l.stats.changes[ch.kind] = map[string]int{}
	}
	l.stats.changes[ch.kind][ch.outcome]++
	if ch.outcome != "done" && len(l.undone) < 5000 {
		l.undone = append(l.undone, ch)
	}
	tl := &l.tl
	what := fmt.Sprintf("%s at %s, sent %s", ch.kind, ch.at, since(ch.sent))
	switch ch.outcome {
	case "done", "rate limited", "not seen", "not ready":
	case "unavailable":
		switch {
		case tl.storeDownAround(ch.sent, ch.got):
		case ch.got.Sub(ch.lastSent) >= storeCallBound:
			l.stats.slowStore++
		default:
			l.fail("%s: the 503 page with the store up, after %v", what, ch.got.Sub(ch.lastSent).Round(time.Millisecond))
		}
	case "down":
		if !tl.replicaDown(ch.at, ch.sent, ch.got) {
			l.fail("%s: %s, and %s was not down", what, ch.note, ch.at)
		}
	case "refused":
		newKey := ch.c != nil && ch.c.kind == "cookie" && ch.c.gen > tl.genAt(ch.at, ch.sent)
		if !newKey && !tl.replicaDown(ch.at, ch.sent, ch.got) {
			l.fail("%s: refused (%s)", what, ch.note)
		}
	default:
		l.fail("%s: %s", what, ch.note)
	}
}

// spendOf is owner's spend on the UTC day of at. l.mu is held.
func (l *ledger) spendOf(owner string, at time.Time) *budgetSpend {
	key := owner + " " + at.UTC().Format(time.DateOnly)
	if l.spent[key] == nil {
		l.spent[key] = &budgetSpend{}
	}
	return l.spent[key]
}

// checkBudgets fails the test for any person admitted more often in a day
// than their budget allows, or if nobody reached their ceiling.
func (l *ledger) checkBudgets(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	hit := false
	for _, key := range slices.Sorted(maps.Keys(l.spent)) {
		sp, owner := l.spent[key], strings.Fields(key)[0]
		hit = hit || sp.ceiling
		if limit := l.limits[owner]; limit > 0 && sp.admitted > limit {
			l.stats.wrong++
			t.Errorf("WRONG: %s: %d counted checks admitted, over the budget of %d/day", key, sp.admitted, limit)
		}
	}
	if !hit {
		t.Errorf("nobody reached the ceiling of their budget: the budgets are too large to test it")
	}
}
