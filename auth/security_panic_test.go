package auth

// Panic safety: a bug that panics in a handler lets nobody in and stops
// nothing.

import (
	"doorman/whitelist/budget"
	"net/http"
	"strings"
	"testing"

	"doorman/auth/googletest"
)

// panickingAllowlist panics on every question, like a bug in a list would.
type panickingAllowlist struct{}

func (panickingAllowlist) Contains(string, string) bool          { panic("allowlist exploded") }
func (panickingAllowlist) ListsOf(string) []string               { panic("allowlist exploded") }
func (panickingAllowlist) ReportUnknown(string)                  { panic("allowlist exploded") }
func (panickingAllowlist) BudgetOf(string, string) budget.Budget { panic("allowlist exploded") }

// TestSecurityPanic serves doorman over an allowlist that panics: an empty
// 401 on /auth, a 500 page elsewhere, one log line with a stack, and the
// process still serving.
func TestSecurityPanic(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "", testConfig{auth: func(c *Config) { c.Allowlist = panickingAllowlist{} }})
	logs := td.logs
	session := mintSession(t, td.h, "alice@example.com")
	tests := []struct {
		name     string
		send     func(t *testing.T) (*http.Response, string)
		wantCode int
		isAuth   bool
	}{
		{"GET /auth", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodGet, "/auth", nil, nil, session)
		}, 401, true},
		{"HEAD /auth", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodHead, "/auth", nil, nil, session)
		}, 401, true},
		{"GET /auth?list=gpt4", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodGet, "/auth?list=gpt4", nil, nil, session)
		}, 401, true},
		{"GET /login with a session", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodGet, "/login", nil, nil, session)
		}, 500, false},
		{"GET / with a session", func(t *testing.T) (*http.Response, string) {
			return td.do(t, http.MethodGet, "/", nil, nil, session)
		}, 500, false},
		{"POST /callback with a valid token", func(t *testing.T) (*http.Response, string) {
			return signInAt(t, td, "/callback", googletest.Claims{Email: "alice@example.com"})
		}, 500, false},
	}
	for _, tt := range tests { // sequential: each must add exactly one panic log line
		t.Run(tt.name, func(t *testing.T) {
			beforeLen := len(logs.String())
			resp, body := tt.send(t)
			if resp.StatusCode != tt.wantCode {
				t.Errorf("%s = %d, want %d", tt.name, resp.StatusCode, tt.wantCode)
			}
			if tt.isAuth {
				checkAuthReply(t, tt.name, resp, body)
			} else if !strings.Contains(body, "<html") || strings.Contains(body, "exploded") || findCookie(resp, "doorman") != nil {
				t.Errorf("%s: want an HTML error page without the panic and without a session cookie:\n%s", tt.name, body)
			}
			logged := logs.String()[beforeLen:]
			if got := strings.Count(logged, `"msg":"panic"`); got != 1 {
				t.Errorf("%s logged %d panic lines, want 1", tt.name, got)
			}
			if got := strings.Count(logged, "allowlist exploded"); got != 1 {
				// Found by this test: recoverer logged "panic", then handed the
				// same error to errorHandler, which logged it again as a 500.
				t.Errorf("regression: %s logged the panic in %d lines, want once:\n%s", tt.name, got, logged)
			}
			if strings.Contains(logged, `"stack":""`) {
				// Found by this test: RecoverConfig.DisablePrintStack also stops
				// Echo from capturing the stack it passes to LogErrorFunc.
				t.Errorf("regression: %s logged the panic without a stack trace", tt.name)
			}
			if resp, _ := td.do(t, http.MethodGet, "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("GET /healthz after the panic = %d, want 200", resp.StatusCode)
			}
		})
	}
}
