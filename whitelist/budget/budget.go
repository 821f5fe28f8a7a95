// Package budget is the vocabulary of doorman's budgets: how many counted
// requests a person may make per calendar window. It parses the <limits>
// text of the whitelist file's budget lines ("100/day 20/hour", or "none")
// and computes the calendar windows the limits apply to, in a time zone:
//
//	b, none, err := budget.Parse("100/day 20/hour")
//	for _, l := range b {
//		start, end := l.Unit.Window(now, loc)
//		key := l.Unit.Key(start, loc) // "day/2026-12-07", "hour/2026-12-07T13"
//		// count against l.N in [start, end) under key
//	}
//
// It holds no state and imports nothing of doorman's.
package budget

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Unit is the calendar unit of a limit's window.
type Unit int

// The units, from the shortest window to the longest. Weeks start on
// Monday. The zero Unit is not a unit.
const (
	Minute Unit = iota + 1
	Hour
	Day
	Week
	Month
)

// MaxN is the largest N a limit may have.
const MaxN = 1_000_000_000

// unitNames are the units' names, indexed by Unit.
var unitNames = [...]string{Minute: "minute", Hour: "hour", Day: "day", Week: "week", Month: "month"}

// String returns the unit's name as the whitelist file writes it ("day"),
// or "Unit(N)" for a value that is no unit.
func (u Unit) String() string {
	if !u.valid() {
		return fmt.Sprintf("Unit(%d)", int(u))
	}
	return unitNames[u]
}

func (u Unit) valid() bool { return Minute <= u && u <= Month }

// ParseUnit returns the unit named s: "minute", "hour", "day", "week" or
// "month", in lower case.
func ParseUnit(s string) (Unit, error) {
	for u := Minute; u <= Month; u++ {
		if s == unitNames[u] {
			return u, nil
		}
	}
	return 0, fmt.Errorf("unknown unit %s (want minute, hour, day, week or month)", quote(s))
}

// Limit is at most N counted requests per calendar Unit.
type Limit struct {
	N    int64
	Unit Unit
}

// String returns the limit as the whitelist file writes it: "100/day".
func (l Limit) String() string { return fmt.Sprintf("%d/%s", l.N, l.Unit) }

// Budget is a set of limits that all apply, at most one per unit, ordered
// from the longest window to the shortest, as Parse returns them. A nil or
// empty Budget is no budget: nothing is limited. Budgets are comparable
// with slices.Equal.
type Budget []Limit

// String returns the budget as the whitelist file writes it, limits
// separated by a space: "100/day 20/hour"; "none" for no budget. Parse
// reads it back to the same Budget.
func (b Budget) String() string {
	if len(b) == 0 {
		return "none"
	}
	parts := make([]string, len(b))
	for i, l := range b {
		parts[i] = l.String()
	}
	return strings.Join(parts, " ")
}

// Parse reads the <limits> text of a budget: one or more limits N/unit
// separated by spaces or tabs (N in decimal digits without sign or leading
// zero, 1 to 1,000,000,000; at most one limit per unit), or exactly "none".
// Blanks around the text are ignored. For "none" it returns a nil Budget
// and none true; otherwise the limits ordered from the longest window to
// the shortest, whatever order s gives them in. The error says which limit
// is wrong and why.
func Parse(s string) (b Budget, none bool, err error) {
	var limits [Month]Limit // one per unit: a sixth limit repeats a unit
	n := 0
	for f := range strings.FieldsFuncSeq(s, isBlank) {
		if none || f == "none" && n > 0 {
			return nil, false, errors.New(`"none" must stand alone`)
		}
		if f == "none" {
			none = true
			continue
		}
		l, err := parseLimit(f)
		if err != nil {
			return nil, false, err
		}
		if i := slices.IndexFunc(limits[:n], func(o Limit) bool { return o.Unit == l.Unit }); i >= 0 {
			return nil, false, fmt.Errorf("two limits per %s: %s and %s", l.Unit, limits[i], l)
		}
		limits[n] = l
		n++
	}
	switch {
	case none:
		return nil, true, nil
	case n == 0:
		return nil, false, errors.New("no limits (want N/unit, such as 100/day, or none)")
	}
	b = slices.Clone(limits[:n])
	slices.SortFunc(b, func(x, y Limit) int { return int(y.Unit) - int(x.Unit) })
	return b, false, nil
}

// isBlank reports whether r separates limits: a space or a tab.
func isBlank(r rune) bool { return r == ' ' || r == '\t' }

// parseLimit reads one N/unit.
func parseLimit(f string) (Limit, error) {
	num, unit, ok := strings.Cut(f, "/")
	if !ok {
		return Limit{}, fmt.Errorf("limit %s: want N/unit, such as 100/day", quote(f))
	}
	n, err := parseN(num)
	if err != nil {
		return Limit{}, fmt.Errorf("limit %s: %w", quote(f), err)
	}
	u, err := ParseUnit(unit)
	if err != nil {
		return Limit{}, fmt.Errorf("limit %s: %w", quote(f), err)
	}
	return Limit{N: n, Unit: u}, nil
}

// parseN reads N: decimal digits, no sign, no leading zero, 1 to MaxN.
func parseN(s string) (int64, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, errors.New("N must be decimal digits")
	}
	if s[0] == '0' {
		return 0, errors.New("N must be 1 or more, without a leading zero")
	}
	if len(s) > len("1000000000") {
		return 0, fmt.Errorf("N must be at most %d", MaxN)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		n = n*10 + int64(s[i]-'0')
	}
	if n > MaxN {
		return 0, fmt.Errorf("N must be at most %d", MaxN)
	}
	return n, nil
}

// maxQuoted is how much of a malformed text an error shows.
const maxQuoted = 40

// quote quotes s for an error in ASCII only, cut to maxQuoted bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%+q", s)
	}
	return fmt.Sprintf("%+q...", s[:maxQuoted])
}
