package nginx_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	loadWorkers = 4                // goroutines asking /auth
	loadLimit   = 30 * time.Second // no load runs longer
	loadMax     = 100_000          // requests per worker at most
	// slowBound is the slowest /auth answer allowed: one that waited on
	// the store would take its timeout, a second.
	slowBound = time.Second
)

// authLoad is /auth traffic while the store comes and goes: a live
// session that must be let in every time and an ended one that must be
// refused every time, each asked of nginx and of every replica directly,
// and /readyz, which must stay 200.
type authLoad struct {
	s       *replicaSet
	targets []string // nginx's /app and each replica's /auth
	stop    chan struct{}
	halted  sync.Once // closes stop
	wg      sync.WaitGroup
	start   time.Time

	answers, viaNginx, wrong, serverErrors, failed atomic.Int64
	readyz, notReady                               atomic.Int64
	slowest                                        atomic.Int64 // nanoseconds

	mu    sync.Mutex
	notes []string // the first few wrong answers; guarded by mu
}

// startLoad starts the traffic; finish stops it and checks it.
func (s *replicaSet) startLoad(t *testing.T, rs []*replica, live, ended string) *authLoad {
	t.Helper()
	l := &authLoad{s: s, targets: []string{s.url("/app")}, stop: make(chan struct{}), start: time.Now()}
	for _, r := range rs {
		l.targets = append(l.targets, r.authURL())
	}
	ctx := t.Context()
	for i := range loadWorkers {
		cookie, want := live, http.StatusOK
		if i%2 == 1 {
			cookie, want = ended, http.StatusUnauthorized
		}
		l.wg.Go(func() { l.auth(ctx, i, cookie, want) })
	}
	l.wg.Go(func() { l.ready(ctx, rs) })
	t.Cleanup(l.halt) // a test that failed early: before nginx and the replicas stop
	return l
}

// halt stops the load and waits for it.
func (l *authLoad) halt() {
	l.halted.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// running reports whether the load should go on, pausing briefly so that
// the replicas, nginx and Redis share the machine's cores with it.
func (l *authLoad) running(i int) bool {
	select {
	case <-l.stop:
		return false
	case <-time.After(time.Millisecond):
		return i < loadMax && time.Since(l.start) < loadLimit
	}
}

// auth asks the targets in turn for cookie and counts the answers.
func (l *authLoad) auth(ctx context.Context, worker int, cookie string, want int) {
	for i := 0; l.running(i); i++ {
		url := l.targets[(i+worker)%len(l.targets)]
		sent := time.Now()
		code, upstream, err := l.s.probe(ctx, url, cookie)
		took := time.Since(sent)
		storeMax(&l.slowest, int64(took))
		switch {
		case err != nil:
			l.failed.Add(1)
			l.note("%s at +%v: %v", url, sent.Sub(l.start).Round(time.Millisecond), err)
			continue
		case code >= 500:
			l.serverErrors.Add(1)
		}
		if l.answers.Add(1); upstream != "" {
			l.viaNginx.Add(1)
		}
		if code != want {
			l.wrong.Add(1)
			l.note("%s (via %q) at +%v: %d, want %d", url, upstream, sent.Sub(l.start).Round(time.Millisecond), code, want)
		}
	}
}

// ready asks each replica's /readyz every 20 ms.
func (l *authLoad) ready(ctx context.Context, rs []*replica) {
	for i := 0; l.running(i); i++ {
		time.Sleep(20 * time.Millisecond)
		r := rs[i%len(rs)]
		code, _, err := l.s.probe(ctx, "http://"+r.addr+"/readyz", "")
		if l.readyz.Add(1); err != nil || code != http.StatusOK {
			l.notReady.Add(1)
			l.note("%s /readyz at +%v: %d, %v", r.name, time.Since(l.start).Round(time.Millisecond), code, err)
		}
	}
}

// note keeps the first few failures for the report.
func (l *authLoad) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.notes) < 10 {
		l.notes = append(l.notes, fmt.Sprintf(format, args...))
	}
}

// finish stops the load, logs its counts and fails the test for any
// wrong answer, 5xx, failed request, slow answer or /readyz not 200.
func (l *authLoad) finish(t *testing.T) {
	t.Helper()
	l.halt()
	slowest := time.Duration(l.slowest.Load())
	t.Logf("load for %v: %d /auth answers (%d through nginx), %d wrong, %d 5xx, %d failed; slowest %v; /readyz %d answers, %d not 200",
		time.Since(l.start).Round(time.Millisecond), l.answers.Load(), l.viaNginx.Load(), l.wrong.Load(), l.serverErrors.Load(),
		l.failed.Load(), slowest.Round(time.Microsecond), l.readyz.Load(), l.notReady.Load())
	if l.wrong.Load()+l.serverErrors.Load()+l.failed.Load()+l.notReady.Load() > 0 {
		t.Errorf("wrong answers, 5xx, failed requests or /readyz not 200 under the outage; the first:\n%v", l.notes)
	}
	if slowest > slowBound {
		t.Errorf("slowest /auth answer took %v, want under %v: /auth waited on the store", slowest, slowBound)
	}
	if l.answers.Load() < 1000 {
		t.Errorf("only %d /auth answers: the load did not run", l.answers.Load())
	}
}

// storeMax raises m to v if v is larger.
func storeMax(m *atomic.Int64, v int64) {
	for old := m.Load(); v > old; old = m.Load() {
		if m.CompareAndSwap(old, v) {
			return
		}
	}
}
