package nginx_test

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"doorman/auth/googletest"
)

// The chaos traffic's requests. They run in the traffic's goroutines, so
// they report what happened instead of failing the test: an /auth answer
// goes to the ledger as it is, a state change as a chaosChange.

// currentSessionID finds the id of the session in use on /sessions.
var currentSessionID = regexp.MustCompile(`(?s)<li class="current">.*?name="id" value="([^"]+)"`)

// probe asks via ("nginx", or a replica's name) whether c opens the main
// list, or with counted spends 1 of c's owner's budget on gpt4 (through
// nginx only), and records the answer.
func (c *chaosRun) probe(cr *chaosCred, via string, counted bool) {
	u := c.s.url("/app")
	switch {
	case counted:
		u = c.s.url("/gpt4/call")
	case via != "nginx":
		u = c.replica(via).authURL()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		panic(err) // the URL is the test's own
	}
	if cr.kind == "cookie" {
		req.Header.Set("Cookie", cr.value)
	} else {
		req.Header.Set("Authorization", "Bearer "+cr.value)
	}
	a := chaosAnswer{c: cr, via: via, counted: counted, sent: time.Now()}
	resp, err := c.keep.Do(req)
	a.got = time.Now()
	if err != nil {
		a.err = err
		c.l.record(a)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a.code, a.refusal, a.status = resp.StatusCode, resp.Header.Get("X-Doorman-Refusal"), resp.Header.Get("X-Auth-Status")
	a.by = via
	if via == "nginx" {
		var addr string
		addr, a.retried = lastOf(resp.Header.Get("X-Auth-Upstream"))
		a.by = c.byAddr[addr]
	}
	c.l.record(a)
}

// send sends req on a connection of its own and returns the answer with
// its body read.
func (c *chaosRun) send(req *http.Request) (*http.Response, string, error) {
	resp, err := c.fresh.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// newChange starts the record of a change of kind at r for owner.
func newChange(kind string, r *replica, owner string, cr *chaosCred) chaosChange {
	return chaosChange{kind: kind, at: r.name, owner: owner, c: cr, sent: time.Now()}
}

// attempt sends req for ch, and sets ch's outcome: done when ok says so.
// A request that changes state and may have reached doorman (anything but
// a refused connection) and got no answer leaves the change unsure; so
// does the 503 page for one sent as the store went away, whose write the
// store may have made though its answer was lost.
func (c *chaosRun) attempt(ch *chaosChange, req *http.Request, changing bool, ok func(*http.Response, string) bool) (*http.Response, string) {
	ch.lastSent = time.Now()
	resp, body, err := c.send(req)
	ch.got = time.Now()
	switch {
	case err != nil:
		ch.outcome, ch.note = "down", err.Error()
		ch.unsure = changing && !errors.Is(err, syscall.ECONNREFUSED)
	case ok(resp, body):
		ch.outcome = "done"
	default:
		ch.outcome, ch.note = outcomeOf(resp, body)
		if ch.outcome == "unavailable" && changing && c.l.cutOff(ch.sent, ch.got) {
			ch.unsure, ch.note = true, "sent as the store went away"
		}
	}
	return resp, body
}

// outcomeOf names an answer that is not the one a change wanted: the 503
// page, which must set no cookie at all ("nothing was changed"); a 429; a
// refusal (403, or a redirect to sign in: the replica cannot read the
// session); or anything else, a failure.
func outcomeOf(resp *http.Response, body string) (outcome, note string) {
	set := resp.Header.Values("Set-Cookie")
	switch loc := resp.Header.Get("Location"); {
	case isUnavailablePage(resp, body) && len(set) == 0:
		return "unavailable", ""
	case resp.StatusCode == http.StatusTooManyRequests:
		return "rate limited", ""
	case resp.StatusCode == http.StatusForbidden, resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "/login"):
		return "refused", fmt.Sprintf("%d, Location %q", resp.StatusCode, loc)
	}
	return "failed", fmt.Sprintf("%d, Set-Cookie %q: %.300s", resp.StatusCode, set, body)
}

// newPageRequest is a request to r for path with the Cookie header cookie
// and, for a POST, form.
func newPageRequest(method string, r *replica, path, cookie string, form url.Values) *http.Request {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, "http://"+r.addr+path, body)
	if err != nil {
		panic(err) // the URL is the test's own
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return req
}

// signIn signs email in at r from ip as a browser does: the sign-in page,
// then Google's POST to /callback. It returns the session's Cookie header
// ("doorman=…") when the change is done.
func (c *chaosRun) signIn(r *replica, email, ip string) (cookie string, ch chaosChange) {
	ch = newChange("sign-in", r, email, nil)
	page := newPageRequest(http.MethodGet, r, "/login?rd=/", "", nil)
	page.Header.Set("X-Real-IP", ip)
	var nonce, uri []string
	resp, _ := c.attempt(&ch, page, false, func(resp *http.Response, body string) bool {
		nonce, uri = nonceAttr.FindStringSubmatch(body), loginURIAttr.FindStringSubmatch(body)
		return resp.StatusCode == http.StatusOK && nonce != nil && uri != nil
	})
	if ch.outcome != "done" {
		return "", ch
	}
	// Token fails the test only if the fake cannot sign, which is not the
	// traffic's to report.
	form, csrf := c.s.google.CallbackForm(c.s.google.Token(c.t, googletest.Claims{Email: email, Nonce: nonce[1]}))
	post := newPageRequest(http.MethodPost, r, html.UnescapeString(uri[1]), "", form)
	post.Header.Set("X-Real-IP", ip)
	for _, ck := range append(resp.Cookies(), csrf) {
		post.AddCookie(ck)
	}
	c.attempt(&ch, post, true, func(resp *http.Response, _ string) bool {
		if ck := findCookie(resp, sessionName); resp.StatusCode == http.StatusSeeOther && ck != nil && ck.MaxAge >= 0 {
			cookie = sessionName + "=" + ck.Value
		}
		return cookie != ""
	})
	return cookie, ch
}

// sessionsPage opens /sessions at r with sess and returns its CSRF token
// and the id of sess there; when it cannot, ch says why.
func (c *chaosRun) sessionsPage(ch *chaosChange, r *replica, sess *chaosCred) (csrf, id string) {
	c.attempt(ch, newPageRequest(http.MethodGet, r, "/sessions", sess.value, nil), false, func(resp *http.Response, body string) bool {
		token, current := csrfField.FindStringSubmatch(body), currentSessionID.FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || token == nil || current == nil {
			return false
		}
		csrf, id = html.UnescapeString(token[1]), html.UnescapeString(current[1])
		return true
	})
	return csrf, id
}

// makeToken makes a token of sess's owner for lists at r, as the tokens
// page does, and returns it when the change is done.
func (c *chaosRun) makeToken(r *replica, sess *chaosCred, lists ...string) (tok string, ch chaosChange) {
	ch = newChange("token made", r, sess.owner, sess)
	csrf, _ := c.sessionsPage(&ch, r, sess)
	if ch.outcome != "done" {
		return "", ch
	}
	form := url.Values{"name": {"chaos"}, "list": lists, "days": {"1"}, "csrf": {csrf}}
	c.attempt(&ch, newPageRequest(http.MethodPost, r, "/tokens", sess.value, form), true, func(resp *http.Response, body string) bool {
		tok = tokenOnPage.FindString(body)
		return resp.StatusCode == http.StatusOK && tok != ""
	})
	return tok, ch
}

// endToken ends tok, a token of sess's owner, at r with POST /tokens/end.
func (c *chaosRun) endToken(r *replica, sess, tok *chaosCred) chaosChange {
	ch := newChange("token ended", r, sess.owner, tok)
	csrf, _ := c.sessionsPage(&ch, r, sess)
	if ch.outcome != "done" {
		return ch
	}
	form := url.Values{"id": {tokenIDOf(tok.value)}, "csrf": {csrf}}
	c.attempt(&ch, newPageRequest(http.MethodPost, r, "/tokens/end", sess.value, form), true, func(resp *http.Response, _ string) bool {
		return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/tokens"
	})
	return ch
}

// endSession ends sess at r, by GET /logout or, with byPost, by POST
// /sessions/end of its own id from the sessions page; either clears the
// cookie and leads to /login.
func (c *chaosRun) endSession(r *replica, sess *chaosCred, byPost bool) chaosChange {
	ok := func(resp *http.Response, _ string) bool {
		ck := findCookie(resp, sessionName)
		return resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login") && ck != nil && ck.MaxAge < 0
	}
	if !byPost {
		ch := newChange("logout", r, sess.owner, sess)
		c.attempt(&ch, newPageRequest(http.MethodGet, r, "/logout", sess.value, nil), true, ok)
		return ch
	}
	ch := newChange("session ended", r, sess.owner, sess)
	csrf, id := c.sessionsPage(&ch, r, sess)
	if ch.outcome != "done" {
		return ch
	}
	c.attempt(&ch, newPageRequest(http.MethodPost, r, "/sessions/end", sess.value, url.Values{"id": {id}, "csrf": {csrf}}), true, ok)
	return ch
}
