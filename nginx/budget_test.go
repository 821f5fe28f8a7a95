package nginx_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strconv"
	"strings"
	"testing"

	"doorman/auth/store/redistest"
)

// modelPath is the route on the GPT-4 site that calls the model, the one
// doorman.conf counts.
const modelPath = "/api/openai/v1/chat/completions"

// openAIError is the body of an OpenAI-style error.
type openAIError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}

// TestNginxBudget: on the GPT-4 site each call of the model costs 1 of a
// person's budget; at the ceiling a program gets a 429 in OpenAI's shape
// and a browser doorman's 429 page in its language; pages are never
// counted; someone with "budget none" is never refused; and with the store
// down the counted route answers 503.
func TestNginxBudget(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	s := newStack(t, alice+"\n"+bob+"\n[gpt4]\nbudget 2/day\n"+alice+"\n"+bob+" budget none\n", "--store="+redis.URL())
	aliceCookie, bobCookie := s.siteSession(t, alice), s.siteSession(t, bob)
	for _, left := range []string{"1", "0"} {
		resp, body := s.callModel(t, aliceCookie, nil)
		if saw := wantApp(t, resp, body, "gpt4"); !slices.Equal(saw.Email, []string{alice}) || !slices.Equal(saw.Left, []string{left}) {
			t.Errorf("the app saw email %q and X-Doorman-Budget-Remaining %q, want %s and %s", saw.Email, saw.Left, alice, left)
		}
	}
	resp, body := s.callModel(t, aliceCookie, nil)
	wantBudgetJSON(t, resp, body, http.StatusTooManyRequests, "rate_limit_exceeded", "budget_exceeded", "You have used your 2 requests for today")
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs <= 0 || secs > 86400 {
		t.Errorf("at the ceiling: Retry-After %q, want seconds until midnight UTC", resp.Header.Get("Retry-After"))
	}
	page := http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}, "Accept-Language": {"ko-KR,ko;q=0.9"}}
	resp, body = s.get(t, s.anon, s.url("gpt4", modelPath), withCookie(page, aliceCookie))
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, `<html lang="ko">`) ||
		!strings.Contains(body, "오늘 쓸 수 있는 <strong>gpt4</strong> 요청 <strong>2</strong>회를 모두 사용했습니다") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a browser at the ceiling: %d, Retry-After %q; want doorman's 429 page in Korean:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	t.Run("pages are never counted", func(t *testing.T) { testBudgetPages(t, s, aliceCookie) })
	t.Run("budget none", func(t *testing.T) { testBudgetNone(t, s, bobCookie) })
	redis.Stop(t)
	t.Run("store down", func(t *testing.T) {
		resp, body := s.callModel(t, aliceCookie, nil)
		wantBudgetJSON(t, resp, body, http.StatusServiceUnavailable, "server_error", "budget_unavailable", "try again")
		resp, body = s.get(t, s.anon, s.url("gpt4", modelPath), withCookie(page, aliceCookie))
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "잠시 후 다시 시도해 주세요") {
			t.Errorf("a browser, store down: %d, want doorman's 503 page in Korean:\n%s", resp.StatusCode, body)
		}
		testBudgetNone(t, s, bobCookie)
		resp, body = s.get(t, s.anon, s.url("auth", "/"), http.Header{"Cookie": {aliceCookie}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your budgets cannot be shown just now") {
			t.Errorf("the signed-in page, store down = %d, want 200 with a note instead of the budgets:\n%s", resp.StatusCode, body)
		}
	})
	redis.Restart(t)
}

// testBudgetPages: pages of the GPT-4 site (alice at her ceiling) are
// neither counted nor refused, and reach the app without a budget header,
// a client's own included; the auth host serves the budget page too, and
// the signed-in page shows the usage.
func testBudgetPages(t *testing.T, s *stack, cookie string) {
	for range 3 {
		resp, body := s.get(t, s.anon, s.url("gpt4", "/"), http.Header{"Cookie": {cookie}, "X-Doorman-Budget-Remaining": {"99"}})
		if saw := wantApp(t, resp, body, "gpt4"); len(saw.Left) != 0 {
			t.Errorf("GET / on the GPT-4 site: the app saw X-Doorman-Budget-Remaining %q, want none", saw.Left)
		}
	}
	resp, body := s.get(t, s.anon, s.url("auth", "/budget?list=gpt4"), http.Header{"Cookie": {cookie}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "You have used your <strong>2</strong> <strong>gpt4</strong> requests for today") {
		t.Errorf("GET auth.example.com/budget?list=gpt4 = %d, want the 429 page:\n%s", resp.StatusCode, body)
	}
	resp, body = s.get(t, s.anon, s.url("auth", "/"), http.Header{"Cookie": {cookie}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<dt>gpt4</dt>\n<dd>2 of 2 today (0 left)</dd>") {
		t.Errorf("the signed-in page = %d, want 200 showing 2 of 2 used on gpt4:\n%s", resp.StatusCode, body)
	}
}

// testBudgetNone: bob, whose budget on gpt4 is "none", calls the model
// more often than anyone's limit, uncounted.
func testBudgetNone(t *testing.T, s *stack, cookie string) {
	for range 3 {
		resp, body := s.callModel(t, cookie, nil)
		if saw := wantApp(t, resp, body, "gpt4"); len(saw.Left) != 0 {
			t.Errorf("budget none: the app saw X-Doorman-Budget-Remaining %q, want none", saw.Left)
		}
	}
}

// siteSession signs email in to the GPT-4 site through nginx, in a browser
// of its own (a new cookie jar), and returns the session's Cookie header.
func (s *stack) siteSession(t *testing.T, email string) string {
	t.Helper()
	s.jar, _ = cookiejar.New(nil)
	s.client.Jar = s.jar
	gpt4 := s.url("gpt4", "/")
	resp := s.signIn(t, s.loginURL("gpt4", gpt4), gpt4, email)
	wantRedirect(t, resp, http.StatusSeeOther, gpt4)
	c := s.sessionCookie(t)
	return c.Name + "=" + c.Value
}

// callModel POSTs a chat completion to the GPT-4 site as ChatGPT-Next-Web's
// page does, with the Cookie header cookie and hdr.
func (s *stack) callModel(t *testing.T, cookie string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req := newRequest(t, http.MethodPost, s.url("gpt4", modelPath), strings.NewReader(`{"model":"gpt-4","messages":[]}`))
	req.Header = withCookie(hdr, cookie)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "*/*")
	return do(t, s.anon, req)
}

// withCookie is a copy of hdr with the Cookie header cookie.
func withCookie(hdr http.Header, cookie string) http.Header {
	out := hdr.Clone()
	if out == nil {
		out = http.Header{}
	}
	out.Set("Cookie", cookie)
	return out
}

// wantBudgetJSON fails unless resp is an OpenAI-style JSON error with code,
// typ and errCode, whose message contains msg.
func wantBudgetJSON(t *testing.T, resp *http.Response, body string, code int, typ, errCode, msg string) {
	t.Helper()
	var e openAIError
	err := json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != code || resp.Header.Get("Content-Type") != "application/json" || err != nil {
		t.Fatalf("%s %s = %d, Content-Type %q; want %d, application/json (%v):\n%s", resp.Request.Method, resp.Request.URL, resp.StatusCode, resp.Header.Get("Content-Type"), code, err, body)
	}
	if e.Error.Type != typ || e.Error.Code != errCode || !strings.Contains(e.Error.Message, msg) {
		t.Errorf("%s %s: error %+v, want type %s, code %s, a message containing %q", resp.Request.Method, resp.Request.URL, e.Error, typ, errCode, msg)
	}
}
