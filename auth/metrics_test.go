package auth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"doorman/auth/googletest"
	"doorman/whitelist"
)

// newTestMetrics is Metrics over wl, as doorman --metrics-listen builds it.
func newTestMetrics(wl *whitelist.Watcher) *Metrics {
	return NewMetrics(func(name string) bool { return wl.List().Has(name) }, wl.Collector())
}

// newMetricsDoorman serves doorman over a whitelist holding list, with
// Metrics as its Observer.
func newMetricsDoorman(t *testing.T, list string) (*testDoorman, *Metrics) {
	t.Helper()
	var m *Metrics
	td := newTestDoorman(t, list, testConfig{auth: func(c *Config) {
		m = newTestMetrics(c.Allowlist.(*whitelist.Watcher))
		c.Observer = m
	}})
	return td, m
}

// scrape returns the metrics text of m.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

func TestMetricsCountDecisions(t *testing.T) {
	t.Parallel()
	td, m := newMetricsDoorman(t, "alice@example.com\n[gpt4]\ncarol@example.com\n")
	alice := td.session(t, "alice@example.com")
	td.signIn(t, "", googletest.Claims{Email: "mallory@example.com"})
	td.signIn(t, "list=gpt4", googletest.Claims{Email: "alice@example.com"})
	for _, path := range []string{"/auth", "/auth", "/auth?list=gpt4", "/auth?list=nope", "/auth?list=other"} {
		td.do(t, http.MethodGet, path, nil, nil, alice)
	}
	text := scrape(t, m)
	for _, want := range []string{
		`doorman_auth_requests_total{list="",result="allowed"} 2`,
		`doorman_auth_requests_total{list="gpt4",result="denied"} 1`,
		`doorman_auth_requests_total{list="(unknown)",result="denied"} 2`,
		`doorman_auth_duration_seconds_count 5`,
		`doorman_sign_ins_total{outcome="success",reason=""} 1`,
		`doorman_sign_ins_total{outcome="refused",reason="not_in_whitelist"} 1`,
		`doorman_sign_ins_total{outcome="forbidden",reason="not_on_site_list"} 1`,
		`doorman_google_key_fetch_failures_total 0`,
		`doorman_whitelist_entries{list=""} 1`,
		`doorman_whitelist_entries{list="gpt4"} 1`,
		`doorman_whitelist_reloads_total 1`,
		`doorman_whitelist_reload_failures_total 0`,
		`doorman_whitelist_last_reload_success_timestamp_seconds `,
		`go_goroutines `,
		`doorman_process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, `list="nope"`) || strings.Contains(text, `list="other"`) {
		t.Error("a client-chosen list name became a label")
	}
}

func TestMetricsCountKeyFetchFailures(t *testing.T) {
	t.Parallel()
	td, m := newMetricsDoorman(t, "alice@example.com\n")
	td.google.SetKeysStatus(http.StatusBadGateway)
	td.signIn(t, "", googletest.Claims{Email: "alice@example.com"})
	text := scrape(t, m)
	for _, want := range []string{
		`doorman_google_key_fetch_failures_total 1`,
		`doorman_sign_ins_total{outcome="refused",reason="google_unreachable"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestUnknownListLoggedWithoutSession(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\n", testConfig{})
	for range 3 {
		td.do(t, http.MethodGet, "/auth?list=gtp4", nil, nil)
	}
	if n := strings.Count(td.logs.String(), `"msg":"unknown whitelist list"`); n != 1 {
		t.Errorf("unknown list logged %d times for 3 requests without a session, want once", n)
	}
}

// TestUnknownListBudgetIsNginxs: names a client makes up at /login and
// /callback spend none of the budget of logged unknown list names, so a
// typo in nginx's configuration is still logged after a hundred of them.
func TestUnknownListBudgetIsNginxs(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n[gpt4]\n", testConfig{})
	alice := td.session(t, "alice@example.com")
	for i := range 101 {
		td.do(t, http.MethodGet, fmt.Sprintf("/login?list=junk%d", i), nil, nil, alice)
		td.do(t, http.MethodPost, fmt.Sprintf("/callback?list=junk%d", i), nil, nil)
	}
	if n := strings.Count(td.logs.String(), `"msg":"unknown whitelist list"`); n != 0 {
		t.Errorf("client-chosen names logged %d times as unknown lists, want 0", n)
	}
	td.do(t, http.MethodGet, "/auth?list=gtp4", nil, nil)
	if !strings.Contains(td.logs.String(), `"msg":"unknown whitelist list","path":`) || !strings.Contains(td.logs.String(), `"list":"gtp4"`) {
		t.Errorf("nginx's typo gtp4 not logged after 101 client-chosen names:\n%s", td.logs.String())
	}
}

// TestMetricsStore: the store's metrics follow it: up while it answers,
// down (with /auth still answering from memory) once it is closed, and
// the live sessions counted.
func TestMetricsStore(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	var m *Metrics
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true, auth: func(c *Config) {
		m = newTestMetrics(c.Allowlist.(*whitelist.Watcher))
		c.Observer, c.Store = m, st
	}})
	m.Register(td.h.StoreCollector())
	alice := mintSession(t, td.h, "alice@example.com")
	mintSession(t, td.h, "alice@example.com")
	waitFor(t, 5*time.Second, "store metrics", func() bool {
		text := scrape(t, m)
		return strings.Contains(text, "doorman_store_up 1") && strings.Contains(text, "doorman_sessions_live 2") &&
			strings.Contains(text, "doorman_store_feed_lag_seconds")
	})
	st.Close()
	waitFor(t, 5*time.Second, "doorman_store_up 0", func() bool { return strings.Contains(scrape(t, m), "doorman_store_up 0") })
	if resp, _ := td.do(t, http.MethodGet, "/auth", nil, nil, alice); resp.StatusCode != http.StatusOK {
		t.Errorf("/auth with the store closed = %d, want 200 from memory", resp.StatusCode)
	}
	if n := strings.Count(td.logs.String(), `"msg":"store unreachable"`); n != 1 {
		t.Errorf("store unreachable logged %d times, want once", n)
	}
}
