package auth

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"doorman/auth/store"
)

// budgetPageList gives alice a budget on gpt4 whose day and hour fill
// together, and one on the main list; bob has none on gpt4.
const budgetPageList = "budget 50/week\nalice@example.com\nbob@example.com\n[gpt4]\nbudget 10/month 2/day 2/hour\nalice@example.com\nbob@example.com budget none\n"

// spentText is the budget page's sentence at the ceiling of budgetPageList
// on gpt4, seen from Tokyo at 07:00: the day's 2 requests (the full window
// that has room again last), back at Tokyo's midnight.
var spentText = map[string]string{
	"en":    "You have used your <strong>2</strong> <strong>gpt4</strong> requests for today; they come back at <strong>00:00 Asia/Tokyo</strong>.",
	"zh-CN": "您今天的 <strong>2</strong> 次 <strong>gpt4</strong> 请求已经用完，将于 <strong>00:00 Asia/Tokyo</strong> 恢复。",
	"ko":    "오늘 쓸 수 있는 <strong>gpt4</strong> 요청 <strong>2</strong>회를 모두 사용했습니다. <strong>00:00 Asia/Tokyo</strong>에 다시 사용할 수 있습니다.",
}

// budgetPageDoorman serves budgetPageList over st on a clock at 07:00 in
// Tokyo, the budgets' zone, with a public URL.
func budgetPageDoorman(t *testing.T, st store.Store) *testDoorman {
	t.Helper()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	var clock atomic.Int64
	clock.Store(time.Date(2030, 3, 4, 22, 0, 0, 0, time.UTC).Unix())
	return budgetDoorman(t, budgetPageList, st, &clock, func(c *Config) {
		c.BudgetZone, c.PublicURL = tokyo, "https://auth.example.com"
	})
}

// TestBudgetPage: at the ceiling the page is a 429 in the visitor's
// language naming the limit that has room again last and when, in the
// budgets' zone, with Retry-After; below it a 200 with what is left.
func TestBudgetPage(t *testing.T) {
	t.Parallel()
	td := budgetPageDoorman(t, testStore(t))
	alice := mintSession(t, td.h, "alice@example.com")
	counted(t, td, "gpt4", 1, alice)
	resp, body := td.do(t, http.MethodGet, "/budget?list=gpt4", nil, nil, alice)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Retry-After") != "" || !strings.Contains(body, "1 of 2 today (1 left)") {
		t.Errorf("GET /budget below the ceiling = %d, Retry-After %q; want 200 without, saying 1 of 2 today (1 left):\n%s",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	counted(t, td, "gpt4", 1, alice)
	for tag, want := range spentText {
		t.Run(tag, func(t *testing.T) {
			resp, body := td.do(t, http.MethodGet, "/budget?list=gpt4", nil, http.Header{"Accept-Language": {acceptLanguages[tag]}}, alice)
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "61200" || pageLang(body) != tag {
				t.Fatalf("GET /budget at the ceiling = %d, Retry-After %q, in %q; want 429, 61200 (17 h), in %s:\n%s",
					resp.StatusCode, resp.Header.Get("Retry-After"), pageLang(body), tag, body)
			}
			if !strings.Contains(body, want) {
				t.Errorf("the budget page in %s does not say %q:\n%s", tag, want, body)
			}
			checkBudgetPageHeaders(t, resp, body)
		})
	}
}

// checkBudgetPageHeaders checks what the budget page needs to be shown on
// a site's own host: no caching, and doorman's stylesheet, links and their
// CSP sources on the public URL.
func checkBudgetPageHeaders(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(csp, "style-src 'self' https://auth.example.com;") ||
		!strings.Contains(csp, "img-src 'self' https://auth.example.com;") || !strings.Contains(csp, "default-src 'none';") {
		t.Errorf("budget page: Cache-Control %q, CSP %q; want no-store, the public origin in style-src and img-src", resp.Header.Get("Cache-Control"), csp)
	}
	for _, s := range []string{`href="https://auth.example.com/static/style.css"`, `href="https://auth.example.com/budget?hl=ko&amp;list=gpt4"`, `href="https://auth.example.com/"`} {
		if !strings.Contains(body, s) {
			t.Errorf("the budget page lacks %s", s)
		}
	}
	if inlineCode.MatchString(body) {
		t.Errorf("the budget page has inline code:\n%s", body)
	}
}

// TestBudgetPageVisitors: a visitor not signed in goes to sign in; one
// without a budget on the site is told so; one not on its list gets the
// 403 page; and the page of a store that cannot be read is a 503.
func TestBudgetPageVisitors(t *testing.T) {
	t.Parallel()
	td := budgetPageDoorman(t, usedFails{testStore(t)})
	bob, carol := mintSession(t, td.h, "bob@example.com"), mintSession(t, td.h, "carol@example.com")
	alice := mintSession(t, td.h, "alice@example.com")
	tests := []struct {
		name   string
		cookie *http.Cookie
		code   int
		want   string
	}{
		{"not signed in", nil, http.StatusSeeOther, ""},
		{"budget none", bob, http.StatusOK, "The <strong>gpt4</strong> site sets you no limit."},
		{"not on the list", carol, http.StatusForbidden, "not on the list for the <strong>gpt4</strong> site"},
		{"store down", alice, http.StatusServiceUnavailable, "doorman could not reach its store just now, so requests to the <strong>gpt4</strong> site"},
	}
	for _, tt := range tests {
		resp, body := td.do(t, http.MethodGet, "/budget?list=gpt4", nil, nil, tt.cookie)
		if resp.StatusCode != tt.code || !strings.Contains(body, tt.want) || resp.Header.Get("Retry-After") != "" {
			t.Errorf("%s: GET /budget = %d, Retry-After %q; want %d saying %q:\n%s", tt.name, resp.StatusCode, resp.Header.Get("Retry-After"), tt.code, tt.want, body)
		}
	}
	resp, _ := td.do(t, http.MethodGet, "/budget?list=gpt4", nil, nil)
	if loc := resp.Header.Get("Location"); loc != "https://auth.example.com/login?rd=%2F" {
		t.Errorf("GET /budget not signed in: Location %q, want https://auth.example.com/login?rd=%%2F", loc)
	}
}

// usedFails is a store whose budget counters cannot be read.
type usedFails struct{ store.Store }

func (usedFails) Used(context.Context, string, string, []string) ([]int64, error) {
	return nil, store.ErrUnavailable
}

// TestBudgetUsageShown: the signed-in and sessions pages show what is used
// and left of each limit on each site with a budget; when the budgets
// cannot be read they are still 200, without usage and with a note. (With
// the whole store down, nginx's tests show the signed-in page.)
func TestBudgetUsageShown(t *testing.T) {
	t.Parallel()
	td := budgetPageDoorman(t, testStore(t))
	alice := mintSession(t, td.h, "alice@example.com")
	counted(t, td, "gpt4", 1, alice)
	counted(t, td, "", 3, alice)
	for _, path := range []string{"/", "/sessions"} {
		resp, body := td.do(t, http.MethodGet, path, nil, nil, alice)
		for _, want := range []string{
			"<dt>main</dt>\n<dd>3 of 50 this week (47 left)</dd>",
			"<dt>gpt4</dt>\n<dd>1 of 10 this month (9 left), 1 of 2 today (1 left), 1 of 2 this hour (1 left)</dd>",
		} {
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("GET %s = %d, want 200 showing %q:\n%s", path, resp.StatusCode, want, body)
			}
		}
	}
	down := budgetPageDoorman(t, usedFails{testStore(t)})
	alice = mintSession(t, down.h, "alice@example.com")
	for _, path := range []string{"/", "/sessions"} {
		if resp, body := down.do(t, http.MethodGet, path, nil, nil, alice); resp.StatusCode != http.StatusOK ||
			!strings.Contains(body, "Your budgets cannot be shown just now") || strings.Contains(body, `class="usage"`) {
			t.Errorf("GET %s, budgets unreadable = %d, want 200 with a note and no usage:\n%s", path, resp.StatusCode, body)
		}
	}
}
