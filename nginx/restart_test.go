package nginx_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"doorman/auth/store/redistest"
)

// TestEndedSessionsSurviveRestarts: a session ended before doorman or its
// store went down stays ended after they come back, from doorman's very
// first answer, and a session not ended goes on working.
func TestEndedSessionsSurviveRestarts(t *testing.T) {
	t.Parallel()
	t.Run("SQLite, doorman killed", func(t *testing.T) {
		t.Parallel()
		s := newReplicaSet(t, filepath.Join(t.TempDir(), "doorman.db"))
		d := s.start(t, "doorman")
		ended, kept := s.endOneOfTwo(t, d)
		d.kill(t)
		s.restartRefusing(t, d, ended, kept)
	})
	t.Run("Redis with AOF killed, then doorman", func(t *testing.T) {
		t.Parallel()
		redis := redistest.Start(t, redistest.AppendOnly())
		s := newReplicaSet(t, redis.URL())
		d := s.start(t, "doorman")
		ended, kept := s.endOneOfTwo(t, d)
		redis.Kill(t) // appendfsync always: what Redis acknowledged is on disk
		redis.Restart(t)
		s.wantAuth(t, d, "ended session, Redis restarted", ended, http.StatusUnauthorized)
		s.wantAuth(t, d, "live session, Redis restarted", kept, http.StatusOK)
		d.kill(t)
		s.restartRefusing(t, d, ended, kept)
	})
}

// endOneOfTwo signs alice in twice at d and logs the first session out,
// keeping a copy of its cookie. It returns both cookies.
func (s *replicaSet) endOneOfTwo(t *testing.T, d *replica) (ended, kept string) {
	t.Helper()
	ended, kept = s.signIn(t, d.sidecar, alice, ""), s.signIn(t, d.sidecar, alice, "")
	s.mustLogout(t, d, ended)
	s.wantAuth(t, d, "ended session", ended, http.StatusUnauthorized)
	s.wantAuth(t, d, "live session", kept, http.StatusOK)
	return ended, kept
}

// restartRefusing starts d again on its store and asks it for ended from
// the moment it accepts connections until it is ready: every answer must
// be 401. Then kept must be 200 and ended still 401.
func (s *replicaSet) restartRefusing(t *testing.T, d *replica, ended, kept string) {
	t.Helper()
	s.run(t, d)
	answers, deadline := 0, time.Now().Add(10*time.Second)
	for ready := false; !ready; {
		if time.Now().After(deadline) {
			t.Fatalf("restarted %s not ready within 10s", d.name)
		}
		d.proc.checkRunning(t)
		code, _, err := s.probe(t.Context(), d.authURL(), ended)
		if err != nil {
			time.Sleep(2 * time.Millisecond) // not listening yet
			continue
		}
		if answers++; code != http.StatusUnauthorized {
			t.Fatalf("restarted %s /auth (ended session), answer %d = %d, want 401", d.name, answers, code)
		}
		code, _, err = s.probe(t.Context(), "http://"+d.addr+"/readyz", "")
		ready = err == nil && code == http.StatusOK
	}
	t.Logf("restarted %s refused the ended session in all %d answers before it was ready", d.name, answers)
	s.wantAuth(t, d, "live session, after the restart", kept, http.StatusOK)
	s.wantAuth(t, d, "ended session, after the restart", ended, http.StatusUnauthorized)
}
