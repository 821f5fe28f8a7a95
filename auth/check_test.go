package auth

import (
	"doorman/whitelist/budget"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// fakeAllowlist is a fixed set of emails per list.
type fakeAllowlist map[string][]string

func (f fakeAllowlist) Contains(list, email string) bool {
	for _, e := range f[list] {
		if e == email {
			return true
		}
	}
	return false
}

func (f fakeAllowlist) ReportUnknown(string) {}

// BudgetOf gives nobody a budget.
func (f fakeAllowlist) BudgetOf(string, string) budget.Budget { return nil }

func (f fakeAllowlist) ListsOf(email string) []string {
	var out []string
	for list := range f {
		if f.Contains(list, email) {
			out = append(out, list)
		}
	}
	return out
}

// newTestHandler returns a Handler over allow with a settable clock.
func newTestHandler(t *testing.T, allow Allowlist, clock *atomic.Int64) *Handler {
	t.Helper()
	h, err := New(Config{
		ClientID: testClientID, Allowlist: allow, Keys: [][]byte{secret(1)}, Store: testStore(t),
		CookieName: "doorman", CookieTTL: time.Hour,
		Now: func() time.Time { return time.Unix(clock.Load(), 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	go h.Run(t.Context())
	waitFor(t, 5*time.Second, "the store read", h.Ready)
	return h
}

// check runs Check on a request carrying cookie header value and returns the status and email.
func check(t *testing.T, h *Handler, target, cookie string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	if err := h.check(echo.New().NewContext(req, rec)); err != nil {
		t.Fatalf("Check() = %v", err)
	}
	return rec.Code, rec.Header().Get("X-Auth-Request-Email")
}

func TestCheckUsesVerifiedCacheSafely(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(1_800_000_000)
	h := newTestHandler(t, fakeAllowlist{"": {"alice@example.com"}}, &clock)
	c, err := h.SessionCookie("alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if code, email := check(t, h, "/auth", "doorman="+c.Value); code != 200 || email != "alice@example.com" {
		t.Fatalf("first Check = %d %q, want 200 alice", code, email)
	}
	if code, _ := check(t, h, "/auth", "doorman="+flip(c.Value, 10)); code != 401 {
		t.Errorf("tampered copy of a cached cookie = %d, want 401", code)
	}
	if code, _ := check(t, h, "/auth", "doorman="+c.Value+"x"); code != 401 {
		t.Errorf("extended copy of a cached cookie = %d, want 401", code)
	}
	clock.Add(int64(time.Hour / time.Second))
	if code, _ := check(t, h, "/auth", "doorman="+c.Value); code != 401 {
		t.Errorf("cached cookie after expiry = %d, want 401", code)
	}
}

func TestVerifiedCacheBounded(t *testing.T) {
	t.Parallel()
	c := newVerifiedCache(3)
	for _, v := range []string{"a", "b", "c", "d"} {
		c.put(v, &verifiedSession{})
	}
	if _, ok := c.get("a"); ok {
		t.Error("cache kept an entry past its bound")
	}
	if _, ok := c.get("d"); !ok {
		t.Error("cache lost the newest entry")
	}
}

func TestCheckAllocations(t *testing.T) {
	var clock atomic.Int64
	clock.Store(1_800_000_000)
	h := newTestHandler(t, fakeAllowlist{"gpt4": {"alice@example.com"}}, &clock)
	c, _ := h.SessionCookie("alice@example.com")
	req := httptest.NewRequest(http.MethodGet, "/auth?list=gpt4", nil)
	req.Header.Set("Cookie", "_ga=1; doorman="+c.Value)
	rec := httptest.NewRecorder()
	ctx := echo.New().NewContext(req, rec)
	allocs := testing.AllocsPerRun(100, func() {
		clear(rec.Header())
		_ = h.check(ctx)
	})
	if allocs > 2 {
		t.Errorf("Check with a valid cookie allocates %.0f times per request, want at most 2", allocs)
	}
}
