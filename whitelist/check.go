package whitelist

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Check reports every bad line of the whitelist file at path for doorman
// --check, naming the file by label when it cannot be read, and reports
// whether the file is valid: readable, with no bad line.
func Check(path, label string, out io.Writer) bool {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(out, "whitelist: %s: %v\n", label, err)
		return false
	}
	defer f.Close()
	list, skipped, err := Parse(f)
	if err != nil {
		fmt.Fprintf(out, "whitelist: %s: %v\n", path, err)
		return false
	}
	for _, le := range skipped {
		fmt.Fprintf(out, "whitelist: %s: %v\n", path, le)
	}
	fmt.Fprintf(out, "whitelist: %s: %s%s; %d bad line(s)\n", path, formatSizes(list.Sizes()), formatBudgets(list), len(skipped))
	return len(skipped) == 0
}

// formatSizes shows entries per list as "entries: (main) 3, gpt4 1", main
// first.
func formatSizes(sizes map[string]int) string {
	names := make([]string, 0, len(sizes))
	for name := range sizes {
		names = append(names, name)
	}
	slices.Sort(names) // "" (main) sorts first
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %d", logLabel(name), sizes[name])
	}
	return "entries: " + strings.Join(parts, ", ")
}

// formatBudgets shows the lists' budgets as "; budgets: (main) 1000/day,
// gpt4 100/day 20/hour; 1 entry budget(s)", main first, or "" when the
// file has none.
func formatBudgets(l *List) string {
	parts := []string{}
	own := 0
	for _, name := range append([]string{MainList}, l.names...) {
		s := l.sets[name]
		if s == nil {
			continue
		}
		if s.budget != nil {
			parts = append(parts, logLabel(name)+" "+s.budget.String())
		}
		own += len(s.own)
	}
	switch {
	case own == 0 && len(parts) == 0:
		return ""
	case len(parts) == 0:
		parts = append(parts, "none")
	}
	return fmt.Sprintf("; budgets: %s; %d entry budget(s)", strings.Join(parts, ", "), own)
}
