package cli

// How the commands talk to doorman: form posts with JSON answers read to
// a bound, no redirect ever followed (it would carry a device code or a
// token to wherever it points), and a busy server's Retry-After honoured.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	maxAnswer = 64 << 10        // the most of an answer read
	busyWait  = 5 * time.Second // how long to wait after a 429 without Retry-After
	maxWait   = time.Minute     // the longest Retry-After waited out; longer is reported instead
)

// reply is a server's answer: its status and, when it sent Retry-After,
// how long it asked for.
type reply struct {
	status int
	wait   time.Duration
}

// busy reports whether the server asked to be left alone for a while.
func (r reply) busy() bool { return r.status == http.StatusTooManyRequests }

// pause is how long to wait before asking a busy server again: its
// Retry-After, else busyWait.
func (r reply) pause() time.Duration {
	if r.wait > 0 {
		return r.wait
	}
	return busyWait
}

// postForm posts form to target and decodes a JSON answer into v.
func postForm(ctx context.Context, client *http.Client, target string, form url.Values, v any) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(client, req, v)
}

// send sends req without following redirects and decodes a JSON answer
// of at most maxAnswer bytes into v; an answer that is not JSON leaves v
// alone.
func send(client *http.Client, req *http.Request, v any) (reply, error) {
	req.Header.Set("Accept", "application/json")
	resp, err := noRedirects(client).Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("cannot reach %s: %w", req.URL.Host, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return reply{}, redirectError(req, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return reply{}, fmt.Errorf("reading %s's answer: %w", req.URL.Host, err)
	}
	if len(body) > maxAnswer {
		return reply{}, fmt.Errorf("%s's answer is over %d KiB, more than doorman ever sends", req.URL.Host, maxAnswer>>10)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		if err := json.Unmarshal(body, v); err != nil {
			return reply{}, fmt.Errorf("%s's answer: %w", req.URL.Host, err)
		}
	}
	return reply{status: resp.StatusCode, wait: retryAfter(resp.Header.Get("Retry-After"))}, nil
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

// retryAfter reads a Retry-After header: seconds, or an HTTP date; 0 when
// absent or malformed.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// pause waits d, or until ctx is done.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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
