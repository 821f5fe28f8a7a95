package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// grantType is RFC 8628's grant type for polling.
const grantType = "urn:ietf:params:oauth:grant-type:device_code"

const (
	slowDown  = 5 * time.Second // how much longer to poll after a slow_down
	busyTries = 5               // how often to ask a busy server for a code
)

// codeAnswer is /device/code's answer.
type codeAnswer struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// tokenAnswer is /device/token's answer, or its error.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	Error       string `json:"error"`
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// login runs "doorman login <url> [--list L]... [--name N]".
func login(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var lists stringList
	fs.Var(&lists, "list", "a list (site) the token is for; repeat for more; \"\" is the main list")
	name := fs.String("name", "", "the token's name, as doorman's pages show it")
	raw, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if raw == "" {
		return errors.New("give the doorman's URL: doorman login https://auth.example.com")
	}
	server, err := parseURL(raw)
	if err != nil {
		return err
	}
	path, err := credentialsPath(e.getenv)
	if err != nil {
		return err
	}
	if len(lists) == 0 {
		lists = stringList{""}
	}
	if _, err := readCredentials(path); err != nil { // refused before anyone approves anything
		return err
	}
	code, err := askCode(ctx, e, server, lists, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "To sign in, open %s\nand approve the code %s (within %d minutes).\nApprove only if it is the code shown here.\n",
		code.VerificationURIComplete, code.UserCode, max(code.ExpiresIn/60, 1))
	warnOtherHost(e.out, server, code.VerificationURIComplete)
	tok, err := waitForToken(ctx, e, server, code)
	if err != nil {
		return err
	}
	return save(path, server, Credential{Token: tok.AccessToken, Expires: e.now().Add(time.Duration(tok.ExpiresIn) * time.Second), Lists: lists}, e.out)
}

// parseArgs parses flags and one optional positional argument, in any
// order, and returns the argument.
func parseArgs(fs *flag.FlagSet, args []string) (string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) > 1 {
		return "", fmt.Errorf("one URL expected, got %d arguments", len(pos))
	}
	if len(pos) == 0 {
		return "", nil
	}
	return pos[0], nil
}

// askCode asks server for a device code, waiting while it is busy (429)
// as long as it asks, up to busyTries times.
func askCode(ctx context.Context, e env, server string, lists []string, name string) (codeAnswer, error) {
	form := url.Values{"list": lists}
	if name != "" {
		form.Set("name", name)
	}
	for try := 1; ; try++ {
		var a codeAnswer
		r, err := postForm(ctx, e.client, server+"/device/code", form, &a)
		if err != nil {
			return a, err
		}
		if !r.busy() || try == busyTries || r.pause() > maxWait {
			return checkCode(server, r, a)
		}
		fmt.Fprintf(e.out, "%s is busy; asking again in %s.\n", server, r.pause())
		if err := pause(ctx, r.pause()); err != nil {
			return a, err
		}
	}
}

// checkCode checks /device/code's answer a, sent with r: a code, a user
// code fit to show, and an approval address fit to open.
func checkCode(server string, r reply, a codeAnswer) (codeAnswer, error) {
	switch {
	case r.status == http.StatusNotFound:
		return a, fmt.Errorf("%s does not offer sign-in from a terminal (doorman --device-sign-in)", server)
	case r.busy():
		return a, fmt.Errorf("%s is busy; try again in %s", server, r.pause())
	case r.status != http.StatusOK || a.DeviceCode == "":
		return a, fmt.Errorf("%s answered %d to the sign-in request", server, r.status)
	case !validUserCode(a.UserCode):
		return a, fmt.Errorf("%s answered a user code that is not one of doorman's", server)
	}
	if a.VerificationURIComplete == "" {
		a.VerificationURIComplete = a.VerificationURI
	}
	if _, err := approvalURL(a.VerificationURIComplete); err != nil {
		return a, fmt.Errorf("%s answered an approval address that is %w", server, err)
	}
	if strings.ContainsFunc(a.UserCode+a.VerificationURIComplete, unicode.IsControl) {
		return a, fmt.Errorf("%s answered a sign-in code or URL with control characters, which are not printed", server)
	}
	return a, nil
}

// validUserCode reports whether code is fit to show: 1 to 32 letters,
// digits and dashes (doorman's are XXXX-XXXX).
func validUserCode(code string) bool {
	if len(code) == 0 || len(code) > 32 {
		return false
	}
	return !strings.ContainsFunc(code, func(r rune) bool {
		return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-')
	})
}

// approvalURL parses an approval address: an http or https URL with a host
// and no user info, printable as it is, at most 2 KiB.
func approvalURL(raw string) (*url.URL, error) {
	if raw == "" || len(raw) > 2<<10 || !printable(raw) {
		return nil, errors.New("missing, too long or not printable")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, errors.New("no http or https address of a host")
	}
	return u, nil
}

// warnOtherHost tells the person when the approval page is on another host
// than server. That is so when doorman is reached at an inner address and
// --public-url is its outside one, but also when a server relays a code
// someone else asked a real doorman for: the token would be theirs.
func warnOtherHost(out io.Writer, server, approval string) {
	s, _ := url.Parse(server)
	a, err := approvalURL(approval)
	if err != nil || s == nil || strings.EqualFold(s.Host, a.Host) {
		return
	}
	fmt.Fprintf(out, "Warning: the approval page is on %s, not on %s, the address you gave; approve only if %s is your doorman.\n",
		a.Host, s.Host, a.Host)
}

// waitForToken polls until the code is approved, denied or expires,
// honouring the interval, slow_down (5 s more each time, RFC 8628 section
// 3.5) and a busy server's 429 and Retry-After.
func waitForToken(ctx context.Context, e env, server string, code codeAnswer) (tokenAnswer, error) {
	interval := max(time.Duration(code.Interval)*time.Second, time.Second)
	expires := e.now().Add(time.Duration(code.ExpiresIn) * time.Second)
	form := url.Values{"grant_type": {grantType}, "device_code": {code.DeviceCode}}
	wait := interval
	for {
		if code.ExpiresIn > 0 && e.now().Add(wait).After(expires) {
			return tokenAnswer{}, errCodeExpired
		}
		if err := pause(ctx, wait); err != nil {
			return tokenAnswer{}, err
		}
		var a tokenAnswer
		r, err := postForm(ctx, e.client, server+"/device/token", form, &a)
		if err != nil {
			return a, err
		}
		if r.status == http.StatusOK && a.AccessToken != "" {
			return a, checkToken(server, a)
		}
		wait = interval
		if r.busy() || a.Error == "slow_down" {
			interval += slowDown
			wait = max(interval, r.wait)
			continue
		}
		if err := pollError(server, r, a); err != nil {
			return a, err
		}
	}
}

var errCodeExpired = errors.New("the code expired before it was approved; run doorman login again")

// pollError is the error a poll's answer a ends the login with, or nil to
// poll again.
func pollError(server string, r reply, a tokenAnswer) error {
	switch a.Error {
	case "authorization_pending", "temporarily_unavailable":
		return nil
	case "access_denied":
		return errors.New("the sign-in was denied")
	case "expired_token":
		return errCodeExpired
	case "invalid_grant":
		return errors.New("the code is no longer valid (already used?); run doorman login again")
	}
	return fmt.Errorf("%s answered %d %.40q while waiting for approval", server, r.status, a.Error)
}

// tokenShape is a doorman token: doorman_ and 38 base62 characters.
var tokenShape = regexp.MustCompile(`^doorman_[0-9A-Za-z]{38}$`)

// checkToken checks a new token before it is saved, and later printed
// into a shell: a doorman token, with a lifetime ahead of it.
func checkToken(server string, a tokenAnswer) error {
	if !tokenShape.MatchString(a.AccessToken) {
		return fmt.Errorf("%s answered an access token that is not a doorman token", server)
	}
	if a.ExpiresIn <= 0 {
		return fmt.Errorf("%s answered a token with a lifetime of %d s, not one ahead of it", server, a.ExpiresIn)
	}
	return nil
}

// save keeps c under server in the credentials file at path.
func save(path, server string, c Credential, out io.Writer) error {
	if err := update(path, func(creds credentials) { creds.Tokens[server] = c }); err != nil {
		return fmt.Errorf("save the token: %w", err)
	}
	fmt.Fprintf(out, "Signed in. The token is saved in %s until %s; print it with: doorman token %s\n",
		path, c.Expires.UTC().Format("2006-01-02 15:04 UTC"), server)
	return nil
}
