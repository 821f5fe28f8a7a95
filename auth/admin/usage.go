package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"doorman/auth/store"
	"doorman/whitelist"
	"doorman/whitelist/budget"
)

const (
	mainLabel       = "(main)" // the main list in the table, as in doorman's logs; no list's name
	usageHeader     = "LIST\tEMAIL\tUSED\tLIMIT\tREMAINING"
	maxListsShown   = 10 // lists an unknown --list's error names
	whitelistLabel  = "--whitelist (DOORMAN_WHITELIST)"
	budgetZoneLabel = "--budget-timezone (DOORMAN_BUDGET_TIMEZONE)"
)

// usageSettings are the usage command's own settings.
type usageSettings struct {
	whitelist string         // --whitelist (DOORMAN_WHITELIST)
	zoneName  string         // --budget-timezone (DOORMAN_BUDGET_TIMEZONE)
	list      string         // --list, as given
	window    string         // --window
	allLists  bool           // --list was not given: every list of the whitelist
	zone      *time.Location // zoneName, loaded by checkUsage
	unit      budget.Unit    // window, parsed by checkUsage
}

// usageOptions are the usage command's options beyond --store and --json;
// --whitelist and --budget-timezone are the server's settings.
func usageOptions() []option {
	return []option{
		{name: "whitelist", env: "DOORMAN_WHITELIST", def: "whitelist.txt",
			help:  "the whitelist file doorman runs with, for the lists and limits",
			value: func(inv *invocation) *string { return &inv.usage.whitelist }},
		{name: "budget-timezone", env: "DOORMAN_BUDGET_TIMEZONE", def: "UTC",
			help:  "the IANA time zone doorman runs with, where the windows start",
			value: func(inv *invocation) *string { return &inv.usage.zoneName }},
		{name: "list", shown: "every list of the whitelist",
			help: "one list: its name, or \"\", (main) or main for the main list\n" +
				"(main means a list called main if the whitelist has one)",
			value: func(inv *invocation) *string { return &inv.usage.list }},
		{name: "window", def: "day",
			help:  "the current minute, hour, day, week (from Monday) or month",
			value: func(inv *invocation) *string { return &inv.usage.window }},
	}
}

// checkUsage checks the usage command's settings and loads its window's
// unit and time zone.
func checkUsage(inv *invocation) error {
	s := &inv.usage
	if s.whitelist == "" {
		return errors.New(whitelistLabel + " is empty")
	}
	var err error
	if s.unit, err = budget.ParseUnit(s.window); err != nil {
		return fmt.Errorf("--window: %w", err)
	}
	if s.zone, err = time.LoadLocation(s.zoneName); err != nil {
		return fmt.Errorf("%s: %w", budgetZoneLabel, err)
	}
	s.allLists = !inv.isGiven("list")
	return nil
}

// usageRow is one person's counter on one list in the window, as `doorman
// usage --json` prints it. Its keys are stable: scripts read them.
type usageRow struct {
	List      string  `json:"list"` // "" is the main list
	Email     string  `json:"email"`
	Window    string  `json:"window"` // as the store names it: "day/2026-12-07"
	Used      int64   `json:"used"`
	Limit     *int64  `json:"limit"`     // the person's limit of the window's unit; null when none applies
	Remaining *int64  `json:"remaining"` // what is left of Limit, at least 0; null with Limit
	Budget    *string `json:"budget"`    // the person's whole budget, "none" if none; null when not listed
}

// showUsage shows every person's counter of the lists asked for in the
// current window, with their limits from the whitelist.
func showUsage(ctx context.Context, st store.Store, inv invocation) error {
	s := inv.usage
	wl, err := readWhitelist(s.whitelist)
	if err != nil {
		return err
	}
	lists, err := s.lists(wl)
	if err != nil {
		return err
	}
	start, _ := s.unit.Window(inv.now, s.zone)
	key := s.unit.Key(start, s.zone)
	rows, err := usageRows(ctx, st, wl, lists, s.unit, key)
	if err != nil {
		return err
	}
	if inv.json {
		return writeJSON(inv.out, rows)
	}
	return writeUsageTable(inv.out, rows, strings.Replace(key, "/", " ", 1)+" ("+s.zone.String()+")")
}

// readWhitelist reads the whitelist file at path. Its bad lines are left
// out, as the server leaves them out.
func readWhitelist(path string) (*whitelist.List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", whitelistLabel, err)
	}
	defer f.Close()
	wl, _, err := whitelist.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", whitelistLabel, path, err)
	}
	return wl, nil
}

// lists returns the names of the lists to show: the one --list names, or
// every list of wl, the main list ("") first.
func (s usageSettings) lists(wl *whitelist.List) ([]string, error) {
	all := slices.Sorted(maps.Keys(wl.Sizes()))
	name := s.list
	switch {
	case s.allLists:
		return all, nil
	case name == mainLabel, name == "main" && !wl.Has("main"):
		name = whitelist.MainList
	}
	if !wl.Has(name) {
		return nil, fmt.Errorf("--list %q: the whitelist %s has no such list (it has %s)", s.list, s.whitelist, listNames(all))
	}
	return []string{name}, nil
}

// listNames shows the lists names for an error: "(main), gpt4".
func listNames(names []string) string {
	shown := make([]string, 0, min(len(names), maxListsShown)+1)
	for _, n := range names[:min(len(names), maxListsShown)] {
		shown = append(shown, listLabel(n))
	}
	if len(names) > maxListsShown {
		shown = append(shown, "…")
	}
	return strings.Join(shown, ", ")
}

// listLabel is list as the table shows it.
func listLabel(list string) string { return cmp.Or(list, mainLabel) }

// usageRows asks the store for the counters of lists in the window key of
// unit and returns those above 0, sorted by list, then by use, most first.
// It is never nil, so that none is [] in JSON.
func usageRows(ctx context.Context, st store.Store, wl *whitelist.List, lists []string, unit budget.Unit, key string) ([]usageRow, error) {
	rows := []usageRow{}
	for _, list := range lists {
		us, err := st.Usage(ctx, list, key)
		if err != nil {
			return nil, err // it names what failed
		}
		for _, u := range us {
			if u.Used > 0 {
				rows = append(rows, newUsageRow(wl, list, key, unit, u))
			}
		}
	}
	slices.SortFunc(rows, func(a, b usageRow) int {
		return cmp.Or(cmp.Compare(a.List, b.List), cmp.Compare(b.Used, a.Used), cmp.Compare(a.Email, b.Email))
	})
	return rows, nil
}

// newUsageRow returns u's row, with the person's budget on list from wl and
// their limit of unit.
func newUsageRow(wl *whitelist.List, list, key string, unit budget.Unit, u store.BudgetUsage) usageRow {
	r := usageRow{List: list, Email: u.Email, Window: key, Used: u.Used}
	if !wl.Contains(list, u.Email) {
		return r
	}
	b := wl.BudgetOf(list, u.Email)
	whole := b.String()
	r.Budget = &whole
	if i := slices.IndexFunc(b, func(l budget.Limit) bool { return l.Unit == unit }); i >= 0 {
		limit, left := b[i].N, max(0, b[i].N-u.Used)
		r.Limit, r.Remaining = &limit, &left
	}
	return r
}

// writeUsageTable writes the line window, then rows as an aligned table,
// or a line saying there are none.
func writeUsageTable(w io.Writer, rows []usageRow, window string) error {
	if _, err := fmt.Fprintln(w, window); err != nil {
		return err
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no counted requests")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, usageHeader)
	for _, r := range rows {
		limit, left := r.limitCells()
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", listLabel(r.List), printable(r.Email), r.Used, limit, left)
	}
	return tw.Flush()
}

// limitCells returns the table's LIMIT and REMAINING of r.
func (r usageRow) limitCells() (limit, remaining string) {
	switch {
	case r.Limit != nil:
		return strconv.FormatInt(*r.Limit, 10), strconv.FormatInt(*r.Remaining, 10)
	case r.Budget == nil:
		return "not listed", "-"
	case *r.Budget == "none":
		return "none", "-"
	}
	return "-", "-"
}
