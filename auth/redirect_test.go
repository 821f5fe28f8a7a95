package auth

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// testRedirectDomains is the --redirect-domains list the validate tables use.
func testRedirectDomains() []string {
	return []string{".example.com", "app.other.com:8443", "any.port.com:*"}
}

// mustRedirectPolicy builds a policy or fails the test.
func mustRedirectPolicy(tb testing.TB, domains []string, allowHTTP bool) redirectPolicy {
	tb.Helper()
	p, err := newRedirectPolicy(domains, allowHTTP)
	if err != nil {
		tb.Fatalf("newRedirectPolicy(%q, %v) error: %v", domains, allowHTTP, err)
	}
	return p
}

// redirectCase is one rd and the Location validate should produce ("" = rejected).
type redirectCase struct {
	name, rd, want string
}

// rdAccept is a redirectCase whose rd must become the Location want.
func rdAccept(name, rd, want string) redirectCase { return redirectCase{name, rd, want} }

// rdReject is a redirectCase whose rd must be rejected.
func rdReject(name, rd string) redirectCase { return redirectCase{name, rd, ""} }

// validateCases is the table for testRedirectDomains with allowHTTP false.
// It also seeds FuzzValidateRedirect.
//
// Percent-encoded bytes in a path ("/%09/evil.com", "/%2F%2Fevil.com",
// "/%5Cevil.com") are accepted: a browser's URL parser never decodes them, so
// the Location stays a path on our own host. The raw characters they stand
// for are rejected, and an escaped rd is decoded once by redirectParam before
// validate sees it, so "rd=%2F%09%2Fevil.com" arrives as "/\t/evil.com".
// "%2e" in a path, however, IS a dot to browsers, so "/%2e%2e//evil.com" is
// rejected like "/..//evil.com".
func validateCases() []redirectCase {
	long := "/" + strings.Repeat("a", maxRedirectLen-1)
	return []redirectCase{
		rdAccept("root", "/", "/"),
		rdAccept("path", "/app/page", "/app/page"),
		rdAccept("query and fragment", "/p?q=1&r=2#frag", "/p?q=1&r=2#frag"),
		rdAccept("percent-encoding kept", "/a%20b?x=%2F&y=%41", "/a%20b?x=%2F&y=%41"),
		rdAccept("encoded tab stays encoded", "/%09/evil.com", "/%09/evil.com"),
		rdAccept("encoded slashes stay encoded", "/%2F%2Fevil.com", "/%2F%2Fevil.com"),
		rdAccept("encoded backslash stays encoded", "/%5Cevil.com", "/%5Cevil.com"),
		rdAccept("inner double slash", "/a//b", "/a//b"),
		rdAccept("harmless dot segment", "/a/../b", "/a/../b"),
		rdAccept("scheme-like path", "/https://evil.com", "/https://evil.com"),
		rdAccept("at sign in path", "/@evil.com", "/@evil.com"),
		rdAccept("double slash in query", "/?next=//evil.com", "/?next=//evil.com"),
		rdAccept("double slash in fragment", "/#//evil.com", "/#//evil.com"),
		rdAccept("path re-escaped", "/a<b>", "/a%3Cb%3E"),
		rdAccept("max length", long, long),
		rdAccept("apex", "https://example.com", "https://example.com"),
		rdAccept("apex slash", "https://example.com/", "https://example.com/"),
		rdAccept("subdomain", "https://app.example.com/c?a=1&b=2#f", "https://app.example.com/c?a=1&b=2#f"),
		rdAccept("deep subdomain", "https://a.b.example.com/x", "https://a.b.example.com/x"),
		rdAccept("numeric first label", "https://1.example.com/", "https://1.example.com/"),
		rdAccept("upper case normalised", "HTTPS://APP.Example.COM/Path", "https://app.example.com/Path"),
		rdAccept("explicit 443 dropped", "https://app.example.com:443/x", "https://app.example.com/x"),
		rdAccept("leading-zero 443 dropped", "https://app.example.com:00443/x", "https://app.example.com/x"),
		rdAccept("listed port", "https://app.other.com:8443/x", "https://app.other.com:8443/x"),
		rdAccept("any port", "https://any.port.com:9999/", "https://any.port.com:9999/"),
		rdAccept("any port default", "https://any.port.com/", "https://any.port.com/"),
		rdAccept("punycode", "https://xn--80ak6aa92e.example.com/", "https://xn--80ak6aa92e.example.com/"),
		rdAccept("double slash path on good host", "https://app.example.com//evil.com", "https://app.example.com//evil.com"),
		rdAccept("absolute path re-escaped", "https://app.example.com/a<b", "https://app.example.com/a%3Cb"),

		rdReject("empty", ""),
		rdReject("too long", long+"a"),
		rdReject("too long once re-escaped", "/"+strings.Repeat("<", maxRedirectLen/2)),
		rdReject("protocol-relative", "//evil.com"),
		rdReject("triple slash", "///evil.com"),
		rdReject("slash backslash", `/\evil.com`),
		rdReject("backslash slash", `\/evil.com`),
		rdReject("tab", "/\t/evil.com"),
		rdReject("space", "/ /evil.com"),
		rdReject("newline", "/\n/evil.com"),
		rdReject("carriage return", "/\r/evil.com"),
		rdReject("vertical tab", "/\v/evil.com"),
		rdReject("NUL", "/a\x00b"),
		rdReject("DEL", "/a\x7fb"),
		rdReject("leading space", " /a"),
		rdReject("trailing space", "/a "),
		rdReject("non-ASCII path", "/café"),
		rdReject("dot backslash", `/./\evil.com`),
		rdReject("dot then double slash", "/.//evil.com"),
		rdReject("dot-dot then double slash", "/..//evil.com"),
		rdReject("segment then dot-dot", "/a/..//evil.com"),
		rdReject("encoded dot-dot", "/%2e%2e//evil.com"),
		rdReject("encoded dot", "/%2E//evil.com"),
		rdReject("half-encoded dot-dot", "/.%2e//evil.com"),
		rdReject("bad escape", "/a%zz"),
		rdReject("bare host", "evil.com"),
		rdReject("relative path", "page"),
		rdReject("query only", "?x=1"),
		rdReject("fragment only", "#x"),
		rdReject("dot relative", "./x"),
		rdReject("foreign host", "https://evil.com"),
		rdReject("suffix trick", "https://example.com.evil.com"),
		rdReject("no dot boundary", "https://evilexample.com"),
		rdReject("user-info host", "https://example.com@evil.com"),
		rdReject("user-info good host", "https://user:pass@app.example.com/"),
		rdReject("empty user-info", "https://@app.example.com/"),
		rdReject("fragment at", "https://evil.com#@example.com"),
		rdReject("query at", "https://evil.com?@example.com"),
		rdReject("backslash at", `https://evil.com\@example.com`),
		rdReject("port not listed", "https://example.com:8443"),
		rdReject("port entry needs its port", "https://app.other.com/"),
		rdReject("port entry explicit 443", "https://app.other.com:443/"),
		rdReject("wrong port on port entry", "https://app.other.com:9443/"),
		rdReject("port 80 on https", "https://app.example.com:80/"),
		rdReject("empty port", "https://app.example.com:/"),
		rdReject("port zero", "https://any.port.com:0/"),
		rdReject("port too big", "https://any.port.com:65536/"),
		rdReject("signed port", "https://any.port.com:+443/"),
		rdReject("two ports", "https://any.port.com:1:2/"),
		rdReject("http not allowed", "http://app.example.com/"),
		rdReject("javascript", "javascript:alert(1)"),
		rdReject("javascript slashes", "JavaScript://example.com/%0aalert(1)"),
		rdReject("data", "data:text/html,<script>alert(1)</script>"),
		rdReject("vbscript", "vbscript:msgbox(1)"),
		rdReject("ftp", "ftp://app.example.com/"),
		rdReject("wss", "wss://app.example.com/"),
		rdReject("file", "file:///etc/passwd"),
		rdReject("IPv4", "https://127.0.0.1/"),
		rdReject("IPv6", "https://[::1]/"),
		rdReject("decimal IP", "https://2130706433/"),
		rdReject("hex IP part", "https://0x7f.1/"),
		rdReject("hex IP", "https://0x7f000001/"),
		rdReject("short IP", "https://127.1/"),
		rdReject("trailing dot", "https://example.com./"),
		rdReject("leading dot", "https://.example.com/"),
		rdReject("empty label", "https://a..example.com/"),
		rdReject("Cyrillic a", "https://exаmple.com/"),
		rdReject("encoded host", "https://%65xample.com/"),
		rdReject("encoded hash in host", "https://evil.com%23.example.com/"),
		rdReject("encoded dot in host", "https://evil%2eexample.com/"),
		rdReject("underscore", "https://app_x.example.com/"),
		rdReject("opaque", "https:evil.com"),
		rdReject("one slash", "https:/evil.com"),
		rdReject("empty host", "https:///evil.com"),
		rdReject("scheme only", "https:"),
		rdReject("no host", "https://"),
		rdReject("port only", "https://:443/"),
		rdReject("control char in absolute", "https://app.example.com/\x01"),
		rdReject("space in query", "https://app.example.com/?q=a b"),
	}
}

// TestValidate runs validateCases, then checks that every accepted Location
// survives the trip through /login's percent-encoded login_uri unchanged.
func TestValidate(t *testing.T) {
	t.Parallel()
	p := mustRedirectPolicy(t, testRedirectDomains(), false)
	for _, tt := range validateCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := p.validate(tt.rd)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("validate(%q) = %q, %v; want %q, %v", tt.rd, got, ok, tt.want, tt.want != "")
			}
			if !ok {
				return
			}
			q := "list=x&rd=" + url.QueryEscape(got)
			if rd, _ := redirectParam(q); rd != got {
				t.Errorf("redirectParam(%q) = %q, want %q", q, rd, got)
			}
			if again, _ := p.validate(got); again != got {
				t.Errorf("validate(%q) = %q, want it unchanged", got, again)
			}
		})
	}
}

// TestValidatePolicies covers allowHTTP, the empty policy and entry spellings.
func TestValidatePolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		domains   []string
		allowHTTP bool
		rd, want  string
	}{
		{"http allowed", testRedirectDomains(), true, "http://app.example.com/", "http://app.example.com/"},
		{"http explicit 80 dropped", testRedirectDomains(), true, "HTTP://app.example.com:80/x", "http://app.example.com/x"},
		{"http on 443 is not default", testRedirectDomains(), true, "http://app.example.com:443/", ""},
		{"http listed port", testRedirectDomains(), true, "http://app.other.com:8443/", "http://app.other.com:8443/"},
		{"http any port", testRedirectDomains(), true, "http://any.port.com:8080/", "http://any.port.com:8080/"},
		{"https still allowed", testRedirectDomains(), true, "https://app.example.com/", "https://app.example.com/"},
		{"empty policy relative", nil, false, "/x", "/x"},
		{"empty policy absolute", nil, false, "https://example.com/", ""},
		{"exact entry apex", []string{"example.com"}, false, "https://example.com/", "https://example.com/"},
		{"exact entry no subdomain", []string{"example.com"}, false, "https://a.example.com/", ""},
		{"entry case and spaces", []string{" App.Example.COM:8443 "}, false, "https://app.example.com:8443/", "https://app.example.com:8443/"},
		{"subdomain entry with port", []string{".example.com:8443"}, false, "https://a.example.com:8443/", "https://a.example.com:8443/"},
		{"subdomain entry with any port", []string{".example.com:*"}, false, "https://a.b.example.com:1/", "https://a.b.example.com:1/"},
		{"entry 443 matches default", []string{"example.com:443"}, false, "https://example.com/", "https://example.com/"},
		{"localhost entry", []string{"localhost:*"}, true, "http://localhost:3000/", "http://localhost:3000/"},
		{"second entry matches", []string{"a.com", "b.com"}, false, "https://b.com/", "https://b.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustRedirectPolicy(t, tt.domains, tt.allowHTTP)
			got, ok := p.validate(tt.rd)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("validate(%q) = %q, %v; want %q, %v", tt.rd, got, ok, tt.want, tt.want != "")
			}
		})
	}
}

// TestNewRedirectPolicyErrors checks that bad entries fail and the error names them.
// "*.x.com" is refused rather than read as ".x.com", whose meaning (apex
// included) differs from the usual wildcard; the error suggests ".x.com".
func TestNewRedirectPolicyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, bad string
	}{
		{"empty entry", ""},
		{"blank entry", "  "},
		{"URL", "https://x.com"},
		{"path", "x.com/app"},
		{"user-info", "me@x.com"},
		{"not a port", "x.com:notaport"},
		{"empty port", "x.com:"},
		{"port zero", "x.com:0"},
		{"port too big", "x.com:65536"},
		{"two ports", "x.com:80:80"},
		{"wildcard", "*.x.com"},
		{"lone dot", "."},
		{"dot TLD", ".com"},
		{"trailing dot", "example.com."},
		{"double dot", "..example.com"},
		{"IPv4", "127.0.0.1"},
		{"IPv6", "[::1]"},
		{"numeric", "2130706433"},
		{"non-ASCII", "exаmple.com"},
		{"Kelvin sign", "\u212a.com"},
		{"space inside", "a b.com"},
		{"percent", "%65xample.com"},
		{"underscore", "a_b.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newRedirectPolicy([]string{"good.com", tt.bad}, false)
			if err == nil {
				t.Fatalf("newRedirectPolicy(%q) error = nil, want one", tt.bad)
			}
			if !strings.Contains(err.Error(), strconv.Quote(tt.bad)) {
				t.Errorf("newRedirectPolicy(%q) error = %q, want it to name the entry", tt.bad, err)
			}
		})
	}
}

// TestNewRedirectPolicyOK checks entries that must parse.
func TestNewRedirectPolicyOK(t *testing.T) {
	t.Parallel()
	for _, domains := range [][]string{
		nil, {}, {"example.com"}, {".example.com"}, {"app.example.com:8443"},
		{"app.example.com:*"}, {".example.com:*"}, {"localhost"}, {"xn--80ak6aa92e.com"},
		{"1.example.com"}, {"a-b.example.com:00443"},
	} {
		if _, err := newRedirectPolicy(domains, false); err != nil {
			t.Errorf("newRedirectPolicy(%q) error = %v, want nil", domains, err)
		}
	}
}

// redirectParamCases is the table for redirectParam and queryParam(…, "list");
// it also seeds FuzzRedirectParam.
func redirectParamCases() []struct {
	name, query, wantRD string
	wantOK              bool
	wantList            string
} {
	return []struct {
		name, query, wantRD string
		wantOK              bool
		wantList            string
	}{
		{"escaped path", "rd=%2Fpath", "/path", true, ""},
		{"unescaped path", "rd=/path", "/path", true, ""},
		{"unescaped with ampersand", "list=gpt4&rd=https://chat.example.com/c?a=1&b=2", "https://chat.example.com/c?a=1&b=2", true, "gpt4"},
		{"unescaped upper-case scheme", "rd=HTTPS://x.com/?a=1&b=2", "HTTPS://x.com/?a=1&b=2", true, ""},
		{"unescaped http", "rd=http:x&y", "http:x&y", true, ""},
		{"unescaped not decoded", "rd=/a%20b%2Fc", "/a%20b%2Fc", true, ""},
		{"unescaped carries own list", "list=a&rd=/p?list=b", "/p?list=b", true, "a"},
		{"escaped then params", "rd=%2Fc%3Fa%3D1%26b%3D2&list=x", "/c?a=1&b=2", true, ""},
		{"escaped absolute", "list=gpt4&rd=https%3A%2F%2Fa.example.com%2F&x=1", "https://a.example.com/", true, "gpt4"},
		{"escaped plus is space", "rd=%2Fa+b", "/a b", true, ""},
		{"escaped bad escape", "rd=%zz", "", false, ""},
		{"xrd not matched", "xrd=/evil&rd=/good", "/good", true, ""},
		{"only xrd", "xrd=/evil", "", false, ""},
		{"rd as a value", "x=rd=/evil", "", false, ""},
		{"upper-case name", "RD=/x", "", false, ""},
		{"escaped twice first wins", "rd=%2Ffirst&rd=%2Fsecond", "/first", true, ""},
		{"unescaped twice takes all", "rd=/first&rd=/second", "/first&rd=/second", true, ""},
		{"bare rd first wins", "rd&rd=/x", "", false, ""},
		{"bare rd", "rd", "", false, ""},
		{"empty rd", "rd=", "", false, ""},
		{"empty rd then params", "rd=&list=a", "", false, ""},
		{"empty query", "", "", false, ""},
		{"empty pair before", "a=1&&rd=/x", "/x", true, ""},
		{"list decoded", "list=a%20b&rd=/x", "/x", true, "a b"},
		{"list malformed", "list=%zz&rd=/x", "/x", true, ""},
		{"list semicolon", "list=a;b&rd=/x", "/x", true, ""},
		{"first list", "list=a&list=b", "", false, "a"},
		{"list after escaped rd ignored", "rd=%2Fp&list=b", "/p", true, ""},
	}
}

// TestRedirectParam runs redirectParamCases through redirectParam and queryParam.
func TestRedirectParam(t *testing.T) {
	t.Parallel()
	for _, tt := range redirectParamCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rd, ok := redirectParam(tt.query)
			if rd != tt.wantRD || ok != tt.wantOK {
				t.Errorf("redirectParam(%q) = %q, %v; want %q, %v", tt.query, rd, ok, tt.wantRD, tt.wantOK)
			}
			if got := queryParam(tt.query, "list"); got != tt.wantList {
				t.Errorf("queryParam(%q, %q) = %q, want %q", tt.query, "list", got, tt.wantList)
			}
		})
	}
}

func TestRedirectParamIngressNginxEscaping(t *testing.T) {
	t.Parallel()
	// ingress-nginx appends rd=$pass_access_scheme://$http_host$escaped_request_uri:
	// scheme and host raw, path and query escaped.
	tests := []struct{ query, want string }{
		{"list=gpt4&rd=https://chat.example.com%2Fc%3Fa%3D1%26b%3D2", "https://chat.example.com/c?a=1&b=2"},
		{"rd=https://chat.example.com%2F", "https://chat.example.com/"},
		{"rd=https://chat.example.com:8443%2Fx", "https://chat.example.com:8443/x"},
		{"rd=https://chat.example.com/a%20b?x=%2F", "https://chat.example.com/a%20b?x=%2F"},
	}
	for _, tt := range tests {
		got, ok := redirectParam(tt.query)
		if !ok || got != tt.want {
			t.Errorf("redirectParam(%q) = %q, %v; want %q", tt.query, got, ok, tt.want)
		}
	}
}
