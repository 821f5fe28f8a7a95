package nginx_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

const (
	// chaosPause is each traffic goroutine's pause between requests, so
	// that the replicas, nginx and the store share the 2 cores with it.
	chaosPause = 3 * time.Millisecond
	// changeRetry is the pause after a state change that was not done.
	changeRetry = 100 * time.Millisecond
	// changeGiveUp is how long a worker retries one state change: longer
	// than any outage and its catching up.
	changeGiveUp = 15 * time.Second
	// useRounds is how many rounds of checks a worker makes with each
	// session and token, while they are live and once they were ended.
	useRounds, afterRounds = 6, 2
)

// chaosTraffic is the chaos run's concurrent clients: a worker per person
// of chaosBudgets, each signing in, making a token, using both (a counted
// check each round) and ending them, over and over; a prober asking about
// bob's and carol's credentials; and one asking about credentials ended
// about a second ago, across the propagation bound.
type chaosTraffic struct {
	c      *chaosRun
	stop   chan struct{}
	halted sync.Once
	wg     sync.WaitGroup
}

// startTraffic starts the traffic; halt stops it.
func (c *chaosRun) startTraffic() *chaosTraffic {
	tr := &chaosTraffic{c: c, stop: make(chan struct{})}
	for i, email := range chaosWorkers() {
		w := &chaosWorker{tr: tr, c: c, email: email, i: i}
		tr.wg.Go(w.run)
	}
	tr.wg.Go(tr.steady)
	tr.wg.Go(tr.recentlyEnded)
	c.t.Cleanup(tr.halt) // a test that failed early: before nginx and the replicas stop
	return tr
}

// halt stops the traffic and waits for it: every request sent is answered
// and recorded.
func (tr *chaosTraffic) halt() {
	tr.halted.Do(func() { close(tr.stop) })
	tr.wg.Wait()
}

// pause waits d, and reports whether the traffic goes on.
func (tr *chaosTraffic) pause(d time.Duration) bool {
	select {
	case <-tr.stop:
		return false
	case <-time.After(d):
		return true
	}
}

// ask asks every target about each credential (nil ones left out), and
// reports whether the traffic goes on.
func (tr *chaosTraffic) ask(creds ...*chaosCred) bool {
	for _, cr := range creds {
		if cr == nil {
			continue
		}
		for _, via := range tr.c.vias() {
			tr.c.probe(cr, via, false)
			if !tr.pause(chaosPause) {
				return false
			}
		}
	}
	return true
}

// steady asks about bob's and carol's credentials, and makes a counted
// check of bob's, whose "budget none" admits it even with the store down.
func (tr *chaosTraffic) steady() {
	for i := 0; tr.ask(tr.c.steady...); i++ {
		tr.c.probe(tr.c.steady[i%2], "nginx", true) // bob's cookie, then his token
	}
}

// recentlyEnded asks about the credentials ended about a second ago.
func (tr *chaosTraffic) recentlyEnded() {
	for {
		creds := tr.c.l.toProbe(time.Now())
		if !tr.ask(creds...) || len(creds) == 0 && !tr.pause(20*time.Millisecond) {
			return
		}
	}
}

// chaosWorker is one person of the traffic, signing in and out.
type chaosWorker struct {
	tr    *chaosTraffic
	c     *chaosRun
	email string
	i     int // which worker
	n     int // sign-ins tried
}

// run repeats the worker's round until the traffic stops.
func (w *chaosWorker) run() {
	for w.tr.pause(chaosPause) {
		w.round()
	}
}

// round signs in, makes a token, uses both, ends both and asks about them
// once ended.
func (w *chaosWorker) round() {
	sess := w.signIn()
	if sess == nil {
		return
	}
	tok := w.makeToken(sess)
	if !w.use(useRounds, sess, tok) {
		return
	}
	if tok != nil {
		w.until(func(r *replica) chaosChange { return w.ended(w.c.endToken(r, sess, tok), tok) })
	}
	w.until(func(r *replica) chaosChange { return w.ended(w.c.endSession(r, sess, w.n%2 == 0), sess) })
	w.use(afterRounds, sess, tok)
}

// use makes rounds of checks with the credentials: each at every target,
// then a counted check through nginx. It reports whether the traffic goes on.
func (w *chaosWorker) use(rounds int, sess, tok *chaosCred) bool {
	for i := range rounds {
		if !w.tr.ask(sess, tok) {
			return false
		}
		cr := sess
		if i%2 == 1 && tok != nil {
			cr = tok
		}
		w.c.probe(cr, "nginx", true)
	}
	return true
}

// signIn signs the worker in, from an address of its own each time (as
// many people would: doorman limits sign-ins per address).
func (w *chaosWorker) signIn() *chaosCred {
	var sess *chaosCred
	w.until(func(r *replica) chaosChange {
		w.n++
		cookie, ch := w.c.signIn(r, w.email, fmt.Sprintf("10.%d.%d.%d", w.i, w.n/250%250, w.n%250+1))
		if ch.outcome == "done" {
			sess = w.c.l.addCred("cookie", w.email, cookie, r.name, ch.lastSent, ch.got)
		}
		return ch
	})
	return sess
}

// makeToken makes a token with sess.
func (w *chaosWorker) makeToken(sess *chaosCred) *chaosCred {
	var tok *chaosCred
	w.until(func(r *replica) chaosChange {
		t, ch := w.c.makeToken(r, sess, "", "gpt4")
		if ch.outcome == "done" {
			tok = w.c.l.addCred("token", w.email, t, r.name, ch.lastSent, ch.got)
		}
		return ch
	})
	return tok
}

// ended records what a change ending cr came to: acknowledged, or unsure.
// A logout is done whether or not doorman could read the session: at a
// replica without the key that signed the cookie it ends nothing ("not
// seen": cr stays live), and at one still starting (not ready) it may not
// have ended it either (cr is unsure).
func (w *chaosWorker) ended(ch chaosChange, cr *chaosCred) chaosChange {
	switch {
	case ch.outcome == "done" && cr.kind == "cookie" && !w.c.l.canRead(cr, ch.at, ch.lastSent):
		ch.outcome = "not seen"
	case ch.outcome == "done" && ch.kind == "logout" && w.c.l.starting(ch.at, ch.sent, ch.got):
		ch.outcome, ch.unsure = "not ready", true
		w.c.l.endUnsure(cr, ch.sent)
	case ch.outcome == "done":
		w.c.l.endAcked(cr, ch.at, ch.sent, ch.got)
	case ch.unsure:
		w.c.l.endUnsure(cr, ch.sent)
	}
	return ch
}

// until tries step at a replica picked at random until it is done, its
// outcome is unsure, the traffic stops or changeGiveUp passes; it records
// every attempt.
func (w *chaosWorker) until(step func(*replica) chaosChange) {
	for start := time.Now(); time.Since(start) < changeGiveUp; {
		ch := step(w.c.rs[rand.IntN(len(w.c.rs))])
		w.c.l.change(ch)
		if ch.outcome == "done" || ch.outcome == "not seen" || ch.unsure || !w.tr.pause(changeRetry) {
			return
		}
	}
}
