package admin

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
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
	store string        // --store (DOORMAN_STORE)
	json  bool          // --json: JSON instead of a table or sentence
	email string        // the EMAIL argument, lower-cased; "" when not given
	usage usageSettings // the usage command's own settings
	given []string      // the flags given on the command line
	out   io.Writer     // the command's output
	now   time.Time     // the time the command runs at
}

// option is a flag of a command that takes a value, and its environment
// twin, which is read when the flag is not given.
type option struct {
	name  string                    // the flag, without dashes
	env   string                    // its environment twin; "" for none
	def   string                    // its default
	shown string                    // the default as --help says it; "" means def
	help  string                    // what it is, for --help; lines of at most 72 characters
	value func(*invocation) *string // the field it sets
}

// label is how errors and --help name the option: "--store (DOORMAN_STORE)".
func (o option) label() string {
	if o.env == "" {
		return "--" + o.name
	}
	return "--" + o.name + " (" + o.env + ")"
}

// storeOption is every command's --store.
func storeOption() option {
	return option{name: "store", env: storeEnv, def: defaultStore,
		help:  "the store doorman runs with: a SQLite file, or redis://… shared by\nseveral replicas",
		value: func(inv *invocation) *string { return &inv.store }}
}

// allOptions returns every option of c, --store first.
func (c command) allOptions() []option { return append([]option{storeOption()}, c.opts...) }

// parse reads c's flags and argument from args, in any order ("--" ends
// the flags), then the environment twins of the options not given, and
// checks them. --help is flag.ErrHelp.
func (c command) parse(args []string, getenv func(string) string) (invocation, error) {
	var inv invocation
	fs := flag.NewFlagSet("doorman "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts := c.allOptions()
	for _, o := range opts {
		fs.StringVar(o.value(&inv), o.name, o.def, "")
	}
	fs.BoolVar(&inv.json, "json", false, "")
	positional, err := parseArgs(fs, args)
	if err != nil {
		return inv, err
	}
	fs.Visit(func(f *flag.Flag) { inv.given = append(inv.given, f.Name) })
	for _, o := range opts {
		if v := getenv(o.env); o.env != "" && v != "" && !inv.isGiven(o.name) {
			*o.value(&inv) = v
		}
	}
	if inv.store == "" {
		return inv, errors.New(storeLabel + " is empty")
	}
	if inv.email, err = c.emailArg(positional); err != nil || c.check == nil {
		return inv, err
	}
	return inv, c.check(&inv)
}

// parseArgs parses the flags in args, wherever they stand before "--",
// and returns the other arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(fs, args, err)
		}
		rest := fs.Args()
		if len(rest) == 0 || len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	return positional, nil
}

// isGiven reports whether the flag called name was on the command line.
func (inv *invocation) isGiven(name string) bool { return slices.Contains(inv.given, name) }

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

// emailArg checks that positional holds what c takes (one EMAIL, at most
// one, or nothing) and returns the address lower-cased, or "".
func (c command) emailArg(positional []string) (string, error) {
	switch {
	case c.arg == "" && len(positional) > 0:
		return "", fmt.Errorf("unexpected argument %q: %s takes none", positional[0], c.name)
	case len(positional) > 1:
		return "", fmt.Errorf("unexpected argument %q: %s takes one EMAIL at most", positional[1], c.name)
	case len(positional) == 1:
		return parseEmail(positional[0])
	case c.arg == argEmail:
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

// help writes c's --help.
func (c command) help(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", strings.TrimSpace("doorman "+c.name+" [flags] "+c.arg), c.about)
	for _, o := range c.allOptions() {
		fmt.Fprintf(w, "  %s\n%s%s\n", o.label(), helpIndent, o.helpText())
	}
	fmt.Fprintf(w, "  --json\n%sprint JSON instead of text\n", helpIndent)
}

// helpIndent starts the lines of an option's help.
const helpIndent = "        "

// helpText is o's help and default for --help, its lines after the first
// indented: the default ends the last line if it fits in 80 columns, else
// has a line of its own.
func (o option) helpText() string {
	def := "(default " + cmp.Or(o.shown, o.def) + ")"
	last := o.help[strings.LastIndexByte(o.help, '\n')+1:]
	sep := " "
	if len(helpIndent)+utf8.RuneCountInString(last)+1+len(def) > 80 {
		sep = "\n"
	}
	return strings.ReplaceAll(o.help+sep+def, "\n", "\n"+helpIndent)
}
