package store

import (
	"strings"
	"testing"
)

var userCodeTests = []struct {
	in, want string // want "" for an error
}{
	{"BCDFGHJK", "BCDFGHJK"},
	{"bcdf-ghjk", "BCDFGHJK"},
	{"BCDF GHJK", "BCDFGHJK"},
	{" zxwv-tsrq ", "ZXWVTSRQ"},
	{"b-c-d-f-g-h-j-k", "BCDFGHJK"},
	{"", ""},
	{"BCDFGHJ", ""},
	{"BCDFGHJKL", ""},
	{"BCDFGHJA", ""},      // a vowel
	{"BCDFGHJ0", ""},      // a digit
	{"BCDF_GHJK", ""},     // only dashes and spaces are skipped
	{"BCDFGHJ\u212a", ""}, // KELVIN SIGN, which folds to K in Unicode
	{"ＢCDFGHJK", ""},      // FULLWIDTH B
	{strings.Repeat("-", 40) + "BCDFGHJK", ""},
}

func TestParseUserCode(t *testing.T) {
	for _, tt := range userCodeTests {
		got, err := parseUserCode(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("parseUserCode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseUserCode checks that parseUserCode accepts exactly the codes
// of at most 32 bytes that are 8 letters of UserCodeAlphabet, in either
// case, among dashes and spaces, and keeps them in one spelling.
func FuzzParseUserCode(f *testing.F) {
	for _, tt := range userCodeTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, err := parseUserCode(s)
		letters := strings.Map(keepLetter, asciiUpper(s))
		want := len(s) <= 32 && len(letters) == userCodeLen && strings.Trim(letters, UserCodeAlphabet) == ""
		if (err == nil) != want {
			t.Fatalf("parseUserCode(%q) = %q, %v; want ok %v", s, code, err, want)
		}
		if err != nil {
			return
		}
		if len(code) != userCodeLen || strings.Trim(code, UserCodeAlphabet) != "" {
			t.Errorf("parseUserCode(%q) = %q, want 8 letters of %s", s, code, UserCodeAlphabet)
		}
		if strings.Map(keepLetter, strings.ToUpper(s)) != code {
			t.Errorf("parseUserCode(%q) = %q, want its letters in upper case", s, code)
		}
		for _, again := range []string{code, strings.ToLower(code[:4]) + "-" + code[4:]} {
			if got, err := parseUserCode(again); got != code || err != nil {
				t.Errorf("parseUserCode(%q) = %q, %v; want %q", again, got, err, code)
			}
		}
	})
}

// asciiUpper folds ASCII letters only, independently of the code under test.
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 32
		}
		return r
	}, s)
}

// keepLetter drops dashes and spaces.
func keepLetter(r rune) rune {
	if r == '-' || r == ' ' {
		return -1
	}
	return r
}

var listsTests = []struct {
	in   []string
	want string // encoded; "" for an error
}{
	{[]string{""}, `[""]`},
	{[]string{"gpt4", "", "gpt4"}, `["","gpt4"]`},
	{[]string{"b", "a.b", "a-b", "a_b"}, `["a-b","a.b","a_b","b"]`},
	{nil, ""},
	{[]string{"a:b"}, ""},
	{[]string{"a\"b"}, ""},
	{[]string{strings.Repeat("l", 65)}, ""},
}

func TestCanonicalLists(t *testing.T) {
	for _, tt := range listsTests {
		got, err := canonicalLists(tt.in, 1)
		if tt.want == "" {
			if err == nil {
				t.Errorf("canonicalLists(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || encodeLists(got) != tt.want {
			t.Errorf("canonicalLists(%q) = %q, %v; want %s", tt.in, got, err, tt.want)
		}
		if back, err := decodeLists(tt.want); err != nil || encodeLists(back) != tt.want {
			t.Errorf("decodeLists(%s) = %q, %v", tt.want, back, err)
		}
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"laptop", true},
		{"CI — nightly build 🚀", true},
		{strings.Repeat("é", 64), true},
		{"", false},
		{strings.Repeat("é", 65), false},
		{"a\tb", false},
		{"a\u200bb", false}, // ZERO WIDTH SPACE is not printable
		{"a\xffb", false},
	}
	for _, tt := range tests {
		if err := validName(tt.name, 1); (err == nil) != tt.ok {
			t.Errorf("validName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
