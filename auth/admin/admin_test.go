package admin_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorman/auth/admin"
	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

// Fixed times, so that tables come out the same on every run: all the
// fixture's sessions are live until 2099 except carol's.
var (
	signIn  = time.Date(2025, 1, 2, 3, 4, 5, 678e6, time.UTC)
	farEnd  = time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)
	pastEnd = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
)

// fixture returns the sessions the tests start from: alice has two live
// sessions, bob one, carol's has expired and dave's was ended.
func fixture() []store.Session {
	return []store.Session{
		{ID: "aliceOneSessionIdHash", Email: "alice@example.com", Created: signIn, Expires: farEnd,
			LastSeen: signIn.Add(30*time.Hour + 15*time.Second), IP: "203.0.113.7",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"},
		{ID: "bob0SessionIdHash", Email: "bob@example.com", Created: signIn.Add(time.Hour), Expires: farEnd,
			UserAgent: "curl/8.5.0"},
		{ID: "aliceTwoSessionIdHash", Email: "alice@example.com", Created: signIn.Add(48 * time.Hour), Expires: farEnd,
			IP: "2001:db8::1", UserAgent: "Evil\x1b[2J\tBrowser"},
		{ID: "carolExpiredHash", Email: "carol@example.com", Created: signIn, Expires: pastEnd, UserAgent: "old"},
		{ID: "daveEndedHash", Email: "dave@example.com", Created: signIn, Expires: farEnd, UserAgent: "gone"},
	}
}

// tokenFixture returns the tokens the tests start from: alice has two
// live tokens (the first used), bob one, carol's has expired and dave's
// is ended by mustFill.
func tokenFixture() []store.Token {
	return []store.Token{
		{ID: "aliceCiTokenHash", Email: "alice@example.com", Name: "ci", Prefix: "doorman_Ab12",
			Lists: []string{"gpt4", ""}, Created: signIn, Expires: farEnd},
		{ID: "bobTokenHash", Email: "bob@example.com", Name: "build bot", Prefix: "doorman_Bo0b",
			Lists: []string{""}, Created: signIn.Add(time.Hour), Expires: farEnd},
		{ID: "aliceLaptopTokenHash", Email: "alice@example.com", Name: "laptop", Prefix: "doorman_Cd34",
			Lists: []string{"gpt4"}, Created: signIn.Add(48 * time.Hour), Expires: farEnd},
		{ID: "carolTokenHash", Email: "carol@example.com", Name: "old", Prefix: "doorman_Ca01",
			Lists: []string{""}, Created: signIn, Expires: pastEnd},
		{ID: "daveTokenHash", Email: "dave@example.com", Name: "gone", Prefix: "doorman_Da01",
			Lists: []string{""}, Created: signIn, Expires: farEnd},
	}
}

// forEachStore runs test against an empty SQLite file and an empty
// redis-server, each given by its --store address.
func forEachStore(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, filepath.Join(t.TempDir(), "doorman.db"))
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		test(t, redistest.Start(t).URL())
	})
}

// mustOpen opens the store at dsn, closed when the test ends.
func mustOpen(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), dsn, store.Options{})
	if err != nil {
		t.Fatalf("store.Open(%q) = %v", dsn, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// mustFill records the fixtures in the store at dsn and ends dave's
// session and token, through a handle of its own, and returns that handle.
func mustFill(t *testing.T, dsn string) store.Store {
	t.Helper()
	st := mustOpen(t, dsn)
	for _, s := range fixture() {
		if err := st.CreateSession(t.Context(), s); err != nil {
			t.Fatalf("CreateSession(%s) = %v", s.ID, err)
		}
	}
	if _, err := st.EndSession(t.Context(), "", "daveEndedHash", store.ReasonUser, time.Now()); err != nil {
		t.Fatalf("EndSession(dave) = %v", err)
	}
	for _, tok := range tokenFixture() {
		if err := st.CreateToken(t.Context(), tok); err != nil {
			t.Fatalf("CreateToken(%s) = %v", tok.ID, err)
		}
	}
	if _, err := st.EndToken(t.Context(), "", "daveTokenHash", store.ReasonUser, time.Now()); err != nil {
		t.Fatalf("EndToken(dave) = %v", err)
	}
	if err := st.TouchTokens(t.Context(), map[string]time.Time{"aliceCiTokenHash": signIn.Add(26*time.Hour + 59*time.Second)}); err != nil {
		t.Fatalf("TouchTokens(alice's ci) = %v", err)
	}
	return st
}

// runAdmin runs admin.Run with args, DOORMAN_STORE set to dsn, and returns
// what it wrote to stdout. It fails the test if anything went to stderr.
func runAdmin(t *testing.T, dsn string, args ...string) (string, error) {
	t.Helper()
	env := map[string]string{"DOORMAN_STORE": dsn}
	var stdout, stderr bytes.Buffer
	err := admin.Run(t.Context(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Errorf("Run(%q) wrote to stderr: %q", args, stderr.String())
	}
	return stdout.String(), err
}

// runUsage runs admin.RunAt at usageNow with args and the environment
// env, and returns what it wrote.
func runUsage(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := admin.RunAt(t.Context(), args, func(k string) string { return env[k] }, &stdout, usageNow)
	return stdout.String(), err
}

// mustWriteFile writes text to a new file in a temporary directory and
// returns its path.
func mustWriteFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIsCommand(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"sessions": true, "revoke": true, "usage": true, "serve": false, "--json": false, "": false} {
		if got := admin.IsCommand(name); got != want {
			t.Errorf("IsCommand(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	dsn := filepath.Join(t.TempDir(), "doorman.db")
	mustOpen(t, dsn)
	missing := filepath.Join(t.TempDir(), "elsewhere.db")
	wl := mustWriteFile(t, "whitelist.txt", usageWhitelist)
	noWL := filepath.Join(t.TempDir(), "whitelist.txt")
	tests := []struct {
		name string
		args []string
		want []string // in the error, in this order
	}{
		{"no command", nil, []string{"no admin command given", "doorman sessions --help"}},
		{"unknown command", []string{"sessionz"}, []string{`unknown command "sessionz"`, "sessions, tokens, revoke and usage"}},
		{"unknown flag", []string{"sessions", "--jsn"}, []string{"sessions: unknown flag --jsn", "(doorman sessions --help)"}},
		{"unknown flag after email", []string{"revoke", "a@example.com", "-all"}, []string{"revoke: unknown flag --all", "(doorman revoke --help)"}},
		{"store without value", []string{"sessions", "--store"}, []string{"sessions: --store needs a value (doorman sessions --help)"}},
		{"empty store", []string{"sessions", "--store="}, []string{"--store (DOORMAN_STORE) is empty"}},
		{"bad json value", []string{"sessions", "--json=maybe"}, []string{"sessions: ", "json", "(doorman sessions --help)"}},
		{"missing email", []string{"revoke"}, []string{"revoke: missing EMAIL", "(doorman revoke --help)"}},
		{"missing email, flags only", []string{"revoke", "--json"}, []string{"revoke: missing EMAIL"}},
		{"extra argument", []string{"revoke", "a@example.com", "b@example.com"}, []string{`unexpected argument "b@example.com"`, "(doorman revoke --help)"}},
		{"extra argument after --", []string{"sessions", "a@example.com", "--", "--json"}, []string{`unexpected argument "--json"`}},
		{"not an address", []string{"revoke", "alice"}, []string{`invalid EMAIL "alice"`, "(doorman revoke --help)"}},
		{"two @", []string{"sessions", "a@b@example.com"}, []string{`invalid EMAIL "a@b@example.com"`}},
		{"space", []string{"revoke", "alice @example.com"}, []string{"invalid EMAIL"}},
		{"non-ASCII", []string{"revoke", "ålice@example.com"}, []string{"invalid EMAIL"}},
		{"missing SQLite file", []string{"sessions", "--store", missing}, []string{"sessions: --store (DOORMAN_STORE)", missing, "does not exist"}},
		{"bad window", []string{"usage", "--whitelist", wl, "--window", "fortnight"},
			[]string{"usage: --window: unknown unit", "fortnight", "(doorman usage --help)"}},
		{"window in capitals", []string{"usage", "--whitelist", wl, "--window=Day"}, []string{"usage: --window: unknown unit"}},
		{"window without value", []string{"usage", "--whitelist", wl, "--window"}, []string{"usage: --window needs a value"}},
		{"bad time zone", []string{"usage", "--whitelist", wl, "--budget-timezone", "Mars/Olympus_Mons"},
			[]string{"usage: --budget-timezone (DOORMAN_BUDGET_TIMEZONE): unknown time zone Mars/Olympus_Mons", "(doorman usage --help)"}},
		{"missing whitelist", []string{"usage", "--whitelist", noWL},
			[]string{"usage: --whitelist (DOORMAN_WHITELIST): open " + noWL + ": no such file or directory"}},
		{"whitelist by default", []string{"usage"}, []string{"usage: --whitelist (DOORMAN_WHITELIST): open whitelist.txt"}},
		{"empty whitelist setting", []string{"usage", "--whitelist="}, []string{"usage: --whitelist (DOORMAN_WHITELIST) is empty"}},
		{"unknown list", []string{"usage", "--whitelist", wl, "--list", "gpt5"},
			[]string{`usage: --list "gpt5": the whitelist`, "has no such list (it has (main), gpt4, main)"}},
		{"list with a newline", []string{"usage", "--whitelist", wl, "--list", "a\nb"}, []string{`usage: --list "a\nb"`}},
		{"usage with an argument", []string{"usage", "alice@example.com"},
			[]string{`usage: unexpected argument "alice@example.com": usage takes none`, "(doorman usage --help)"}},
		{"usage's flag on sessions", []string{"sessions", "--window", "day"}, []string{"sessions: unknown flag --window"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := runAdmin(t, dsn, tt.args...)
			wantOneLineError(t, tt.args, err, tt.want...)
			if out != "" {
				t.Errorf("Run(%q) wrote %q, want nothing", tt.args, out)
			}
		})
	}
}

// wantOneLineError checks that err is one line holding each of want in
// order, as main prints it.
func wantOneLineError(t *testing.T, args []string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Run(%q) = nil, want an error", args)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("Run(%q) = %q, want one line", args, msg)
	}
	rest := msg
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("Run(%q) = %q, want %q in it (in order: %q)", args, msg, w, want)
			return
		}
		rest = rest[i+len(w):]
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"sessions", "--help"}, {"revoke", "-h"}, {"revoke", "a@example.com", "--help"}} {
		out, err := runAdmin(t, "unused.db", args...)
		if err != nil {
			t.Errorf("Run(%q) = %v, want nil", args, err)
		}
		for _, want := range []string{"Usage: doorman " + args[0] + " [flags] ", "--store (DOORMAN_STORE)", "default doorman.db", "--json"} {
			if !strings.Contains(out, want) {
				t.Errorf("Run(%q) wrote %q, want %q in it", args, out, want)
			}
		}
	}
}

func TestStoreFlagWinsOverEnv(t *testing.T) {
	t.Parallel()
	dsn := filepath.Join(t.TempDir(), "doorman.db")
	mustFill(t, dsn)
	args := []string{"revoke", "--store", dsn, "bob@example.com"}
	out, err := runAdmin(t, filepath.Join(t.TempDir(), "not-this.db"), args...)
	if want := "revoked 1 session and 1 token of bob@example.com\n"; out != want || err != nil {
		t.Errorf("Run(%q) = %q, %v; want %q, nil", args, out, err, want)
	}
}

func TestUnreachableRedis(t *testing.T) {
	t.Parallel()
	wl := mustWriteFile(t, "whitelist.txt", usageWhitelist)
	for _, args := range [][]string{{"sessions"}, {"revoke", "alice@example.com"}, {"sessions", "--json"},
		{"usage", "--whitelist", wl}, {"usage", "--whitelist", wl, "--json", "--list", "gpt4"}} {
		start := time.Now()
		out, err := runAdmin(t, "redis://doorman:s3cret@127.0.0.1:1/0", args...)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Run(%q) took %v, want at most 5s", args, took)
		}
		wantOneLineError(t, args, err, args[0]+": the store redis://doorman:xxxxx@127.0.0.1:1/0 could not be reached")
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Run(%q) = %v, want store.ErrUnavailable", args, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") || strings.Contains(out, "s3cret") {
			t.Errorf("Run(%q) = %q, %v; shows the password", args, out, err)
		}
	}
}
