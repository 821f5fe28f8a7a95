package admin

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"doorman/whitelist/budget"
)

// FuzzParse checks the admin commands' command lines: args are the
// fuzzer's string cut at newlines, given to the command numbered cmd, with
// DOORMAN_STORE set to env. Parsing never panics; an accepted command
// line has a store, from --store when given and else from the
// environment or the default; an EMAIL where the command needs one; an
// EMAIL already in the one spelling parseEmail gives; and, for usage, a
// unit and a time zone.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		cmd       uint8
		args, env string
	}{
		{0, "", ""}, {0, "Alice@Example.com\n--json", "redis://r:6379"}, {1, "--store=x.db\nbob@example.com", "y.db"},
		{2, "--\n--store@example.com", ""}, {2, "", ""}, {2, "a@b\nc@d", ""}, {3, "--list=\n--window\nweek", ""},
		{3, "--budget-timezone\nEurope/Paris\n--list\n(main)", ""}, {3, "--window=year", ""}, {3, "x@example.com", ""},
		{0, "--store", ""}, {0, "--nope", ""}, {0, "-h", ""}, {1, "--store=\n", "set.db"}, {0, "a\x00b@c", ""},
	} {
		f.Add(seed.cmd, seed.args, seed.env)
	}
	f.Fuzz(func(t *testing.T, cmd uint8, args, env string) {
		c := commands()[int(cmd)%len(commands())]
		var argv []string
		if args != "" {
			argv = strings.Split(args, "\n")
		}
		getenv := func(k string) string {
			if k == storeEnv {
				return env
			}
			return ""
		}
		inv, err := c.parse(argv, getenv)
		if errors.Is(err, flag.ErrHelp) || err != nil {
			return
		}
		checkInvocation(t, c, inv, argv, env)
	})
}

// checkInvocation checks what c.parse made of argv with DOORMAN_STORE
// set to env.
func checkInvocation(t *testing.T, c command, inv invocation, argv []string, env string) {
	t.Helper()
	want := env
	if want == "" {
		want = defaultStore
	}
	switch {
	case inv.store == "":
		t.Fatalf("doorman %s %q: no store", c.name, argv)
	case !inv.isGiven("store") && inv.store != want:
		t.Fatalf("doorman %s %q with DOORMAN_STORE %q: store %q, want %q", c.name, argv, env, inv.store, want)
	case c.arg == argEmail && inv.email == "":
		t.Fatalf("doorman %s %q: no EMAIL", c.name, argv)
	case c.arg == "" && inv.email != "":
		t.Fatalf("doorman %s %q: EMAIL %q, which it takes none of", c.name, argv, inv.email)
	}
	if inv.email != "" {
		if again, err := parseEmail(inv.email); again != inv.email || err != nil || strings.ToLower(inv.email) != inv.email {
			t.Fatalf("doorman %s %q: EMAIL %q, which parseEmail makes %q, %v", c.name, argv, inv.email, again, err)
		}
	}
	if c.name == "usage" && (inv.usage.zone == nil || inv.usage.unit < budget.Minute || inv.usage.unit > budget.Month || inv.usage.allLists == inv.isGiven("list")) {
		t.Fatalf("doorman usage %q: %+v", argv, inv.usage)
	}
}
