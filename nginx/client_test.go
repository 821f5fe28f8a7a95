package nginx_test

import (
	"encoding/json"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"doorman/auth/googletest"
)

// loginURL is where nginx sends a visitor without a session: doorman's
// sign-in page with the site's list and rd, unescaped and last.
func (s *stack) loginURL(list, rd string) string {
	q := "rd=" + rd
	if list != "" {
		q = "list=" + list + "&" + q
	}
	return s.url("auth", "/login?"+q)
}

var (
	nonceAttr    = regexp.MustCompile(`data-nonce="([^"]+)"`)
	loginURIAttr = regexp.MustCompile(`data-login_uri="([^"]+)"`)
)

// signIn opens the sign-in page at login, checks its login_uri carries rd
// on auth.example.com, and posts what Google would post for email.
func (s *stack) signIn(t *testing.T, login, rd, email string) *http.Response {
	t.Helper()
	resp, body := s.get(t, s.client, login, nil)
	nonce, uri := nonceAttr.FindStringSubmatch(body), loginURIAttr.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || nonce == nil || uri == nil {
		t.Fatalf("GET %s = %d, want 200 with data-nonce and data-login_uri:\n%s", login, resp.StatusCode, body)
	}
	callback, err := url.Parse(html.UnescapeString(uri[1]))
	if err != nil {
		t.Fatal(err)
	}
	if want := s.url("auth", "/callback"); callback.Scheme+"://"+callback.Host+callback.Path != want || callback.Query().Get("rd") != rd {
		t.Fatalf("login_uri = %s, want %s with rd=%s", callback, want, rd)
	}
	form, csrf := s.google.CallbackForm(s.google.Token(t, googletest.Claims{Email: email, Nonce: nonce[1]}))
	s.jar.SetCookies(callback, []*http.Cookie{csrf}) // Google's cookie, on doorman's host
	req := newRequest(t, http.MethodPost, callback.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Real-IP", forgedIP) // nginx must replace it for --trusted-ip-header
	resp, _ = do(t, s.client, req)
	return resp
}

// sessionCookie returns the session cookie the jar holds for the sites.
func (s *stack) sessionCookie(t *testing.T) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(s.url("chat", "/"))
	for _, c := range s.jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("cookie jar holds no %s for %s", sessionCookie, u)
	return nil
}

// get sends a GET with hdr through c and returns the response with its body read.
func (s *stack) get(t *testing.T, c *http.Client, rawURL string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req := newRequest(t, http.MethodGet, rawURL, nil)
	maps.Copy(req.Header, hdr)
	return do(t, c, req)
}

func newRequest(t *testing.T, method, rawURL string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// do sends req and returns the response with its body read and closed.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

// wantRedirect fails unless resp is a code redirect to exactly loc, and returns loc.
func wantRedirect(t *testing.T, resp *http.Response, code int, loc string) string {
	t.Helper()
	if got := resp.Header.Get("Location"); resp.StatusCode != code || got != loc {
		t.Fatalf("%s %s = %d Location %q, want %d Location %q",
			resp.Request.Method, resp.Request.URL, resp.StatusCode, got, code, loc)
	}
	return loc
}

// wantApp fails unless resp is the named app's 200 answer, and returns it.
func wantApp(t *testing.T, resp *http.Response, body, name string) appSaw {
	t.Helper()
	var saw appSaw
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %d, want 200 from the %s app:\n%s", resp.Request.Method, resp.Request.URL, resp.StatusCode, name, body)
	}
	if err := json.Unmarshal([]byte(body), &saw); err != nil || saw.App != name {
		t.Fatalf("%s %s answered %q, want the %s app's JSON (%v)", resp.Request.Method, resp.Request.URL, body, name, err)
	}
	return saw
}

// findCookie returns the Set-Cookie named name in resp, or nil.
func findCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// resolve resolves a Location against the URL it came from.
func resolve(t *testing.T, base, loc string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	l, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return b.ResolveReference(l).String()
}
