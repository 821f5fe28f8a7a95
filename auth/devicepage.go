package auth

// The page where a person who is signed in approves or denies a sign-in
// from a terminal, and the lockout that stops a session guessing codes.

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"doorman/auth/store"
)

const (
	deviceMaxWrong  = 5                // wrong codes in a row that lock a session out of /device
	deviceLockout   = 10 * time.Minute // for this long
	maxDeviceGuards = 10_000           // sessions whose wrong codes are counted
)

// DevicePage is what device.html shows.
type DevicePage struct {
	Code     string    // the user code entered, as XXXX-XXXX; "" shows the form to enter one
	Name     string    // the token name asked for; "" when none was
	Lists    []string  // the lists asked for
	IP       string    // the address that asked; may be empty
	Wrong    bool      // the code entered is unknown, expired or already decided
	Decided  string    // "approved" or "denied" once decided; "" before
	Until    time.Time // locked out until then (the 429 page); zero otherwise
	Approved []string  // the lists granted, when Decided is "approved"
}

// deviceGuard counts each session's wrong user codes in a row, in this
// doorman's memory: with replicas, each keeps its own count.
type deviceGuard struct {
	mu    sync.Mutex
	wrong map[string]*guessCount // by session store id
}

// guessCount is one session's wrong codes in a row, and its lockout.
type guessCount struct {
	n     int
	until time.Time
}

// lockedUntil returns when the session id may use /device again, or zero.
func (g *deviceGuard) lockedUntil(id string, now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.wrong[id]; c != nil && now.Before(c.until) {
		return c.until
	}
	return time.Time{}
}

// record notes a right (reset) or wrong code from session id at now, and
// returns when it is locked out until, or zero.
func (g *deviceGuard) record(id string, right bool, now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if right {
		delete(g.wrong, id)
		return time.Time{}
	}
	if g.wrong == nil || len(g.wrong) >= maxDeviceGuards && g.wrong[id] == nil {
		g.prune(now)
	}
	c := g.wrong[id]
	if c == nil || !c.until.IsZero() && !now.Before(c.until) {
		c = &guessCount{}
		g.wrong[id] = c
	}
	if c.n++; c.n >= deviceMaxWrong {
		c.until = now.Add(deviceLockout)
	}
	return c.until
}

// prune drops the counts of sessions not locked out now; g.mu is held.
func (g *deviceGuard) prune(now time.Time) {
	if g.wrong == nil {
		g.wrong = map[string]*guessCount{}
	}
	for id, c := range g.wrong {
		if !now.Before(c.until) {
			delete(g.wrong, id)
		}
	}
}

// devicePage handles "GET /device[?code=]": the form to enter a user code
// or, with one, what it asks for and the buttons to approve or deny it. A
// visitor not signed in goes through /login and back; a session locked out
// gets the 429 page.
func (h *Handler) devicePage(c echo.Context) error {
	c.Response().Header()["Cache-Control"] = h.noStore
	vs, ok := h.findSession(c.Request(), "", false)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login?rd="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
	now := h.now()
	p := Page{Email: vs.session.Email, CSRF: h.csrfToken(vs.state.id), Device: &DevicePage{}}
	if until := h.devices.lockedUntil(vs.state.id, now); !until.IsZero() {
		return h.deviceLocked(c, p, until)
	}
	code := c.QueryParam("code")
	if code == "" {
		return c.Render(http.StatusOK, "device.html", p)
	}
	ctx, cancel := h.storeContext(c)
	defer cancel()
	d, err := h.store.DeviceCodeByUser(ctx, code, now)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return storeError(err)
	}
	if until := h.devices.record(vs.state.id, err == nil, now); !until.IsZero() {
		return h.deviceLocked(c, p, until)
	}
	if err != nil {
		p.Device.Wrong = true
		return c.Render(http.StatusNotFound, "device.html", p)
	}
	p.Device = &DevicePage{Code: showUserCode(d.UserCode), Name: d.Name, Lists: d.Lists, IP: d.IP}
	return c.Render(http.StatusOK, "device.html", p)
}

// deviceDecide handles "POST /device" (form: code, decision=approve|deny,
// csrf): approves or denies the code once, as the visitor, granting the
// lists asked for that are theirs now (none in common denies it).
func (h *Handler) deviceDecide(c echo.Context) error {
	vs, form, err := h.ownPost(c)
	if err != nil {
		return err
	}
	c.Response().Header()["Cache-Control"] = h.noStore
	now := h.now()
	email := vs.session.Email
	p := Page{Email: email, CSRF: h.csrfToken(vs.state.id), Device: &DevicePage{}}
	if until := h.devices.lockedUntil(vs.state.id, now); !until.IsZero() {
		return h.deviceLocked(c, p, until)
	}
	approve := form.Get("decision") == "approve"
	ctx, cancel := h.storeContext(c)
	defer cancel()
	d, err := h.store.DecideDeviceCode(ctx, form.Get("code"), email, approve, h.allow.ListsOf(email), now)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return storeError(err)
	}
	if until := h.devices.record(vs.state.id, err == nil, now); !until.IsZero() {
		return h.deviceLocked(c, p, until)
	}
	if err != nil {
		p.Device.Wrong = true
		return c.Render(http.StatusNotFound, "device.html", p)
	}
	if d.Status == store.DeviceApproved {
		h.logger.Info("device code approved", "email", email, "lists", d.Granted, "ip", d.IP)
	} else {
		h.logger.Info("device code denied", "email", email, "asked", d.Lists, "ip", d.IP)
	}
	p.Device = &DevicePage{Decided: string(d.Status), Name: d.Name, Lists: d.Lists, Approved: d.Granted}
	return c.Render(http.StatusOK, "device.html", p)
}

// deviceLocked answers a session locked out of /device: 429, saying when
// it may try again.
func (h *Handler) deviceLocked(c echo.Context, p Page, until time.Time) error {
	p.Device = &DevicePage{Until: until}
	c.Response().Header().Set("Retry-After", strconv.FormatInt(secondsUntil(until, h.now()), 10))
	return c.Render(http.StatusTooManyRequests, "device.html", p)
}
