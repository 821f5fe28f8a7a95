package nginx_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// chaosCred is one credential the chaos traffic uses: a session cookie or
// a personal token.
type chaosCred struct {
	kind  string    // "cookie" or "token"
	owner string    // its email
	value string    // "doorman=…" for a cookie; the token itself
	by    string    // the replica that made it
	made  time.Time // when its making was acknowledged
	gen   int       // cookies: the key generation that signed it (timeline.genAt)

	// Guarded by the ledger's mutex:
	endSent time.Time // when the end that was acknowledged was sent
	endedAt time.Time // when it was acknowledged; zero while live
	endedBy string    // the replica that acknowledged it
	unsure  time.Time // when an end whose outcome is unsure was sent; zero if none
}

// chaosAnswer is one /auth answer (or its failure), directly from a
// replica or through nginx.
type chaosAnswer struct {
	c         *chaosCred
	via       string // "nginx" or the replica asked
	by        string // the replica that answered ("" when none did)
	retried   bool   // nginx asked more than one replica
	counted   bool   // a counted check (cost=1 on gpt4)
	sent, got time.Time
	code      int
	refusal   string // X-Doorman-Refusal
	status    string // X-Auth-Status: nginx's $upstream_status
	err       error
}

// chaosChange is one state change the traffic asked a replica for.
type chaosChange struct {
	kind      string     // "sign-in", "token made", "token ended", "logout", "session ended"
	at        string     // the replica asked
	owner     string     // whose
	c         *chaosCred // the session it was made with, or the credential it ends
	sent, got time.Time
	lastSent  time.Time // when its last request was sent
	// outcome is "done", "unavailable" (the 503 page), "down" (no
	// answer), "refused", "rate limited", "failed", or for a logout
	// answered as done, "not seen" (by a replica without the cookie's
	// key: it ends nothing) or "not ready" (by a replica starting: it may
	// end nothing).
	outcome string
	note    string
	unsure  bool // it may have reached doorman, and its answer was lost
}

// budgetSpend is what one person's counted checks of one day came to.
type budgetSpend struct {
	admitted int64 // answered 200
	lost     int64 // never answered by doorman: perhaps counted
	retried  int64 // nginx asked a second replica: the first may have counted
	unsure   int64 // refused as unavailable as the store went away: perhaps counted
	ceiling  bool  // a refusal at the ceiling was seen
}

// ledger keeps every credential, answer and change of a chaos run, and the
// timeline of its faults, and judges the answers once the windows they
// fall in are closed. It is safe for concurrent use.
type ledger struct {
	mu       sync.Mutex
	tl       timeline
	creds    []*chaosCred
	ended    []*chaosCred // in the order their ends were acknowledged
	answers  []chaosAnswer
	changes  []chaosChange
	limits   map[string]int64 // each person's budget on gpt4 per day; absent: none
	spent    map[string]*budgetSpend
	unsure   map[string]int // "owner kind" → changes whose answer was lost
	undone   []chaosChange  // the first changes not done, for reports
	stats    chaosStats
	notes    []string // the first failures, for the report
	failures int
	sole     bool // one doorman: nginx's 5xx while it is down are "sidecar down"
}

// newLedger returns an empty ledger; carol starts on the lists.
func newLedger(limits map[string]int64, sole bool) *ledger {
	l := &ledger{limits: limits, spent: map[string]*budgetSpend{}, unsure: map[string]int{}, stats: newChaosStats(), sole: sole}
	l.tl = timeline{down: map[string][]downtime{}, gens: map[string][]keyStart{}, carolOn: true}
	return l
}

// addCred records a credential made by replica by, asked at sent and
// acknowledged at made.
func (l *ledger) addCred(kind, owner, value, by string, sent, made time.Time) *chaosCred {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &chaosCred{kind: kind, owner: owner, value: value, by: by, made: made, gen: l.tl.genAt(by, sent)}
	l.creds = append(l.creds, c)
	return c
}

// endAcked records that by acknowledged at at the end of c sent at sent.
func (l *ledger) endAcked(c *chaosCred, by string, sent, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.endSent, c.endedAt, c.endedBy = sent, at, by
	l.ended = append(l.ended, c)
}

// endUnsure records that an end of c sent at sent has an unsure outcome.
func (l *ledger) endUnsure(c *chaosCred, sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.unsure = sent
}

// toProbe returns the ended credentials worth asking about now: those
// ended between 0.8 and 2.5 s ago, across the propagation bound, and one
// older one at random.
func (l *ledger) toProbe(now time.Time) []*chaosCred {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*chaosCred
	for i := len(l.ended) - 1; i >= 0; i-- {
		age := now.Sub(l.ended[i].endedAt)
		if age > 2500*time.Millisecond {
			break
		}
		if age >= 800*time.Millisecond {
			out = append(out, l.ended[i])
		}
	}
	if len(l.ended) > 0 {
		out = append(out, l.ended[rand.IntN(len(l.ended))])
	}
	return out
}

// record keeps an answer for judging.
func (l *ledger) record(a chaosAnswer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers = append(l.answers, a)
}

// change keeps a state change for judging.
func (l *ledger) change(ch chaosChange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, ch)
	if ch.unsure {
		l.unsure[ch.owner+" "+ch.kind]++
	}
}

// fail counts a failure and keeps its note among the first few. l.mu is held.
func (l *ledger) fail(format string, args ...any) {
	l.failures++
	if len(l.notes) < 20 {
		l.notes = append(l.notes, fmt.Sprintf(format, args...))
	}
}

// judge judges every answer and change received before cutoff, by the
// timeline as it stands, and forgets them. Call it when no window is open.
func (l *ledger) judge(cutoff time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := l.answers[:0]
	for _, a := range l.answers {
		if a.got.After(cutoff) {
			keep = append(keep, a)
			continue
		}
		l.judgeAnswer(&a)
	}
	l.answers = keep
	keepCh := l.changes[:0]
	for _, ch := range l.changes {
		if ch.got.After(cutoff) {
			keepCh = append(keepCh, ch)
			continue
		}
		l.judgeChange(ch)
	}
	l.changes = keepCh
}

// since formats t as the run's clock shows it, for notes.
func since(t time.Time) string { return t.Format("15:04:05.000") }

// lastOf returns the last of nginx's upstream values ("127.0.0.1:1,
// 127.0.0.1:2" for a retry; " : " between internal redirects), and
// whether there were several.
func lastOf(v string) (last string, several bool) {
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	parts = slices.DeleteFunc(parts, func(p string) bool { return p == ":" })
	if len(parts) == 0 {
		return "", false
	}
	return parts[len(parts)-1], len(parts) > 1
}

// doormanAnswered5xx reports whether any attempt in nginx's
// $upstream_status is a 5xx doorman sent, not nginx's own 502 or 504 for
// a replica it could not reach.
func doormanAnswered5xx(status string) bool {
	for _, s := range strings.FieldsFunc(status, func(r rune) bool { return r == ',' || r == ' ' || r == ':' }) {
		if n, err := strconv.Atoi(s); err == nil && n >= 500 && n != http.StatusBadGateway && n != http.StatusGatewayTimeout {
			return true
		}
	}
	return false
}
