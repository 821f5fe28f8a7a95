package whitelist

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

const testFile = `# staff
alice@example.com
kate@example.com
@corp.example
[gpt4]
bob@example.com
alice@example.com
[zeta]
alice@example.com
[alpha]
@example.com
[empty]
`

// mustParse parses in and fails the test on an I/O error.
func mustParse(t testing.TB, in string) *List {
	t.Helper()
	l, _, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	return l
}

func TestContains(t *testing.T) {
	t.Parallel()
	l := mustParse(t, testFile)
	tests := []struct {
		list, email string
		want        bool
	}{
		{MainList, "alice@example.com", true},
		{MainList, "ALICE@EXAMPLE.COM", true},
		{MainList, "Alice@Example.Com", true},
		{MainList, "kate@example.com", true},
		{MainList, "\u212Aate@example.com", false}, // Kelvin sign, which Unicode folds to 'k'
		{MainList, "kate@example.co\u006d\u0301", false},
		{MainList, "\u0430lice@example.com", false}, // Cyrillic a
		{MainList, "bob@example.com", false},
		{MainList, "x@corp.example", true},
		{MainList, "X.Y+z@CORP.Example", true},
		{MainList, "x@sub.corp.example", false},
		{MainList, "x@corp.example.evil", false},
		{MainList, "x@evilcorp.example", false},
		{MainList, "@corp.example", false},
		{MainList, "corp.example", false},
		{MainList, "a b@corp.example", false},
		{MainList, "a@b@corp.example", false},
		{MainList, ".a@corp.example", false},
		{MainList, "\u212A@corp.example", false},
		{MainList, "a\x00@corp.example", false},
		{MainList, "alice@example.com ", false},
		{MainList, "alice@example.com\x00", false},
		{MainList, "", false},
		{MainList, strings.Repeat("a", 400) + "@corp.example", false},
		{"gpt4", "bob@example.com", true},
		{"gpt4", "BOB@example.com", true},
		{"gpt4", "kate@example.com", false},
		{"alpha", "anyone@example.com", true},
		{"alpha", "anyone@sub.example.com", false},
		{"empty", "alice@example.com", false},
		{"nope", "alice@example.com", false},
		{"GPT4", "bob@example.com", false}, // list names are case-sensitive
	}
	for _, tt := range tests {
		if got := l.Contains(tt.list, tt.email); got != tt.want {
			t.Errorf("Contains(%q, %q) = %v, want %v", tt.list, tt.email, got, tt.want)
		}
	}
}

func TestListsOf(t *testing.T) {
	t.Parallel()
	l := mustParse(t, testFile)
	tests := []struct {
		email string
		want  []string
	}{
		{"alice@example.com", []string{MainList, "alpha", "gpt4", "zeta"}},
		{"ALICE@example.com", []string{MainList, "alpha", "gpt4", "zeta"}},
		{"bob@example.com", []string{"alpha", "gpt4"}},
		{"x@corp.example", []string{MainList}},
		{"carol@example.org", nil},
		{"\u212Aate@example.com", nil},
	}
	for _, tt := range tests {
		got := l.listsOf(tt.email)
		if !slices.Equal(got, tt.want) {
			t.Errorf("listsOf(%q) = %q, want %q", tt.email, got, tt.want)
		}
	}
}

func TestHasAndSizes(t *testing.T) {
	t.Parallel()
	l := mustParse(t, testFile)
	for name, want := range map[string]bool{MainList: true, "gpt4": true, "empty": true, "nope": false, "Empty": false} {
		if got := l.Has(name); got != want {
			t.Errorf("Has(%q) = %v, want %v", name, got, want)
		}
	}
	want := map[string]int{MainList: 3, "gpt4": 2, "zeta": 1, "alpha": 1, "empty": 0}
	if got := l.Sizes(); !maps.Equal(got, want) {
		t.Errorf("Sizes() = %v, want %v", got, want)
	}
	var zero List
	if !zero.Has(MainList) || zero.Contains(MainList, "alice@example.com") || zero.Sizes()[MainList] != 0 {
		t.Errorf("zero List: Has(MainList) = %v, Contains = %v, Sizes = %v; want true, false, map[:0]",
			zero.Has(MainList), zero.Contains(MainList, "alice@example.com"), zero.Sizes())
	}
}

func TestValidListName(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"gpt4": true, "GPT-4": true, "chat.example_com": true, "a": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "bad name": false, "a/b": false, "[a]": false,
		"caf\u00e9": false, "\u212A": false, "a\x00": false, "a\t": false,
	}
	for name, want := range tests {
		if got := validListName(name); got != want {
			t.Errorf("validListName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestContainsAllocs(t *testing.T) {
	l := mustParse(t, testFile)
	for _, tt := range []struct{ list, email string }{
		{MainList, "alice@example.com"},
		{MainList, "ALICE@Example.com"},
		{MainList, "nobody@example.org"},
		{MainList, "x@corp.example"},
		{"gpt4", "bob@example.com"},
		{"nope", "bob@example.com"},
	} {
		if got := testing.AllocsPerRun(100, func() { l.Contains(tt.list, tt.email) }); got != 0 {
			t.Errorf("Contains(%q, %q) allocs = %v, want 0", tt.list, tt.email, got)
		}
	}
}

// benchList returns 10,000 entries spread over the main list and four
// sections, one in ten of them a domain entry.
func benchList(b *testing.B) *List {
	var sb strings.Builder
	for i := range 10_000 {
		if i%2000 == 0 && i > 0 {
			fmt.Fprintf(&sb, "[list%d]\n", i/2000)
		}
		if i%10 == 0 {
			fmt.Fprintf(&sb, "@domain%d.example.com\n", i)
		} else {
			fmt.Fprintf(&sb, "user%d@example.com\n", i)
		}
	}
	return mustParse(b, sb.String())
}

func BenchmarkContains(b *testing.B) {
	l := benchList(b)
	cases := []struct{ name, list, email string }{
		{"hit", "list3", "user6001@example.com"},
		{"miss", "list3", "nobody@example.com"},
		{"domain", "list3", "someone@domain6010.example.com"},
		{"upper", "list3", "User6001@Example.COM"},
		{"main", MainList, "user1@example.com"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.Contains(c.list, c.email)
			}
		})
	}
}
