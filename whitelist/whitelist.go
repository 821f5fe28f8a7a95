// Package whitelist parses doorman's whitelist file and keeps it current.
//
// The file holds one entry per line: a plain address (bob@example.com) or a
// domain entry (@example.com, which admits every address of exactly that
// domain, not of its subdomains). Lines before the first section header form
// the main list ([MainList]); a header such as [gpt4] starts the named list
// gpt4, which runs to the next header. Blank lines and lines whose first
// non-blank character is '#' are ignored; every other line that is not a valid
// entry or header is reported as a [LineError] and skipped. Entries after a
// malformed header belong to no list and are reported too, so that a typo in a
// header never widens the main list or another section.
//
// A line "budget <limits>" sets the budget of every entry of its list,
// wherever in the list it stands: limits such as "100/day 20/hour", which
// all apply, or "none" (see package [budget]). A list's first budget line
// counts; a further one is reported and skipped, and an invalid first one
// is reported and leaves the list without a budget. An entry may carry its
// own budget, "bob@example.com budget 500/day" or "@example.com budget
// none", which replaces the list's for it; for a person, their address
// entry's own budget wins over their domain entry's, which wins over the
// list's ([List.BudgetOf]). A line whose own budget is invalid is reported
// and skipped whole, and its list then refuses the people its entry names
// even where another entry names them (unless their address entry has a
// valid budget of its own), so that nobody is admitted under a budget not
// meant for them. Put a list's budget line right after its header: a file
// read while half-written then never holds the list's entries without it.
//
// Matching is ASCII case-insensitive and only ASCII: an address that contains
// any non-ASCII byte (such as the Kelvin sign U+212A, which Unicode folds to
// 'k') never matches.
//
// [Parse] turns a file into an immutable [List]; [Watch] keeps a [List]
// current while the file changes on disk:
//
//	w, err := whitelist.Watch(ctx, "whitelist.txt", logger)
//	if err != nil {
//		return fmt.Errorf("--whitelist: %w", err)
//	}
//	ok := w.Contains(whitelist.MainList, email)
package whitelist

import (
	"strings"

	"doorman/whitelist/budget"
)

// MainList is the name of the list formed by lines before the first section header.
const MainList = ""

// maxListName is the longest list name validListName accepts.
const maxListName = 64

// List is an immutable parsed whitelist file: the main list plus named
// sections. It is safe for concurrent use. The zero List is an empty file:
// it has only the (empty) main list.
type List struct {
	sets  map[string]*entrySet // list name -> entries; MainList always present after Parse
	names []string             // named lists (not MainList), sorted
}

// entrySet is one list: lower-case ASCII addresses and domain entries, and
// their budgets.
type entrySet struct {
	addrs   keySet                   // "local@domain"
	domains keySet                   // "domain", from "@domain" lines
	budget  budget.Budget            // the list's; nil: none
	own     map[string]budget.Budget // entries' own ("local@domain" or "@domain"; nil value: none); nil if no entry has one
	badLine int                      // line of the list's invalid budget line, which left it without one; 0 if none
	refused *refusals                // entries whose own budget was invalid; nil if none
}

// size returns the number of addresses plus domain entries.
func (s *entrySet) size() int { return s.addrs.len() + s.domains.len() }

// contains reports whether email is on s. It never allocates: the query is
// folded into a stack buffer.
func (s *entrySet) contains(email string) bool {
	if len(email) > maxAddress {
		return false
	}
	var buf [maxAddress]byte
	key := buf[:len(email)]
	return foldASCII(key, email) && s.has(email, key)
}

// has reports whether email, folded into key, is on s.
func (s *entrySet) has(email string, key []byte) bool {
	if s.refused != nil && s.refused.refuse(s, key) {
		return false
	}
	if s.addrs.has(key) {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 || s.domains.len() == 0 || !s.domains.has(key[at+1:]) {
		return false
	}
	return checkAddress(email) == "" // the local part was not checked by a map hit
}

// empty reports whether no list has any entry.
func (l *List) empty() bool {
	for _, set := range l.sets {
		if set.size() > 0 {
			return false
		}
	}
	return true
}

// Contains reports whether email is on the list named list (MainList for the
// main list). An unknown list name contains nobody. Matching is ASCII
// case-insensitive; an email with any non-ASCII byte, or one that is not a
// plain address, is never contained. Contains does not allocate.
func (l *List) Contains(list, email string) bool {
	s, ok := l.sets[list]
	return ok && s.contains(email)
}

// listsOf returns the names of the lists that contain email: MainList first
// when the main list contains it, then named lists in sorted order. It returns
// nil when no list contains email.
func (l *List) listsOf(email string) []string {
	var out []string
	if l.Contains(MainList, email) {
		out = append(out, MainList)
	}
	for _, name := range l.names {
		if l.sets[name].contains(email) {
			out = append(out, name)
		}
	}
	return out
}

// Has reports whether the file defines the list name. MainList always exists;
// a named list exists once its header appears, even with no entries.
func (l *List) Has(list string) bool {
	_, ok := l.sets[list]
	return ok || list == MainList
}

// Sizes returns the number of entries (addresses plus domain entries, without
// duplicates) of every list, keyed by list name; the main list is MainList.
// The caller owns the returned map.
func (l *List) Sizes() map[string]int {
	out := map[string]int{MainList: 0}
	for name, s := range l.sets {
		out[name] = s.size()
	}
	return out
}

// validListName reports whether name may be a list name: 1 to 64 ASCII
// letters, digits, '.', '_' or '-'.
func validListName(name string) bool {
	if name == "" || len(name) > maxListName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// foldASCII writes s lower-cased into dst (len(dst) == len(s)) and reports
// false if s holds a non-ASCII byte. Only 'A'..'Z' are folded.
func foldASCII(dst []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	return true
}

// lowerASCII returns s with 'A'..'Z' folded to lower case; s must be ASCII.
// It returns s itself, without allocating, when s has no upper case.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			foldASCII(b, s)
			return string(b)
		}
	}
	return s
}
