package auth

// CSRF at /callback: broken g_csrf_token double submits, as forms and as
// JSON.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"doorman/auth/googletest"
)

// csrfAttack builds a /callback body for credential and a CSRF value v.
type csrfAttack struct {
	name    string
	build   func(credential, v string) (body, contentType string, cookies []*http.Cookie)
	want    []int // any of these
	inQuery bool  // also send g_csrf_token=v in /callback's query string
}

func csrfAttacks() []csrfAttack {
	const form, jsonType = "application/x-www-form-urlencoded", "application/json"
	csrf := func(v string) *http.Cookie { return &http.Cookie{Name: "g_csrf_token", Value: v} }
	formBody := func(pairs ...string) string {
		vals := url.Values{}
		for i := 0; i < len(pairs); i += 2 {
			vals.Add(pairs[i], pairs[i+1])
		}
		return vals.Encode()
	}
	jsonBody := func(fields map[string]any) string { b, _ := json.Marshal(fields); return string(b) }
	ok, bad, either := []int{303}, []int{400}, []int{303, 400}
	return []csrfAttack{
		{"control: form", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf(v)}
		}, ok, false},
		{"control: JSON", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": v}), jsonType, []*http.Cookie{csrf(v)}
		}, ok, false},
		{"cookie missing", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, nil
		}, bad, false},
		{"field missing", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c), form, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"mismatch", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v+"x"), form, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"mismatch by case", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", strings.ToLower(v)), form, []*http.Cookie{csrf(strings.ToUpper(v))}
		}, bad, false},
		{"empty both", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", ""), form, []*http.Cookie{csrf("")}
		}, bad, false},
		{"empty cookie", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf("")}
		}, bad, false},
		{"empty field", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", ""), form, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"cookie twice, field matches neither", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf(v + "1"), csrf(v + "2")}
		}, bad, false},
		{"cookie twice, field matches the first", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf(v), csrf(v + "2")}
		}, either, false},
		{"cookie twice, field matches the second", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{csrf(v + "1"), csrf(v)}
		}, either, false},
		{"field twice, the second matches", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v+"1", "g_csrf_token", v), form, []*http.Cookie{csrf(v)}
		}, either, false},
		{"cookie name in upper case", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), form, []*http.Cookie{{Name: "G_CSRF_TOKEN", Value: v}}
		}, bad, false},
		{"field only in the query", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c), form, []*http.Cookie{csrf(v)}
		}, bad, true},
		{"JSON field missing", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c}), jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"JSON mismatch", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": "x"}), jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"JSON field a number", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": 1}), jsonType, []*http.Cookie{csrf("1")}
		}, bad, false},
		{"JSON field null", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": nil}), jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"JSON array", func(c, v string) (string, string, []*http.Cookie) { return "[1]", jsonType, []*http.Cookie{csrf(v)} }, bad, false},
		{"JSON trailing garbage", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": v}) + "{", jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"JSON body labelled as a form", func(c, v string) (string, string, []*http.Cookie) {
			return jsonBody(map[string]any{"credential": c, "g_csrf_token": v}), form, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"form body labelled as JSON", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), jsonType, []*http.Cookie{csrf(v)}
		}, bad, false},
		{"no content type", func(c, v string) (string, string, []*http.Cookie) {
			return formBody("credential", c, "g_csrf_token", v), "", []*http.Cookie{csrf(v)}
		}, []int{415}, false},
		{"multipart", func(c, v string) (string, string, []*http.Cookie) {
			return "--b\r\n\r\n--b--\r\n", "multipart/form-data; boundary=b", []*http.Cookie{csrf(v)}
		}, []int{415}, false},
	}
}

// TestSecurityCSRF posts valid tokens with broken g_csrf_token double
// submits, as forms and as JSON.
func TestSecurityCSRF(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{})
	for _, tt := range csrfAttacks() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nonce, loginURI, nonceCookies := loginPage(t, td, "")
			v := strings.Repeat("Zq", 12) + fmt.Sprint(len(tt.name))
			body, ctype, cookies := tt.build(td.google.Token(t, googletest.Claims{Email: "alice@example.com", Nonce: nonce}), v)
			target := loginURI
			if tt.inQuery {
				target += "?g_csrf_token=" + v
			}
			hdr := http.Header{}
			if ctype != "" {
				hdr.Set("Content-Type", ctype)
			}
			resp, _ := td.do(t, http.MethodPost, target, strings.NewReader(body), hdr, append(cookies, nonceCookies...)...)
			if !slices.Contains(tt.want, resp.StatusCode) {
				t.Errorf("POST /callback = %d, want one of %v", resp.StatusCode, tt.want)
			}
			if session := findCookie(resp, "doorman"); (session != nil) != (resp.StatusCode == http.StatusSeeOther) {
				t.Errorf("POST /callback = %d with session cookie %v; want a session exactly on 303", resp.StatusCode, session != nil)
			}
		})
	}
}
