package nginx_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// The chaos run's checks once the traffic has stopped: nothing
// acknowledged was lost through the restarts.

// credState is a credential as the ledger last knew it.
type credState struct {
	chaosCred
	ended bool
}

// credStates copies every credential's state.
func (l *ledger) credStates() []credState {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]credState, len(l.creds))
	for i, c := range l.creds {
		out[i] = credState{chaosCred: *c, ended: !c.endedAt.IsZero()}
	}
	return out
}

// checkCredentials asks every replica and nginx about every credential
// whose state is sure: the ended ones must be refused (ended stays
// ended), the live ones admitted (made tokens still work), but carol's
// when the last edit took her off.
func (c *chaosRun) checkCredentials() {
	t := c.t
	var ended, live int
	for _, cr := range c.l.credStates() {
		if !cr.unsure.IsZero() {
			continue
		}
		want := http.StatusOK
		if cr.ended || cr.owner == carol && !c.wl.carolOn {
			want = http.StatusUnauthorized
		}
		for _, via := range c.vias() {
			if code, err := c.status(&cr.chaosCred, via); err != nil || code != want {
				t.Errorf("after the run: %s of %s (made by %s, ended: %v) via %s = %d, %v; want %d",
					cr.kind, cr.owner, cr.by, cr.ended, via, code, err, want)
			}
		}
		if cr.ended {
			ended++
		} else {
			live++
		}
	}
	t.Logf("after the run: %d ended credentials refused and %d live ones answered as due, by every replica and through nginx", ended, live)
}

// status is what via answers for cr at /auth (nginx: /app).
func (c *chaosRun) status(cr *chaosCred, via string) (int, error) {
	u := c.s.url("/app")
	if via != "nginx" {
		u = c.replica(via).authURL()
	}
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	if cr.kind == "cookie" {
		req.Header.Set("Cookie", cr.value)
	} else {
		req.Header.Set("Authorization", "Bearer "+cr.value)
	}
	resp, err := c.keep.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// checkStore reads back from the store, with the admin commands, each
// person's count on gpt4 today, live sessions and tokens, and compares
// them with what was acknowledged.
func (c *chaosRun) checkStore() {
	c.checkCounts()
	for _, kind := range []string{"cookie", "token"} {
		cmd := map[string]string{"cookie": "sessions", "token": "tokens"}[kind]
		var listed []usageEntry // the rows' emails
		c.admin(&listed, cmd)
		for _, email := range append([]string{bob, carol}, chaosWorkers()...) {
			n := 0
			for _, e := range listed {
				if e.Email == email {
					n++
				}
			}
			if lo, hi := c.l.liveRange(email, kind); n < lo || n > hi {
				c.t.Errorf("doorman %s lists %d of %s, want %d to %d: the live ones acknowledged, and those whose answers were lost; %s",
					cmd, n, email, lo, hi, c.l.undoneOf(email))
			}
		}
	}
}

// liveRange is how many credentials of kind of email the store must hold
// live: those made and not ended, and at most as many more as there were
// changes of them whose answers were lost.
func (l *ledger) liveRange(email, kind string) (lo, hi int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.creds {
		switch {
		case c.owner != email || c.kind != kind:
		case !c.unsure.IsZero():
			hi++
		case c.endedAt.IsZero():
			lo++
		}
	}
	made := map[string]string{"cookie": "sign-in", "token": "token made"}[kind]
	return lo, lo + hi + l.unsure[email+" "+made]
}

// checkCounts compares each worker's count on gpt4 today, as `doorman
// usage` reads it from the store, with the counted checks admitted: at
// least those, at most those plus the ones whose answers were lost, that
// nginx sent to a second replica, or that were refused as the store went
// away; and never over the budget.
func (c *chaosRun) checkCounts() {
	var rows []usageEntry
	c.admin(&rows, "usage", "--list", "gpt4", "--whitelist", c.wl.path)
	day := time.Now().UTC().Format(time.DateOnly)
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	for key := range c.l.spent {
		if !strings.HasSuffix(key, day) {
			c.t.Logf("the run crossed midnight UTC (%s): the store's counts are not compared", key)
			return
		}
	}
	for _, email := range chaosWorkers() {
		i := slices.IndexFunc(rows, func(r usageEntry) bool { return r.Email == email })
		var used int64
		if i >= 0 {
			used = rows[i].Used
		}
		sp, limit := c.l.spendOf(email, time.Now()), c.l.limits[email]
		if hi := min(limit, sp.admitted+sp.lost+sp.retried+sp.unsure); used < sp.admitted || used > hi {
			c.t.Errorf("doorman usage: %s used %d on gpt4 today, want %d to %d (admitted %d, lost %d, retried %d, cut off %d, limit %d)",
				email, used, sp.admitted, hi, sp.admitted, sp.lost, sp.retried, sp.unsure, limit)
		}
		if sp.ceiling && used != limit {
			c.t.Errorf("doorman usage: %s used %d on gpt4 today, want %d: refused at the ceiling before reaching it", email, used, limit)
		}
		c.t.Logf("doorman usage: %s used %d of %d on gpt4 today; %d counted checks admitted", email, used, limit, sp.admitted)
	}
}

// undoneOf lists email's changes that were not done, for a report.
func (l *ledger) undoneOf(email string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	b.WriteString("changes not done:")
	for _, ch := range l.undone {
		if ch.owner == email {
			fmt.Fprintf(&b, "\n  %s at %s, %s to %s: %s %s", ch.kind, ch.at, since(ch.sent), since(ch.got), ch.outcome, ch.note)
		}
	}
	return b.String()
}

// usageEntry is what the chaos test reads of a row of `doorman usage
// --json` (and of `doorman sessions` and `tokens`, the email).
type usageEntry struct {
	Email string `json:"email"`
	Used  int64  `json:"used"`
}

// admin runs `doorman <args> --json` on the store and decodes its output into v.
func (c *chaosRun) admin(v any, args ...string) {
	c.t.Helper()
	cmd := exec.CommandContext(c.t.Context(), doormanBin, append(append(args[:1:1], "--json", "--store="+c.s.store), args[1:]...)...)
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err == nil {
		err = json.Unmarshal(out, v)
	}
	if err != nil {
		c.t.Fatalf("doorman %v: %v\n%s", args, err, out)
	}
}
