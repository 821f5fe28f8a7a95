package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestRateLimitSignInPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      []serverOption
		otherIP   string // X-Real-IP of a second client after the first is limited
		wantOther int
	}{
		{"peer address when no header is trusted", []serverOption{withRateLimit(1)}, "192.0.2.7", http.StatusTooManyRequests},
		{"trusted header separates clients", []serverOption{withRateLimit(1), withIPTrust(ipTrust{header: "X-Real-IP", anyPeer: true})}, "192.0.2.7", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			td := newTestDoormanWith(t, "alice@example.com\n", nil, tt.opts...)
			first := http.Header{"X-Real-Ip": {"192.0.2.1"}}
			limited := 0
			for range 15 { // burst is 10 at 1/s
				resp, body := td.do(t, http.MethodGet, "/login", nil, first)
				if resp.StatusCode == http.StatusTooManyRequests {
					limited++
					if resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "<html") {
						t.Errorf("429 without Retry-After or page: %q", body)
					}
				}
			}
			if limited < 4 {
				t.Errorf("15 quick /login requests: %d limited, want at least 4", limited)
			}
			resp, _ := td.do(t, http.MethodGet, "/login", nil, http.Header{"X-Real-Ip": {tt.otherIP}})
			if resp.StatusCode != tt.wantOther {
				t.Errorf("another client's /login = %d, want %d", resp.StatusCode, tt.wantOther)
			}
			if resp, _ := td.do(t, http.MethodGet, "/auth", nil, first); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("/auth of a limited client = %d, want 401 (never limited)", resp.StatusCode)
			}
		})
	}
}

func TestClientIPTakesLastAddress(t *testing.T) {
	t.Parallel()
	extract := clientIP(ipTrust{header: "X-Forwarded-For", anyPeer: true})
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
