package nginx_test

import (
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"doorman/auth/store/redistest"
)

// chaosRun is one chaos test: the replicas behind nginx on one store, the
// whitelist, the clients, and the ledger that judges every answer.
type chaosRun struct {
	t      *testing.T
	name   string // the store's kind, for the report
	s      *replicaSet
	rs     []*replica
	byAddr map[string]string // replica address → name
	redis  *redistest.Server // nil on SQLite
	wl     *chaosWhitelist
	l      *ledger
	// keep asks /auth with keep-alive (a GET on a connection a killed
	// replica closed is retried by net/http); fresh sends pages and
	// posts, each on a connection of its own, so that a post never goes
	// out on a connection left from a replica that is gone.
	keep, fresh *http.Client
	// steady are bob's cookie and token and carol's, live all along.
	steady []*chaosCred
}

// newChaosRun writes the whitelist, starts replicas named names on store
// and nginx in front of them, and signs bob and carol in, each with a
// token. It skips the test when nginx is not installed, unless CI is set.
func newChaosRun(t *testing.T, name, store string, names ...string) *chaosRun {
	t.Helper()
	c := &chaosRun{t: t, name: name, s: newReplicaSet(t, store), byAddr: map[string]string{}}
	c.wl = &chaosWhitelist{dir: filepath.Dir(c.s.whitelist), path: c.s.whitelist, carolOn: true}
	writeFile(t, c.wl.path, c.wl.content())
	for _, n := range names {
		r := c.s.start(t, n)
		c.rs, c.byAddr[r.addr] = append(c.rs, r), n
	}
	c.s.startNginx(t, c.rs...)
	c.keep = &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirect, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	c.fresh = &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirect, Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(c.keep.CloseIdleConnections)
	c.l = newLedger(chaosBudgets(), len(c.rs) == 1)
	c.steady = append(c.mustSignIn(bob, "", "gpt4"), c.mustSignIn(carol, "")...)
	return c
}

// mustSignIn signs email in at the first replica and makes a token for
// lists at the last, and returns both, recorded in the ledger.
func (c *chaosRun) mustSignIn(email string, lists ...string) []*chaosCred {
	c.t.Helper()
	first, last := c.rs[0], c.rs[len(c.rs)-1]
	sent := time.Now()
	sess := c.l.addCred("cookie", email, c.s.signIn(c.t, first.sidecar, email, ""), first.name, sent, time.Now())
	tok, ch := c.makeToken(last, sess, lists...)
	if ch.outcome != "done" {
		c.t.Fatalf("make a token of %s at %s: %s %s", email, last.name, ch.outcome, ch.note)
	}
	return []*chaosCred{sess, c.l.addCred("token", email, tok, last.name, ch.lastSent, ch.got)}
}

// vias are where the traffic asks /auth: nginx, then each replica.
func (c *chaosRun) vias() []string {
	out := []string{"nginx"}
	for _, r := range c.rs {
		out = append(out, r.name)
	}
	return out
}

// replica is the replica named name.
func (c *chaosRun) replica(name string) *replica {
	for _, r := range c.rs {
		if r.name == name {
			return r
		}
	}
	panic("no replica " + name)
}

// report logs what the traffic got, and fails the test for any failure
// the judging found.
func (c *chaosRun) report(cycles int, took time.Duration) {
	t, l := c.t, c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stats
	t.Logf("chaos on %s: %d cycle(s) in %v", c.name, cycles, took.Round(time.Millisecond))
	t.Logf("answers: %d (%s); by status: %s", st.answers, formatCounts(st.byKind), formatCounts(st.codes))
	t.Logf("counted checks: %d admitted, %d refused at the ceiling, %d refused with the store unreachable",
		st.countedOK, st.atCeiling, st.unavailable)
	t.Logf("WRONG: %d; live credentials refused: %d; where either answer was right, refused: %s; admitted: %s",
		st.wrong, st.falseRefusals, formatCounts(st.toleratedRefusals), formatCounts(st.toleratedAdmissions))
	t.Logf("5xx from doorman: %d; nginx 5xx with the sidecar down: %d; refused or cut connections to a replica that was down: %d; other failures: %d",
		st.doorman5xx, st.sidecarDown, st.down, st.failed)
	t.Logf("refused as unavailable (503 page, counted check) with the store up, after waiting %v for it: %d", storeCallBound, st.slowStore)
	for _, kind := range slices.Sorted(maps.Keys(st.changes)) {
		t.Logf("state changes, %s: %s", kind, formatCounts(st.changes[kind]))
	}
	t.Logf("state changes whose outcome is unsure (no answer, or the 503 page as the store went away): %s", formatCounts(l.unsure))
	for _, key := range slices.Sorted(maps.Keys(l.spent)) {
		sp := l.spent[key]
		t.Logf("budget %s: %d admitted (limit %d), %d lost, %d retried by nginx, %d refused as the store went away, ceiling reached: %v",
			key, sp.admitted, l.limits[strings.Fields(key)[0]], sp.lost, sp.retried, sp.unsure, sp.ceiling)
	}
	t.Logf("slowest /auth (uncounted): %v, %v during outages; latest 200 for an ended credential at another replica after its end: %v (bound %v), %v when an outage touched it",
		st.slowest.Round(time.Microsecond), st.slowestOutage.Round(time.Microsecond), st.latestEnded.Round(time.Microsecond),
		propagationBound, st.latestEndedOutage.Round(time.Microsecond))
	if l.failures > 0 {
		t.Errorf("%d failures; the first:\n%s", l.failures, strings.Join(l.notes, "\n"))
	}
	if st.slowestOutage > slowBound {
		t.Errorf("an uncounted /auth answer during an outage took %v, want under %v: /auth waited on the store", st.slowestOutage, slowBound)
	}
	c.checkCoverage(st)
}

// checkCoverage fails the test if the traffic did not do what it is for:
// many answers, every kind of state change, and on Redis counted checks
// refused during the outages.
func (c *chaosRun) checkCoverage(st chaosStats) {
	if st.answers < 1000 {
		c.t.Errorf("only %d answers: the traffic did not run", st.answers)
	}
	for _, kind := range []string{"sign-in", "token made", "token ended", "logout", "session ended"} {
		if st.changes[kind]["done"] == 0 {
			c.t.Errorf("no %q was done", kind)
		}
	}
	refused := 0
	for _, outcomes := range st.changes {
		refused += outcomes["unavailable"]
	}
	if c.redis != nil && (st.unavailable == 0 || refused == 0) {
		c.t.Errorf("the outages met %d counted checks and %d state changes, want some of each: refused as unavailable", st.unavailable, refused)
	}
}

// formatCounts lists counts by name, in name order.
func formatCounts(m map[string]int) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(out, ", ")
}
