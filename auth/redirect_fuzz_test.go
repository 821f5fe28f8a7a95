package auth

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

// FuzzValidateRedirect checks, for testRedirectDomains, that an accepted rd
// becomes either a clean path on our own host or an https URL whose host the
// policy lists, and that validate is idempotent on its own output.
func FuzzValidateRedirect(f *testing.F) {
	for _, tt := range validateCases() {
		f.Add(tt.rd)
	}
	p := mustRedirectPolicy(f, testRedirectDomains(), false)
	f.Fuzz(func(t *testing.T, rd string) {
		out, ok := p.validate(rd)
		if !ok {
			if out != "" {
				t.Fatalf("validate(%q) = %q, false; want an empty string", rd, out)
			}
			return
		}
		checkRedirectOutput(t, out)
		if again, ok := p.validate(out); !ok || again != out {
			t.Fatalf("validate(%q) = %q, %v; want %q, true (from rd %q)", out, again, ok, out, rd)
		}
	})
}

// checkRedirectOutput asserts the fuzz property on one accepted Location,
// independently of the code under test.
func checkRedirectOutput(t *testing.T, out string) {
	t.Helper()
	for i := 0; i < len(out); i++ {
		if c := out[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			t.Fatalf("Location %q has byte %#x at %d", out, c, i)
		}
	}
	u, err := url.Parse(out)
	if err != nil {
		t.Fatalf("url.Parse(%q) error: %v", out, err)
	}
	if strings.HasPrefix(out, "/") {
		checkRelativeOutput(t, out, u)
		return
	}
	checkAbsoluteOutput(t, out, u)
}

// checkRelativeOutput asserts that out stays on the host it is resolved against.
func checkRelativeOutput(t *testing.T, out string, u *url.URL) {
	t.Helper()
	if strings.HasPrefix(out, "//") || u.Scheme != "" || u.Host != "" || u.User != nil {
		t.Fatalf("relative Location %q is not a plain path", out)
	}
	base := &url.URL{Scheme: "https", Host: "doorman.test", Path: "/callback"}
	if got := base.ResolveReference(u); got.Host != base.Host || strings.HasPrefix(got.EscapedPath(), "//") {
		t.Fatalf("relative Location %q resolves to %q", out, got)
	}
}

// checkAbsoluteOutput asserts that out is https, without user-info, on a host
// and port that testRedirectDomains allows.
func checkAbsoluteOutput(t *testing.T, out string, u *url.URL) {
	t.Helper()
	host, port := u.Hostname(), u.Port()
	switch {
	case u.Scheme != "https" || u.User != nil || u.Opaque != "":
		t.Fatalf("Location %q: want https without user-info", out)
	case !strings.HasPrefix(out, "https://"+u.Host) || strings.ContainsAny(u.Host, "%@[]"):
		t.Fatalf("Location %q: authority %q is not plain", out, u.Host)
	case host != strings.ToLower(host) || net.ParseIP(host) != nil || strings.HasSuffix(host, "."):
		t.Fatalf("Location %q: host %q is not a lower-case DNS name", out, host)
	case !testRedirectAllows(host, port):
		t.Fatalf("Location %q: host %q port %q not allowed", out, host, port)
	}
}

// testRedirectAllows restates testRedirectDomains by hand.
func testRedirectAllows(host, port string) bool {
	switch {
	case host == "example.com" || strings.HasSuffix(host, ".example.com"):
		return port == ""
	case host == "app.other.com":
		return port == "8443"
	}
	return host == "any.port.com"
}

// FuzzRedirectParam checks that redirectParam and queryParam never panic,
// that ok means a non-empty rd, and that any rd survives the percent-encoded
// trip through /login's login_uri back to /callback unchanged.
func FuzzRedirectParam(f *testing.F) {
	for _, tt := range redirectParamCases() {
		f.Add(tt.query)
	}
	p := mustRedirectPolicy(f, testRedirectDomains(), true)
	f.Fuzz(func(t *testing.T, q string) {
		_ = queryParam(q, "list")
		rd, ok := redirectParam(q)
		if ok != (rd != "") {
			t.Fatalf("redirectParam(%q) = %q, %v", q, rd, ok)
		}
		_, _ = p.validate(rd)
		if !ok {
			return
		}
		q2 := "list=a&rd=" + url.QueryEscape(rd)
		if got, _ := redirectParam(q2); got != rd {
			t.Fatalf("redirectParam(%q) = %q, want %q", q2, got, rd)
		}
		if got := queryParam(q2, "list"); got != "a" {
			t.Fatalf("queryParam(%q, %q) = %q, want %q", q2, "list", got, "a")
		}
	})
}
