package whitelist

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"doorman/whitelist/budget"
)

// FuzzParse checks that Parse never fails on in-memory input, that every
// entry line it did not report is on its list in lower and upper case, while
// nothing non-ASCII ever matches, and that every budget it did not report
// is the one its list or entry has.
func FuzzParse(f *testing.F) {
	for _, tt := range parseCases() {
		if len(tt.in) < 1<<14 {
			f.Add(tt.in)
		}
	}
	f.Add(testFile)
	f.Fuzz(func(t *testing.T, in string) {
		l, skipped, err := Parse(strings.NewReader(in))
		if err != nil {
			t.Fatalf("Parse() error = %v, want nil", err)
		}
		bad := map[int]bool{}
		for _, e := range skipped {
			bad[e.Line] = true
		}
		list, valid := MainList, true // the section of the current line
		for i, raw := range strings.Split(in, "\n") {
			s := trimLine(raw, i == 0)
			switch {
			case bad[i+1] && strings.HasPrefix(s, "["):
				valid = false
			case bad[i+1] || s == "" || s[0] == '#':
			case s[0] == '[':
				list, valid = s[1:len(s)-1], true
				if !l.Has(list) {
					t.Errorf("line %d: Has(%q) = false for header %q", i+1, list, s)
				}
			case !valid:
				t.Errorf("line %d: %q after an invalid header was not reported", i+1, s)
			case isBudgetLine(s):
				checkListBudget(t, l, list, s)
			default:
				entry, limits, found := strings.Cut(strings.Replace(s, "\t", " ", 1), " ")
				if checkRefused(t, l, list, entry) {
					continue
				}
				checkEntryContained(t, l, list, entry)
				if found {
					checkEntryBudget(t, l, list, entry, strings.TrimLeft(limits, " \t"))
				}
			}
		}
	})
}

// checkRefused reports whether the accepted entry is refused on list for
// another line's invalid budget, and checks that it is then not contained.
func checkRefused(t *testing.T, l *List, list, entry string) bool {
	t.Helper()
	s, email := l.sets[list], lowerForTest(entry)
	if strings.HasPrefix(entry, "@") {
		email = "x" + email
	}
	if s.refused == nil || !s.refused.refuse(s, []byte(email)) {
		return false
	}
	if l.Contains(list, email) || l.BudgetOf(list, email) != nil {
		t.Errorf("Contains(%q, %q) = true or a budget, for an entry refused for an invalid budget", list, email)
	}
	return true
}

// checkListBudget checks that the accepted budget line s is list's budget.
func checkListBudget(t *testing.T, l *List, list, s string) {
	t.Helper()
	want, _, err := budget.Parse(strings.TrimPrefix(s, "budget"))
	if got := l.sets[list].budget; err != nil || !slices.Equal(got, want) {
		t.Errorf("list %q: budget %v for accepted line %q (%v)", list, got, s, err)
	}
}

// checkEntryBudget checks that the accepted entry with "budget <limits>"
// has that budget, unless an address entry's own budget overrides a domain
// entry's.
func checkEntryBudget(t *testing.T, l *List, list, entry, limits string) {
	t.Helper()
	want, _, err := budget.Parse(strings.TrimPrefix(limits, "budget"))
	email := lowerForTest(entry)
	if strings.HasPrefix(entry, "@") {
		email = "x" + email
		if _, ok := l.sets[list].own[email]; ok {
			return
		}
	}
	if got := l.BudgetOf(list, upperForTest(email)); err != nil || !slices.Equal(got, want) {
		t.Errorf("BudgetOf(%q, %q) = %v for accepted line %q %q (%v)", list, email, got, entry, limits, err)
	}
}

// trimLine trims a line the way Parse is documented to.
func trimLine(raw string, first bool) string {
	if first {
		raw = strings.TrimPrefix(raw, "\ufeff")
	}
	return strings.Trim(strings.TrimSuffix(raw, "\r"), " \t")
}

// checkEntryContained checks that the accepted entry s is on list in lower
// and upper case, and that a non-ASCII variant of it is not.
func checkEntryContained(t *testing.T, l *List, list, s string) {
	t.Helper()
	email := s
	if strings.HasPrefix(s, "@") {
		email = "x" + s
	}
	if !utf8.ValidString(email) || strings.ContainsFunc(email, func(r rune) bool { return r >= 0x80 }) {
		t.Errorf("accepted non-ASCII entry %q", s)
	}
	for _, q := range []string{lowerForTest(email), upperForTest(email)} {
		if !l.Contains(list, q) {
			t.Errorf("Contains(%q, %q) = false for accepted line %q", list, q, s)
		}
		if l.listsOf(q) == nil {
			t.Errorf("listsOf(%q) = nil for accepted line %q", q, s)
		}
	}
	kelvin := strings.NewReplacer("k", "\u212A", "K", "\u212A").Replace(email)
	if got := l.listsOf(kelvin); kelvin != email && got != nil {
		t.Errorf("listsOf(%q) = %q, want nil for non-ASCII", kelvin, got)
	}
}

// lowerForTest and upperForTest fold ASCII letters only, independently of
// the code under test.
func lowerForTest(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 32
		}
		return r
	}, s)
}

func upperForTest(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 32
		}
		return r
	}, s)
}
