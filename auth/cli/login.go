package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// grantType is RFC 8628's grant type for polling.
const grantType = "urn:ietf:params:oauth:grant-type:device_code"

// slowDown is how much longer to wait after a slow_down.
const slowDown = 5 * time.Second

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
	code, err := askCode(ctx, e.client, server, lists, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "To sign in, open %s\nand approve the code %s (within %d minutes).\nApprove only if it is the code shown here.\n",
		code.VerificationURIComplete, code.UserCode, max(code.ExpiresIn/60, 1))
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

// askCode asks server for a device code.
func askCode(ctx context.Context, client *http.Client, server string, lists []string, name string) (codeAnswer, error) {
	form := url.Values{"list": lists}
	if name != "" {
		form.Set("name", name)
	}
	var a codeAnswer
	status, err := postForm(ctx, client, server+"/device/code", form, &a)
	switch {
	case err != nil:
		return a, err
	case status == http.StatusNotFound:
		return a, fmt.Errorf("%s does not offer sign-in from a terminal (doorman --device-sign-in)", server)
	case status != http.StatusOK || a.DeviceCode == "" || a.UserCode == "":
		return a, fmt.Errorf("%s answered %d to the sign-in request", server, status)
	}
	if a.VerificationURIComplete == "" {
		a.VerificationURIComplete = a.VerificationURI
	}
	return a, nil
}

// waitForToken polls until the code is approved, denied or expires,
// honouring the interval and slow_down.
func waitForToken(ctx context.Context, e env, server string, code codeAnswer) (tokenAnswer, error) {
	interval := max(time.Duration(code.Interval)*time.Second, time.Second)
	form := url.Values{"grant_type": {grantType}, "device_code": {code.DeviceCode}}
	for {
		select {
		case <-ctx.Done():
			return tokenAnswer{}, ctx.Err()
		case <-time.After(interval):
		}
		var a tokenAnswer
		status, err := postForm(ctx, e.client, server+"/device/token", form, &a)
		if err != nil {
			return a, err
		}
		if status == http.StatusOK && a.AccessToken != "" {
			return a, nil
		}
		switch a.Error {
		case "authorization_pending", "temporarily_unavailable":
		case "slow_down":
			interval += slowDown
		case "access_denied":
			return a, errors.New("the sign-in was denied")
		case "expired_token":
			return a, errors.New("the code expired before it was approved; run doorman login again")
		case "invalid_grant":
			return a, errors.New("the code is no longer valid (already used?); run doorman login again")
		default:
			return a, fmt.Errorf("%s answered %d %q while waiting for approval", server, status, a.Error)
		}
	}
}

// postForm posts form to target and decodes a JSON answer into v.
func postForm(ctx context.Context, client *http.Client, target string, form url.Values, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(client, req, v)
}

// send sends req without following redirects and decodes a JSON answer
// into v; an answer that is not JSON leaves v alone.
func send(client *http.Client, req *http.Request, v any) (int, error) {
	req.Header.Set("Accept", "application/json")
	resp, err := noRedirects(client).Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach %s: %w", req.URL.Host, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return 0, redirectError(req, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("reading %s's answer: %w", req.URL.Host, err)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		if err := json.Unmarshal(body, v); err != nil {
			return 0, fmt.Errorf("%s's answer: %w", req.URL.Host, err)
		}
	}
	return resp.StatusCode, nil
}

// noRedirects is client, refusing every redirect: doorman's endpoints
// never redirect, and following one would post the device code, or send
// the token, to the address it names.
func noRedirects(client *http.Client) *http.Client {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// redirectError reports the redirect resp answered req with, naming only
// the origin it points to.
func redirectError(req *http.Request, resp *http.Response) error {
	where := "another address"
	if u, err := req.URL.Parse(resp.Header.Get("Location")); err == nil && u.Host != "" && printable(u.Host) {
		where = u.Scheme + "://" + u.Host
	}
	return fmt.Errorf("%s answered %d, a redirect to %s, which doorman does not follow (the code or token would go with it); if that is your doorman, use its address",
		req.URL.Host, resp.StatusCode, where)
}

// printable reports whether s is printable ASCII without spaces: safe to
// show on a terminal as it is.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// unwrapURLError drops *url.Error's "Post \"…\":" prefix, which repeats
// what the message already says.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
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
