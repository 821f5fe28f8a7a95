package main

// The command line and the environment around the settings table
// (config.go): splitting flags, --help, and what doorman says about a flag
// or a variable it does not know.

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// parseArgs parses the command line into the raw value of each flag given;
// --help prints the usage to usage and returns flag.ErrHelp.
func parseArgs(table []setting, args []string, usage io.Writer) (map[string]string, error) {
	fs := flag.NewFlagSet("doorman", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	given := map[string]string{}
	for _, s := range table {
		fs.Var(rawFlag{name: s.name, given: given, boolean: s.value.boolean()}, s.name, s.help)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(usage, table)
		return nil, flag.ErrHelp
	case err != nil:
		return nil, fmt.Errorf("%s (doorman --help lists every setting)", argsProblem(table, args, err))
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
func argsProblem(table []setting, args []string, err error) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break // the flag package stops here too
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		s, ok := lookup(table, name)
		switch {
		case name == "h" || name == "help":
		case !ok:
			return "unknown flag --" + name
		case !s.value.boolean() && !hasValue && i+1 == len(args):
			return "--" + name + " needs a value"
		case !s.value.boolean() && !hasValue:
			i++ // its value
		}
	}
	return err.Error()
}

// lookup finds the setting called name.
func lookup(table []setting, name string) (setting, bool) {
	for _, s := range table {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}

// printUsage writes --help: every setting with its twin, help and default.
func printUsage(w io.Writer, table []setting) {
	fmt.Fprint(w, "Usage: doorman [flags]\n\n"+
		"Every setting is a flag with an environment twin, named after it in\n"+
		"parentheses; the flag wins. Durations are Go's: 90s, 30m, 168h.\n\nSettings:\n")
	for _, s := range table {
		if s.env == "" {
			continue
		}
		fmt.Fprintf(w, "  %s\n%s", s.label(), wrap(s.help+s.defaultNote(), "        ", 80))
	}
	fmt.Fprint(w, "\nModes (flags only):\n")
	for _, s := range table {
		if s.env == "" {
			fmt.Fprintf(w, "  %s\n%s", s.label(), wrap(s.help, "        ", 80))
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
func (s setting) defaultNote() string {
	if d := cmp.Or(s.shown, s.def); d != "" {
		return " (default " + d + ")"
	}
	return ""
}

// unknownEnv warns of each DOORMAN_* variable in environ (os.Environ's
// "NAME=value" form) that is set but that no setting reads, naming the
// variable probably meant. doorman would otherwise ignore it silently:
// DOORMAN_CLIENT_ID looks right, but the client ID's twin is
// DOORMAN_GOOGLE_CLIENT_ID.
func unknownEnv(environ []string) []string {
	table := settings(&config{})
	var warnings []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "DOORMAN_") || value == "" || slices.ContainsFunc(table, func(s setting) bool { return s.env == name }) {
			continue
		}
		warnings = append(warnings, name+" is set, but doorman reads no such variable"+envHint(table, name))
	}
	return warnings
}

// envHint suggests the setting an unknown variable name was meant for.
func envHint(table []setting, name string) string {
	for _, s := range table {
		if name != "DOORMAN_"+strings.ToUpper(strings.ReplaceAll(s.name, "-", "_")) {
			continue
		}
		if s.env == "" {
			return ": --" + s.name + " has no environment twin"
		}
		return ": did you mean " + s.env + " (--" + s.name + ")?"
	}
	for _, s := range table {
		if s.env != "" && editDistance(name, s.env) <= 2 {
			return ": did you mean " + s.env + " (--" + s.name + ")?"
		}
	}
	return " (doorman --help lists them)"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
