package auth

// Redirect targets (rd), the open-redirect defence: a path on this host, or
// an https URL on a redirect domain (README "Security").
//
// An rd is either a relative path on doorman's own host or an absolute URL
// whose host is on --redirect-domains. Everything else is dropped. The checks
// are deliberately stricter than the URL specs: anything a browser might read
// differently from net/url (control characters, backslashes, percent-encoded
// or numeric hosts, dot segments that collapse into "//") is rejected rather
// than interpreted.

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// maxRedirectLen is the longest rd accepted, in bytes; longer ones are rejected.
const maxRedirectLen = 2048

// redirectAnyPort is redirectEntry.port for an entry ending in ":*": every port is allowed.
const redirectAnyPort = -1

// redirectEntry is one parsed --redirect-domains entry.
type redirectEntry struct {
	host       string // lower case, without the leading "."
	subdomains bool   // the entry began with ".": host itself and every subdomain
	port       int    // 0: the scheme's default port only; redirectAnyPort: any; else exactly this port
}

// redirectPolicy says where rd may point. Built once from --redirect-domains.
// The zero value accepts relative paths only.
type redirectPolicy struct {
	entries   []redirectEntry
	allowHTTP bool // http:// targets too; true only with --cookie-secure=false
}

// newRedirectPolicy parses entries like "example.com", ".example.com"
// (example.com and every subdomain), "app.example.com:8443",
// "app.example.com:*" and ".example.com:*". Surrounding spaces are trimmed.
// An entry that names a port allows only that port (":*" allows any); one
// without a port allows only the scheme's default port. allowHTTP must be true
// only when --cookie-secure=false. Errors name the bad entry. An empty or nil
// list means only relative paths are accepted; an empty entry inside a list
// (as strings.Split("", ",") yields) is an error.
func newRedirectPolicy(domains []string, allowHTTP bool) (redirectPolicy, error) {
	p := redirectPolicy{allowHTTP: allowHTTP}
	for _, d := range domains {
		e, err := parseRedirectEntry(strings.TrimSpace(d))
		if err != nil {
			return redirectPolicy{}, fmt.Errorf("redirect domain %q: %w", d, err)
		}
		p.entries = append(p.entries, e)
	}
	return p, nil
}

// parseRedirectEntry parses one trimmed --redirect-domains entry.
func parseRedirectEntry(s string) (redirectEntry, error) {
	if err := checkEntryShape(s); err != nil {
		return redirectEntry{}, err
	}
	var e redirectEntry
	host, port, hasPort := strings.Cut(strings.ToLower(s), ":")
	if hasPort {
		var err error
		if e.port, err = parseEntryPort(port); err != nil {
			return redirectEntry{}, err
		}
	}
	host, e.subdomains = strings.CutPrefix(host, ".")
	if !validRedirectHost(host) {
		return redirectEntry{}, errors.New("not an ASCII DNS name (no IP address, no trailing dot)")
	}
	if e.subdomains && !strings.Contains(host, ".") {
		return redirectEntry{}, errors.New("a leading dot needs at least two labels")
	}
	if publicSuffix(host) {
		return redirectEntry{}, errPublicSuffix
	}
	e.host = host
	return e, nil
}

// checkEntryShape rejects entries that are not even shaped like host[:port],
// with a message that says what was probably meant.
func checkEntryShape(s string) error {
	switch {
	case s == "":
		return errors.New("empty entry")
	case !cleanRedirectBytes(s):
		return errors.New("must be ASCII, without spaces, control characters or backslashes")
	case strings.ContainsAny(s, "/@"):
		return errors.New("must be a host name, not a URL")
	case strings.HasPrefix(s, "*."):
		return fmt.Errorf("wildcards are not supported; %q covers every subdomain", s[1:])
	}
	return nil
}

// parseEntryPort parses the part of an entry after ":": "*" or a port number.
func parseEntryPort(s string) (int, error) {
	if s == "*" {
		return redirectAnyPort, nil
	}
	if p, ok := parseRedirectPort(s); ok {
		return p, nil
	}
	return 0, fmt.Errorf("invalid port %q", s)
}

// parseRedirectPort parses a decimal port 1–65535 (at most 5 digits, nothing else).
func parseRedirectPort(s string) (int, bool) {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	p, err := strconv.Atoi(s)
	return p, err == nil && p >= 1 && p <= 65535
}

// validRedirectHost reports whether h, already lower case, is a DNS name that no
// browser reads as an IP address: non-empty dot-separated labels of a–z, 0–9
// and "-" (so ASCII only, no trailing dot, no "%", no "[") whose last label is
// not a number (the WHATWG URL "ends in a number" rule, which catches
// 127.0.0.1, 2130706433 and 0x7f.1).
func validRedirectHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return !numericHostLabel(labels[len(labels)-1])
}

// numericHostLabel reports whether a browser would parse the label as an IPv4
// number: all decimal digits, or "0x" followed by hex digits (possibly none).
func numericHostLabel(l string) bool {
	if strings.Trim(l, "0123456789") == "" {
		return true
	}
	hex, ok := strings.CutPrefix(l, "0x")
	return ok && strings.Trim(hex, "0123456789abcdef") == ""
}

// validate returns the re-serialised URL to send in Location (never the raw
// string) and true, or "", false when rd is not an acceptable target. The
// output is itself accepted unchanged, so /callback can re-check what /login
// passed on.
func (p redirectPolicy) validate(rd string) (string, bool) {
	if rd == "" || len(rd) > maxRedirectLen || !cleanRedirectBytes(rd) {
		return "", false
	}
	check := p.validateAbsolute
	if rd[0] == '/' {
		check = validateRelative
	}
	out, ok := check(rd)
	if !ok || len(out) > maxRedirectLen { // re-escaping can lengthen it
		return "", false
	}
	return out, true
}

// cleanRedirectBytes reports whether s is free of ASCII control characters,
// spaces, backslashes and non-ASCII bytes. Browsers strip tabs and newlines
// and read "\" as "/", so none of these may reach a Location header.
func cleanRedirectBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// validateRelative accepts a path on doorman's own host. Both rd and its
// re-serialised form must start with a single "/", and so must the path a
// browser gets after removing dot segments ("/..//evil.com" becomes "//evil.com").
func validateRelative(rd string) (string, bool) {
	u, err := url.Parse(rd)
	if err != nil || u.Scheme != "" || u.Opaque != "" || u.User != nil || u.Host != "" {
		return "", false
	}
	out := u.String()
	if !singleSlash(rd) || !singleSlash(out) || !singleSlash(browserPath(u.EscapedPath())) {
		return "", false
	}
	return out, true
}

// singleSlash reports whether s starts with "/" but not "//" or "/\".
func singleSlash(s string) bool {
	return strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, `/\`)
}

// browserPath removes dot segments from the escaped absolute path p the way a
// WHATWG URL parser does, including the "%2e" spellings of "." and "..".
func browserPath(p string) string {
	segs := strings.Split(p, "/")[1:]
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch dots := dotSegment(s); {
		case dots == 2 && len(out) > 0:
			out = out[:len(out)-1]
		case dots == 0:
			out = append(out, s)
			continue
		}
		if last {
			out = append(out, "")
		}
	}
	return "/" + strings.Join(out, "/")
}

// dotSegment returns 1 for a "." segment, 2 for "..", 0 otherwise; "%2e" counts as a dot.
func dotSegment(s string) int {
	s = strings.ReplaceAll(strings.ToLower(s), "%2e", ".")
	switch s {
	case ".":
		return 1
	case "..":
		return 2
	}
	return 0
}

// validateAbsolute accepts an http(s) URL whose authority is exactly a
// policy-allowed host and optional port. The authority is checked on the raw
// string and must equal what net/url parsed, so no user-info, percent-encoding
// or parser disagreement can slip through.
func (p redirectPolicy) validateAbsolute(rd string) (string, bool) {
	scheme, rest, _ := strings.Cut(rd, ":")
	scheme = strings.ToLower(scheme)
	if !p.schemeAllowed(scheme) || !strings.HasPrefix(rest, "//") {
		return "", false
	}
	authority := rest[2:]
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	host, port, ok := splitAuthority(authority)
	if !ok || !p.allows(scheme, host, port) {
		return "", false
	}
	u, err := url.Parse(rd)
	if err != nil || u.Host != authority || u.User != nil || u.Opaque != "" {
		return "", false
	}
	u.Scheme, u.Host = scheme, canonicalRedirectHost(scheme, host, port)
	return u.String(), true
}

// schemeAllowed reports whether the lower-case scheme may be redirected to.
func (p redirectPolicy) schemeAllowed(scheme string) bool {
	return scheme == "https" || scheme == "http" && p.allowHTTP
}

// splitAuthority splits "host[:port]" into a lower-case valid hostname and a
// port (0 when absent). An empty port after ":" is rejected.
func splitAuthority(a string) (host string, port int, ok bool) {
	host, portStr, hasPort := strings.Cut(a, ":")
	host = strings.ToLower(host)
	if !validRedirectHost(host) {
		return "", 0, false
	}
	if !hasPort {
		return host, 0, true
	}
	port, ok = parseRedirectPort(portStr)
	return host, port, ok
}

// allows reports whether some entry admits host on port (0: the scheme default).
func (p redirectPolicy) allows(scheme, host string, port int) bool {
	def := schemeDefaultPort(scheme)
	if port == 0 {
		port = def
	}
	for _, e := range p.entries {
		if e.matchesHost(host) && e.allowsPort(port, def) {
			return true
		}
	}
	return false
}

// matchesHost reports whether the lower-case host is the entry's host or,
// for a "."-prefixed entry, a subdomain of it.
func (e redirectEntry) matchesHost(host string) bool {
	return host == e.host || e.subdomains && strings.HasSuffix(host, "."+e.host)
}

// allowsPort reports whether the entry admits the effective port, given the scheme default.
func (e redirectEntry) allowsPort(port, def int) bool {
	switch e.port {
	case redirectAnyPort:
		return true
	case 0:
		return port == def
	}
	return port == e.port
}

// schemeDefaultPort is the port a browser uses for scheme when the URL names none.
func schemeDefaultPort(scheme string) int {
	if scheme == "http" {
		return 80
	}
	return 443
}

// canonicalRedirectHost is host, plus ":port" unless the port is absent or the
// scheme's default (so "https://a.example.com:443/" becomes "https://a.example.com/").
func canonicalRedirectHost(scheme, host string, port int) string {
	if port == 0 || port == schemeDefaultPort(scheme) {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// redirectParam extracts rd from a raw (undecoded) query string: escaped, or
// unescaped as the last parameter (nginx cannot escape $request_uri).
// The first parameter named exactly "rd" (compared raw, at the start or after
// an "&") counts. If what follows "rd=" starts with "/", "http:" or "https:"
// (any case), it is an unescaped URL that runs to the end, "&" included, and
// is returned as is, NOT percent-decoded. Otherwise the value up to the next
// "&" is query-unescaped. A missing or empty rd, or a bad escape, is not ok.
// The result still needs validate.
func redirectParam(rawQuery string) (rd string, ok bool) {
	i := rdIndex(rawQuery)
	if i < 0 {
		return "", false
	}
	tail, hasValue := strings.CutPrefix(rawQuery[i+len("rd"):], "=")
	if !hasValue {
		return "", false
	}
	if looksUnescaped(tail) {
		return tail, true
	}
	v, _, _ := strings.Cut(tail, "&")
	rd, err := url.QueryUnescape(v)
	return rd, err == nil && rd != ""
}

// rdIndex returns the offset of the first parameter whose raw name is "rd"
// ("rd", "rd=…" or "rd&…"), or -1 when there is none.
func rdIndex(q string) int {
	for i := 0; ; {
		if p := q[i:]; p == "rd" || strings.HasPrefix(p, "rd=") || strings.HasPrefix(p, "rd&") {
			return i
		}
		j := strings.IndexByte(q[i:], '&')
		if j < 0 {
			return -1
		}
		i += j + 1
	}
}

// looksUnescaped reports whether an rd value is a URL in wire form rather
// than a query-escaped one: escaping turns "/" and ":" into %2F and %3A.
// ingress-nginx escapes only the path ("https://host%2Fc%3Fa%3D1"): a "%"
// inside the authority marks that form as escaped too, since a host never
// contains one.
func looksUnescaped(v string) bool {
	head := strings.ToLower(v[:min(len(v), len("https:"))])
	if strings.HasPrefix(head, "/") {
		return true
	}
	if !strings.HasPrefix(head, "http:") && head != "https:" {
		return false
	}
	_, rest, _ := strings.Cut(v, "://")
	authority := rest[:strings.IndexAny(rest+"/", "/?#")]
	return !strings.Contains(authority, "%")
}

// queryParam returns the decoded first value of the named parameter among
// those BEFORE rd; everything from rd on is ignored, since an unescaped rd
// may carry its own "list=" and the like. Malformed pairs are skipped. name
// must not be "rd" (use redirectParam).
func queryParam(rawQuery, name string) string {
	if i := rdIndex(rawQuery); i >= 0 {
		rawQuery = rawQuery[:i]
	}
	v, _ := url.ParseQuery(rawQuery) // a bad pair is dropped; the others still parse
	return v.Get(name)
}

// redirectSources returns the Content-Security-Policy source expressions
// for every origin rd may point to, e.g. "https://example.com
// https://*.example.com" for ".example.com". A login page needs them in
// form-action: browsers apply form-action to the redirect that follows a
// form POST, so /callback's 303 to another site would otherwise be blocked.
func (h *Handler) redirectSources() []string {
	schemes := []string{"https"}
	if h.redirects.allowHTTP {
		schemes = append(schemes, "http")
	}
	var out []string
	for _, e := range h.redirects.entries {
		port := ""
		switch {
		case e.port == redirectAnyPort:
			port = ":*"
		case e.port != 0:
			port = ":" + strconv.Itoa(e.port)
		}
		for _, s := range schemes {
			out = append(out, s+"://"+e.host+port)
			if e.subdomains {
				out = append(out, s+"://*."+e.host+port)
			}
		}
	}
	return out
}
