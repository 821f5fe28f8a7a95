package whitelist

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"doorman/whitelist/budget"
)

// budgetWord starts a list's budget line, and an entry's own budget after
// the entry.
const budgetWord = "budget"

// ownBudget is an entry's own budget and the line that gave it.
type ownBudget struct {
	b    budget.Budget // nil: "budget none"
	line int
}

// BudgetOf returns the budget of email on the list named list (MainList
// for the main list): the budget of email's address entry if the list has
// one (its own, else the list's), else that of its domain entry (its own,
// else the list's). It returns nil
// when no budget applies ("budget none", or no budget line), and when the
// list is unknown or email is not on it (see Contains). BudgetOf takes no
// lock and does not allocate; the caller must not modify the result.
func (l *List) BudgetOf(list, email string) budget.Budget {
	s, ok := l.sets[list]
	if !ok {
		return nil
	}
	return s.budgetOf(email)
}

// budgetOf returns the budget of email on s; see List.BudgetOf.
func (s *entrySet) budgetOf(email string) budget.Budget {
	if s.budget == nil && s.own == nil || len(email) > maxAddress {
		return nil
	}
	var buf [maxAddress]byte
	key := buf[:len(email)]
	if !foldASCII(key, email) || !s.has(email, key) {
		return nil
	}
	if s.own == nil {
		return s.budget
	}
	if b, ok := s.own[string(key)]; ok {
		return b
	}
	if s.addrs.has(key) { // an address entry without a budget of its own: the list's, whatever a domain entry says
		return s.budget
	}
	if b, ok := s.own[string(key[bytes.LastIndexByte(key, '@'):])]; ok {
		return b
	}
	return s.budget
}

// refusals are the entries of a list whose line was skipped for an invalid
// budget: the people they name are refused on the list even if another
// entry names them too, so that nobody is admitted under a budget not
// meant for them. Only an address entry with a valid budget of its own
// still admits its person.
type refusals struct {
	addrs   keySet // "local@domain"
	domains keySet // "domain"
}

// refuse reports whether key, a folded email, is refused on s.
func (r *refusals) refuse(s *entrySet, key []byte) bool {
	if r.addrs.has(key) {
		return true
	}
	at := bytes.LastIndexByte(key, '@')
	if at < 0 || !r.domains.has(key[at+1:]) {
		return false
	}
	_, own := s.own[string(key)]
	return !own
}

// isBudgetLine reports whether the trimmed line s is a budget line: the
// word "budget", alone or followed by a space or tab.
func isBudgetLine(s string) bool {
	rest, ok := strings.CutPrefix(s, budgetWord)
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}

// listBudget handles the budget line s, line n, size bytes long (cut if
// longer than maxLine), of the current list. A list's first budget line
// counts, valid or not: an invalid one is skipped and leaves the list
// without a budget. Any further one is skipped.
func (p *parser) listBudget(n int, s string, size int, cut bool) {
	switch {
	case p.cur == nil:
		p.skip(n, s, p.afterBadHeader())
	case p.cur.budgetLine != 0:
		p.skip(n, s, fmt.Sprintf("second budget line of this list (the one on line %d counts)", p.cur.budgetLine))
	case cut:
		p.cur.budgetLine, p.cur.budgetBad = n, true
		p.skip(n, s, "invalid budget, so the list has none: "+tooLong(size))
	default:
		p.cur.budgetLine = n
		b, reason := p.parseLimits(s[len(budgetWord):])
		if reason != "" {
			p.cur.budgetBad = true
			p.skip(n, s, "invalid budget, so the list has none: "+reason)
		}
		p.cur.budget = b
	}
}

// entryWithBudget handles the line s, which checkEntry refused for reason
// (a space inside it): an entry followed by its own budget, as in
// "bob@example.com budget 500/day", or a bad line. A line whose budget is
// invalid is skipped whole, and the people its entry names are refused on
// the list (see refusals).
func (p *parser) entryWithBudget(n int, s, reason string) {
	i := strings.IndexAny(s, " \t")
	entry, rest := s[:i], strings.TrimLeft(s[i:], " \t")
	if !isBudgetLine(rest) {
		p.skip(n, s, reason)
		return
	}
	key, domain, reason := checkEntry(entry)
	if reason != "" {
		p.skip(n, s, reason)
		return
	}
	b, reason := p.parseLimits(rest[len(budgetWord):])
	switch {
	case p.cur == nil:
		p.skip(n, s, p.afterBadHeader())
	case reason != "":
		p.skip(n, s, "invalid budget, so the list refuses whom the entry names: "+reason)
		p.cur.refused.add(key, domain)
	default:
		p.addOwn(n, s, key, domain, b)
	}
}

// addOwn adds the entry key, line n (s), with its own budget b to the
// current list. An entry given twice with different budgets keeps the
// first; the later line is skipped.
func (p *parser) addOwn(n int, s, key string, domain bool, b budget.Budget) {
	k := key
	if domain {
		k = "@" + key
	}
	if prev, ok := p.cur.own[k]; ok {
		if !slices.Equal(prev.b, b) {
			p.skip(n, s, fmt.Sprintf("entry has budget %s on line %d already", prev.b, prev.line))
		}
		return
	}
	if p.cur.own == nil {
		p.cur.own = map[string]ownBudget{}
	}
	p.cur.own[k] = ownBudget{b: b, line: n}
	p.cur.add(key, domain)
}

// parseLimits parses the text after the word "budget" and returns why it
// is invalid, or "". Entries with the same text share one Budget.
func (p *parser) parseLimits(limits string) (budget.Budget, string) {
	limits = strings.Trim(limits, " \t")
	if b, ok := p.budgets[limits]; ok {
		return b, ""
	}
	if strings.IndexByte(limits, '#') >= 0 {
		return nil, reasonInlineComment
	}
	b, _, err := budget.Parse(limits)
	if err != nil {
		return nil, err.Error()
	}
	if p.budgets == nil {
		p.budgets = map[string]budget.Budget{}
	}
	p.budgets[limits] = b
	return b, ""
}

// entrySet builds the List's set of c.
func (c *collected) entrySet() *entrySet {
	s := &entrySet{addrs: newKeySet(c.addrs), domains: newKeySet(c.domains), budget: c.budget}
	if c.budgetBad {
		s.badLine = c.budgetLine
	}
	if len(c.refused.addrs)+len(c.refused.domains) > 0 {
		s.refused = &refusals{addrs: newKeySet(c.refused.addrs), domains: newKeySet(c.refused.domains)}
	}
	if len(c.own) > 0 {
		s.own = make(map[string]budget.Budget, len(c.own))
		for k, o := range c.own {
			s.own[k] = o.b
		}
	}
	return s
}

// sameBudgets reports whether every list of a has the same budgets in b.
func sameBudgets(a, b *List) bool {
	for name, s := range a.sets {
		o := b.sets[name]
		if o == nil || !slices.Equal(s.budget, o.budget) || !maps.EqualFunc(s.own, o.own, slices.Equal) || !sameRefusals(s.refused, o.refused) {
			return false
		}
	}
	return true
}

// sameRefusals reports whether a and b refuse the same entries.
func sameRefusals(a, b *refusals) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.addrs.len() == b.addrs.len() && missingKeys(&a.addrs, &b.addrs) == 0 &&
		a.domains.len() == b.domains.len() && missingKeys(&a.domains, &b.domains) == 0
}

// budgetAttrs returns the budget attributes of the reload log line:
// "budgets", the budget of each list that has one; "entry_budgets", how
// many entries carry their own; and, if a list's budget line was invalid,
// "budgets_invalid", the line of each such list, which has no budget.
// Lists are named as in logSizes.
func budgetAttrs(l *List) []any {
	budgets, invalid, own := map[string]string{}, map[string]int{}, 0
	for name, s := range l.sets {
		if s.budget != nil {
			budgets[logLabel(name)] = s.budget.String()
		}
		if s.badLine != 0 {
			invalid[logLabel(name)] = s.badLine
		}
		own += len(s.own)
	}
	attrs := []any{"budgets", budgets, "entry_budgets", own}
	if len(invalid) > 0 {
		attrs = append(attrs, "budgets_invalid", invalid)
	}
	return attrs
}
