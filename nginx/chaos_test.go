package nginx_test

// The chaos tests: doorman's promises (README "Sessions and the store",
// "Tokens for programs", "Budgets", "Several replicas", "2. The whitelist",
// "Rotating the cookie key") kept through real nginx while people sign in,
// use cookies and tokens, spend their budgets and sign out, and the test
// kills replicas, restarts and freezes Redis, rewrites the whitelist in
// every supported way and rotates the cookie key.
//
//	go test -race -count=1 -run 'TestChaos' ./nginx/ -v
//
// runs one fault cycle on each store (about half a minute). A soak repeats
// the cycle for as long as asked, with the same assertions:
//
//	go test -count=1 -run 'TestChaos' ./nginx/ -v -timeout 60m -args -soak=10m
//	DOORMAN_SOAK=10m go test -count=1 -run 'TestChaos' ./nginx/ -v -timeout 60m
//
// Every answer is judged afterwards against the timeline of what the test
// did (chaos_judge_test.go). A credential is live until the request that
// ended it was sent. An answer is WRONG when doorman admits (200, or for a
// counted check lets authorization pass) what it must refuse:
//   - a cookie or token whose end a replica acknowledged (its answer was
//     received) at T: asked at that replica after T, or at another one
//     after T+1s; when a store outage touches [T, T+1s], 5 s after the
//     store's return instead (README "Several replicas", "Sessions and the
//     store": "within a second", "within a few seconds");
//   - carol's cookie or token, asked more than 1 s after the edit that took
//     her off the whitelist was written and before the next edit began
//     (README "2. The whitelist": "doorman notices within a second");
//   - a counted check of someone with a budget, admitted while the store
//     was surely down: after the fault was in place, before it was undone;
//   - more counted checks of one person on one day admitted, summed over
//     every replica, than their budget.
//
// The converse is a failure too: a live credential refused, except where
// either answer is right (a replica starting; a token within 1 s of being
// made at another replica; a cookie signed with the new key, asked at a
// replica not yet restarted with it; a whitelist edit reloading). So is any
// 5xx doorman sends, any nginx 5xx or failed request while every replica
// was up (on SQLite, nginx's 500 while its one doorman is down counts as
// "sidecar down" and must fall inside that downtime), a 503 page from a
// state change with a Set-Cookie, and a 503 page or a counted check
// refused as "unavailable" more than 5 s after the store was back, unless
// it took doorman's whole second of waiting for the store (a starved
// machine; counted apart).
//
// What doorman cannot know is not held against it: a change whose answer
// was lost, or that got the 503 page while the store was going away (the
// store may have made it; see store.ErrUnavailable), and a logout answered
// by a replica still starting (not ready: it cannot read any session) are
// unsure, either way right; a logout answered by a replica without the key
// that signed the cookie ends nothing (the session stays live).
//
// Once the traffic has stopped, every ended credential must be refused and
// every live one admitted by every replica and through nginx, and the
// store, read with the admin commands, must hold the live sessions and
// tokens acknowledged and each person's count of admitted counted checks.

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"doorman/auth/store/redistest"
)

var soakFlag = flag.Duration("soak", 0, "TestChaos*: repeat the fault cycle for this long (or set DOORMAN_SOAK, e.g. 10m)")

// soakFor is how long to repeat the fault cycle: -soak, else DOORMAN_SOAK,
// else 0 (once).
func soakFor(t *testing.T) time.Duration {
	if *soakFlag > 0 {
		return *soakFlag
	}
	v := os.Getenv("DOORMAN_SOAK")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("DOORMAN_SOAK=%q: %v", v, err)
	}
	return d
}

// TestChaosReplicasRedis: two replicas on one Redis (append-only) behind
// nginx. Each cycle kills a replica and restarts it, stops and restarts
// Redis, freezes it for 3 s (rewriting the whitelist meanwhile), rotates
// the cookie key and restarts both replicas in turn, and rewrites the
// whitelist in every style in between.
func TestChaosReplicasRedis(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t, redistest.AppendOnly())
	c := newChaosRun(t, "Redis", redis.URL(), "A", "B")
	c.redis = redis
	c.run(c.redisCycle)
}

// TestChaosSQLite: one doorman on a SQLite file behind nginx. Each cycle
// kills it twice and restarts it on the same file, rotates the cookie key
// and rewrites the whitelist in every style in between.
func TestChaosSQLite(t *testing.T) {
	t.Parallel()
	c := newChaosRun(t, "SQLite", filepath.Join(t.TempDir(), "doorman.db"), "doorman")
	c.run(c.sqliteCycle)
}

// redisCycle is cycle n of faults on two replicas and Redis.
func (c *chaosRun) redisCycle(n int) {
	styles := editStyles()
	time.Sleep(time.Second) // traffic before the first fault
	c.killAndRestart(c.rs[(n-1)%len(c.rs)])
	c.edit(styles[0])
	c.storeOutage("stopped", c.redis.Stop, c.redis.Restart, time.Second, nil)
	c.edit(styles[1])
	c.storeOutage("frozen", c.redis.Freeze, c.redis.Thaw, 3*time.Second, func() { c.edit(styles[2]) })
	c.edit(styles[3])
	c.rotateKey()
	c.edit(styles[4])
}

// sqliteCycle is cycle n of faults on one doorman and its SQLite file.
func (c *chaosRun) sqliteCycle(int) {
	styles := editStyles()
	time.Sleep(time.Second)
	c.killAndRestart(c.rs[0])
	c.edit(styles[0])
	c.edit(styles[1])
	c.killAndRestart(c.rs[0])
	c.edit(styles[2])
	c.edit(styles[3])
	c.rotateKey()
	c.edit(styles[4])
}

// run starts the traffic, runs cycle once or, soaking, until the soak's
// time is up, judging the answers after each; then stops the traffic,
// reports and makes the final checks.
func (c *chaosRun) run(cycle func(n int)) {
	soak, start := soakFor(c.t), time.Now()
	tr := c.startTraffic()
	n := 0
	for n == 0 || time.Since(start) < soak && !c.t.Failed() {
		n++
		cycle(n)
		time.Sleep(1500 * time.Millisecond) // traffic once every window has closed
		c.l.judge(time.Now())
	}
	tr.halt()
	c.l.judge(far)
	c.report(n, time.Since(start))
	c.l.checkBudgets(c.t)
	c.checkCredentials()
	c.checkStore()
}

// killAndRestart kills r with SIGKILL, as a crash would, leaves it dead
// for a moment of traffic and starts it again on the same addresses, key
// file, whitelist and store.
func (c *chaosRun) killAndRestart(r *replica) {
	start := time.Now()
	c.l.replicaStopping(r.name)
	r.kill(c.t)
	time.Sleep(300 * time.Millisecond)
	c.l.replicaStarting(r.name)
	c.s.run(c.t, r)
	c.s.waitReady(c.t, r)
	c.l.replicaReady(r.name)
	c.t.Logf("%s killed (SIGKILL) and restarted: ready after %v", r.name, time.Since(start).Round(time.Millisecond))
}

// restart stops r with SIGTERM, which must end it with status 0, and
// starts it again.
func (c *chaosRun) restart(r *replica) {
	c.l.replicaStopping(r.name)
	if err := r.proc.stop(c.t, syscall.SIGTERM); err != nil {
		c.t.Errorf("%s exit after SIGTERM: %v, want exit 0", r.name, err)
	}
	c.l.replicaStarting(r.name)
	c.s.run(c.t, r)
	c.s.waitReady(c.t, r)
	c.l.replicaReady(r.name)
}

// rotateKey rotates the cookie key as the README's "Rotating the cookie
// key" says: its commands, in the key file's directory; doorman --check
// with the replicas' flags reporting one key more; then a restart of every
// replica, one at a time.
func (c *chaosRun) rotateKey() {
	start := time.Now()
	runShell(c.t, c.s.dir, nil, "umask 022\n"+readmeBlock(c.t, "rotate-key"))
	c.l.keyRotated()
	cmd := exec.CommandContext(c.t.Context(), doormanBin, "--check", "--client-id="+c.s.google.ClientID,
		"--whitelist="+c.wl.path, "--secret-file="+c.s.secret, "--store="+c.s.store)
	cmd.Env = cleanEnv()
	want := fmt.Sprintf(": %d key(s)", c.l.keyGens()+1)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), want) {
		c.t.Errorf("doorman --check after the rotation: %v, want exit 0 and %q:\n%s", err, want, out)
	}
	for _, r := range c.rs {
		c.restart(r)
	}
	c.t.Logf("key rotated, %d replica(s) restarted in turn in %v", len(c.rs), time.Since(start).Round(time.Millisecond))
}

// edit rewrites the whitelist in style, taking carol off or putting her
// back, and checks that every replica has it in force within reloadBound.
func (c *chaosRun) edit(style string) {
	i := c.l.editBegins(!c.wl.carolOn)
	if err := c.wl.toggle(style); err != nil {
		c.t.Fatalf("whitelist edit (%s): %v", style, err)
	}
	c.l.editDone(i)
	written := time.Now()
	want := map[bool]int{true: http.StatusOK, false: http.StatusUnauthorized}[c.wl.carolOn]
	for _, r := range c.rs {
		for code := 0; code != want; time.Sleep(5 * time.Millisecond) {
			if code = authStatus(c.t, c.keep, r.sidecar, "", c.steady[2].value); code != want && time.Since(written) > reloadBound {
				c.t.Errorf("whitelist edit (%s): %s answers carol's cookie %d after %v, want %d within %v",
					style, r.name, code, time.Since(written).Round(time.Millisecond), want, reloadBound)
				break
			}
		}
	}
	c.t.Logf("whitelist edit (%s), carol on: %v: in force everywhere after %v", style, c.wl.carolOn, time.Since(written).Round(time.Millisecond))
}

// storeOutage takes the store away with down for hold (running during
// meanwhile), waits until every replica has noticed, brings it back with
// up and checks that every replica catches up within catchUpBound, logging
// each change exactly once.
func (c *chaosRun) storeOutage(name string, down, up func(testing.TB), hold time.Duration, during func()) {
	t := c.t
	before := c.storeLogCounts()
	i := c.l.outageBegins(name)
	down(t)
	c.l.outageSure(i)
	start := time.Now()
	if during != nil {
		during()
	}
	time.Sleep(hold - time.Since(start))
	for _, r := range c.rs {
		waitFor(t, noticeBound-time.Since(start), r.name+` logs "store unreachable"`, func() bool {
			return r.logCount("store unreachable") > before[r.name][0]
		})
	}
	c.l.outageEnding(i)
	up(t)
	back := c.l.outageOver(i)
	for _, r := range c.rs {
		waitFor(t, catchUpBound-time.Since(back), r.name+` logs "store reachable"`, func() bool {
			return r.logCount("store reachable") > before[r.name][1]
		})
		t.Logf("Redis %s for %v: %s caught up %v after its return", name, back.Sub(start).Round(time.Millisecond),
			r.name, time.Since(back).Round(time.Millisecond))
	}
	for _, r := range c.rs {
		if u, k := r.logCount("store unreachable")-before[r.name][0], r.logCount("store reachable")-before[r.name][1]; u != 1 || k != 1 {
			t.Errorf("Redis %s: %s logged %q %d times and %q %d times, want once each", name, r.name, "store unreachable", u, "store reachable", k)
		}
	}
}

// storeLogCounts is how often each replica has logged "store unreachable"
// and "store reachable" so far.
func (c *chaosRun) storeLogCounts() map[string][2]int {
	counts := map[string][2]int{}
	for _, r := range c.rs {
		counts[r.name] = [2]int{r.logCount("store unreachable"), r.logCount("store reachable")}
	}
	return counts
}
