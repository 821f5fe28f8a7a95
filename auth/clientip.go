package auth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// IPTrust says which request header, if any, holds the client's address,
// and from which peers doorman takes it (--trusted-ip-header); see
// ParseIPTrust.
type IPTrust struct {
	Header  string // "" trusts no header: the client is the TCP peer
	AnyPeer bool   // take the header from every peer; false: from loopback peers only
}

// String describes the trust for the start-up log line.
func (t IPTrust) String() string {
	switch {
	case t.Header == "":
		return "none"
	case t.AnyPeer:
		return t.Header + " from any peer"
	}
	return t.Header + " from loopback peers"
}

// clientIP makes c.RealIP() read trust.Header, which nginx sets (for
// example "proxy_set_header X-Real-IP $remote_addr;"), when the TCP peer is
// one trust allows: any peer, or a loopback one (nginx beside doorman).
// Only the last address in the header counts: that is the one nginx added.
// Otherwise, and when the header holds no address, the client is the peer,
// so a client that reaches doorman directly cannot claim another address.
func clientIP(trust IPTrust) echo.IPExtractor {
	direct := echo.ExtractIPDirect()
	if trust.Header == "" {
		return direct
	}
	return func(r *http.Request) string {
		peer := direct(r)
		if !trust.AnyPeer && !loopbackIP(peer) {
			return peer
		}
		v := r.Header.Values(trust.Header)
		if len(v) == 0 {
			return peer
		}
		last := v[len(v)-1]
		last = strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
		if net.ParseIP(last) == nil {
			return peer
		}
		return last
	}
}

// loopbackIP reports whether ip is a loopback address (127.0.0.0/8, ::1).
func loopbackIP(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	return err == nil && addr.Unmap().IsLoopback()
}

// ParseIPTrust parses --trusted-ip-header. Unset ("") is the README's
// deployment, nginx beside doorman: X-Real-IP, taken from loopback peers
// only, so a client that reaches doorman directly is known by its own
// address. A header named explicitly is taken from any peer (nginx in
// another pod or host); "none" takes no header at all.
func ParseIPTrust(v string) (IPTrust, error) {
	switch {
	case v == "":
		return IPTrust{Header: "X-Real-IP"}, nil
	case strings.EqualFold(v, "none"):
		return IPTrust{}, nil
	case strings.IndexFunc(v, notHeaderRune) >= 0:
		return IPTrust{}, errors.New(`want a header name such as X-Real-IP, or "none"`)
	}
	return IPTrust{Header: v, AnyPeer: true}, nil
}

// notHeaderRune reports runes not allowed in an HTTP header name (RFC 9110 token).
func notHeaderRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// loopbackHostsOnly refuses every request whose Host is not a loopback
// name. The demo listens on loopback, but a page whose name an attacker
// points at 127.0.0.1 (DNS rebinding), or a local reverse proxy, reaches
// that listener with a Host of its own; a browser then treats the demo's
// answers as that site's. /auth gets an empty 403, which no auth_request
// caller takes for a sign-in; everything else a 421 that says why.
func loopbackHostsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loopbackHost(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path == "/auth" {
			h.Set("Content-Length", "0")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMisdirectedRequest)
		fmt.Fprintln(w, "421 Misdirected Request: doorman --demo answers only at loopback names (localhost, 127.0.0.1, [::1]).\nOpen the address it printed when it started.")
	})
}

// loopbackHost reports whether host, a request's Host (with or without a
// port), is localhost, a name under .localhost, or a loopback IP literal.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return false // an IPv6 literal must be bracketed
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Zone() == "" && ip.Unmap().IsLoopback()
	}
	name := strings.ToLower(host)
	return name == "localhost" || strings.HasSuffix(name, ".localhost") && dnsName(strings.TrimSuffix(name, ".localhost"))
}

// dnsName reports whether s is dot-separated labels of letters, digits and "-".
func dnsName(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if l == "" || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}
