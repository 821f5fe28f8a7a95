package whitelist

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// maxLine is the longest line Parse keeps in memory. A longer line can be
// neither an entry (at most 318 bytes) nor a header (at most 66 bytes): it is
// reported as too long and the rest of it is read and discarded.
const maxLine = 4096

// maxShown is how much of a line LineError.Error and log lines show.
const maxShown = 80

// LineError reports one skipped line of a whitelist file.
type LineError struct {
	Line   int    // 1-based line number
	Text   string // the line, trimmed; cut to 4096 bytes when longer (see Reason)
	Reason string // why the line was skipped, e.g. "not an email address"
}

// Error returns e.g. `line 7: not an email address: "bob"`. Text longer than
// 80 bytes is cut and followed by "...".
func (e LineError) Error() string {
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Reason, quoteShort(e.Text))
}

// quoteShort quotes s with Go syntax, cut to maxShown bytes.
func quoteShort(s string) string {
	if len(s) <= maxShown {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...", s[:maxShown])
}

// Parse reads a whole whitelist file from r. Lines that are neither blank,
// comments, section headers nor valid entries are skipped and returned, in
// order, as LineErrors; the rest of the file still loads.
//
// A malformed section header ("[bad name]", "[]", "[x") is skipped, and so is
// every entry after it up to the next valid header: those entries belong to
// no list, so that a typo in a header never widens the main list or another
// section. A header repeated later adds to the same list.
//
// err is non-nil only when reading r fails or r holds more than 256 MiB;
// then l is nil and must not be used.
func Parse(r io.Reader) (l *List, skipped []LineError, err error) {
	b, err := readWhole(r, maxFileSize)
	if err != nil {
		return nil, nil, fmt.Errorf("read whitelist: %w", err)
	}
	l, skipped = parse(b)
	return l, skipped, nil
}

// maxFileSize bounds a whitelist file. keySet's offsets are uint32, and no
// real list comes near it: 100,000 addresses are about 2.3 MB.
const maxFileSize = 256 << 20

// readWhole reads r to the end, or fails once it has read more than limit bytes.
func readWhole(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// parse parses a whole whitelist file.
func parse(b []byte) (*List, []LineError) {
	// One string for the whole file: lines and the keys found in them are
	// substrings of it, so a line costs no allocation of its own.
	content := string(b)
	p := newParser()
	for n := 1; content != ""; n++ {
		line, rest, _ := strings.Cut(content, "\n")
		content = rest
		if line != "" {
			p.line(n, line[:min(len(line), maxLine)], len(line))
		}
	}
	return p.finish(), p.skipped
}

// parser holds the state of one Parse call. It collects each list's keys
// in slices and builds each list's sets (keySet) once all are known.
type parser struct {
	lists     map[string]*collected // list name -> its keys so far
	cur       *collected            // the list being filled; nil after a malformed header
	badHeader int                   // line of the malformed header in effect, if cur is nil
	skipped   []LineError
}

// collected is one list's keys, in file order, duplicates included.
type collected struct{ addrs, domains []string }

func newParser() *parser {
	mainList := &collected{}
	return &parser{lists: map[string]*collected{MainList: mainList}, cur: mainList}
}

// line handles line n, size bytes long; raw holds at most its first maxLine bytes.
func (p *parser) line(n int, raw string, size int) {
	cut := size > len(raw)
	if n == 1 {
		raw = strings.TrimPrefix(raw, "\xef\xbb\xbf")
	}
	raw = strings.TrimSuffix(raw, "\r")
	s := strings.Trim(raw, " \t")
	switch {
	case strings.HasPrefix(s, "#"), s == "" && !cut:
	case strings.HasPrefix(s, "["):
		p.header(n, s, cut)
	case cut:
		p.skip(n, s, fmt.Sprintf("line too long (%d bytes)", size))
	default:
		p.entry(n, s)
	}
}

// header starts the list named by the header s, or, when s is malformed or
// cut, makes following entries belong to no list.
func (p *parser) header(n int, s string, cut bool) {
	name, closed := strings.CutSuffix(s[1:], "]")
	if cut || !closed || !ValidListName(name) {
		p.skip(n, s, reasonBadHeader)
		p.cur, p.badHeader = nil, n
		return
	}
	if p.lists[name] == nil {
		p.lists[strings.Clone(name)] = &collected{} // a substring would pin the whole file
	}
	p.cur = p.lists[name]
}

// entry adds the address or domain entry s to the current list.
func (p *parser) entry(n int, s string) {
	key, domain, reason := checkEntry(s)
	switch {
	case reason != "":
		p.skip(n, s, reason)
	case p.cur == nil:
		p.skip(n, s, fmt.Sprintf("after invalid section header on line %d", p.badHeader))
	case domain:
		p.cur.domains = append(p.cur.domains, key)
	default:
		p.cur.addrs = append(p.cur.addrs, key)
	}
}

func (p *parser) skip(n int, s, reason string) {
	p.skipped = append(p.skipped, LineError{Line: n, Text: strings.Clone(s), Reason: reason}) // not pinning the file
}

// finish builds the List: each list's sets, and the sorted named lists.
func (p *parser) finish() *List {
	l := &List{sets: make(map[string]*entrySet, len(p.lists))}
	for name, c := range p.lists {
		l.sets[name] = &entrySet{addrs: newKeySet(c.addrs), domains: newKeySet(c.domains)}
		if name != MainList {
			l.names = append(l.names, name)
		}
	}
	slices.Sort(l.names)
	return l
}
