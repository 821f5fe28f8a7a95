package auth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Check handles "GET|HEAD /auth[?list=name]", nginx's auth_request target
// (CONTRACT §2, §6): 200 with X-Auth-Request-Email when a valid session's
// email is on the list now, else 401; both with an empty body. It does no
// I/O and logs nothing.
func (h *Handler) Check(c echo.Context) error {
	start := time.Now()
	r := c.Request()
	list := authListParam(r.URL.RawQuery)
	hdr := c.Response().Header()
	hdr["Cache-Control"] = h.noStore
	hdr["Content-Length"] = h.zeroLength // also on HEAD: nginx needs it
	vs, ok := h.findSession(r, list, true)
	code := http.StatusUnauthorized
	if ok {
		hdr["X-Auth-Request-Email"] = vs.emailHeader
		code = http.StatusOK
	}
	h.observer.AuthChecked(list, ok, time.Since(start))
	return c.NoContent(code)
}

// authListParam returns the raw value of the first "list" parameter. It
// does not allocate; an encoded value never names a list, since list names
// need no encoding.
func authListParam(rawQuery string) string {
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		if v, ok := strings.CutPrefix(kv, "list="); ok {
			return v
		}
	}
	return ""
}

// Login handles "GET /login?[list=<name>&]rd=<url>" (CONTRACT §2): the
// sign-in page, or straight on to rd for a visitor already allowed there,
// or the 403 page for a signed-in visitor who is not on the site's list.
func (h *Handler) Login(c echo.Context) error {
	r := c.Request()
	list, rd, err := h.siteParams(r.URL.RawQuery)
	if err != nil {
		return err
	}
	c.Response().Header()["Cache-Control"] = h.noStore
	if vs, ok := h.findSession(r, "", false); ok {
		if h.allow.Contains(list, vs.session.Email) {
			return c.Redirect(http.StatusSeeOther, orHome(rd))
		}
		return h.renderForbidden(c, vs.session.Email, list, rd)
	}
	nonce, err := h.bindNonce(c.Response(), r)
	if err != nil {
		return echo.NewHTTPError(http.StatusInternalServerError).SetInternal(err)
	}
	return c.Render(http.StatusOK, "login.html", Page{
		ClientID: h.clientID, LoginURI: h.callbackURL(list, rd), Nonce: nonce, Site: list,
	})
}

// Callback handles "POST /callback?[list=<name>&]rd=<url>" (CONTRACT §2):
// CSRF, token and list checks in that order, then the session cookie and a
// 303 to rd.
func (h *Handler) Callback(c echo.Context) error {
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
	lists := h.allow.ListsOf(id.Email)
	if len(lists) == 0 {
		h.logRefusal(c, refuse("not_in_whitelist", "on no list"), id.Email)
		return h.renderForbidden(c, id.Email, list, rd)
	}
	if err := h.startSession(c, id, nonces); err != nil {
		return echo.NewHTTPError(http.StatusInternalServerError).SetInternal(err)
	}
	h.logger.Info("sign-in succeeded", "email", id.Email, "sub", id.Subject, "lists", lists, "site", list, "client_ip", c.RealIP())
	if !h.allow.Contains(list, id.Email) {
		h.observer.SignIn("forbidden", "not_on_site_list")
		return h.renderForbidden(c, id.Email, list, rd)
	}
	h.observer.SignIn("success", "")
	return c.Redirect(http.StatusSeeOther, orHome(rd))
}

// Logout handles "GET /logout" (CONTRACT §2): clears the session cookie and
// 303s to /login, keeping list and rd so another account can sign in.
func (h *Handler) Logout(c echo.Context) error {
	r := c.Request()
	list, rd, err := h.siteParams(r.URL.RawQuery)
	if err != nil {
		return err
	}
	if vs, ok := h.findSession(r, "", false); ok {
		h.logger.Info("signed out", "email", vs.session.Email)
	}
	c.Response().Header()["Cache-Control"] = h.noStore
	http.SetCookie(c.Response(), h.cookie.sessionCookie("", -1))
	return c.Redirect(http.StatusSeeOther, "/login"+siteQuery(list, rd))
}

// Home handles "GET /", doorman's signed-in page: who you are and which
// sites you may use; without a session, a 303 to /login.
func (h *Handler) Home(c echo.Context) error {
	vs, ok := h.findSession(c.Request(), "", false)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	email := vs.session.Email
	c.Response().Header()["Cache-Control"] = h.noStore
	return c.Render(http.StatusOK, "signedin.html", Page{Email: email, Lists: h.allow.ListsOf(email)})
}

// siteParams reads list and rd from a raw query. A malformed list name is a
// 400; an invalid rd is dropped ("").
func (h *Handler) siteParams(rawQuery string) (list, rd string, err error) {
	list = queryParam(rawQuery, "list")
	if list != "" && !validListName(list) {
		return "", "", echo.NewHTTPError(http.StatusBadRequest).SetInternal(errors.New("malformed list name"))
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
// (CONTRACT §6: letters, digits, '.', '_', '-').
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
