package whitelist

import (
	"fmt"
	"slices"
	"testing"
)

func TestKeySet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keys    []string
		in, out []string
	}{
		{"empty", nil, nil, []string{"", "a"}},
		{"one", []string{"bob@example.com"}, []string{"bob@example.com"},
			[]string{"", "bob@example.co", "bob@example.comm", "ob@example.com", "bob@example.con"}},
		{"duplicates", []string{"a", "b", "a", "c", "b"}, []string{"a", "b", "c"}, []string{"", "ab", "abc", "d"}},
		{"prefixes of each other", []string{"a", "ab", "abc"}, []string{"a", "ab", "abc"}, []string{"", "b", "bc", "abcd"}},
		{"empty key", []string{""}, []string{""}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newKeySet(tt.keys)
			for _, k := range tt.in {
				if !s.has([]byte(k)) || !s.hasString(k) {
					t.Errorf("has(%q) = false, want true", k)
				}
			}
			for _, k := range tt.out {
				if s.has([]byte(k)) || s.hasString(k) {
					t.Errorf("has(%q) = true, want false", k)
				}
			}
			if s.len() != len(tt.in) {
				t.Errorf("len() = %d, want %d", s.len(), len(tt.in))
			}
			all := slices.Sorted(s.all())
			if !slices.Equal(all, tt.in) {
				t.Errorf("all() = %q, want %q", all, tt.in)
			}
		})
	}
}

// TestKeySetAgainstMap checks a large set, with keys that share long
// prefixes and collide in the table, against a map.
func TestKeySetAgainstMap(t *testing.T) {
	t.Parallel()
	var keys []string
	want := map[string]bool{}
	for i := range 20_000 {
		k := fmt.Sprintf("user%d@example.com", i*7%13_001) // repeats some keys
		keys = append(keys, k)
		want[k] = true
	}
	s := newKeySet(keys)
	if s.len() != len(want) {
		t.Errorf("len() = %d, want %d", s.len(), len(want))
	}
	for i := range 30_000 {
		k := fmt.Sprintf("user%d@example.com", i)
		if got := s.has([]byte(k)); got != want[k] {
			t.Fatalf("has(%q) = %v, want %v", k, got, want[k])
		}
	}
	n := 0
	for k := range s.all() {
		if !want[k] {
			t.Fatalf("all() yielded %q, which was never added", k)
		}
		n++
	}
	if n != len(want) {
		t.Errorf("all() yielded %d keys, want %d", n, len(want))
	}
}

func TestKeySetHasAllocs(t *testing.T) {
	s := newKeySet([]string{"alice@example.com", "bob@example.com"})
	key := []byte("alice@example.com")
	if n := testing.AllocsPerRun(100, func() { s.has(key) }); n != 0 {
		t.Errorf("has allocates %v times, want 0", n)
	}
}
