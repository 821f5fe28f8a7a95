package auth

import (
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
	"doorman/templates"
)

// firefoxUA is a browser's User-Agent for sessions the tests start.
const firefoxUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"

// sessionsPageText is what the sessions page says in each language: its
// title, the mark on the visitor's own session, and firefoxUA as shown.
var sessionsPageText = map[string]struct{ title, current, firefox string }{
	"en":    {"Your sessions", "This one", "Firefox 128 on Windows"},
	"zh-CN": {"您的登录会话", "当前会话", "Windows 上的 Firefox 128"},
	"ko":    {"내 로그인 세션", "현재 세션", "Windows의 Firefox 128"},
}

// acceptLanguages asks for each of doorman's languages as browsers do.
var acceptLanguages = map[string]string{"en": "en-US,en;q=0.9", "zh-CN": "zh-CN,zh;q=0.9", "ko": "ko-KR,ko;q=0.9"}

// sessionRowRE matches one session on the sessions page: whether it is
// marked as this one, and the id its end button posts.
var sessionRowRE = regexp.MustCompile(`(?s)<li( class="current")?>.*?<input type="hidden" name="id" value="([^"]*)">`)

// TestSessionsPage: a signed-in visitor sees exactly their own live
// sessions, the one they use marked, each with an end button carrying
// their CSRF token, in every language; never anyone else's.
func TestSessionsPage(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\nbob@example.com\n", testConfig{})
	alice := td.session(t, "alice@example.com")
	if _, err := td.h.newSession(t.Context(), "alice@example.com", firefoxUA, "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	td.session(t, "bob@example.com")
	aliceIDs, current := liveIDs(t, td, "alice@example.com"), sessionOf(t, td, alice)
	bobIDs := liveIDs(t, td, "bob@example.com")
	if len(aliceIDs) != 2 || len(bobIDs) != 1 || !slices.Contains(aliceIDs, current) {
		t.Fatalf("alice has sessions %q (this one %q), bob %q; want two and one", aliceIDs, current, bobIDs)
	}
	csrf := `name="csrf" value="` + td.h.csrfToken(current) + `"`
	for tag, want := range sessionsPageText {
		t.Run(tag, func(t *testing.T) {
			resp, body := td.do(t, http.MethodGet, "/sessions", nil, http.Header{"Accept-Language": {acceptLanguages[tag]}}, alice)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Language") != tag || pageLang(body) != tag {
				t.Fatalf("GET /sessions = %d in %q (Content-Language %q), want 200 in %s:\n%s", resp.StatusCode, pageLang(body), resp.Header.Get("Content-Language"), tag, body)
			}
			for _, s := range []string{"<h1>" + want.title + "</h1>", want.firefox, "203.0.113.7", "Go-http-client", "alice@example.com"} {
				if !strings.Contains(body, s) {
					t.Errorf("the sessions page in %s does not show %q:\n%s", tag, s, body)
				}
			}
			checkSessionRows(t, body, aliceIDs, current)
			if n := strings.Count(body, `<span class="badge">`+want.current+"</span>"); n != 1 {
				t.Errorf("the sessions page in %s marks %d sessions %q, want one", tag, n, want.current)
			}
			if n := strings.Count(body, csrf); n != 3 {
				t.Errorf("the sessions page carries alice's CSRF token in %d forms, want 3 (two end buttons, sign out everywhere)", n)
			}
			if strings.Contains(body, bobIDs[0]) || strings.Contains(body, "bob@") {
				t.Errorf("alice's sessions page shows bob's session:\n%s", body)
			}
			if inlineCode.MatchString(body) || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("the sessions page has inline code or Cache-Control %q, want none and no-store", resp.Header.Get("Cache-Control"))
			}
		})
	}
}

// checkSessionRows checks the page lists exactly the sessions ids, in any
// order, with only current marked as this one.
func checkSessionRows(t *testing.T, body string, ids []string, current string) {
	t.Helper()
	var got []string
	for _, m := range sessionRowRE.FindAllStringSubmatch(body, -1) {
		id := html.UnescapeString(m[2])
		got = append(got, id)
		if marked := m[1] != ""; marked != (id == current) {
			t.Errorf("session %s marked as this one: %v, want %v", id, marked, id == current)
		}
	}
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
		t.Errorf("the sessions page lists %q, want %q", got, want)
	}
}

// liveIDs returns the store ids of email's live sessions.
func liveIDs(t *testing.T, td *testDoorman, email string) []string {
	t.Helper()
	live, err := td.h.store.LiveSessions(t.Context(), email, td.h.now())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(live))
	for i, s := range live {
		ids[i] = s.ID
	}
	return ids
}

// TestSessionsPageLinks: the signed-in page links the sessions page, which
// links back; a visitor not signed in goes through /login and back.
func TestSessionsPageLinks(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true})
	alice := mintSession(t, td.h, "alice@example.com")
	if _, body := td.do(t, http.MethodGet, "/", nil, nil, alice); !strings.Contains(body, `<a href="/sessions">Your sessions</a>`) {
		t.Errorf("the signed-in page does not link /sessions:\n%s", body)
	}
	if _, body := td.do(t, http.MethodGet, "/sessions", nil, nil, alice); !strings.Contains(body, `<a href="/">`) {
		t.Errorf("the sessions page does not link back to /:\n%s", body)
	}
	resp, _ := td.do(t, http.MethodGet, "/sessions", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?rd=%2Fsessions" {
		t.Errorf("GET /sessions signed out = %d %q, want 303 /login?rd=%%2Fsessions", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestStoreDownPage: when the store cannot be reached (here a Redis store
// with no server behind it, beside a doorman that shares its keys and
// issued the cookie), the sessions page and signing out answer a 503 page
// that says nothing was changed and offers to try again, in every language.
func TestStoreDownPage(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	st := openStore(t, redis.URL(), store.Options{DialTimeout: 200 * time.Millisecond, Timeout: 200 * time.Millisecond})
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true, auth: func(c *Config) { c.Store = st }})
	alice := mintSession(t, td.h, "alice@example.com")
	redis.Kill(t)
	says := map[string][]string{
		"en":    {"<h1>Not saved</h1>", "Nothing was changed: you are still signed in as before."},
		"zh-CN": {"<h1>未能保存</h1>", "没有做任何更改：您仍像之前一样保持登录。"},
		"ko":    {"<h1>저장되지 않음</h1>", "아무것도 바뀌지 않았으며, 이전과 같이 로그인된 상태입니다."},
	}
	for tag, want := range says {
		for _, path := range []string{"/sessions", "/logout"} {
			resp, body := td.do(t, http.MethodGet, path, nil, http.Header{"Accept-Language": {acceptLanguages[tag]}}, alice)
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Content-Language") != tag {
				t.Errorf("GET %s in %s with the store down = %d, Content-Language %q; want 503 in %s", path, tag, resp.StatusCode, resp.Header.Get("Content-Language"), tag)
			}
			for _, s := range append(want, `<a class="button" href="/">`) {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s in %s with the store down: the page lacks %q:\n%s", path, tag, s, body)
				}
			}
			if strings.Contains(body, "Google") {
				t.Errorf("GET %s in %s with the store down blames Google:\n%s", path, tag, body)
			}
		}
	}
}

// TestRenderSessionsPage renders sessions.html with sample data: what a
// visitor's browser sent (User-Agent, address, id) is escaped wherever it
// lands; times are UTC to the minute; the visitor's own session is in use
// now, another never used says so.
func TestRenderSessionsPage(t *testing.T) {
	t.Parallel()
	pages := mustPages(t)
	signedIn := time.Date(2026, 5, 3, 23, 7, 42, 0, time.FixedZone("KST", 9*3600))
	page := Page{Email: "alice@example.com", CSRF: `c"s<r>&f`, Sessions: []SessionRow{
		{ID: `x"><b>id`, Browser: "<script>alert(1)</script>", IP: `"><img src=x onerror=alert(1)>`, Created: signedIn, Current: true},
		{ID: "other", Browser: firefoxUA, Created: signedIn.Add(-time.Hour), LastSeen: signedIn.Add(90 * time.Second)},
		{ID: "unused", Browser: "curl/8.5.0", IP: "2001:db8::1", Created: signedIn},
	}}
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, "sessions.html", view{Page: page, Lang: templates.Languages()[0]}); err != nil {
		t.Fatal(err)
	}
	body := b.String()
	for _, raw := range []string{"<script>alert", "<img", `x">`, `c"s`, "<b>id"} {
		if strings.Contains(body, raw) {
			t.Errorf("the sessions page shows %q unescaped:\n%s", raw, body)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		`name="id" value="x&#34;&gt;&lt;b&gt;id"`, `name="csrf" value="c&#34;s&lt;r&gt;&amp;f"`,
		`<time datetime="2026-05-03T14:07Z">2026-05-03 14:07 UTC</time>`, `<time datetime="2026-05-03T14:09Z">2026-05-03 14:09 UTC</time>`,
		"<dd>Now</dd>", "<dd>Not yet</dd>", "<dd>Not recorded</dd>", "Firefox 128 on Windows", "<h2 id=\"session-2\">curl</h2>", `action="/sessions/end"`, `action="/sessions/end-all"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the sessions page lacks %s:\n%s", want, body)
		}
	}
	checkSessionRows(t, body, []string{`x"><b>id`, "other", "unused"}, `x"><b>id`)
}

func TestRenderSessionsPageEveryLanguage(t *testing.T) {
	t.Parallel()
	pages := mustPages(t)
	for _, lang := range templates.Languages() {
		for _, rows := range [][]SessionRow{nil, {{ID: "a", Created: time.Now(), LastSeen: time.Now(), Current: true}}} {
			var b strings.Builder
			if err := pages.ExecuteTemplate(&b, "sessions.html", view{Page: Page{Email: "a@example.com", Sessions: rows}, Lang: lang}); err != nil {
				t.Errorf("sessions.html in %s with %d sessions: %v", lang.Tag, len(rows), err)
			}
		}
	}
}
