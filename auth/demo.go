package auth

// Demo mode (doorman --demo): sign-in at the click of a button instead of
// Google, so that a newcomer can try every path on a laptop. Everything
// after the identity — the lists, the session cookie, the 403 page, the
// redirect — is the code callback runs (admit).

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
)

// maxDemoForm caps the demo sign-in form body.
const maxDemoForm = 4 << 10

// DemoAccount is one "Sign in as" button on the demo login page.
type DemoAccount struct {
	Email string   // the address signed in as
	Lists []string // the lists it is on right now; "" is the main list
}

// demoAccounts returns the lower-cased demo addresses, or nil.
func demoAccounts(emails []string) []string {
	var out []string
	for _, e := range emails {
		out = append(out, asciiLower(e))
	}
	return out
}

// checkDemo rejects a demo Config that could be mistaken for a real one.
func checkDemo(cfg Config) error {
	if cfg.ClientID != "" {
		return errors.New("auth: ClientID must be empty with DemoAccounts: demo mode never talks to Google")
	}
	for _, e := range cfg.DemoAccounts {
		if !plainEmail(e) {
			return errors.New("auth: DemoAccounts: not a plain address: " + e)
		}
	}
	return nil
}

// inDemo reports whether h runs in demo mode.
func (h *Handler) inDemo() bool { return len(h.demo) > 0 }

// demoAccounts lists the demo accounts with the lists each is on now.
func (h *Handler) demoAccounts() []DemoAccount {
	out := make([]DemoAccount, len(h.demo))
	for i, e := range h.demo {
		out[i] = DemoAccount{Email: e, Lists: h.allow.ListsOf(e)}
	}
	return out
}

// demoHome handles "GET /" in demo mode (404 otherwise): for a visitor
// with a session, the signed-in page, as Home; for anyone else the demo's
// start page, which says what to try: the protected pages, the accounts
// and the lists each is on now, signing in and out, the whitelist.
func (h *Handler) demoHome(c echo.Context) error {
	if !h.inDemo() {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if _, ok := h.findSession(c.Request(), "", false); ok {
		return h.home(c)
	}
	c.Response().Header()["Cache-Control"] = h.noStore
	return c.Render(http.StatusOK, "start.html", Page{Accounts: h.demoAccounts()})
}

// demoSignIn handles "POST /demo/signin?[list=<name>&]rd=<url>", demo mode
// only (404 otherwise): it signs the browser in as the demo account in the
// form's "email" field. The form's "nonce" is the CSRF token: it must be a
// nonce the login page bound to this browser's nonce cookie, as a Google
// token's nonce must be, and it is retired on use. Then everything is as
// in callback.
func (h *Handler) demoSignIn(c echo.Context) error {
	if !h.inDemo() {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	r := c.Request()
	list, rd, err := h.siteParams(r.URL.RawQuery)
	if err != nil {
		return err
	}
	c.Response().Header()["Cache-Control"] = h.noStore
	id, nonces, err := h.demoIdentity(c.Response(), r)
	if err != nil {
		return h.refused(c, err, "")
	}
	return h.admit(c, id, nonces, list, rd)
}

// demoIdentity reads the demo form and checks its nonce against the ones
// bound to this browser. Errors are *Refusal.
func (h *Handler) demoIdentity(w http.ResponseWriter, r *http.Request) (identity, []nonceEntry, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxDemoForm)
	if err := r.ParseForm(); err != nil {
		return identity{}, nil, refuse("bad_request", "demo form: %v", err)
	}
	form := r.PostForm
	nonces := h.liveNonces(r)
	nonce := form.Get("nonce")
	if !nonceMatcher(nonces)(nonce) {
		return identity{}, nil, refuse("csrf", "demo form nonce missing or not bound to this browser")
	}
	email := asciiLower(form.Get("email"))
	if !slices.Contains(h.demo, email) {
		return identity{}, nil, refuse("bad_request", "not a demo account: %q", url.QueryEscape(email))
	}
	return identity{Email: email, Subject: "demo:" + email, nonce: nonce}, nonces, nil
}

// demoPage handles "GET /demo/" and "GET /demo/<list>/" in demo mode: a
// stand-in for an app behind nginx. It lets in exactly whom /auth (or
// /auth?list=<list>) lets in, by the same decision (auth.Handler.allowed),
// and sends everyone else to the login page as nginx's error_page would.
func (h *Handler) demoPage(c echo.Context) error {
	list := c.Param("list")
	if list != "" && !validListName(list) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	email, ok := h.allowed(c.Request(), list)
	if !ok {
		return c.Redirect(http.StatusFound, "/login"+demoSiteQuery(list, c.Request().URL.Path))
	}
	return c.Render(http.StatusOK, "demo.html", Page{Email: email, Site: list})
}

// demoSiteQuery is "?[list=<list>&]rd=<path>", as nginx's error_page passes it.
func demoSiteQuery(list, path string) string {
	q := "?"
	if list != "" {
		q += "list=" + list + "&"
	}
	return q + "rd=" + url.QueryEscape(path)
}

// demoAsk handles "POST /demo/<list>/ask" in demo mode: a counted request,
// as nginx makes the API route of a costly site one ("/auth?list=…&cost=1").
// Within the budget it shows the demo page with what is left; at the
// ceiling (or with the store down) it shows the page nginx shows then.
func (h *Handler) demoAsk(c echo.Context) error {
	r := c.Request()
	list := c.Param("list")
	if !validListName(list) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if !h.sameOrigin(r) {
		return echo.NewHTTPError(http.StatusForbidden).SetInternal(errors.New("cross-origin POST"))
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	email, ok := h.allowed(r, list)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login"+demoSiteQuery(list, "/demo/"+list+"/"))
	}
	if h.spend(c, email, list, 1) != http.StatusOK {
		return c.Redirect(http.StatusSeeOther, "/budget?list="+list)
	}
	left := c.Response().Header().Get("X-Doorman-Budget-Remaining")
	return c.Render(http.StatusOK, "demo.html", Page{Email: email, Site: list, Remaining: left})
}
