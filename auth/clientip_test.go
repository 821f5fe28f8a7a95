package auth

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestDemoAnswersLoopbackHostsOnly: a DNS-rebinding page or a local reverse
// proxy reaches the demo's loopback listener with a Host of its own; the
// demo (ServerConfig.LoopbackHostsOnly) refuses it on every route, /auth
// included (an empty 403 there, so no auth_request caller reads it as a
// sign-in), even with a signed-in demo cookie.
func TestDemoAnswersLoopbackHostsOnly(t *testing.T) {
	t.Parallel()
	demo := func(c *Config) { // as doorman --demo configures it
		*c = Config{
			Allowlist: c.Allowlist, Keys: c.Keys, Store: c.Store, Logger: c.Logger, Context: c.Context,
			DemoAccounts: DemoEmails(), CookieName: DemoCookieName, CookieTTL: 8 * time.Hour,
		}
	}
	td := newTestDoorman(t, DemoWhitelist, testConfig{offline: true, auth: demo, server: ServerConfig{LoopbackHostsOnly: true}})
	alice := mintSession(t, td.h, "alice@demo.example")
	port := td.URL[strings.LastIndexByte(td.URL, ':')+1:]
	foreign := []string{"evil.example", "evil.example:" + port, "rebind.attacker.test:" + port,
		"localhost.evil.example", "localhost.", "127.0.0.1.nip.io:" + port, "192.0.2.1:" + port, "[2001:db8::1]:" + port}
	for _, host := range foreign {
		resp, body := sendWithHost(t, td, http.MethodGet, "/auth", nil, nil, host, alice)
		if resp.StatusCode != http.StatusForbidden || body != "" || resp.Header.Get("X-Auth-Request-Email") != "" {
			t.Errorf("Host %q: GET /auth = %d %q (email %q), want an empty 403", host, resp.StatusCode, body, resp.Header.Get("X-Auth-Request-Email"))
		}
		for _, path := range []string{"/", "/login", "/demo/", "/demo/gpt4/", "/static/style.css", "/healthz"} {
			resp, body := sendWithHost(t, td, http.MethodGet, path, nil, nil, host, alice)
			if resp.StatusCode != http.StatusMisdirectedRequest || !strings.Contains(body, "localhost") || strings.Contains(body, "alice") {
				t.Errorf("Host %q: GET %s = %d %q, want 421 naming the loopback addresses", host, path, resp.StatusCode, body)
			}
		}
	}
	loopback := []string{"localhost:" + port, "LOCALHOST:" + port, "127.0.0.1:" + port, "127.0.0.1", "[::1]:" + port, "[::1]",
		"demo.localhost:" + port, "localhost"}
	for _, host := range loopback {
		resp, _ := sendWithHost(t, td, http.MethodGet, "/auth", nil, nil, host, alice)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Auth-Request-Email") != "alice@demo.example" {
			t.Errorf("Host %q: GET /auth = %d, want 200 for alice", host, resp.StatusCode)
		}
	}
}

func TestLoopbackHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true}, {"localhost:5000", true}, {"LocalHost:1", true}, {"a.b.localhost:80", true},
		{"127.0.0.1", true}, {"127.0.0.1:5000", true}, {"127.1.2.3:80", true}, {"[::1]", true}, {"[::1]:5000", true},
		{"", false}, {":5000", false}, {"localhost.", false}, {"localhost.:80", false}, {".localhost", false},
		{"evil.example", false}, {"localhost.evil.example", false}, {"evillocalhost", false},
		{"0.0.0.0:5000", false}, {"[::]:5000", false}, {"10.0.0.1", false}, {"[::ffff:127.0.0.1]:5000", true},
		{"::1", false}, {"[fe80::1%25lo]:5000", false}, {"a..localhost", false}, {"a_b.localhost", false},
	}
	for _, tt := range tests {
		if got := loopbackHost(tt.host); got != tt.want {
			t.Errorf("loopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestClientIPTakesLastAddress(t *testing.T) {
	t.Parallel()
	extract := clientIP(IPTrust{Header: "X-Forwarded-For", AnyPeer: true})
	tests := []struct {
		values []string
		want   string
	}{
		{[]string{"203.0.113.9"}, "203.0.113.9"},
		{[]string{"10.0.0.1, 203.0.113.9"}, "203.0.113.9"},
		{[]string{"forged", "203.0.113.9"}, "203.0.113.9"},
		{[]string{"not-an-ip"}, "127.0.0.1"},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "127.0.0.1:5555"
		r.Header["X-Forwarded-For"] = tt.values
		if got := extract(r); got != tt.want {
			t.Errorf("clientIP(%q) = %q, want %q", tt.values, got, tt.want)
		}
	}
}

// TestClientIPTrust: what each --trusted-ip-header value, parsed by
// ParseIPTrust as the setting is, makes of a request's client address.
func TestClientIPTrust(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setting string // --trusted-ip-header; "" is its default
		peer    string
		header  string // X-Real-IP sent; "" sends none
		want    string
	}{
		{"default: nginx beside doorman", "", "127.0.0.1", "203.0.113.9", "203.0.113.9"},
		{"default: nginx beside doorman over IPv6", "", "::1", "2001:db8::9", "2001:db8::9"},
		{"default: a direct client cannot claim an address", "", "198.51.100.7", "203.0.113.9", "198.51.100.7"},
		{"default: no header from loopback", "", "127.0.0.1", "", "127.0.0.1"},
		{"default: a garbage header", "", "127.0.0.1", "not-an-ip", "127.0.0.1"},
		{"explicit header from any peer", "X-Real-IP", "10.1.2.3", "203.0.113.9", "203.0.113.9"},
		{"none", "none", "127.0.0.1", "203.0.113.9", "127.0.0.1"},
		{"NONE", "NONE", "127.0.0.1", "203.0.113.9", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			trust, err := ParseIPTrust(tt.setting)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/login", nil)
			r.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(tt.peer), 4000).String()
			if tt.header != "" {
				r.Header.Set("X-Real-IP", tt.header)
			}
			if got := clientIP(trust)(r); got != tt.want {
				t.Errorf("client of peer %s with X-Real-IP %q = %s, want %s", tt.peer, tt.header, got, tt.want)
			}
		})
	}
}

// FuzzClientIP checks the address doorman records for a session or a
// device code: the TCP peer, or the last address of the header's last
// value when the peer is one the trust allows and that is an address.
// Either way it fits the store (at most 64 bytes) and is never empty.
func FuzzClientIP(f *testing.F) {
	loopback, other := []byte{127, 0, 0, 1}, []byte{198, 51, 100, 7}
	f.Add(loopback, "203.0.113.9", false)
	f.Add(loopback, "10.0.0.1, 203.0.113.9", false)
	f.Add(loopback, "forged\n 2001:db8::9 ", false)
	f.Add(loopback, "203.0.113.9\nnot-an-ip", false)
	f.Add(other, "203.0.113.9", false)
	f.Add(other, "0000:0000:0000:0000:0000:ffff:255.255.255.255", true)
	f.Add(netip.IPv6Loopback().AsSlice(), "fe80::1%eth0", true)
	f.Add([]byte{}, ",", true)
	f.Fuzz(func(t *testing.T, peer []byte, header string, anyPeer bool) {
		addr, ok := netip.AddrFromSlice(peer)
		if !ok {
			addr = netip.AddrFrom4([4]byte(append(peer, 0, 0, 0, 0)[:4]))
		}
		r := httptest.NewRequest(http.MethodGet, "/login", nil)
		r.RemoteAddr = netip.AddrPortFrom(addr, 4000).String()
		if header != "" {
			r.Header["X-Real-Ip"] = strings.Split(header, "\n")
		}
		got, direct := clientIP(IPTrust{Header: "X-Real-IP", AnyPeer: anyPeer})(r), addr.String()
		last := header[strings.LastIndexAny(header, ",\n")+1:]
		want := direct
		if ip := strings.TrimSpace(last); (anyPeer || addr.Unmap().IsLoopback()) && net.ParseIP(ip) != nil {
			want = ip
		}
		if got != want || got == "" || len(got) > 64 {
			t.Fatalf("clientIP(peer %s, X-Real-IP %q, any peer %v) = %q, want %q", addr, header, anyPeer, got, want)
		}
		if none := clientIP(IPTrust{})(r); none != direct {
			t.Fatalf("clientIP without a header to trust = %q, want the peer %q", none, direct)
		}
	})
}
