package auth

// Domain settings: the cookie domain and the redirect domains name sites
// that doorman's cookie reaches or its sign-in may send people to. A
// malformed one is silently dropped by net/http (the cookie becomes
// host-only), and a public suffix (com, co.uk, github.io) would hand the
// cookie, or the redirect, to every site registered under it. Both are
// refused when doorman starts.

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// errPublicSuffix means a domain setting names a public suffix.
var errPublicSuffix = errors.New("is a public suffix: anyone can register a site under it")

// checkCookieDomain accepts "" (a host-only cookie) or a DNS name of two
// labels or more, with an optional leading dot, that is not a public suffix. The leading dot makes
// no difference to browsers: the cookie covers the domain and every
// subdomain either way.
func checkCookieDomain(domain string) error {
	if domain == "" {
		return nil
	}
	host := strings.ToLower(strings.TrimPrefix(domain, "."))
	if _, err := netip.ParseAddr(host); err == nil {
		return fmt.Errorf("%q: an IP address cannot be a cookie domain; leave it unset for a host-only cookie", domain)
	}
	if !validRedirectHost(host) {
		return fmt.Errorf("%q is not a domain name (write it like .example.com: no scheme, port, path or trailing dot; punycode for non-ASCII names)", domain)
	}
	if publicSuffix(host) {
		return fmt.Errorf("%q %w", domain, errPublicSuffix)
	}
	if !strings.Contains(host, ".") {
		return fmt.Errorf("%q: a cookie domain needs at least two labels, like example.com; leave it unset for a host-only cookie", domain)
	}
	return nil
}

// publicSuffix reports whether host, a lower-case DNS name, is on the public
// suffix list, ICANN's part or the private part (github.io). A single label
// that the list does not know (localhost, an internal TLD) matches only the
// list's default rule and is not counted.
func publicSuffix(host string) bool {
	ps, icann := publicsuffix.PublicSuffix(host)
	return ps == host && (icann || strings.Contains(ps, "."))
}
