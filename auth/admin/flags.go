package admin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

const (
	storeEnv     = "DOORMAN_STORE"
	storeLabel   = "--store (" + storeEnv + ")"
	defaultStore = "doorman.db" // the server's default too
	maxEmail     = 320          // the longest address the store keeps
)

// invocation is one run of a command: its settings and argument, and where
// it writes.
type invocation struct {
	store string    // --store (DOORMAN_STORE)
	json  bool      // --json: JSON instead of a table or sentence
	email string    // the EMAIL argument, lower-cased; "" when not given
	out   io.Writer // the command's output
	now   time.Time // the time the command runs at
}

// parse reads c's flags and EMAIL argument from args, in any order ("--"
// ends the flags), then DOORMAN_STORE when --store was not given. --help
// is flag.ErrHelp.
func (c command) parse(args []string, getenv func(string) string) (invocation, error) {
	var inv invocation
	fs := flag.NewFlagSet("doorman "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&inv.store, "store", defaultStore, "")
	fs.BoolVar(&inv.json, "json", false, "")
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return inv, flagError(fs, args, err)
		}
		rest := fs.Args()
		if len(rest) == 0 || len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	if v := getenv(storeEnv); v != "" && !given(fs, "store") {
		inv.store = v
	}
	if inv.store == "" {
		return inv, errors.New(storeLabel + " is empty")
	}
	var err error
	inv.email, err = c.emailArg(positional)
	return inv, err
}

// given reports whether the flag called name was on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// flagError is the flag package's complaint err about args, said the way
// the README writes flags when it is about an unknown flag or a missing
// value.
func flagError(fs *flag.FlagSet, args []string, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	for i, a := range args {
		if a == "--" {
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		switch {
		case !strings.HasPrefix(a, "-") || name == "" || name == "h" || name == "help":
		case f == nil:
			return fmt.Errorf("unknown flag --%s", name)
		case i == len(args)-1 && !hasValue && !isBool(f):
			return fmt.Errorf("--%s needs a value", name)
		}
	}
	return err
}

// isBool reports whether f is a switch, given without a value.
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// emailArg checks that positional holds what c takes, one EMAIL (or none,
// if optional), and returns the address lower-cased, or "".
func (c command) emailArg(positional []string) (string, error) {
	switch {
	case len(positional) > 1:
		return "", fmt.Errorf("unexpected argument %q: %s takes one EMAIL at most", positional[1], c.name)
	case len(positional) == 1:
		return parseEmail(positional[0])
	case !c.optional:
		return "", errors.New("missing EMAIL: whose sessions?")
	}
	return "", nil
}

// parseEmail checks an address given on the command line and lower-cases
// it, ASCII letters only, as doorman records addresses.
func parseEmail(s string) (string, error) {
	local, domain, found := strings.Cut(s, "@")
	bad := func(r rune) bool { return r <= ' ' || r >= 0x7f }
	if !found || local == "" || domain == "" || strings.Contains(domain, "@") ||
		len(s) > maxEmail || strings.IndexFunc(s, bad) >= 0 {
		return "", fmt.Errorf("invalid EMAIL %q: want one address such as alice@example.com", s)
	}
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s), nil
}

// usage writes c's --help.
func (c command) usage(w io.Writer) {
	arg := "EMAIL"
	if c.optional {
		arg = "[EMAIL]"
	}
	fmt.Fprintf(w, "Usage: doorman %s [flags] %s\n\n%s\n\n", c.name, arg, c.about)
	fmt.Fprintf(w, "Flags:\n"+
		"  %s\n"+
		"        the store doorman runs with: a SQLite file, or redis://… shared by\n"+
		"        several replicas (default %s)\n"+
		"  --json\n"+
		"        print JSON instead of text\n", storeLabel, defaultStore)
}
