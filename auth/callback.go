package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"doorman/auth/store"
)

// maxCallbackBody caps the /callback body: a token is at most 8 KiB.
const maxCallbackBody = 64 << 10

// csrfCookie is the double-submit cookie Google Identity Services sets.
const csrfCookie = "g_csrf_token"

// statusClientClosed is nginx's status for a request whose client closed
// the connection before the answer: what the request log records for a
// sign-in abandoned by its visitor. Nobody receives it.
const statusClientClosed = 499

// Page is the data a handler renders a page with. doorman's renderer adds
// what only the presentation needs (language, layout) around it.
type Page struct {
	Status    int      // HTTP status of an error page
	Email     string   // the signed-in (or refused) address
	Lists     []string // lists the address is on; "" is the main list
	Site      string   // list of the site the visitor came from; "" is the main list
	ClientID  string   // Google OAuth client ID (login page)
	LoginURI  string   // where Google posts the credential (login page)
	Nonce     string   // nonce for Google (login page)
	SwitchURL string   // "use another account" link (403 page)
	SignedIn  bool     // a session is set for Email (403 page); false: Email is on no list and was not signed in
	SiteQuery string   // "?list=…&rd=…" (validated) or "": what a link back to this page keeps
	SignedOut bool     // the visitor has just signed out (login page)

	Accounts []DemoAccount // demo mode: the accounts offered (login page); nil otherwise

	Sessions  []SessionRow // the visitor's live sessions (sessions page)
	Tokens    []TokenRow   // the visitor's live tokens (tokens and sessions pages)
	TokenForm *TokenForm   // the form to make a token (tokens page)
	NewToken  *NewToken    // a token just made, shown once (its own page)
	StoreDown bool         // a 503 because the store could not be reached: nothing was changed (error page)
	Remaining string       // what a counted request left of the budget (demo mode's GPT-4 page)
	CSRF      string       // the CSRF token of the page's forms

	Usage     []SiteUsage // the visitor's budgets and what is used of them, per site (signed-in, sessions and budget pages)
	UsageDown bool        // the store could not be read: no usage shown (signed-in and sessions pages), a 503 (budget page)
	Spent     *LimitUsage // the full limit that has room again last (budget page); nil when none is full
	Back      string      // when Spent has room again, in the budgets' time zone: "00:00 UTC" (budget page)
	Device    *DevicePage // the device sign-in page
	Base      string      // doorman's public URL, for the links and assets of a page nginx may show on a site's own host; "" means relative
}

// callbackBody is what Google Identity Services posts to login_uri.
type callbackBody struct {
	Credential string `json:"credential"`
	CSRF       string `json:"g_csrf_token"`
}

// readCallback parses the /callback body (form or JSON, capped) and checks
// the g_csrf_token double submit. Errors are *Refusal.
func readCallback(w http.ResponseWriter, r *http.Request) (callbackBody, error) {
	var body callbackBody
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mediaType != "application/x-www-form-urlencoded" && mediaType != "application/json") {
		return body, refuse("unsupported_media_type", "content type %q", mediaType)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return body, refuse("body_too_large", "body over %d bytes", maxCallbackBody)
	} else if err != nil {
		return body, refuse("bad_request", "read body: %v", err)
	}
	if err := decodeCallback(mediaType, raw, &body); err != nil {
		return body, refuse("bad_request", "decode body: %v", err)
	}
	if !csrfMatches(r, body.CSRF) {
		return body, refuse("csrf", "g_csrf_token cookie and field missing or different")
	}
	return body, nil
}

// csrfMatches reports whether field is non-empty and equals a g_csrf_token
// cookie (any of them, should the browser send several).
func csrfMatches(r *http.Request, field string) bool {
	if field == "" {
		return false
	}
	for _, c := range r.CookiesNamed(csrfCookie) {
		if subtle.ConstantTimeCompare([]byte(c.Value), []byte(field)) == 1 {
			return true
		}
	}
	return false
}

// decodeCallback fills body from a form or JSON document.
func decodeCallback(mediaType string, raw []byte, body *callbackBody) error {
	if mediaType == "application/json" {
		return json.Unmarshal(raw, body)
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return err
	}
	body.Credential, body.CSRF = form.Get("credential"), form.Get(csrfCookie)
	return nil
}

// startSession records a session for id in the store, sets its cookie and
// retires the nonce used.
func (h *Handler) startSession(c echo.Context, id identity, nonces []nonceEntry) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), storeTimeout)
	defer cancel()
	cookie, err := h.newSession(ctx, id.Email, c.Request().UserAgent(), c.RealIP())
	if err != nil {
		return storeError(err)
	}
	http.SetCookie(c.Response(), cookie)
	if n, ok := findNonce(nonces, id.nonce); ok {
		h.retireNonce(c.Response(), n)
	}
	return nil
}

// admit finishes a sign-in whose identity is established, by Google
// (callback) or by a demo button (demoSignIn), through the last
// steps of a sign-in: on no list, the 403 page and no cookie; on some
// list, the session (a 503 page and no cookie when the store cannot record
// it), then rd, or the 403 page when not on list.
func (h *Handler) admit(c echo.Context, id identity, nonces []nonceEntry, list, rd string) error {
	lists := h.allow.ListsOf(id.Email)
	if len(lists) == 0 {
		h.logRefusal(c, refuse("not_in_whitelist", "on no list"), id.Email)
		return h.renderNotSignedIn(c, id.Email, list, rd)
	}
	if err := h.startSession(c, id, nonces); err != nil {
		h.logRefusal(c, refuse("store_unavailable", "the session could not be recorded"), id.Email)
		return err
	}
	h.logger.Info("sign-in succeeded", "email", id.Email, "sub", id.Subject, "lists", logLists(lists), "site", logList(list), "client_ip", c.RealIP())
	if !h.allow.Contains(list, id.Email) {
		h.observer.SignIn("forbidden", "not_on_site_list")
		return h.renderForbidden(c, id.Email, list, rd)
	}
	h.observer.SignIn("success", "")
	return c.Redirect(http.StatusSeeOther, orHome(rd))
}

// refused logs a refused sign-in and returns the error page for it; a
// sign-in its visitor abandoned goes to abandoned instead.
func (h *Handler) refused(c echo.Context, err error, email string) error {
	if errors.Is(err, errAbandoned) {
		return h.abandoned(c, err)
	}
	var rf *Refusal
	if !errors.As(err, &rf) {
		return echo.NewHTTPError(http.StatusInternalServerError).SetInternal(err)
	}
	h.logRefusal(c, rf, email)
	return echo.NewHTTPError(refusalStatus(rf)).SetInternal(err)
}

// abandoned ends a sign-in whose visitor hung up while doorman waited for
// Google's keys. It is not a refusal (the token was never judged) and not
// Google failing: one debug line, nothing counted, no page for nobody.
func (h *Handler) abandoned(c echo.Context, err error) error {
	h.logger.Debug("sign-in abandoned", "detail", err.Error(), "client_ip", c.RealIP())
	return c.NoContent(statusClientClosed)
}

// logRefusal writes the one "sign-in refused" event line and counts it.
func (h *Handler) logRefusal(c echo.Context, rf *Refusal, email string) {
	attrs := []any{"reason", rf.Reason, "detail", rf.Detail, "client_ip", c.RealIP()}
	if email != "" {
		attrs = append(attrs, "email", email)
	}
	h.logger.Info("sign-in refused", attrs...)
	h.observer.SignIn("refused", rf.Reason)
}

// refusalStatus maps a refusal to its HTTP status: malformed requests are
// 400/413/415, Google being unreachable 503, any token problem 401.
func refusalStatus(rf *Refusal) int {
	switch rf.Reason {
	case "csrf", "bad_request":
		return http.StatusBadRequest
	case "body_too_large":
		return http.StatusRequestEntityTooLarge
	case "unsupported_media_type":
		return http.StatusUnsupportedMediaType
	case "google_unreachable":
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// renderForbidden renders the 403 page for a signed-in email that is not
// on site's list, naming the email and offering another account (by
// signing out).
func (h *Handler) renderForbidden(c echo.Context, email, site, rd string) error {
	return c.Render(http.StatusForbidden, "forbidden.html", Page{
		Status: http.StatusForbidden, Email: email, Lists: h.allow.ListsOf(email), Site: site, SignedIn: true,
		SwitchURL: "/logout" + siteQuery(site, rd), SiteQuery: siteQuery(site, rd),
	})
}

// renderNotSignedIn renders the 403 page for an identity on no list at
// all, which was given no session: it says so, and "another account" is
// the login page itself (there is nothing to sign out of).
func (h *Handler) renderNotSignedIn(c echo.Context, email, site, rd string) error {
	return c.Render(http.StatusForbidden, "forbidden.html", Page{
		Status: http.StatusForbidden, Email: email, Site: site,
		SwitchURL: "/login" + siteQuery(site, rd), SiteQuery: siteQuery(site, rd),
	})
}

// storeError is the answer to a store call that failed: the 503 page
// ("try again") when the store cannot be reached, as nothing was done;
// otherwise a bug's 500.
func storeError(err error) error {
	code := http.StatusInternalServerError
	if errors.Is(err, store.ErrUnavailable) {
		code = http.StatusServiceUnavailable
	}
	return echo.NewHTTPError(code).SetInternal(err)
}
