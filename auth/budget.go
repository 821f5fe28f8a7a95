package auth

// Budgets: a ceiling on what each person may spend on a site, counted at
// nginx's "/auth?list=L&cost=N" (README "Budgets").

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"doorman/auth/store"
	"doorman/whitelist/budget"
)

const (
	// maxCost is the largest cost a check may carry.
	maxCost = 1000
	// spendTimeout bounds the one store call of a counted check.
	spendTimeout = time.Second
	// windowMargin keeps a counter a while past its window's end.
	windowMargin = time.Hour
	// maxBadCostsLogged bounds the malformed cost values logged.
	maxBadCostsLogged = 100
)

// authQuery is what nginx's configuration says in /auth's query.
type authQuery struct {
	list    string // the first "list" value, raw; "" is the main list
	cost    int64  // with costSet and !costBad: what the check costs
	costRaw string // the cost as given, for the log
	costSet bool   // a "cost" parameter is present: a counted check
	costBad bool   // it is malformed (or repeated): a 401 for everyone
}

// parseAuthQuery reads list and cost from /auth's raw query without
// allocating: encoded values never name a list, and a cost is decimal
// digits without sign or leading zero, 1 to maxCost, given once.
func parseAuthQuery(rawQuery string) authQuery {
	var q authQuery
	listSet := false
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = cutAmp(rawQuery)
		switch {
		case !listSet && hasPrefix(kv, "list="):
			q.list, listSet = kv[len("list="):], true
		case kv == "cost" || hasPrefix(kv, "cost="):
			if q.costSet {
				q.costBad = true // a repeated cost
			}
			q.costSet = true
			q.costRaw = kv[min(len(kv), len("cost=")):]
		}
	}
	if q.costSet && !q.costBad {
		q.cost, q.costBad = parseCost(q.costRaw)
	}
	return q
}

// cutAmp is strings.Cut(s, "&").
func cutAmp(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '&' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// parseCost parses a cost: 1 to maxCost in decimal digits, no sign, no
// leading zero. bad reports anything else.
func parseCost(s string) (cost int64, bad bool) {
	if s == "" || len(s) > 4 || s[0] == '0' {
		return 0, true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, true
		}
		cost = cost*10 + int64(s[i]-'0')
	}
	return cost, cost > maxCost
}

// spend counts a check of cost on list for email, who is allowed there,
// against their budget, and sets the answer's budget headers: 200 when it
// fits (or no budget applies), 403 at the ceiling or, unless
// --budget-fail-open, when the store cannot be reached.
func (h *Handler) spend(c echo.Context, email, list string, cost int64) int {
	b := h.allow.BudgetOf(list, email)
	if len(b) == 0 {
		return http.StatusOK // no budget: admitted uncounted
	}
	now := h.now()
	windows, ends := h.budgetWindows(b, now)
	ctx, cancel := context.WithTimeout(c.Request().Context(), spendTimeout)
	defer cancel()
	allowed, used, err := h.store.Spend(ctx, email, list, windows, cost)
	if err != nil && ctx.Err() != nil && c.Request().Context().Err() == nil {
		// The check's own deadline, not the request's, ended the call:
		// the store did not answer in time, as when it hangs.
		err = fmt.Errorf("%w: no answer within %v: %w", store.ErrUnavailable, spendTimeout, err)
	}
	hdr := c.Response().Header()
	switch {
	case err != nil && h.budgetFailOpen:
		h.budgetOutage(list, err, "fail_open")
		return http.StatusOK
	case err != nil:
		h.budgetOutage(list, err, "unavailable")
		hdr.Set("X-Doorman-Refusal", "unavailable")
		return http.StatusForbidden
	case !allowed:
		h.observer.BudgetChecked(list, "refused")
		setRefusal(hdr, b, used, ends, cost, now)
		return http.StatusForbidden
	}
	h.observer.BudgetChecked(list, "allowed")
	hdr.Set("X-Doorman-Budget-Remaining", strconv.FormatInt(remaining(b, used), 10))
	return http.StatusOK
}

// budgetWindows are the store's counters for b's limits at now, and when
// each window ends.
func (h *Handler) budgetWindows(b budget.Budget, now time.Time) ([]store.BudgetWindow, []time.Time) {
	windows, ends := make([]store.BudgetWindow, len(b)), make([]time.Time, len(b))
	for i, l := range b {
		start, end := l.Unit.Window(now, h.budgetZone)
		windows[i] = store.BudgetWindow{Key: l.Unit.Key(start, h.budgetZone), Limit: l.N, Expires: end.Add(windowMargin)}
		ends[i] = end
	}
	return windows, ends
}

// remaining is the least that is left over b's limits.
func remaining(b budget.Budget, used []int64) int64 {
	least := int64(math.MaxInt64)
	for i, l := range b {
		least = min(least, max(0, l.N-used[i]))
	}
	return least
}

// setRefusal sets the headers of a refusal at the ceiling: Retry-After
// until every window too full for cost has room again, and
// X-Doorman-Budget for the one of them that resets last.
func setRefusal(hdr http.Header, b budget.Budget, used []int64, ends []time.Time, cost int64, now time.Time) {
	last := -1
	for i, l := range b {
		if used[i]+cost > l.N && (last < 0 || ends[i].After(ends[last])) {
			last = i
		}
	}
	if last < 0 { // the store refused, but every window has room: a race with a reload
		last = 0
	}
	reset := int64(math.Ceil(ends[last].Sub(now).Seconds()))
	hdr.Set("X-Doorman-Refusal", "budget")
	hdr.Set("Retry-After", strconv.FormatInt(reset, 10))
	hdr.Set("X-Doorman-Budget", "limit="+strconv.FormatInt(b[last].N, 10)+", used="+strconv.FormatInt(used[last], 10)+
		", window="+b[last].Unit.String()+", reset="+strconv.FormatInt(reset, 10))
}

// budgetOutage counts a counted check the store could not answer, and
// logs it at most once a minute.
func (h *Handler) budgetOutage(list string, err error, outcome string) {
	h.observer.BudgetChecked(list, outcome)
	if !errors.Is(err, store.ErrUnavailable) {
		h.logger.Error("budget check failed", "list", logList(list), "err", err)
		return
	}
	now := time.Now().UnixNano()
	if last := h.budgetLogged.Load(); now-last < int64(time.Minute) || !h.budgetLogged.CompareAndSwap(last, now) {
		return
	}
	h.logger.Warn("budget store unreachable", "list", logList(list), "fail_open", h.budgetFailOpen, "err", err)
}

// badCosts remembers which malformed cost values were logged.
type badCosts struct {
	mu   sync.Mutex
	seen map[string]bool // guarded by mu
	full bool            // maxBadCostsLogged were logged; guarded by mu
}

// reportBadCost logs a malformed cost value nginx's configuration sent,
// once per value (at most maxBadCostsLogged values, then one line saying
// further ones are not logged).
func (h *Handler) reportBadCost(raw string) {
	b := &h.badCosts
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	key := raw[:min(len(raw), 64)]
	switch {
	case b.seen[key] || b.full:
		return
	case len(b.seen) == maxBadCostsLogged:
		b.full = true
		h.logger.Warn("further malformed cost values not logged")
		return
	}
	b.seen[key] = true
	h.logger.Warn("malformed cost", "cost", key, "want", "1 to 1000, decimal digits, no sign or leading zero, given once")
}
