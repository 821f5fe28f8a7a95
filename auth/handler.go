package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"doorman/auth/store"
)

// check handles "GET|HEAD /auth[?list=name][&cost=N]", nginx's
// auth_request target (README "Endpoints"): 200 with X-Auth-Request-Email
// when a valid session's email is on the list now, else 401; both with an
// empty body. It does no I/O, but for a counted check (cost) of a person
// with a budget on the list: one store call, and a 403 at the ceiling (see
// spend). A list name the whitelist does not know is reported to it, which
// logs it once per name and load.
func (h *Handler) check(c echo.Context) error {
	var start time.Time
	if h.observed { // reading the clock costs ~60 ns on kvm-clock; only metrics need it
		start = time.Now()
	}
	r := c.Request()
	q := parseAuthQuery(r.URL.RawQuery)
	list := q.list
	hdr := c.Response().Header()
	hdr["Cache-Control"] = h.noStore
	hdr["Content-Length"] = h.zeroLength // also on HEAD: nginx needs it
	email, ok := h.authorize(r, hdr, list)
	if q.costBad { // a mistake in nginx's configuration: nobody passes
		h.reportBadCost(q.costRaw)
		ok = false
	}
	code := http.StatusUnauthorized
	if ok {
		code = http.StatusOK
		if q.costSet {
			code = h.spend(c, email, list, q.cost)
		}
	} else if list != "" {
		// Only the names nginx's configuration sends to /auth may spend
		// the budget of logged unknown names, so that a typo there is
		// logged even after clients made up a hundred names elsewhere.
		h.allow.ReportUnknown(list)
	}
	if h.observed {
		h.observer.AuthChecked(list, ok, time.Since(start))
	}
	return c.NoContent(code)
}

// authorize finds who r is, for list: by the doorman token it carries, if
// it carries one (which then alone decides, a bad one refused beside a
// good cookie), else by its session cookie. It sets the identity headers
// of a 200 on hdr.
func (h *Handler) authorize(r *http.Request, hdr http.Header, list string) (email string, ok bool) {
	if tok, present := bearerToken(r); present {
		ts, ok := h.tokenFor(tok, list, h.now().Unix())
		if !ok {
			return "", false
		}
		hdr["X-Auth-Request-Email"], hdr["X-Auth-Request-Token"] = ts.emailHeader, ts.nameHeader
		return ts.email, true
	}
	vs, ok := h.findSession(r, list, true)
	if !ok {
		return "", false
	}
	hdr["X-Auth-Request-Email"] = vs.emailHeader
	return vs.session.Email, true
}

// allowed reports whether r carries a valid session whose email is on list
// now, and that email: the very decision check gives nginx, for pages
// doorman guards itself (the demo's protected pages).
func (h *Handler) allowed(r *http.Request, list string) (email string, ok bool) {
	vs, ok := h.findSession(r, list, true)
	if !ok {
		return "", false
	}
	return vs.session.Email, true
}

// login handles "GET /login?[list=<name>&]rd=<url>" (README "Endpoints"): the
// sign-in page, or straight on to rd for a visitor already allowed there,
// or the 403 page for a signed-in visitor who is not on the site's list.
func (h *Handler) login(c echo.Context) error {
	r := c.Request()
	list, rd, err := h.siteParams(r.URL.RawQuery)
	if err != nil {
		return err
	}
	c.Response().Header()["Cache-Control"] = h.noStore
	if _, ok := h.findSession(r, list, true); ok {
		return c.Redirect(http.StatusSeeOther, orHome(rd))
	}
	if vs, ok := h.findSession(r, "", false); ok {
		return h.renderForbidden(c, vs.session.Email, list, rd)
	}
	nonce, err := h.bindNonce(c.Response(), r)
	if err != nil {
		return echo.NewHTTPError(http.StatusInternalServerError).SetInternal(err)
	}
	return c.Render(http.StatusOK, "login.html", h.loginPage(c, nonce, list, rd))
}

// loginPage is the login page's data: Google's button, or in demo mode
// the demo accounts, whose forms post to /demo/signin.
func (h *Handler) loginPage(c echo.Context, nonce, list, rd string) Page {
	p := Page{
		ClientID: h.clientID, LoginURI: h.callbackURL(list, rd), Nonce: nonce, Site: list,
		SiteQuery: siteQuery(list, rd), SignedOut: h.takeSignedOut(c),
	}
	if h.inDemo() {
		p.ClientID, p.LoginURI, p.Accounts = "", "/demo/signin"+siteQuery(list, rd), h.demoAccounts()
	}
	return p
}

// callback handles "POST /callback?[list=<name>&]rd=<url>" (README "Endpoints"):
// CSRF, token and list checks in that order, then the session cookie and a
// 303 to rd.
func (h *Handler) callback(c echo.Context) error {
	if h.verifier == nil { // demo mode
		return echo.NewHTTPError(http.StatusNotFound)
	}
	r := c.Request()
	list, rd, err := h.siteParams(r.URL.RawQuery)
	if err != nil {
		return err
	}
	c.Response().Header()["Cache-Control"] = h.noStore
	body, err := readCallback(c.Response(), r)
	if err != nil {
		return h.refused(c, err, "")
	}
	nonces := h.liveNonces(r)
	id, err := h.verifier.verify(r.Context(), body.Credential, nonceMatcher(nonces))
	if err != nil {
		return h.refused(c, err, "")
	}
	return h.admit(c, id, nonces, list, rd)
}

// logout handles "GET /logout" (README "Endpoints"): ends the session in
// the store, so that every copy of its cookie is refused, clears the cookie
// and 303s to /login, keeping list and rd so another account can sign in.
// When the store cannot be reached it changes nothing, the cookie included,
// and answers the 503 page.
func (h *Handler) logout(c echo.Context) error {
	r := c.Request()
	list, rd, err := h.siteParams(r.URL.RawQuery)
	if err != nil {
		return err
	}
	c.Response().Header()["Cache-Control"] = h.noStore
	if !h.states.ready.Load() && h.hasSessionCookie(r) {
		// Until the store was read once no session counts, so this one
		// could be neither found nor ended: "signed out" would be false
		// while every copy of the cookie goes on working.
		return storeError(fmt.Errorf("%w: the store was not read yet", store.ErrUnavailable))
	}
	if vs, ok := h.findSession(r, "", false); ok {
		if err := h.endSession(c, vs.session.Email, vs.state.id, store.ReasonUser); err != nil && !errors.Is(err, store.ErrNotFound) {
			return storeError(err)
		}
		h.logger.Info("signed out", "email", vs.session.Email)
	}
	http.SetCookie(c.Response(), h.cookie.sessionCookie("", -1))
	http.SetCookie(c.Response(), h.signedOutCookie(signedOutTTL))
	return c.Redirect(http.StatusSeeOther, "/login"+siteQuery(list, rd))
}

// signedOutName is the flash cookie by which the login page after /logout
// says "you have signed out". It carries no identity.
const (
	signedOutName = "doorman-signed-out"
	signedOutTTL  = 60 // seconds
)

// signedOutCookie sets (maxAge > 0) or clears (< 0) the signed-out flash,
// scoped to /login.
func (h *Handler) signedOutCookie(maxAge int) *http.Cookie {
	return h.cookie.newCookie(signedOutName, "1", "/login", "", maxAge)
}

// takeSignedOut reports whether the request carries the signed-out flash,
// and clears it so it shows once.
func (h *Handler) takeSignedOut(c echo.Context) bool {
	if ck, err := c.Request().Cookie(signedOutName); err != nil || ck.Value != "1" {
		return false
	}
	http.SetCookie(c.Response(), h.signedOutCookie(-1))
	return true
}

// home handles "GET /", doorman's signed-in page: who you are, which
// sites you may use and what is left of your budgets there (without them
// when the store cannot be read); without a session, a 303 to /login.
func (h *Handler) home(c echo.Context) error {
	vs, ok := h.findSession(c.Request(), "", false)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	email := vs.session.Email
	c.Response().Header()["Cache-Control"] = h.noStore
	usage, down := h.usage(c, email)
	return c.Render(http.StatusOK, "signedin.html", Page{Email: email, Lists: h.allow.ListsOf(email), Usage: usage, UsageDown: down})
}

// siteParams reads list and rd from a raw query. list and rd only shape
// what the visitor sees and where they go next: a malformed list name is
// dropped (""), like an invalid rd, so it is never reflected.
func (h *Handler) siteParams(rawQuery string) (list, rd string, err error) {
	list = queryParam(rawQuery, "list")
	if !validListName(list) {
		list = ""
	}
	if raw, ok := redirectParam(rawQuery); ok {
		rd, _ = h.redirects.validate(raw)
	}
	return list, rd, nil
}

// callbackURL is the login_uri handed to Google: /callback with list and rd.
func (h *Handler) callbackURL(list, rd string) string {
	return h.publicURL + "/callback" + siteQuery(list, rd)
}

// siteQuery encodes list and rd as a query string, rd last, or "".
func siteQuery(list, rd string) string {
	var parts []string
	if list != "" {
		parts = append(parts, "list="+url.QueryEscape(list))
	}
	if rd != "" {
		parts = append(parts, "rd="+url.QueryEscape(rd))
	}
	if len(parts) == 0 {
		return ""
	}
	return "?" + strings.Join(parts, "&")
}

// orHome is rd, or doorman's signed-in page when rd is empty.
func orHome(rd string) string {
	if rd == "" {
		return "/"
	}
	return rd
}

// validListName reports whether name is a well-formed list name
// (letters, digits, '.', '_', '-', at most 64 bytes).
func validListName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
