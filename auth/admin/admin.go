// Package admin is doorman's administration commands, run by the doorman
// binary itself beside the doorman that serves:
//
//	doorman sessions [EMAIL]   lists the live sessions (of EMAIL, or of everyone)
//	doorman tokens [EMAIL]     lists the live tokens (never a token itself)
//	doorman revoke EMAIL       ends every live session and token of EMAIL
//	doorman usage              shows who spent how much of their budgets
//
// They work on the store the server uses (--store, DOORMAN_STORE; the same
// SQLite file or the same Redis) and are safe while doorman runs: the store
// takes care of locking, and every doorman following that store refuses a
// revoked session within a second. usage also reads the server's whitelist
// (--whitelist) and budget time zone (--budget-timezone). main hands them
// the command line:
//
//	if len(args) > 0 && admin.IsCommand(args[0]) {
//		return admin.Run(ctx, args, getenv, stdout, stderr)
//	}
package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"doorman/auth/store"
)

// command is one admin command.
type command struct {
	name  string                      // as typed: "sessions"
	arg   string                      // its argument as --help shows it: argEmail, argOptionalEmail or "" for none
	opts  []option                    // its options beyond --store and --json
	about string                      // what it does, for --help; lines of at most 80 characters
	check func(inv *invocation) error // checks the options, before the store is opened; nil: nothing to check
	run   func(ctx context.Context, st store.Store, inv invocation) error
}

// The arguments a command may take.
const (
	argEmail         = "EMAIL"
	argOptionalEmail = "[EMAIL]"
)

// commands returns every admin command.
func commands() []command {
	return []command{
		{name: "sessions", arg: argOptionalEmail, run: sessions, about: "" +
			"Lists the live sessions of EMAIL, or of everyone: the session (the first 8\n" +
			"characters of its id, as doorman's logs show it), when it signed in, was\n" +
			"last seen and expires (UTC, to the minute), the client IP and the browser."},
		{name: "tokens", arg: argOptionalEmail, run: tokens, about: "" +
			"Lists the live personal tokens of EMAIL, or of everyone: the name its\n" +
			"owner gave it, its first 12 characters (never the token itself), the lists\n" +
			"it opens ((main) for the main list; \"\" in JSON), when it was made, last\n" +
			"used and expires (UTC, to the minute)."},
		{name: "revoke", arg: argEmail, run: revoke, about: "" +
			"Ends every live session and personal token of EMAIL. Every doorman using\n" +
			"the same store refuses them within a second; the person has to sign in\n" +
			"again and make new tokens."},
		{name: "usage", opts: usageOptions(), check: checkUsage, run: showUsage, about: "" +
			"Shows who spent how much of their budgets in the current calendar window\n" +
			"(a day unless --window says otherwise) of the budgets' time zone: per list\n" +
			"and person, what they used and, from the whitelist, their limit for that\n" +
			"window and what remains. The main list shows as (main) in the table and\n" +
			"as \"\" in JSON. LIMIT is - when the person's budget has no limit of that\n" +
			"window, none when they have no budget, and \"not listed\" when the\n" +
			"whitelist no longer lists them there; JSON has null for the limit and\n" +
			"remaining of all three, and the person's whole budget (null if not listed)."},
	}
}

// IsCommand reports whether name is an admin command, so that main can
// hand the command line to Run.
func IsCommand(name string) bool {
	_, ok := lookup(name)
	return ok
}

// lookup finds the command called name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Run runs one admin command: args[0] is the command ("sessions",
// "tokens", "revoke", "usage"), the rest its flags and arguments, in any order.
// --help writes the command's usage to stdout. It writes its result to
// stdout and nothing to stderr; every failure is returned as an error of
// one line, for main to print.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return run(ctx, args, getenv, stdout, time.Now())
}

// run is Run at the time now.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, now time.Time) error {
	if len(args) == 0 {
		return errors.New("no admin command given (doorman sessions --help, doorman tokens --help, doorman revoke --help, doorman usage --help)")
	}
	c, ok := lookup(args[0])
	if !ok {
		return fmt.Errorf("unknown command %q: the admin commands are sessions, tokens, revoke and usage", args[0])
	}
	inv, err := c.parse(args[1:], getenv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.help(stdout)
		return nil
	case err != nil:
		return oneLine(fmt.Errorf("%s: %w (doorman %s --help)", c.name, err, c.name))
	}
	inv.out, inv.now = stdout, now
	return oneLine(c.exec(ctx, inv))
}

// exec opens the store, runs c on it and closes it.
func (c command) exec(ctx context.Context, inv invocation) error {
	st, err := openStore(ctx, inv.store)
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	defer st.Close()
	if err := c.run(ctx, st, inv); err != nil {
		if errors.Is(err, store.ErrUnavailable) {
			err = fmt.Errorf("the store %s could not be reached: %w", redacted(inv.store), err)
		}
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

// openStore opens the store at dsn as the server does, except that a
// missing SQLite file is an error: doorman creates its file when it starts,
// so a missing one means the command is looking in the wrong place, and
// creating it would report an empty store.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	if !strings.Contains(dsn, "://") {
		if _, err := os.Stat(dsn); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: the store %s does not exist; give the --store doorman runs with", storeLabel, dsn)
		}
	}
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", storeLabel, err)
	}
	return st, nil
}

// redacted returns dsn fit for an error message: a URL without its
// password.
func redacted(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(an unparsable URL)"
}

// oneLine returns err with its message on one line, as main prints it.
func oneLine(err error) error {
	if err == nil || !strings.ContainsAny(err.Error(), "\r\n") {
		return err
	}
	return lineError{err}
}

// lineError is an error whose message had line breaks, shown on one line.
type lineError struct{ err error }

func (e lineError) Error() string { return strings.Join(strings.Fields(e.err.Error()), " ") }
func (e lineError) Unwrap() error { return e.err }
