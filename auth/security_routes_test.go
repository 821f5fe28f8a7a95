package auth

// The shape of /auth answers, whatever the method or path spelling, and
// the routes a normal doorman does not have.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSecurityAuthMethods sends /auth every method and some path spellings.
func TestSecurityAuthMethods(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true})
	alice := mintSession(t, td.h, "alice@example.com")
	methods := []struct {
		method   string
		wantCode int // with a valid session
	}{
		{http.MethodGet, 200}, {http.MethodHead, 200},
		{http.MethodPost, 401}, {http.MethodPut, 401}, {http.MethodDelete, 401}, {http.MethodPatch, 401},
		{http.MethodOptions, 401}, {http.MethodTrace, 401}, {"PROPFIND", 401}, {"FOO", 401},
	}
	for _, tt := range methods {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()
			for _, c := range []*http.Cookie{nil, alice} {
				resp, body := sendWithHost(t, td, tt.method, "/auth", nil, nil, "", c)
				want := tt.wantCode
				if c == nil {
					want = 401
				}
				if resp.StatusCode != want {
					// Found by this test: Echo's router answered OPTIONS /auth
					// itself with 204 No Content, without a session; nginx
					// auth_request reads any 2xx as "allow".
					t.Errorf("regression: %s /auth (session %v) = %d, want %d", tt.method, c != nil, resp.StatusCode, want)
				}
				checkAuthReply(t, tt.method+" /auth", resp, body)
			}
		})
	}
	paths := []string{"/auth/", "/Auth", "/auth;list=gpt4", "/%61uth", "/auth%00", "//auth", "/auth/..", "/./auth"}
	for _, p := range paths {
		t.Run("path "+p, func(t *testing.T) {
			t.Parallel()
			resp, _ := sendWithHost(t, td, http.MethodGet, p, nil, nil, "", alice)
			if resp.StatusCode < 400 && resp.StatusCode != 200 || resp.StatusCode >= 500 {
				t.Errorf("GET %s with a session = %d, want 200 or 4xx", p, resp.StatusCode)
			}
			if resp.StatusCode == 200 && resp.Header.Get("X-Auth-Request-Email") != "alice@example.com" {
				t.Errorf("GET %s = 200 without alice's email", p)
			}
		})
	}
}

// TestSecurityNoDemoRoutes checks that a normal doorman (a client ID, no demo
// accounts) signs nobody in without Google: demo mode's sign-in button and
// pages do not exist on it.
func TestSecurityNoDemoRoutes(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true})
	form := url.Values{"email": {"alice@example.com"}, "nonce": {"x"}}.Encode()
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, p := range []string{"/demo/signin", "/demo/", "/demo/main/"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, body := td.do(t, method, p, strings.NewReader(form), hdr)
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed || findCookie(resp, "doorman") != nil {
				t.Errorf("%s %s on a normal doorman = %d, session cookie %v; want 404 or 405 and none:\n%.200s",
					method, p, resp.StatusCode, findCookie(resp, "doorman") != nil, body)
			}
		}
	}
}
