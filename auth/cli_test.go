package auth

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"doorman/auth/cli"
)

var printedCode = regexp.MustCompile(`code ([A-Z]{4}-[A-Z]{4})`)

// TestCLILoginAgainstDoorman: doorman login against an in-process doorman,
// approved by alice at /device; doorman token prints a token /auth
// accepts on the lists asked for; doorman logout ends it there.
func TestCLILoginAgainstDoorman(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"XDG_CONFIG_HOME": dir}[k] }
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(t.Context(), []string{"login", td.URL, "--list", "gpt4", "--name", "my laptop"}, getenv, out, out)
	}()
	waitFor(t, 5*time.Second, "login printing the code", func() bool { return printedCode.MatchString(out.String()) })
	code := printedCode.FindStringSubmatch(out.String())[1]
	if !strings.Contains(out.String(), devicePublicURL+"/device?code="+code) {
		t.Errorf("login printed %q, want the verification URL", out.String())
	}
	alice := mintSession(t, td.h, "alice@example.com")
	if resp, body := decide(t, td, alice, code, "approve"); resp.StatusCode != http.StatusOK {
		t.Fatalf("approve = %d:\n%s", resp.StatusCode, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("doorman login = %v; printed %q", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("doorman login did not finish")
	}
	path := filepath.Join(dir, "doorman", "credentials.json")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file: %v, %v; want mode 0600", fi, err)
	}
	var tok strings.Builder
	if err := cli.Run(t.Context(), []string{"token", td.URL}, getenv, &tok, &tok); err != nil {
		t.Fatalf("doorman token = %v", err)
	}
	bearer := "Bearer " + strings.TrimSpace(tok.String())
	waitFor(t, time.Second, "the token admitted", func() bool {
		return authWith(t, td, "gpt4", "Authorization", bearer, nil).StatusCode == http.StatusOK
	})
	if err := cli.Run(t.Context(), []string{"logout", td.URL}, getenv, &tok, &tok); err != nil {
		t.Fatalf("doorman logout = %v", err)
	}
	waitFor(t, time.Second, "the token refused after logout", func() bool {
		return authWith(t, td, "gpt4", "Authorization", bearer, nil).StatusCode == http.StatusUnauthorized
	})
	if err := cli.Run(t.Context(), []string{"token"}, getenv, &tok, &tok); err == nil {
		t.Error("doorman token after logout = nil, want an error")
	}
	if !strings.Contains(td.logs.String(), `"name":"my laptop"`) {
		t.Errorf("no token created log line with the name asked for:\n%s", td.logs.String())
	}
}
