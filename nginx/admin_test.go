package nginx_test

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorman/auth/store/redistest"
)

// TestAdminRevokeWhileRunning: `doorman revoke EMAIL`, run beside doorman
// on the same store — the SQLite file of one doorman, or the Redis of two
// replicas — ends every session of that person, and each running doorman
// refuses them within a second; other people's sessions go on.
func TestAdminRevokeWhileRunning(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			storeURL := filepath.Join(t.TempDir(), "doorman.db")
			if kind == "redis" {
				storeURL = redistest.Start(t).URL()
			}
			s := newReplicaSet(t, storeURL)
			replicas := []*replica{s.start(t, "A")}
			if kind == "redis" {
				replicas = append(replicas, s.start(t, "B"))
			}
			s.startNginx(t, replicas...)
			alice1, alice2 := s.signIn(t, replicas[0].sidecar, alice, ""), s.signIn(t, replicas[len(replicas)-1].sidecar, alice, "")
			kept := s.signIn(t, replicas[0].sidecar, bob, "")
			cmd := exec.Command(doormanBin, "revoke", "--store="+storeURL, strings.ToUpper(alice))
			cmd.Env = cleanEnv()
			out, err := cmd.CombinedOutput()
			answered := time.Now()
			if err != nil || !strings.Contains(string(out), "revoked 2 sessions and 0 tokens of "+alice) {
				t.Fatalf("doorman revoke %s: %v, %q; want exit 0 and 2 sessions revoked", alice, err, out)
			}
			for _, cookie := range []string{alice1, alice2} {
				took := s.whenRefused(t, replicas, cookie, answered, time.Second)
				t.Logf("%s: refused after %s", kind, formatTimes(took))
			}
			for _, r := range replicas {
				s.wantAuth(t, r, "bob's session after alice was revoked", kept, http.StatusOK)
			}
			s.wantLiveSessions(t, alice, 0)
			s.wantLiveSessions(t, bob, 1)
		})
	}
}
