package whitelist

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// budgetFile has a budget on the main list, on gpt4 (below its entries),
// none on chat, and entries with their own.
const budgetFile = `# staff
@example.com
carol@example.com budget 5/hour
budget 1000/day

[gpt4]
alice@example.com
bob@example.com budget 500/day
@example.org budget none
dave@example.org
erin@example.org budget 7/day
@corp.example budget 3/week 1/minute
frank@corp.example
budget 100/day 20/hour

[chat]
alice@example.com
gina@example.com budget 9/month
`

func TestBudgetOf(t *testing.T) {
	t.Parallel()
	l, skipped, err := Parse(strings.NewReader(budgetFile))
	if err != nil || len(skipped) != 0 {
		t.Fatalf("Parse() = %v, %v; want no error, no skipped line", skipped, err)
	}
	tests := []struct {
		list, email string
		want        string // budget.Budget.String; "none" for nil
	}{
		{MainList, "alice@example.com", "1000/day"},       // domain entry, the list's budget
		{MainList, "CAROL@Example.com", "5/hour"},         // address entry's own beats the list's
		{MainList, "nobody@example.net", "none"},          // not on the list
		{MainList, "\u212Aate@example.com", "none"},       // never on any list
		{"gpt4", "alice@example.com", "100/day 20/hour"},  // the list's, set below the entries
		{"gpt4", "Bob@example.com", "500/day"},            // own
		{"gpt4", "someone@example.org", "none"},           // domain entry's own "none" beats the list's
		{"gpt4", "dave@example.org", "100/day 20/hour"},   // address entry without its own: the list's, not the domain entry's
		{"gpt4", "erin@example.org", "7/day"},             // address beats domain
		{"gpt4", "x@corp.example", "3/week 1/minute"},     // domain entry's own
		{"gpt4", "frank@corp.example", "100/day 20/hour"}, // address entry without its own: the list's
		{"gpt4", "carol@example.com", "none"},             // not on gpt4
		{"gpt4", "a b@example.org", "none"},               // not an address
		{"chat", "alice@example.com", "none"},             // no budget line
		{"chat", "gina@example.com", "9/month"},
		{"nope", "alice@example.com", "none"},
	}
	for _, tt := range tests {
		if got := l.BudgetOf(tt.list, tt.email).String(); got != tt.want {
			t.Errorf("BudgetOf(%q, %q) = %s, want %s", tt.list, tt.email, got, tt.want)
		}
	}
	var zero List
	if b := zero.BudgetOf(MainList, "alice@example.com"); b != nil {
		t.Errorf("zero List: BudgetOf = %v, want nil", b)
	}
}

// TestInvalidEntryBudgetRefuses checks that the people named by a line
// skipped for its invalid budget are refused on that list, even where
// another entry names them, unless their address entry has a valid budget
// of its own.
func TestInvalidEntryBudgetRefuses(t *testing.T) {
	t.Parallel()
	l := mustParse(t, `@example.com
bob@example.com budget 5/dya
carol@example.com
carol@example.com budget 0/day
[gpt4]
budget 10/day
@example.org budget 5/dya
dave@example.org
erin@example.org budget 7/day
frank@example.net budget 5/dya
frank@example.net
alice@example.com
`)
	tests := []struct {
		list, email string
		want        bool
		budget      string
	}{
		{MainList, "alice@example.com", true, "none"},
		{MainList, "bob@example.com", false, "none"},
		{MainList, "Carol@example.com", false, "none"},
		{"gpt4", "x@example.org", false, "none"},
		{"gpt4", "dave@example.org", false, "none"},
		{"gpt4", "erin@example.org", true, "7/day"},
		{"gpt4", "frank@example.net", false, "none"},
		{"gpt4", "bob@example.com", false, "none"}, // not on gpt4 anyway
		{"gpt4", "alice@example.com", true, "10/day"},
	}
	for _, tt := range tests {
		if got := l.Contains(tt.list, tt.email); got != tt.want {
			t.Errorf("Contains(%q, %q) = %v, want %v", tt.list, tt.email, got, tt.want)
		}
		if got := l.BudgetOf(tt.list, tt.email).String(); got != tt.budget {
			t.Errorf("BudgetOf(%q, %q) = %s, want %s", tt.list, tt.email, got, tt.budget)
		}
	}
	if got := l.listsOf("bob@example.com"); got != nil {
		t.Errorf("listsOf(bob) = %q, want nil", got)
	}
}

// TestParseBudgetLines checks each list's budget and the entries that
// carry their own, as Parse records them, with the lines it skips.
func TestParseBudgetLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		budgets map[string]string // list -> its budget; only lists with one
		own     map[string]string // "list entry" -> its own budget
		skipped []int             // lines
	}{
		{name: "main list", in: "budget 10/day\na@example.com\n", budgets: map[string]string{MainList: "10/day"}},
		{name: "anywhere in the list", in: "[a]\nx@example.com\n\n# budget below\nbudget 10/day\n[b]\nbudget 5/hour\n[c]\n",
			budgets: map[string]string{"a": "10/day", "b": "5/hour"}},
		{name: "blanks and tabs", in: "  budget\t 100/day \t20/hour  \r\n", budgets: map[string]string{MainList: "100/day 20/hour"}},
		{name: "none", in: "budget none\n", budgets: map[string]string{}},
		{name: "second refused, first stands", in: "[a]\nbudget 10/day\nbudget 20/day\n", budgets: map[string]string{"a": "10/day"}, skipped: []int{3}},
		{name: "second after a repeated header", in: "[a]\nbudget 10/day\n[b]\n[a]\nbudget 20/day\n", budgets: map[string]string{"a": "10/day"}, skipped: []int{5}},
		{name: "invalid first leaves the list without one", in: "[a]\nbudget 10/dya\nbudget 20/day\n", budgets: map[string]string{}, skipped: []int{2, 3}},
		{name: "too long", in: "budget " + strings.Repeat("1", maxLine) + "\nbudget 5/day\n", budgets: map[string]string{}, skipped: []int{1, 2}},
		{name: "entry budgets", in: "a@example.com budget 5/day\n@example.org budget none\n[x]\nB@Example.com\t\tbudget 1/minute 2/hour\n",
			budgets: map[string]string{}, own: map[string]string{" a@example.com": "5/day", " @example.org": "none", "x b@example.com": "2/hour 1/minute"}},
		{name: "entry repeated", in: "a@example.com\na@example.com budget 5/day\nA@example.com budget 5/day\na@example.com budget 6/day\na@example.com budget none\n",
			budgets: map[string]string{}, own: map[string]string{" a@example.com": "5/day"}, skipped: []int{4, 5}},
		{name: "entry with invalid budget skipped whole", in: "budget 1/day\na@example.com budget 5/dy\nb@example.com budget\n",
			budgets: map[string]string{MainList: "1/day"}, skipped: []int{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, skipped, err := Parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			budgets, own := map[string]string{}, map[string]string{}
			for name, s := range l.sets {
				if s.budget != nil {
					budgets[name] = s.budget.String()
				}
				for k, b := range s.own {
					own[name+" "+k] = b.String()
				}
			}
			if fmt.Sprint(budgets) != fmt.Sprint(tt.budgets) {
				t.Errorf("list budgets = %v, want %v", budgets, tt.budgets)
			}
			if fmt.Sprint(own) != fmt.Sprint(tt.own) {
				t.Errorf("entry budgets = %v, want %v", own, tt.own)
			}
			var lines []int
			for _, e := range skipped {
				lines = append(lines, e.Line)
			}
			if !slices.Equal(lines, tt.skipped) {
				t.Errorf("skipped lines = %v (%q), want %v", lines, skipped, tt.skipped)
			}
		})
	}
}

func TestBudgetOfAllocs(t *testing.T) {
	l := mustParse(t, budgetFile)
	w, _ := newTestWatcher(t, tempWhitelist(t, budgetFile))
	for _, tt := range []struct{ list, email string }{
		{MainList, "alice@example.com"},
		{MainList, "CAROL@example.com"},
		{"gpt4", "someone@example.org"},
		{"gpt4", "erin@example.org"},
		{"gpt4", "nobody@example.net"},
		{"nope", "alice@example.com"},
	} {
		if got := testing.AllocsPerRun(100, func() { l.BudgetOf(tt.list, tt.email) }); got != 0 {
			t.Errorf("BudgetOf(%q, %q) allocs = %v, want 0", tt.list, tt.email, got)
		}
		if got := testing.AllocsPerRun(100, func() { w.BudgetOf(tt.list, tt.email) }); got != 0 {
			t.Errorf("Watcher.BudgetOf(%q, %q) allocs = %v, want 0", tt.list, tt.email, got)
		}
	}
}

// TestWatchBudgetReload checks that a reload that changes only budgets
// takes effect at once and is logged with the budgets of each list.
func TestWatchBudgetReload(t *testing.T) {
	t.Parallel()
	path := tempWhitelist(t, "budget 10/day\nalice@example.com\n[gpt4]\nbudget 100/day 20/hour\nalice@example.com\nbob@example.com budget 500/day\n")
	w, lb := newTestWatcher(t, path)
	if got := w.BudgetOf("gpt4", alice).String(); got != "100/day 20/hour" {
		t.Fatalf("BudgetOf(gpt4, alice) = %s, want 100/day 20/hour", got)
	}
	replaceFile(t, path, "budget 10/dya\nalice@example.com\n[gpt4]\nbudget 50/day\nalice@example.com\nbob@example.com budget 500/day\n")
	waitFor(t, time.Second, func() bool { return w.BudgetOf("gpt4", alice).String() == "50/day" })
	if b := w.BudgetOf(MainList, alice); b != nil {
		t.Errorf("BudgetOf(main, alice) = %v after its budget line became invalid, want nil", b)
	}
	waitFor(t, time.Second, func() bool { return lb.count(t, "whitelist reloaded") == 2 })
	// Only an entry's own budget changes: the same entries, the same skipped line.
	replaceFile(t, path, "budget 10/dya\nalice@example.com\n[gpt4]\nbudget 50/day\nalice@example.com\nbob@example.com budget none\n")
	waitFor(t, time.Second, func() bool { return w.BudgetOf("gpt4", bob) == nil })
	waitFor(t, time.Second, func() bool { return lb.count(t, "whitelist reloaded") == 3 })
	recs := lb.records(t, "whitelist reloaded")
	want := []string{
		"map[(main):10/day gpt4:100/day 20/hour] 1 <nil>",
		"map[gpt4:50/day] 1 map[(main):1]",
		"map[gpt4:50/day] 1 map[(main):1]",
	}
	for i, rec := range recs {
		if got := fmt.Sprint(rec["budgets"], " ", rec["entry_budgets"], " ", rec["budgets_invalid"]); got != want[i] {
			t.Errorf("reload %d: budgets, entry_budgets, budgets_invalid = %s, want %s", i, got, want[i])
		}
	}
}

func TestCheckReportsBudgets(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "whitelist.txt")
	writeFile(t, path, "budget 1000/day\n@example.com\n[gpt4]\nbudget 100/dya\nbudget 100/day 20/hour\nbob@example.com budget 500/day\n")
	var out bytes.Buffer
	if Check(path, "--whitelist", &out) {
		t.Errorf("Check() = true for a file with bad budget lines, want false")
	}
	for _, want := range []string{
		`line 4: invalid budget, so the list has none: limit "100/dya": unknown unit "dya"`,
		"line 5: second budget line of this list (the one on line 4 counts)",
		"; budgets: (main) 1000/day; 1 entry budget(s); 2 bad line(s)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Check() output = %q, want it to contain %q", out.String(), want)
		}
	}
}

func BenchmarkBudgetOf(b *testing.B) {
	l := mustParse(b, budgetFile)
	for _, c := range []struct{ name, list, email string }{
		{"list", "gpt4", "alice@example.com"},
		{"own", "gpt4", "bob@example.com"},
		{"domain", "gpt4", "someone@example.org"},
		{"none", "chat", "alice@example.com"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.BudgetOf(c.list, c.email)
			}
		})
	}
}

// BenchmarkParseBudgets parses 100,000 addresses in 5 lists, each list
// with a budget line and every tenth address with a budget of its own: the
// budget lines' cost beside BenchmarkParse100k's plain file.
func BenchmarkParseBudgets(b *testing.B) {
	var sb strings.Builder
	for l := range 5 {
		if l > 0 {
			fmt.Fprintf(&sb, "[list%d]\n", l)
		}
		sb.WriteString("budget 1000/day 100/hour\n")
		for i := range 20_000 {
			fmt.Fprintf(&sb, "user%d.%d@example.com", l, i)
			if i%10 == 0 {
				sb.WriteString(" budget 500/day")
			}
			sb.WriteString("\n")
		}
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, skipped, err := Parse(bytes.NewReader(data)); err != nil || len(skipped) > 0 {
			b.Fatalf("Parse = %v, %d skipped", err, len(skipped))
		}
	}
}
