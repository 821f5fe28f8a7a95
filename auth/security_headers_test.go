package auth

// Identity and forwarding headers a client could forge.

import (
	"html"
	"net/http"
	"testing"

	"doorman/auth/googletest"
)

// TestSecurityHeaders sends identity and forwarding headers a client could
// forge: no /auth decision, list or login_uri may change.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n", testConfig{})
	alice, carol := td.session(t, "alice@example.com"), td.session(t, "carol@example.com")
	bearer := "Bearer " + td.google.Token(t, googletest.Claims{Email: "carol@example.com"})
	spoofs := []struct {
		name string
		hdr  http.Header
		host string
	}{
		{"X-Auth-Request-Email", http.Header{"X-Auth-Request-Email": {"carol@example.com"}}, ""},
		{"X-Auth-Request-User", http.Header{"X-Auth-Request-User": {"carol"}}, ""},
		{"X-Forwarded-User", http.Header{"X-Forwarded-User": {"carol@example.com"}}, ""},
		{"X-Forwarded-Email", http.Header{"X-Forwarded-Email": {"carol@example.com"}}, ""},
		{"X-Original-URL", http.Header{"X-Original-Url": {"/auth?list=gpt4"}}, ""},
		{"X-Original-URI", http.Header{"X-Original-Uri": {"https://gpt4.example.com/"}}, ""},
		{"X-Rewrite-URL", http.Header{"X-Rewrite-Url": {"/auth?list=gpt4"}}, ""},
		{"X-Forwarded-Host", http.Header{"X-Forwarded-Host": {"gpt4.example.com"}}, ""},
		{"X-Forwarded-For", http.Header{"X-Forwarded-For": {"127.0.0.1, 10.0.0.1"}}, ""},
		{"X-Forwarded-Proto", http.Header{"X-Forwarded-Proto": {"https"}}, ""},
		{"X-Real-IP", http.Header{"X-Real-Ip": {"127.0.0.1"}}, ""},
		{"Forwarded", http.Header{"Forwarded": {"for=127.0.0.1;host=gpt4.example.com;proto=https"}}, ""},
		{"X-HTTP-Method-Override", http.Header{"X-Http-Method-Override": {"OPTIONS"}}, ""},
		{"User-Agent", http.Header{"User-Agent": {"GoogleHC/1.0"}}, ""},
		{"Authorization: Bearer valid token", http.Header{"Authorization": {bearer}}, ""},
		{"Authorization: Basic", http.Header{"Authorization": {"Basic Y2Fyb2w6eA=="}}, ""},
		{"Host", nil, "gpt4.example.com"},
		{"all at once", http.Header{
			"X-Auth-Request-Email": {"carol@example.com"}, "X-Forwarded-User": {"carol@example.com"},
			"X-Original-Url": {"/auth?list=gpt4"}, "X-Forwarded-Host": {"gpt4.example.com"},
			"X-Forwarded-For": {"127.0.0.1"}, "X-Real-Ip": {"127.0.0.1"}, "Authorization": {bearer},
		}, "gpt4.example.com"},
	}
	type want struct {
		code  int
		email string
	}
	sessions := []struct {
		name   string
		cookie *http.Cookie
		want   map[string]want // by path
	}{
		{"no session", nil, map[string]want{"/auth": {401, ""}, "/auth?list=gpt4": {401, ""}}},
		{"alice", alice, map[string]want{"/auth": {200, "alice@example.com"}, "/auth?list=gpt4": {401, ""}}},
		{"carol", carol, map[string]want{"/auth": {401, ""}, "/auth?list=gpt4": {200, "carol@example.com"}}},
	}
	for _, sp := range spoofs {
		t.Run(sp.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range sessions {
				for path, w := range s.want {
					resp, body := sendWithHost(t, td, http.MethodGet, path, nil, sp.hdr, sp.host, s.cookie)
					checkAuthReply(t, "GET "+path, resp, body)
					if got := (want{resp.StatusCode, resp.Header.Get("X-Auth-Request-Email")}); got != w {
						t.Errorf("%s: GET %s = %+v, want %+v as without the header", s.name, path, got, w)
					}
				}
			}
			resp, body := sendWithHost(t, td, http.MethodGet, "/login?rd=%2Fback", nil, sp.hdr, sp.host)
			if m := loginURIAttr.FindStringSubmatch(body); resp.StatusCode != 200 || m == nil || html.UnescapeString(m[1]) != "/callback?rd=%2Fback" {
				t.Errorf("GET /login = %d, login_uri %q; want 200 and /callback?rd=%%2Fback", resp.StatusCode, m)
			}
			resp, _ = sendWithHost(t, td, http.MethodGet, "/login?rd=%2Fback", nil, sp.hdr, sp.host, alice)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/back" {
				t.Errorf("GET /login with a session = %d %q, want 303 /back", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}
