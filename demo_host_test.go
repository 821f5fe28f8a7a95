package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestDemoAnswersLoopbackHostsOnly: a DNS-rebinding page or a local reverse
// proxy reaches the demo's loopback listener with a Host of its own; the
// demo refuses it on every route, /auth included (an empty 403 there, so
// no auth_request caller reads it as a sign-in), even with a signed-in
// demo cookie.
func TestDemoAnswersLoopbackHostsOnly(t *testing.T) {
	t.Parallel()
	d := startDemo(t, nil)
	resp, _ := d.signIn(t, "", "alice@demo.example")
	alice := findCookie(resp, demoCookieName)
	if alice == nil {
		t.Fatalf("demo sign-in set no %s cookie", demoCookieName)
	}
	port := d.URL[strings.LastIndexByte(d.URL, ':')+1:]
	td := &testDoorman{URL: d.URL, client: d.client}
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
