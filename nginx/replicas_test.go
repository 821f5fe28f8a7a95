package nginx_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"doorman/auth/store/redistest"
)

// propagationBound is how soon a session ended at one replica is refused
// by every replica (README "Several replicas").
const propagationBound = time.Second

// TestReplicasShareSessions runs two doorman replicas on one Redis behind
// one nginx: a session signed in at one is accepted by the other at once,
// and one ended at one is refused by both, directly and through nginx,
// within propagationBound.
func TestReplicasShareSessions(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	s := newReplicaSet(t, redis.URL())
	a, b := s.start(t, "A"), s.start(t, "B")
	s.startNginx(t, a, b)
	t.Run("signed in at A, accepted by B at once", func(t *testing.T) {
		cookie := s.signIn(t, a.sidecar, alice, "")
		s.wantAuth(t, b, "session signed in at A", cookie, http.StatusOK)
		s.wantThroughNginx(t, []*replica{a, b}, cookie, http.StatusOK)
	})
	t.Run("logged out at B, refused everywhere", func(t *testing.T) {
		kept := s.signIn(t, b.sidecar, bob, "")
		var worst time.Duration
		for round := range 3 {
			ended := s.signIn(t, a.sidecar, alice, "")
			s.wantAuth(t, b, "session signed in at A", ended, http.StatusOK)
			sent := time.Now()
			s.mustLogout(t, b, ended)
			answered := time.Now()
			took := s.whenRefused(t, []*replica{a, b}, ended, answered, propagationBound)
			t.Logf("round %d: logout at B answered in %v; then refused by %s", round,
				answered.Sub(sent).Round(time.Microsecond), formatTimes(took))
			for _, d := range took {
				worst = max(worst, d)
			}
			s.wantThroughNginx(t, []*replica{a, b}, ended, http.StatusUnauthorized)
			for _, r := range []*replica{a, b} {
				s.wantAuth(t, r, "ended session, later", ended, http.StatusUnauthorized)
				s.wantAuth(t, r, "another session", kept, http.StatusOK)
			}
		}
		t.Logf("a logout at B reached every replica, directly and through nginx, within %v of its answer (bound %v)",
			worst.Round(time.Microsecond), propagationBound)
	})
}

// whenRefused asks each replica directly, and nginx until it has asked
// each, for cookie every few milliseconds until all refuse it (401), and
// returns how long after since each first did. It fails the test for any
// that does not within limit, and for any answer but 200 or 401.
func (s *replicaSet) whenRefused(t *testing.T, rs []*replica, cookie string, since time.Time, limit time.Duration) map[string]time.Duration {
	t.Helper()
	took := map[string]time.Duration{}
	names := map[string]string{} // upstream address → "nginx→" + replica name
	for _, r := range rs {
		names[r.addr] = "nginx→" + r.name
	}
	for len(took) < 2*len(rs) && time.Since(since) <= limit {
		for _, r := range rs {
			s.noteRefused(t, took, r.name, r.authURL(), cookie, since, nil)
			s.noteRefused(t, took, "nginx", s.url("/app"), cookie, since, names)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if len(took) < 2*len(rs) {
		t.Fatalf("ended session refused by %s only, not everywhere within %v", formatTimes(took), limit)
	}
	return took
}

// noteRefused asks url once and, if it refuses cookie for the first time,
// records when under name (for nginx, the name of the doorman it asked).
func (s *replicaSet) noteRefused(t *testing.T, took map[string]time.Duration, name, url, cookie string, since time.Time, upstreams map[string]string) {
	t.Helper()
	code, upstream, err := s.probe(t.Context(), url, cookie)
	at := time.Since(since)
	if err != nil || code != http.StatusOK && code != http.StatusUnauthorized {
		t.Fatalf("GET %s (%s) = %d, %v; want 200 or 401", url, name, code, err)
	}
	if upstreams != nil {
		if name = upstreams[upstream]; name == "" {
			t.Fatalf("GET %s: X-Auth-Upstream %q, want one replica's address", url, upstream)
		}
	}
	if _, seen := took[name]; code == http.StatusUnauthorized && !seen {
		took[name] = at
	}
}

// wantThroughNginx asks nginx for /app with cookie until each replica has
// answered it once, and fails unless every answer is want.
func (s *replicaSet) wantThroughNginx(t *testing.T, rs []*replica, cookie string, want int) {
	t.Helper()
	seen := map[string]bool{}
	for range 10 * len(rs) {
		code, upstream, err := s.probe(t.Context(), s.url("/app"), cookie)
		if err != nil || code != want {
			t.Errorf("nginx /app (via %q) = %d, %v; want %d", upstream, code, err, want)
			return
		}
		if seen[upstream] = true; len(seen) == len(rs) {
			break
		}
	}
	for _, r := range rs {
		if !seen[r.addr] {
			t.Errorf("nginx never asked %s (%s): asked %v", r.name, r.addr, seen)
		}
	}
}

// formatTimes lists measured times by name, in name order.
func formatTimes(took map[string]time.Duration) string {
	var out []string
	for name, d := range took {
		out = append(out, fmt.Sprintf("%s %v", name, d.Round(time.Microsecond)))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}
