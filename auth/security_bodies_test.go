package auth

// Oversized and malformed bodies on every POST of the sessions, tokens and
// device sign-in: each is a clear 4xx, never a 5xx; nothing is stored,
// nothing of it comes back raw, and a huge body is not read to its end.

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// bodyRoutes are the POSTs under test and the form fields each reads
// (besides csrf).
var bodyRoutes = []struct {
	path   string
	fields []string
	own    bool // a form of doorman's own pages: it carries the session's CSRF token
}{
	{"/sessions/end", []string{"id"}, true},
	{"/sessions/end-all", nil, true},
	{"/tokens", []string{"name", "list", "days"}, true},
	{"/tokens/end", []string{"id"}, true},
	{"/device", []string{"code", "decision"}, true},
	{"/device/code", []string{"list", "name"}, false},
	{"/device/token", []string{"grant_type", "device_code"}, false},
	{"/tokens/revoke", nil, false},
}

// probe is in every bad value: markup that must never come back raw.
const probe = `<x-probe "'>`

// badBody builds one malformed body for a route's fields, with csrf (the
// session's valid CSRF token, or "" for a program's route).
type badBody struct {
	name  string
	build func(fields []string, csrf string) (body io.Reader, contentType string)
}

// formOf is a form setting every field to value, with csrf.
func formOf(fields []string, csrf, value string) url.Values {
	v := url.Values{}
	if csrf != "" {
		v.Set("csrf", csrf)
	}
	for _, f := range fields {
		v.Set(f, value)
	}
	if len(fields) == 0 && csrf != "" { // nothing else to spoil: spoil the token
		v.Set("csrf", csrf+value)
	}
	return v
}

// valued is a form body with every field set to value.
func valued(value string) func([]string, string) (io.Reader, string) {
	return func(fields []string, csrf string) (io.Reader, string) {
		return strings.NewReader(formOf(fields, csrf, value).Encode()), "application/x-www-form-urlencoded"
	}
}

func badBodies() []badBody {
	const form = "application/x-www-form-urlencoded"
	return []badBody{
		{"over the 4 KiB limit", func(fields []string, csrf string) (io.Reader, string) {
			v := formOf(fields, csrf, "x"+probe)
			v.Set("pad", strings.Repeat("A", 5<<10))
			return strings.NewReader(v.Encode()), form
		}},
		{"JSON", func(fields []string, csrf string) (io.Reader, string) {
			var b strings.Builder
			fmt.Fprintf(&b, `{"csrf":%q`, csrf)
			for _, f := range fields {
				fmt.Fprintf(&b, `,%q:%q`, f, probe)
			}
			return strings.NewReader(b.String() + "}"), "application/json"
		}},
		{"multipart", func(fields []string, csrf string) (io.Reader, string) {
			var b strings.Builder
			w := multipart.NewWriter(&b)
			w.WriteField("csrf", csrf)
			for _, f := range fields {
				w.WriteField(f, probe)
			}
			w.Close()
			return strings.NewReader(b.String()), w.FormDataContentType()
		}},
		{"form labelled text/plain", func(fields []string, csrf string) (io.Reader, string) {
			return strings.NewReader(formOf(fields, csrf, probe).Encode()), "text/plain"
		}},
		{"form without a content type", func(fields []string, csrf string) (io.Reader, string) {
			return strings.NewReader(formOf(fields, csrf, probe).Encode()), ""
		}},
		{"every field twice, the first bad", func(fields []string, csrf string) (io.Reader, string) {
			v := formOf(fields, csrf, probe)
			for _, f := range append(fields, "csrf") {
				v.Add(f, "doorman")
			}
			return strings.NewReader(v.Encode()), form
		}},
		{"invalid UTF-8", valued("a\xff\xfeb\xc3" + probe)},
		{"NUL bytes", valued("a\x00b" + probe)},
		{"CR LF", valued("a\r\nSet-Cookie: planted=1\r\n" + probe)},
		{"3 KiB values", func(fields []string, csrf string) (io.Reader, string) {
			n := 3 << 10 / max(len(fields), 1)
			return valued(strings.Repeat(probe, n/len(probe)))(fields, csrf)
		}},
		{"bad percent escapes", func(fields []string, csrf string) (io.Reader, string) {
			b := "csrf=" + url.QueryEscape(csrf)
			for _, f := range fields {
				b += "&" + f + "=%zz" + url.QueryEscape(probe) + "%"
			}
			return strings.NewReader(b + "&x=%"), form
		}},
		{"binary", func([]string, string) (io.Reader, string) {
			return strings.NewReader("\xff\xfe\x00\x01&&==;;%%\x1b[2J" + probe), form
		}},
	}
}

// TestSecurityMalformedBodies posts every bad body to every route, as
// alice with her CSRF token and doorman's Origin where the route wants
// them: a 4xx each time, the probe never back raw, nothing stored.
func TestSecurityMalformedBodies(t *testing.T) {
	t.Parallel()
	var cs *countingStore
	f := newPostFixture(t, func(c *Config) { cs = newCountingStore(c.Store); c.Store = cs })
	_, before := cs.counts()
	for _, r := range bodyRoutes {
		csrf := ""
		if r.own {
			csrf = f.aliceCSRF
		}
		for _, bb := range badBodies() {
			body, ctype := bb.build(r.fields, csrf)
			hdr := http.Header{"Origin": {devicePublicURL}}
			if ctype != "" {
				hdr.Set("Content-Type", ctype)
			}
			resp, text := f.td.do(t, http.MethodPost, r.path, body, hdr, f.alice)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("POST %s with %s = %d, want a 4xx:\n%.500s", r.path, bb.name, resp.StatusCode, text)
			}
			if strings.Contains(text, probe) || strings.ContainsAny(text, "\x00\x1b") || strings.Contains(text, "\xff\xfe") {
				t.Errorf("POST %s with %s: the answer carries what was sent, raw:\n%.500s", r.path, bb.name, text)
			}
			if cookies := resp.Header.Values("Set-Cookie"); strings.Contains(strings.Join(cookies, ";"), "planted") {
				t.Errorf("POST %s with %s set the cookie it was sent: %q", r.path, bb.name, cookies)
			}
		}
		checkHugeBody(t, f, r.path, formOf(r.fields, csrf, "x").Encode()+"&pad=")
	}
	_, after := cs.counts()
	for _, method := range []string{"CreateSession", "EndSession", "EndSessionsOf", "CreateToken", "EndToken", "EndTokensOf",
		"CreateDeviceCode", "DecideDeviceCode", "RedeemDeviceCode", "Spend"} {
		if n := after[method] - before[method]; n != 0 {
			t.Errorf("malformed bodies made %d successful %s calls, want none", n, method)
		}
	}
	if what := f.unchanged(t); what != "" {
		t.Errorf("after the malformed bodies: %s, want nothing changed", what)
	}
}

// checkHugeBody posts 64 MiB after prefix to path: a 4xx, and doorman
// stops reading long before the end (the client gets as far as the
// sockets' buffers let it, a few MiB).
func checkHugeBody(t *testing.T, f *postFixture, path, prefix string) {
	t.Helper()
	const size = 64 << 20
	huge := &countingReader{n: size}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.td.URL+path, io.MultiReader(strings.NewReader(prefix), huge))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(prefix)) + size
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", devicePublicURL)
	req.AddCookie(f.alice)
	resp, err := f.td.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s with 64 MiB: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("POST %s with 64 MiB = %d, want a 4xx", path, resp.StatusCode)
	}
	if read := huge.read.Load(); read > size/2 {
		t.Errorf("POST %s: the client wrote %d of %d bytes before the answer: doorman read the body unbounded", path, read, size)
	}
}
