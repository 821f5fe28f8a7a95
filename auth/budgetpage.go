package auth

// Budgets as people see them: the page nginx shows a browser instead of a
// budget refusal, and the usage on the signed-in and sessions pages. These
// are pages, not the hot path: each reads the store.

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// SiteUsage is the visitor's budget on one site and what is used of it.
type SiteUsage struct {
	List   string       // the site's list; "" is the main list
	Limits []LimitUsage // one per limit, the longest window first
}

// LimitUsage is one limit of a budget and what is used of it in the
// current window.
type LimitUsage struct {
	N    int64     // the limit
	Used int64     // spent in the current window
	Unit string    // the window's unit as the whitelist file writes it: "day"
	Ends time.Time // when the current window ends
}

// Left is what remains of the limit in the current window.
func (l LimitUsage) Left() int64 { return max(0, l.N-l.Used) }

// budgetPage handles "GET /budget?list=<name>", the page nginx shows a
// browser instead of a budget refusal (README "Budgets"): a 429 saying
// which limit is used up and when it has room again, with Retry-After; a
// 200 with what remains when there is room again; a 503 when the store
// cannot be read. A visitor not signed in goes through /login to the
// signed-in page; one not on the site's list gets the 403 page.
func (h *Handler) budgetPage(c echo.Context) error {
	hdr := c.Response().Header()
	hdr["Cache-Control"] = h.noStore
	r := c.Request()
	list, _, _ := h.siteParams(r.URL.RawQuery)
	vs, ok := h.findSession(r, list, true)
	if !ok {
		if vs, ok := h.findSession(r, "", false); ok {
			return h.renderForbidden(c, vs.session.Email, list, "")
		}
		return c.Redirect(http.StatusSeeOther, h.publicURL+"/login?rd="+url.QueryEscape("/"))
	}
	h.allowPublicAssets(c)
	p := Page{Email: vs.session.Email, Site: list, SiteQuery: siteQuery(list, ""), Base: h.publicURL}
	now := h.now()
	ctx, cancel := h.storeContext(c)
	defer cancel()
	u, err := h.siteUsage(ctx, p.Email, list, now)
	if err != nil {
		h.logger.Warn("budget usage not shown", "list", logList(list), "err", err)
		p.UsageDown = true
		return c.Render(http.StatusServiceUnavailable, "budget.html", p)
	}
	code := http.StatusOK
	if len(u.Limits) > 0 {
		p.Usage = []SiteUsage{u}
	}
	if p.Spent = lastFull(u.Limits); p.Spent != nil {
		p.Back = clockTime(p.Spent.Ends, now, h.budgetZone)
		hdr.Set("Retry-After", strconv.FormatInt(secondsUntil(p.Spent.Ends, now), 10))
		code = http.StatusTooManyRequests
	}
	return c.Render(code, "budget.html", p)
}

// siteUsage reads what email used of their budget on list at now: one
// store call when there is a budget, none when there is not.
func (h *Handler) siteUsage(ctx context.Context, email, list string, now time.Time) (SiteUsage, error) {
	u := SiteUsage{List: list}
	b := h.allow.BudgetOf(list, email)
	if len(b) == 0 {
		return u, nil
	}
	windows, ends := h.budgetWindows(b, now)
	keys := make([]string, len(windows))
	for i, w := range windows {
		keys[i] = w.Key
	}
	used, err := h.store.Used(ctx, email, list, keys)
	if err != nil {
		return u, err
	}
	u.Limits = make([]LimitUsage, len(b))
	for i, l := range b {
		u.Limits[i] = LimitUsage{N: l.N, Used: used[i], Unit: l.Unit.String(), Ends: ends[i]}
	}
	return u, nil
}

// usage is what the signed-in and sessions pages show of email's budgets:
// every site with a budget for them, and whether the store failed, in
// which case they show none.
func (h *Handler) usage(c echo.Context, email string) (usage []SiteUsage, down bool) {
	ctx, cancel := h.storeContext(c)
	defer cancel()
	now := h.now()
	for _, list := range h.allow.ListsOf(email) {
		u, err := h.siteUsage(ctx, email, list, now)
		if err != nil {
			h.logger.Warn("budget usage not shown", "list", logList(list), "err", err)
			return nil, true
		}
		if len(u.Limits) > 0 {
			usage = append(usage, u)
		}
	}
	return usage, false
}

// lastFull returns the limit with nothing left whose window ends last, or
// nil when every limit has room.
func lastFull(limits []LimitUsage) *LimitUsage {
	var last *LimitUsage
	for i, l := range limits {
		if l.Left() == 0 && (last == nil || l.Ends.After(last.Ends)) {
			last = &limits[i]
		}
	}
	return last
}

// secondsUntil is the whole seconds from now until t, rounded up, as
// Retry-After says it.
func secondsUntil(t, now time.Time) int64 { return int64(math.Ceil(t.Sub(now).Seconds())) }

// clockTime is t as a local time in loc, with loc's name: "00:00 UTC"
// within a day of now, else with the date: "2030-04-01 00:00 Asia/Tokyo".
func clockTime(t, now time.Time, loc *time.Location) string {
	layout := "15:04"
	if t.Sub(now) > 24*time.Hour {
		layout = "2006-01-02 15:04"
	}
	return t.In(loc).Format(layout) + " " + loc.String()
}

// allowPublicAssets lets the page being answered load doorman's
// stylesheet and icon from --public-url's origin: nginx shows the budget
// page on the site's own host, where "/static/" is the site's.
func (h *Handler) allowPublicAssets(c echo.Context) {
	if h.publicOrigin == "" {
		return
	}
	hdr := c.Response().Header()
	c.Response().Before(func() {
		csp := hdr.Get("Content-Security-Policy")
		for _, d := range []string{"style-src 'self'", "img-src 'self'"} {
			csp = strings.Replace(csp, d, d+" "+h.publicOrigin, 1)
		}
		hdr.Set("Content-Security-Policy", csp)
	})
}
