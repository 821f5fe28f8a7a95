// Package settings reads a command's settings from one table: each setting
// is a flag with an environment twin (the flag wins), and its --help entry
// and the name its errors carry ("--cookie-ttl (DOORMAN_COOKIE_TTL)") come
// from the same declaration.
//
//	var ttl time.Duration
//	table := settings.Table{
//		{Name: "cookie-ttl", Env: "DOORMAN_COOKIE_TTL", Default: "168h",
//			Help: "session lifetime", Value: settings.Bind(&ttl, settings.PositiveDuration)},
//	}
//	err := table.Parse(os.Args[1:], os.Getenv, os.Stdout)
package settings

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Setting declares one setting.
type Setting struct {
	Name    string // the flag, without dashes
	Env     string // its environment twin; "" for a mode, which has none
	Default string // the default, parsed like any value
	Shown   string // the default as --help says it, when Default alone would mislead
	Help    string // what it does, for --help
	Value   Value  // parses a value into its field
}

// Label is how errors and --help name the setting: "--name (ENV)".
func (s Setting) Label() string {
	if s.Env == "" {
		return "--" + s.Name
	}
	return "--" + s.Name + " (" + s.Env + ")"
}

// Table is every setting of a command, in --help's order.
type Table []Setting

// Lookup finds the setting called name.
func (t Table) Lookup(name string) (Setting, bool) {
	for _, s := range t {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// Label returns the label of the setting called name, or "--name".
func (t Table) Label(name string) string {
	if s, ok := t.Lookup(name); ok {
		return s.Label()
	}
	return "--" + name
}

// Errorf is an error about the setting called name: its label, then the
// formatted text.
func (t Table) Errorf(name, format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{t.Label(name)}, args...)...)
}

// Parse applies every default, then the flags in args, then for every flag
// not given its environment twin, if set; flag and twin go through the same
// parser. --help writes the usage to usage and returns flag.ErrHelp. Errors
// are one line that names the setting.
func (t Table) Parse(args []string, getenv func(string) string, usage io.Writer) error {
	for _, s := range t {
		if err := s.Value.set(s.Default); err != nil {
			return fmt.Errorf("%s: default %q: %w", s.Label(), s.Default, err) // a bug in the table
		}
	}
	given, err := t.parseArgs(args, usage)
	if err != nil {
		return err
	}
	return t.apply(given, getenv)
}

// apply parses each setting's flag value, or else its environment twin's.
func (t Table) apply(given map[string]string, getenv func(string) string) error {
	for _, s := range t {
		v, fromFlag := given[s.Name]
		if !fromFlag && s.Env != "" {
			v = getenv(s.Env)
		}
		if !fromFlag && v == "" {
			continue
		}
		if err := s.Value.set(v); err != nil {
			source := "value"
			if !fromFlag {
				source = s.Env
			}
			return fmt.Errorf("%s: invalid %s %q: %w", s.Label(), source, v, err)
		}
	}
	return nil
}

// parseArgs parses the command line into the raw value of each flag given.
func (t Table) parseArgs(args []string, usage io.Writer) (map[string]string, error) {
	fs := flag.NewFlagSet("doorman", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	given := map[string]string{}
	for _, s := range t {
		fs.Var(rawFlag{name: s.Name, given: given, boolean: s.Value.boolean()}, s.Name, s.Help)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		t.PrintUsage(usage)
		return nil, flag.ErrHelp
	case err != nil:
		return nil, fmt.Errorf("%s (doorman --help lists every setting)", t.argsProblem(args, err))
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q: doorman takes flags only (doorman --help lists them)", fs.Arg(0))
	}
	return given, nil
}

// rawFlag keeps a flag's value as given, for its setting to parse: the
// flag package only splits the command line.
type rawFlag struct {
	name    string
	given   map[string]string
	boolean bool
}

func (f rawFlag) String() string     { return "" }
func (f rawFlag) IsBoolFlag() bool   { return f.boolean }
func (f rawFlag) Set(v string) error { f.given[f.name] = v; return nil }

// argsProblem says what is wrong with args, which the flag package refused
// with err, writing flags as the README does (--name).
func (t Table) argsProblem(args []string, err error) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break // the flag package stops here too
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		s, ok := t.Lookup(name)
		switch {
		case name == "h" || name == "help":
		case !ok:
			return "unknown flag --" + name
		case !s.Value.boolean() && !hasValue && i+1 == len(args):
			return "--" + name + " needs a value"
		case !s.Value.boolean() && !hasValue:
			i++ // its value
		}
	}
	return err.Error()
}

// PrintUsage writes --help: every setting with its twin, help and default,
// then the modes.
func (t Table) PrintUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: doorman [flags]\n\n"+
		"Every setting is a flag with an environment twin, named after it in\n"+
		"parentheses; the flag wins. Durations are Go's: 90s, 30m, 168h.\n\nSettings:\n")
	for _, s := range t {
		if s.Env != "" {
			fmt.Fprintf(w, "  %s\n%s", s.Label(), wrap(s.Help+s.defaultNote(), "        ", 80))
		}
	}
	fmt.Fprint(w, "\nModes (flags only):\n")
	for _, s := range t {
		if s.Env == "" {
			fmt.Fprintf(w, "  %s\n%s", s.Label(), wrap(s.Help, "        ", 80))
		}
	}
}

// wrap breaks text into lines of at most width bytes where it can, each
// starting with indent and ending in a newline.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if line != indent && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}

// defaultNote is " (default …)" for --help, or "" when there is none.
func (s Setting) defaultNote() string {
	if d := cmp.Or(s.Shown, s.Default); d != "" {
		return " (default " + d + ")"
	}
	return ""
}

// LogAttrs is the effective configuration for a start-up log line: one
// attribute per setting that is not a mode, keyed by its name with "_"
// for "-". It must hold no secrets: a table names secret files, never
// their contents.
func (t Table) LogAttrs() []any {
	var attrs []any
	for _, s := range t {
		if s.Env == "" {
			continue
		}
		v := s.Value.get()
		if str, ok := v.(fmt.Stringer); ok {
			v = str.String()
		}
		attrs = append(attrs, strings.ReplaceAll(s.Name, "-", "_"), v)
	}
	return attrs
}
