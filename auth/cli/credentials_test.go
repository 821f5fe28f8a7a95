package cli

// The credentials file against several logins at once.

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentLogins: logins to several doormans that finish at the same
// moment each keep their token: none overwrites another's.
func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	const n = 12
	servers := make([]*fakeDoorman, n)
	for i := range servers {
		servers[i] = newFakeDoorman(t)
	}
	e, path := testEnv(t, time.Now)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, f := range servers {
		wg.Go(func() {
			e := e
			e.out = &strings.Builder{} // each login its own terminal
			errs[i] = run(t.Context(), []string{"login", f.URL, "--list", "gpt4"}, e)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("login %d = %v", i, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("credentials file after %d logins at once: %v\n%s", n, err, b)
	}
	for _, f := range servers {
		if _, ok := c.Tokens[f.URL]; !ok {
			t.Errorf("the token for %s was lost: %d of %d saved", f.URL, len(c.Tokens), n)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file after concurrent logins: %v %v, want 0600", fi, err)
	}
}
