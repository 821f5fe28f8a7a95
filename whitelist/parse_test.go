package whitelist

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// parseCase is one Parse table case; FuzzParse seeds from these too.
type parseCase struct {
	name    string
	in      string
	want    map[string][]string // list -> entries as stored ("@domain" for domain entries); MainList always
	skipped []LineError
}

// lists is a want map: list name -> entries.
type lists = map[string][]string

func parseCases() []parseCase {
	long := strings.Repeat("a", 65)
	label := strings.Repeat("b", 64)
	domain := strings.Repeat("c.", 126) + "com" // 255 characters
	return []parseCase{
		{name: "empty", in: "", want: mainOnly()},
		{name: "lower-cased", in: "alice@example.com\nBob@Example.COM\n", want: mainOnly("alice@example.com", "bob@example.com")},
		{name: "spaces and tabs", in: " \talice@example.com \t\n\t bob@example.com", want: mainOnly("alice@example.com", "bob@example.com")},
		{name: "comments and blanks", in: "# staff\n\n  # indented\n \t \nalice@example.com\n#bob@example.com\n", want: mainOnly("alice@example.com")},
		{name: "CRLF", in: "alice@example.com\r\n\r\n# c\r\nbob@example.com\r\n", want: mainOnly("alice@example.com", "bob@example.com")},
		{name: "BOM", in: "\ufeffalice@example.com\n", want: mainOnly("alice@example.com")},
		{name: "BOM before header", in: "\ufeff[gpt4]\r\nalice@example.com\r\n", want: lists{MainList: nil, "gpt4": {"alice@example.com"}}},
		{name: "BOM on line 2", in: "alice@example.com\n\ufeffbob@example.com\n", want: mainOnly("alice@example.com"),
			skipped: []LineError{{2, "\ufeffbob@example.com", reasonNonASCII}}},
		{name: "atext and hash in local part", in: "a#b@example.com\no'neil+x@example.com\n", want: mainOnly("a#b@example.com", "o'neil+x@example.com")},
		{name: "inline comment", in: "alice@example.com # admin\nbob@example.com#admin\n", want: mainOnly(),
			skipped: []LineError{{1, "alice@example.com # admin", reasonInlineComment}, {2, "bob@example.com#admin", reasonLabel}}},
		{name: "bad lines numbered", in: "bob\nalice@example.com\n\n<carol@example.com>\n\"Dave\" <dave@example.com>\nerin@example.com\n", want: mainOnly("alice@example.com", "erin@example.com"),
			skipped: []LineError{{1, "bob", reasonNotAddress}, {4, "<carol@example.com>", reasonLocalChar}, {5, "\"Dave\" <dave@example.com>", reasonSpace}}},
		{name: "unicode look-alikes", in: "\u212Aate@example.com\n\u0430lice@example.com\nbob@ex\u0430mple.com\n", want: mainOnly(),
			skipped: []LineError{{1, "\u212Aate@example.com", reasonNonASCII}, {2, "\u0430lice@example.com", reasonNonASCII}, {3, "bob@ex\u0430mple.com", reasonNonASCII}}},
		{name: "control characters", in: "alice@example.com\x00\nb\x00b@example.com\ncarol@exa\rmple.com\n", want: mainOnly(),
			skipped: []LineError{{1, "alice@example.com\x00", reasonControl}, {2, "b\x00b@example.com", reasonControl}, {3, "carol@exa\rmple.com", reasonControl}}},
		{name: "several @", in: "a@b@c\na@b@example.com\n@@example.com\n", want: mainOnly(),
			skipped: []LineError{{1, "a@b@c", reasonManyAt}, {2, "a@b@example.com", reasonManyAt}, {3, "@@example.com", reasonManyAt}}},
		{name: "local part", in: ".a@example.com\na.@example.com\na..b@example.com\n" + long + "@example.com\n@\nb.c@example.com\n", want: mainOnly("b.c@example.com"),
			skipped: []LineError{{1, ".a@example.com", reasonLocalDot}, {2, "a.@example.com", reasonLocalDot}, {3, "a..b@example.com", reasonLocalDot},
				{4, long + "@example.com", reasonLongLocal}, {5, "@", reasonEmptyDomain}}},
		{name: "domain", in: "a@example\na@example.com.\na@-example.com\na@exa_mple.com\na@" + label + ".com\na@" + domain + "\na@.example.com\na@example..com\na@\na@x-1.example.COM\n",
			want: mainOnly("a@x-1.example.com"),
			skipped: []LineError{{1, "a@example", reasonOneLabel}, {2, "a@example.com.", reasonLabel}, {3, "a@-example.com", reasonLabel}, {4, "a@exa_mple.com", reasonLabel},
				{5, "a@" + label + ".com", reasonLabel}, {6, "a@" + domain, reasonLongDomain}, {7, "a@.example.com", reasonLabel}, {8, "a@example..com", reasonLabel}, {9, "a@", reasonEmptyDomain}}},
		{name: "domain entries", in: "@example.com\n@Example.ORG\n@example\n@-x.com\n", want: mainOnly("@example.com", "@example.org"),
			skipped: []LineError{{3, "@example", reasonOneLabel}, {4, "@-x.com", reasonLabel}}},
		{name: "duplicates", in: "a@example.com\nA@EXAMPLE.COM\na@example.com\n@example.com\n@EXAMPLE.com\n", want: mainOnly("a@example.com", "@example.com")},
		{name: "no final newline", in: "a@example.com\nb@example.com", want: mainOnly("a@example.com", "b@example.com")},
		{name: "sections", in: "m@example.com\n[gpt4]\ng@example.com\n[chat]\nc@example.com\n@example.org\n[gpt4]\ng2@example.com\n[empty]\n",
			want: lists{MainList: {"m@example.com"}, "gpt4": {"g2@example.com", "g@example.com"}, "chat": {"@example.org", "c@example.com"}, "empty": nil}},
		{name: "section named main", in: "[main]\na@example.com\n", want: lists{MainList: nil, "main": {"a@example.com"}}},
		{name: "header with spaces around", in: "  [gpt4]\t\na@example.com\n", want: lists{MainList: nil, "gpt4": {"a@example.com"}}},
		{name: "malformed header", in: "m@example.com\n[bad name]\nx@example.com\n# comment\n\n[ok]\ny@example.com\n", want: lists{MainList: {"m@example.com"}, "ok": {"y@example.com"}},
			skipped: []LineError{{2, "[bad name]", reasonBadHeader}, {3, "x@example.com", "after invalid section header on line 2"}}},
		{name: "malformed headers", in: "[]\n[x\n[ gpt4 ]\n[a]b\n[" + long + "]\nx@example.com\nbad\n", want: mainOnly(),
			skipped: []LineError{{1, "[]", reasonBadHeader}, {2, "[x", reasonBadHeader}, {3, "[ gpt4 ]", reasonBadHeader}, {4, "[a]b", reasonBadHeader},
				{5, "[" + long + "]", reasonBadHeader}, {6, "x@example.com", "after invalid section header on line 5"}, {7, "bad", reasonNotAddress}}},
		{name: "malformed header does not end a section", in: "[gpt4]\na@example.com\n[gpt-4 turbo]\nb@example.com\n", want: lists{MainList: nil, "gpt4": {"a@example.com"}},
			skipped: []LineError{{3, "[gpt-4 turbo]", reasonBadHeader}, {4, "b@example.com", "after invalid section header on line 3"}}},
		{name: "long line", in: "a@example.com\n" + strings.Repeat("x", maxLine+10) + "\n" + "# " + strings.Repeat("y", 3*maxLine) + "\nb@example.com\n", want: mainOnly("a@example.com", "b@example.com"),
			skipped: []LineError{{2, strings.Repeat("x", maxLine), fmt.Sprintf("line too long (%d bytes)", maxLine+10)}}},
		{name: "budgets", in: "budget 1000/day\n@example.com\n\n[gpt4]\nbudget 100/day 20/hour\nalice@example.com\nbob@example.com budget 500/day\n@example.org\tbudget  none\n",
			want: lists{MainList: {"@example.com"}, "gpt4": {"@example.org", "alice@example.com", "bob@example.com"}}},
		{name: "malformed budgets", in: "a@example.com\nbudget 10/dya\n[gpt4]\nb@example.com budget 0/day\nc@example.com budget\nd@example.com\tbudget\tnone\nbudget 5/hour\nbudget 6/hour\n" +
			"e@example.com budget 5/day # vip\nf@example.com budgets 5/day\nBudget 5/day\n",
			want: lists{MainList: {"a@example.com"}, "gpt4": {"d@example.com"}},
			skipped: []LineError{
				{2, "budget 10/dya", `invalid budget, so the list has none: limit "10/dya": unknown unit "dya" (want minute, hour, day, week or month)`},
				{4, "b@example.com budget 0/day", `invalid budget, so the list refuses whom the entry names: limit "0/day": N must be 1 or more, without a leading zero`},
				{5, "c@example.com budget", "invalid budget, so the list refuses whom the entry names: no limits (want N/unit, such as 100/day, or none)"},
				{8, "budget 6/hour", "second budget line of this list (the one on line 7 counts)"},
				{9, "e@example.com budget 5/day # vip", "invalid budget, so the list refuses whom the entry names: " + reasonInlineComment},
				{10, "f@example.com budgets 5/day", reasonSpace},
				{11, "Budget 5/day", reasonSpace}}},
		{name: "budget after malformed header", in: "[bad name]\nbudget 5/day\na@example.com budget 5/day\n", want: mainOnly(),
			skipped: []LineError{{1, "[bad name]", reasonBadHeader}, {2, "budget 5/day", "after invalid section header on line 1"}, {3, "a@example.com budget 5/day", "after invalid section header on line 1"}}},
		{name: "long header", in: "[" + strings.Repeat("x", maxLine) + "]\nc@example.com\n", want: mainOnly(),
			skipped: []LineError{{1, "[" + strings.Repeat("x", maxLine-1), reasonBadHeader}, {2, "c@example.com", "after invalid section header on line 1"}}},
	}
}

// mainOnly returns a want map with only the main list.
func mainOnly(entries ...string) map[string][]string {
	return map[string][]string{MainList: entries}
}

// dump returns l's entries per list, sorted, domain entries as "@domain".
func dump(l *List) map[string][]string {
	m := map[string][]string{}
	for name, s := range l.sets {
		var entries []string
		for a := range s.addrs.all() {
			entries = append(entries, a)
		}
		for d := range s.domains.all() {
			entries = append(entries, "@"+d)
		}
		slices.Sort(entries)
		m[name] = entries
	}
	return m
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range parseCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, skipped, err := Parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Parse() error = %v, want nil", err)
			}
			want := map[string][]string{}
			for name, entries := range tt.want {
				want[name] = slices.Sorted(slices.Values(entries))
			}
			if got := dump(l); !maps.EqualFunc(got, want, slices.Equal) {
				t.Errorf("Parse() lists = %q, want %q", got, want)
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("Parse() skipped = %q, want %q", skipped, tt.skipped)
			}
		})
	}
}

func TestParseHugeLine(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("z", 10<<20)
	in := "a@example.com\n" + huge + "\r\nb@example.com\n" + huge
	l, skipped, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatalf("Parse() error = %v, want nil", err)
	}
	for _, email := range []string{"a@example.com", "b@example.com"} {
		if !l.Contains(MainList, email) {
			t.Errorf("Contains(%q) = false, want true", email)
		}
	}
	want := []LineError{
		{2, huge[:maxLine], fmt.Sprintf("line too long (%d bytes)", len(huge)+1)}, // with its "\r"
		{4, huge[:maxLine], fmt.Sprintf("line too long (%d bytes)", len(huge))},
	}
	if !slices.Equal(skipped, want) {
		t.Errorf("Parse() skipped = %d lines, want %d", len(skipped), len(want))
		for i := range min(len(skipped), len(want)) {
			t.Errorf("skipped[%d] = line %d, %q, %d bytes of text; want line %d, %q, %d bytes",
				i, skipped[i].Line, skipped[i].Reason, len(skipped[i].Text), want[i].Line, want[i].Reason, len(want[i].Text))
		}
	}
}

func TestParseLineAtBufferSize(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("a", maxLine-len("@example.com")) + "@example.com"
	_, skipped, err := Parse(strings.NewReader(line + "\n"))
	if err != nil {
		t.Fatalf("Parse() error = %v, want nil", err)
	}
	want := []LineError{{1, line, reasonLongLocal}}
	if !slices.Equal(skipped, want) {
		t.Errorf("Parse() skipped = %.60q, want %.60q", skipped, want)
	}
}

func TestParseSmallReads(t *testing.T) {
	t.Parallel()
	in := "\ufeffa@example.com\r\n[gpt4]\r\n" + strings.Repeat("x", 2*maxLine) + "\r\nb@example.com"
	l, skipped, err := Parse(iotest.OneByteReader(strings.NewReader(in)))
	if err != nil {
		t.Fatalf("Parse() error = %v, want nil", err)
	}
	want := lists{MainList: {"a@example.com"}, "gpt4": {"b@example.com"}}
	if got := dump(l); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Parse() lists = %q, want %q", got, want)
	}
	if len(skipped) != 1 || skipped[0].Line != 3 {
		t.Errorf("Parse() skipped = %.60q, want line 3 only", skipped)
	}
}

func TestParseReadError(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a@example.com\nb@exa"), iotest.ErrReader(errBoom))
	l, skipped, err := Parse(r)
	if !errors.Is(err, errBoom) {
		t.Errorf("Parse() error = %v, want %v", err, errBoom)
	}
	if l != nil || skipped != nil {
		t.Errorf("Parse() = %v, %v, want nil, nil on error", l, skipped)
	}
}

func TestLineErrorError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  LineError
		want string
	}{
		{LineError{7, "bob", reasonNotAddress}, `line 7: not an email address: "bob"`},
		{LineError{2, "a\x00b", reasonControl}, `line 2: control character: "a\x00b"`},
		{LineError{3, strings.Repeat("x", 100), "line too long (100 bytes)"}, `line 3: line too long (100 bytes): "` + strings.Repeat("x", 80) + `"...`},
		// Non-ASCII is escaped, so that a look-alike never reads as the letter it mimics.
		{LineError{4, "\u212Aate@example.com", reasonNonASCII}, `line 4: non-ASCII character: "\u212aate@example.com"`},
		{LineError{5, "\u0430lice@example.com", reasonNonASCII}, `line 5: non-ASCII character: "\u0430lice@example.com"`},
		{LineError{6, "[gpt\u0034\u0301]", reasonBadHeader}, `line 6: invalid section header: "[gpt4\u0301]"`},
		{LineError{7, strings.Repeat("x", 79) + "\u212A", reasonNonASCII}, `line 7: non-ASCII character: "` + strings.Repeat("x", 79) + `\xe2"...`},
	}
	for _, tt := range tests {
		var err error = tt.err
		if got := err.Error(); got != tt.want {
			t.Errorf("LineError.Error() = %s, want %s", got, tt.want)
		}
	}
}

// TestParseKeepsNotTheFile checks that a List holds copies of what it
// keeps (list names, keys, skipped lines), not substrings that would pin
// the whole file: here 8 MiB of comments around one header, one address
// and one bad line. Not parallel: it reads the live heap.
func TestParseKeepsNotTheFile(t *testing.T) {
	file := func() []byte {
		comments := strings.Repeat("# "+strings.Repeat("x", 1021)+"\n", 8<<10)
		return []byte(comments + "[gpt4]\nalice@example.com\nnot an address\n" + comments)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, skipped, err := Parse(bytes.NewReader(file()))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if !l.Contains("gpt4", "alice@example.com") || len(skipped) != 1 {
		t.Fatalf("parse: Contains(gpt4, alice) = false or %d skipped lines, want true and 1", len(skipped))
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 1<<20 {
		t.Errorf("the live heap grew by %d bytes while the List is alive, want < 1 MiB (the 16 MiB file pinned?)", grown)
	}
	runtime.KeepAlive(l)
	runtime.KeepAlive(skipped)
}

func TestParseSizeLimit(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 99, 100, 101, 1 << 20} {
		in := strings.Repeat("#", size)
		if size >= 18 {
			in = "alice@example.com\n" + strings.Repeat("#", size-18)
		}
		p, err := parse(strings.NewReader(in), 100)
		if wantErr := size > 100; (err != nil) != wantErr {
			t.Errorf("parse(%d bytes, limit 100) error = %v, want error %v", size, err, wantErr)
		}
		if err != nil {
			continue
		}
		if l, _ := p.list(true); size >= 18 && !l.Contains(MainList, "alice@example.com") {
			t.Errorf("parse(%d bytes, limit 100) lost alice", size)
		}
	}
}

// TestParseUnterminatedLastLine checks that parse keeps a last line with no
// "\n" aside, and that list adds it only when asked to.
func TestParseUnterminatedLastLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		held     bool     // a last line is kept aside
		without  []string // main list without it
		withTail []string // main list with it
	}{
		{"a@example.com\nb@example.co", true, []string{"a@example.com"}, []string{"a@example.com", "b@example.co"}},
		{"a@example.com\nb@example.com\n", false, []string{"a@example.com", "b@example.com"}, []string{"a@example.com", "b@example.com"}},
		{"a@example.com\r", true, nil, []string{"a@example.com"}},
		{"\xef\xbb\xbfa@example.com", true, nil, []string{"a@example.com"}},
		{"", false, nil, nil},
	}
	for _, tt := range tests {
		for _, withTail := range []bool{false, true} {
			p, err := parse(strings.NewReader(tt.in), maxFileSize)
			if err != nil {
				t.Fatalf("parse(%q) error = %v", tt.in, err)
			}
			if held := p.tail != nil; held != tt.held {
				t.Errorf("parse(%q): last line kept aside = %v, want %v", tt.in, held, tt.held)
			}
			l, skipped := p.list(withTail)
			want := tt.without
			if withTail {
				want = tt.withTail
			}
			if got := dump(l)[MainList]; fmt.Sprint(got) != fmt.Sprint(want) || len(skipped) != 0 {
				t.Errorf("parse(%q).list(%v) = %q, %v skipped; want %q, none", tt.in, withTail, got, skipped, want)
			}
		}
	}
}
