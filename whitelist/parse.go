package whitelist

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"doorman/whitelist/budget"
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

// Error returns e.g. `line 7: not an email address: "bob"`. The text is
// quoted in ASCII, every other character escaped (a Kelvin sign shows as
// \u212a, not as a "K" look-alike); text longer than 80 bytes is cut and
// followed by "...".
func (e LineError) Error() string {
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Reason, quoteShort(e.Text))
}

// quoteShort quotes s with Go syntax in ASCII only (strconv.QuoteToASCII),
// cut to maxShown bytes.
func quoteShort(s string) string {
	if len(s) <= maxShown {
		return fmt.Sprintf("%+q", s)
	}
	return fmt.Sprintf("%+q...", s[:maxShown])
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
	p, err := parse(r, maxFileSize)
	if err != nil {
		return nil, nil, err
	}
	l, skipped = p.list(true)
	return l, skipped, nil
}

// maxFileSize bounds a whitelist file. keySet's offsets are uint32, and no
// real list comes near it: 100,000 addresses are about 2.3 MB.
const maxFileSize = 256 << 20

// parse reads a file of at most limit bytes line by line through a 4 KiB
// buffer, so that even a file of one huge line costs little memory. A last
// line with no "\n" is kept aside, unparsed, for the caller to decide on
// (see parser.list): it may be a line that a writer has not finished.
func parse(r io.Reader, limit int64) (*parser, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	p := newParser()
	br := bufio.NewReaderSize(lr, maxLine)
	for n := 1; ; n++ {
		line, size, err := readLine(br)
		eof := errors.Is(err, io.EOF)
		switch {
		case eof && lr.N == 0:
			return nil, fmt.Errorf("read whitelist: larger than %d bytes", limit)
		case eof && size > 0:
			p.tail = &pending{n: n, raw: bytes.Clone(line), size: size}
		case size > 0:
			p.line(n, line, size)
		}
		if eof {
			return p, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read line %d: %w", n, err)
		}
	}
}

// readLine returns the next line without its "\n", cut to maxLine bytes, and
// its full length without the "\n". err is io.EOF after the last line.
func readLine(br *bufio.Reader) (line []byte, size int, err error) {
	b, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		line, size = bytes.Clone(b), len(b)
		for errors.Is(err, bufio.ErrBufferFull) {
			b, err = br.ReadSlice('\n')
			size += len(b)
		}
	} else {
		line, size = b, len(b)
	}
	if bytes.HasSuffix(b, []byte("\n")) {
		size--
		if len(line) > size {
			line = line[:size]
		}
	}
	return line, size, err
}

// parser holds the state of one Parse call. It collects each list's keys
// in slices and builds each list's sets (keySet) once all are known.
type parser struct {
	lists     map[string]*collected // list name -> its keys so far
	cur       *collected            // the list being filled; nil after a malformed header
	badHeader int                   // line of the malformed header in effect, if cur is nil
	skipped   []LineError
	tail      *pending                 // the last line, if it has no "\n"; not parsed yet
	budgets   map[string]budget.Budget // limits parsed so far, by text; nil until one
}

// pending is a line kept aside: line n, size bytes long, its first
// maxLine bytes in raw.
type pending struct {
	n, size int
	raw     []byte
}

// collected is one list's keys, in file order, duplicates included, and
// its budgets (see budgets.go).
type collected struct {
	entryKeys
	budget     budget.Budget        // the list's, from its budget line
	budgetLine int                  // the line of its first budget line; 0 if none yet
	budgetBad  bool                 // that line was invalid: the list has no budget
	own        map[string]ownBudget // entries' own budgets by entry key; nil until one
	refused    entryKeys            // entries whose own budget was invalid
}

// entryKeys is the keys of addresses and of domain entries.
type entryKeys struct{ addrs, domains []string }

// add adds the key of an address, or of a domain entry.
func (k *entryKeys) add(key string, domain bool) {
	if domain {
		k.domains = append(k.domains, key)
	} else {
		k.addrs = append(k.addrs, key)
	}
}

func newParser() *parser {
	mainList := &collected{}
	return &parser{lists: map[string]*collected{MainList: mainList}, cur: mainList}
}

// line handles line n, size bytes long; raw holds at most its first maxLine bytes.
func (p *parser) line(n int, raw []byte, size int) {
	cut := size > len(raw)
	if n == 1 {
		raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	}
	raw = bytes.TrimSuffix(raw, []byte("\r"))
	s := strings.Trim(string(raw), " \t")
	switch {
	case strings.HasPrefix(s, "#"), s == "" && !cut:
	case strings.HasPrefix(s, "["):
		p.header(n, s, cut)
	case isBudgetLine(s):
		p.listBudget(n, s, size, cut)
	case cut:
		p.skip(n, s, tooLong(size))
	default:
		p.entry(n, s)
	}
}

// header starts the list named by the header s, or, when s is malformed or
// cut, makes following entries belong to no list.
func (p *parser) header(n int, s string, cut bool) {
	name, closed := strings.CutSuffix(s[1:], "]")
	if cut || !closed || !validListName(name) {
		p.skip(n, s, reasonBadHeader)
		p.cur, p.badHeader = nil, n
		return
	}
	if p.lists[name] == nil {
		p.lists[name] = &collected{}
	}
	p.cur = p.lists[name]
}

// tooLong is the reason a line of size bytes is skipped as too long.
func tooLong(size int) string { return fmt.Sprintf("line too long (%d bytes)", size) }

// entry adds the address or domain entry s to the current list. A line
// with a space in it may be an entry with its own budget.
func (p *parser) entry(n int, s string) {
	key, domain, reason := checkEntry(s)
	switch {
	case reason == reasonSpace || reason == reasonInlineComment:
		p.entryWithBudget(n, s, reason)
	case reason != "":
		p.skip(n, s, reason)
	case p.cur == nil:
		p.skip(n, s, p.afterBadHeader())
	default:
		p.cur.add(key, domain)
	}
}

// afterBadHeader is the reason a line after a malformed header is skipped.
func (p *parser) afterBadHeader() string {
	return fmt.Sprintf("after invalid section header on line %d", p.badHeader)
}

func (p *parser) skip(n int, s, reason string) {
	p.skipped = append(p.skipped, LineError{Line: n, Text: s, Reason: reason})
}

// list returns the List and the skipped lines, with the unterminated last
// line (p.tail) if withTail is set and without it otherwise. Call it once.
func (p *parser) list(withTail bool) (*List, []LineError) {
	if withTail && p.tail != nil {
		p.line(p.tail.n, p.tail.raw, p.tail.size)
	}
	return p.finish(), p.skipped
}

// finish builds the List: each list's sets, and the sorted named lists.
func (p *parser) finish() *List {
	l := &List{sets: make(map[string]*entrySet, len(p.lists))}
	for name, c := range p.lists {
		l.sets[name] = c.entrySet()
		if name != MainList {
			l.names = append(l.names, name)
		}
	}
	slices.Sort(l.names)
	return l
}
