package auth

// The visitor's own personal tokens, for programs: see them, make one
// (shown once), end one.

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"doorman/auth/store"
)

const (
	maxTokenName    = 64 // most characters of a token's name
	defaultTokenTTL = 90 // days a new token lives unless the visitor says otherwise
)

// TokenRow is one of the visitor's live tokens, as the tokens and
// sessions pages list it. It never holds the token itself.
type TokenRow struct {
	ID       string    // the token's store id, what the end button posts
	Name     string    // chosen by its owner
	Prefix   string    // its first 12 characters
	Lists    []string  // the lists it opens; "" is the main list
	Created  time.Time // when it was made
	LastUsed time.Time // last use, to the minute; zero if never used
	Expires  time.Time // when it stops working
}

// TokenForm is the tokens page's form to make a token: what it offers and,
// after a refused POST, what the visitor sent and why it was refused.
type TokenForm struct {
	Days    int      // the lifetime filled in, in days
	MaxDays int      // the longest lifetime, in days (--token-max-ttl)
	Name    string   // the name sent, after a refusal
	Checked []string // the lists ticked, after a refusal
	Error   string   // message key of the refusal; "" when none
}

// Ticked reports whether the form's box for list is ticked.
func (f TokenForm) Ticked(list string) bool { return slices.Contains(f.Checked, list) }

// NewToken is a token just made, shown once with examples of its use.
type NewToken struct {
	Token      string    // the token itself: on this page only, never stored or logged
	Name       string    // its name
	Lists      []string  // the lists it opens
	Expires    time.Time // when it stops working
	Site       string    // a site it may open, for the curl example: "https://app.example.com"
	OpenAIBase string    // the example's OPENAI_BASE_URL: "https://gpt4.example.com/v1"
}

// Reasons a token form is refused; each is also its message key's last part.
var (
	errTokenName  = errors.New("bad_name")
	errTokenLists = errors.New("bad_lists")
	errTokenDays  = errors.New("bad_days")
)

// tokenRequest is a valid token form.
type tokenRequest struct {
	name  string
	lists []string
	days  int
}

// parseTokenForm checks a token form against the visitor's lists now and
// the longest lifetime: a name of 1 to 64 printable characters, at least
// one list and only the visitor's, a lifetime of 1 to maxDays days.
func parseTokenForm(form url.Values, theirs []string, maxDays int) (tokenRequest, error) {
	r := tokenRequest{name: strings.TrimSpace(form.Get("name")), lists: form["list"]}
	if !validTokenName(r.name) {
		return r, errTokenName
	}
	if len(r.lists) == 0 || slices.ContainsFunc(r.lists, func(l string) bool { return !slices.Contains(theirs, l) }) {
		return r, errTokenLists
	}
	days, err := strconv.Atoi(form.Get("days"))
	if err != nil || days < 1 || days > maxDays || strings.TrimLeft(form.Get("days"), "0123456789") != "" {
		return r, errTokenDays
	}
	r.days = days
	return r, nil
}

// validTokenName reports whether name is 1 to 64 printable characters.
func validTokenName(name string) bool {
	n := utf8.RuneCountInString(name)
	if !utf8.ValidString(name) || n < 1 || n > maxTokenName {
		return false
	}
	return strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// maxTokenDays is the longest lifetime of a token, in whole days.
func (h *Handler) maxTokenDays() int { return int(h.tokenMaxTTL / (24 * time.Hour)) }

// tokensPage handles "GET /tokens": the visitor's live tokens, each with
// an end button, and the form to make one. A visitor not signed in goes
// through /login and back.
func (h *Handler) tokensPage(c echo.Context) error {
	c.Response().Header()["Cache-Control"] = h.noStore
	vs, ok := h.findSession(c.Request(), "", false)
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/login?rd="+url.QueryEscape("/tokens"))
	}
	form := TokenForm{Days: min(defaultTokenTTL, h.maxTokenDays())}
	if lists := h.allow.ListsOf(vs.session.Email); len(lists) == 1 {
		form.Checked = lists // the one choice, made
	}
	return h.renderTokens(c, http.StatusOK, vs, form)
}

// renderTokens renders the tokens page with status and form.
func (h *Handler) renderTokens(c echo.Context, status int, vs *verifiedSession, form TokenForm) error {
	rows, err := h.tokenRows(c, vs.session.Email)
	if err != nil {
		return storeError(err)
	}
	form.MaxDays = h.maxTokenDays()
	return c.Render(status, "tokens.html", Page{
		Email: vs.session.Email, Lists: h.allow.ListsOf(vs.session.Email), Tokens: rows, TokenForm: &form,
		CSRF: h.csrfToken(vs.state.id),
	})
}

// tokenRows returns email's live tokens for a page.
func (h *Handler) tokenRows(c echo.Context, email string) ([]TokenRow, error) {
	ctx, cancel := h.storeContext(c)
	defer cancel()
	tokens, err := h.store.Tokens(ctx, email, h.now())
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	rows := make([]TokenRow, len(tokens))
	for i, t := range tokens {
		rows[i] = TokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Lists: t.Lists, Created: t.Created, LastUsed: t.LastUsed, Expires: t.Expires}
	}
	return rows, nil
}

// makeTokenPost handles "POST /tokens" (form: name, list one or more
// times, days, csrf): makes a token and shows it, once. A refused form is
// the tokens page again with a 400 and nothing stored.
func (h *Handler) makeTokenPost(c echo.Context) error {
	vs, form, err := h.ownPost(c)
	if err != nil {
		return err
	}
	email := vs.session.Email
	req, err := parseTokenForm(form, h.allow.ListsOf(email), h.maxTokenDays())
	if err != nil {
		// The name sent is shown again, escaped, and as valid UTF-8: html/template passes invalid bytes through.
		tf := TokenForm{Days: min(defaultTokenTTL, h.maxTokenDays()), Name: strings.ToValidUTF8(req.name, "\uFFFD"), Checked: req.lists, Error: "tokens.error." + err.Error()}
		return h.renderTokens(c, http.StatusBadRequest, vs, tf)
	}
	tok, t, err := h.createToken(c, email, req)
	if err != nil {
		return storeError(err)
	}
	c.Response().Header()["Cache-Control"] = h.noStore
	site, base := h.exampleSites(c.Request(), t.Lists)
	return c.Render(http.StatusOK, "tokenmade.html", Page{
		Email: email, NewToken: &NewToken{Token: tok, Name: t.Name, Lists: t.Lists, Expires: t.Expires, Site: site, OpenAIBase: base},
	})
}

// createToken makes a token for email as req asks, records it and tells
// this doorman at once; it returns the token and its record.
func (h *Handler) createToken(c echo.Context, email string, req tokenRequest) (string, store.Token, error) {
	tok, now := newPersonalToken(), h.now()
	t := store.Token{
		ID: tokenID(tokenHash(tok)), Email: email, Name: req.name, Prefix: tok[:tokenShown],
		Lists: req.lists, Created: now, Expires: now.Add(time.Duration(req.days) * 24 * time.Hour),
	}
	ctx, cancel := h.storeContext(c)
	defer cancel()
	if err := h.store.CreateToken(ctx, t); err != nil {
		return "", t, fmt.Errorf("create token: %w", err)
	}
	h.states.tokenMade(t)
	h.logger.Info("token created", "email", email, "name", t.Name, "token", t.ID[:8])
	return tok, t, nil
}

// endTokenPost handles "POST /tokens/end" (form: id, csrf, and from=sessions
// to go back to the sessions page): ends one of the visitor's own tokens at
// once on this doorman, within a second on every other. Someone else's id
// is a 404, like an unknown one.
func (h *Handler) endTokenPost(c echo.Context) error {
	vs, form, err := h.ownPost(c)
	if err != nil {
		return err
	}
	ctx, cancel := h.storeContext(c)
	defer cancel()
	t, err := h.store.EndToken(ctx, vs.session.Email, form.Get("id"), store.ReasonUser, h.now())
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound).SetInternal(err)
	} else if err != nil {
		return storeError(fmt.Errorf("end token: %w", err))
	}
	h.states.tokenEnded(t.ID)
	h.logger.Info("token ended", "email", t.Email, "name", t.Name, "token", t.ID[:min(8, len(t.ID))], "by", string(store.ReasonUser))
	if form.Get("from") == "sessions" {
		return c.Redirect(http.StatusSeeOther, "/sessions")
	}
	return c.Redirect(http.StatusSeeOther, "/tokens")
}

// exampleSites suggests, for the examples of a new token's use, a site it
// opens and an OpenAI-compatible base URL: hosts named after its lists
// beside doorman's own host (--public-url's, else the request's), as in
// auth.example.com → gpt4.example.com. They are examples, nothing more.
func (h *Handler) exampleSites(r *http.Request, lists []string) (site, openAIBase string) {
	host := r.Host
	if u, err := url.Parse(h.publicURL); err == nil && u.Host != "" {
		host = u.Host
	}
	domain := exampleDomain(host)
	site, api := "app", "api"
	for _, l := range lists {
		if l != "" {
			site, api = l, l
			break
		}
	}
	return "https://" + site + "." + domain, "https://" + api + "." + domain + "/v1"
}

// exampleDomain is the domain beside host: host without its port and its
// first label ("auth.example.com:8443" → "example.com"), or example.com
// when host is an address, a single label or localhost.
func exampleDomain(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	labels := strings.Split(strings.ToLower(host), ".")
	switch {
	case net.ParseIP(host) != nil || len(labels) < 2 || labels[len(labels)-1] == "localhost":
		return "example.com"
	case len(labels) == 2:
		return host
	}
	return strings.Join(labels[1:], ".")
}
