package auth

// The visitor's own sessions: see them, end one, sign out everywhere.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"doorman/auth/store"
)

// maxForm caps the body of a form posted to doorman's own pages.
const maxForm = 4 << 10

// SessionRow is one of the visitor's live sessions, as the sessions page
// lists it.
type SessionRow struct {
	ID       string    // the session's store id, what the end button posts
	Browser  string    // the User-Agent it signed in with
	IP       string    // the address it signed in from; may be empty
	Created  time.Time // sign-in time
	LastSeen time.Time // last use, to the minute; zero if never used
	Current  bool      // the session of this very request
}

// sessionsPage handles "GET /sessions": the visitor's live sessions and
// tokens, each with an end button, and "sign out everywhere", and what is left of their
// budgets (left out when it cannot be read). A visitor not signed in goes
// through /login and back.
func (h *Handler) sessionsPage(c echo.Context) error {
	c.Response().Header()["Cache-Control"] = h.noStore
	vs, ok := h.findSession(c.Request(), "", false)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login?rd="+url.QueryEscape("/sessions"))
	}
	ctx, cancel := h.storeContext(c)
	defer cancel()
	live, err := h.store.LiveSessions(ctx, vs.session.Email, h.now())
	if err != nil {
		return storeError(err)
	}
	rows := make([]SessionRow, len(live))
	for i, s := range live {
		rows[i] = SessionRow{ID: s.ID, Browser: s.UserAgent, IP: s.IP, Created: s.Created, LastSeen: s.LastSeen, Current: s.ID == vs.state.id}
	}
	tokens, err := h.tokenRows(c, vs.session.Email)
	if err != nil {
		return storeError(err)
	}
	usage, down := h.usage(c, vs.session.Email)
	return c.Render(http.StatusOK, "sessions.html", Page{
		Email: vs.session.Email, Lists: h.allow.ListsOf(vs.session.Email), Sessions: rows, Tokens: tokens, CSRF: h.csrfToken(vs.state.id),
		Usage: usage, UsageDown: down,
	})
}

// endSessionPost handles "POST /sessions/end" (form: id, csrf): ends one
// of the visitor's own sessions. Someone else's id is a 404, like an
// unknown one. Ending this very session signs the visitor out.
func (h *Handler) endSessionPost(c echo.Context) error {
	vs, form, err := h.ownPost(c)
	if err != nil {
		return err
	}
	id := form.Get("id")
	if err := h.endSession(c, vs.session.Email, id, store.ReasonUser); errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound).SetInternal(err)
	} else if err != nil {
		return storeError(err)
	}
	if id == vs.state.id {
		return h.signedOut(c)
	}
	return c.Redirect(http.StatusSeeOther, "/sessions")
}

// endAllPost handles "POST /sessions/end-all" (form: csrf): ends every
// session of the visitor, this one included ("sign out everywhere").
func (h *Handler) endAllPost(c echo.Context) error {
	vs, _, err := h.ownPost(c)
	if err != nil {
		return err
	}
	if err := h.endSessionsOf(c, vs.session.Email, store.ReasonUserAll); err != nil {
		return storeError(err)
	}
	return h.signedOut(c)
}

// signedOut clears the session cookie and sends the visitor to the login
// page, which says they signed out.
func (h *Handler) signedOut(c echo.Context) error {
	c.Response().Header()["Cache-Control"] = h.noStore
	http.SetCookie(c.Response(), h.cookie.sessionCookie("", -1))
	http.SetCookie(c.Response(), h.signedOutCookie(signedOutTTL))
	return c.Redirect(http.StatusSeeOther, "/login")
}

// ownPost checks a POST to one of doorman's own pages: a live session, an
// Origin (when sent) that is doorman's own, and the session's CSRF token in
// the form. Anything else is a 403 and changes nothing.
func (h *Handler) ownPost(c echo.Context) (*verifiedSession, url.Values, error) {
	r := c.Request()
	if !h.sameOrigin(r) {
		return nil, nil, echo.NewHTTPError(http.StatusForbidden).SetInternal(errors.New("cross-origin POST"))
	}
	vs, ok := h.findSession(r, "", false)
	if !ok {
		return nil, nil, echo.NewHTTPError(http.StatusForbidden).SetInternal(ErrNoSession)
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return nil, nil, echo.NewHTTPError(http.StatusBadRequest).SetInternal(err)
	}
	if !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(h.csrfToken(vs.state.id))) {
		return nil, nil, echo.NewHTTPError(http.StatusForbidden).SetInternal(errors.New("missing or wrong CSRF token"))
	}
	return vs, r.PostForm, nil
}

// csrfToken is the CSRF token of doorman's forms for the session whose
// store id is id: an HMAC under a key of its own, so that it is worthless
// for any other session.
func (h *Handler) csrfToken(id string) string {
	m := hmac.New(sha256.New, h.csrf)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameOrigin reports whether r's Origin, when it has one, is doorman's
// own: --public-url's origin, or without it an origin whose host is r's
// Host. Browsers send Origin on every cross-site POST.
func (h *Handler) sameOrigin(r *http.Request) bool {
	origin := r.Header.Values("Origin")
	switch {
	case len(origin) == 0:
		return true
	case len(origin) > 1:
		return false
	}
	u, err := url.Parse(origin[0])
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil || u.RawQuery != "" {
		return false // "null" among them
	}
	if h.publicURL != "" {
		return strings.EqualFold(u.Scheme+"://"+u.Host, h.publicOrigin)
	}
	return (u.Scheme == "https" || u.Scheme == "http" && !h.cookie.secure) && strings.EqualFold(u.Host, r.Host)
}
