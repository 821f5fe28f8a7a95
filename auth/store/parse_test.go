package store

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var idTests = []struct {
	id string
	ok bool
}{
	{"a", true},
	{"Zz09_-", true},
	{strings.Repeat("x", 64), true},
	{"LPm3kHHZ2mYcJ0SvXbnQnV0Ue8CZ6yqBzz6Jh7pE0kQ", true}, // base64url of a SHA-256
	{"", false},
	{strings.Repeat("x", 65), false},
	{"a:b", false},
	{"a b", false},
	{"a/b", false},
	{"a+b=", false}, // standard base64, not URL-safe
	{"a\x00", false},
	{"é", false},
	{"*", false},
}

func TestValidID(t *testing.T) {
	for _, tt := range idTests {
		if err := validID(tt.id); (err == nil) != tt.ok {
			t.Errorf("validID(%q) = %v, want ok %v", tt.id, err, tt.ok)
		}
	}
}

// FuzzValidID checks that validID accepts exactly the ids of 1 to 64
// characters of [A-Za-z0-9_-].
func FuzzValidID(f *testing.F) {
	for _, tt := range idTests {
		f.Add(tt.id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := len(id) >= 1 && len(id) <= 64 && strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
		if err := validID(id); (err == nil) != want {
			t.Errorf("validID(%q) = %v, want ok %v", id, err, want)
		}
	})
}

var truncateTests = []struct {
	in   string
	n    int
	want string
}{
	{"", 5, ""},
	{"abc", 5, "abc"},
	{"abcde", 5, "abcde"},
	{"abcdef", 5, "abcde"},
	{"abcdé", 5, "abcd"},
	{"ab€", 4, "ab"},
	{"a😀", 5, "a😀"},
	{"a😀", 4, "a"},
	{"😀", 3, ""},
	{"abc\xff\xfe", 4, "abc\xff"}, // invalid UTF-8 is kept as it comes
}

func TestTruncateUTF8(t *testing.T) {
	for _, tt := range truncateTests {
		if got := truncateUTF8(tt.in, tt.n); got != tt.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func FuzzTruncateUTF8(f *testing.F) {
	for _, tt := range truncateTests {
		f.Add(tt.in, tt.n)
	}
	f.Fuzz(func(t *testing.T, in string, n int) {
		if n < 0 || n > 1000 {
			return
		}
		got := truncateUTF8(in, n)
		switch {
		case !strings.HasPrefix(in, got):
			t.Errorf("truncateUTF8(%q, %d) = %q, not a prefix", in, n, got)
		case len(got) > n:
			t.Errorf("truncateUTF8(%q, %d) = %q, too long", in, n, got)
		case len(in) <= n && got != in:
			t.Errorf("truncateUTF8(%q, %d) = %q, want it whole", in, n, got)
		case utf8.ValidString(in) && !utf8.ValidString(got):
			t.Errorf("truncateUTF8(%q, %d) = %q, splits a character", in, n, got)
		case utf8.ValidString(in) && len(in) > n && n-len(got) >= utf8.UTFMax:
			t.Errorf("truncateUTF8(%q, %d) = %q, cut more than a character", in, n, got)
		}
	})
}

var streamIDTests = []struct {
	in string
	id streamID
	ok bool
}{
	{"0-0", streamID{}, true},
	{"1700000000000-0", streamID{1700000000000, 0}, true},
	{"1-18446744073709551615", streamID{1, 1<<64 - 1}, true},
	{"", streamID{}, false},
	{"5", streamID{}, false},
	{"-", streamID{}, false},
	{"1-", streamID{}, false},
	{"-1", streamID{}, false},
	{"01-1", streamID{}, false},
	{"1-01", streamID{}, false},
	{"+1-1", streamID{}, false},
	{"1-1-1", streamID{}, false},
	{"1-18446744073709551616", streamID{}, false},
	{" 1-1", streamID{}, false},
	{"$", streamID{}, false},
}

func TestParseStreamID(t *testing.T) {
	for _, tt := range streamIDTests {
		id, err := parseStreamID(tt.in)
		if (err == nil) != tt.ok || id != tt.id {
			t.Errorf("parseStreamID(%q) = %v, %v; want %v, ok %v", tt.in, id, err, tt.id, tt.ok)
		}
	}
}

func FuzzParseStreamID(f *testing.F) {
	for _, tt := range streamIDTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id, err := parseStreamID(in)
		if err != nil {
			return
		}
		if got := id.String(); got != in {
			t.Errorf("parseStreamID(%q).String() = %q, want the input back", in, got)
		}
	})
}
