package auth

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"doorman/auth/googletest"
	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

// authStatus is /auth's answer to cookie on td.
func authStatus(t *testing.T, td *testDoorman, cookie *http.Cookie) int {
	t.Helper()
	resp, _ := td.do(t, http.MethodGet, "/auth", nil, nil, cookie)
	return resp.StatusCode
}

// sessionOf returns the store id of the session cookie c carries.
func sessionOf(t *testing.T, td *testDoorman, c *http.Cookie) string {
	t.Helper()
	s, err := td.h.sessions.decodeSession(c.Value, td.h.now())
	if err != nil {
		t.Fatalf("decode session cookie: %v", err)
	}
	return storeID(s.ID)
}

// postForm posts form to path on td with cookies and, unless "", an Origin.
func postForm(t *testing.T, td *testDoorman, path, origin string, form url.Values, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	resp, _ := td.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), hdr, cookies...)
	return resp
}

// TestLogoutEndsEveryCopy: after /logout, the cookie it was sent and every
// copy of it are refused, here and by another doorman on the same store
// within a second; the person's other sessions go on.
func TestLogoutEndsEveryCopy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "doorman.db")
	open := func() store.Store { return openStore(t, path, store.Options{}) }
	list := "alice@example.com\n"
	a := newTestDoorman(t, list, testConfig{auth: func(c *Config) { c.Store = open() }})
	b := newTestDoorman(t, list, testConfig{offline: true, auth: func(c *Config) { c.Store = open() }})
	copied, other := a.session(t, "alice@example.com"), a.session(t, "alice@example.com")
	if got := authStatus(t, b, copied); got != http.StatusOK {
		t.Fatalf("another doorman on the same store: /auth = %d, want 200 at once", got)
	}
	resp, _ := a.do(t, http.MethodGet, "/logout", nil, nil, copied)
	if c := findCookie(resp, "doorman"); resp.StatusCode != http.StatusSeeOther || c == nil || c.MaxAge >= 0 {
		t.Fatalf("GET /logout = %d, cookie %v; want 303 clearing the cookie", resp.StatusCode, c)
	}
	if got := authStatus(t, a, copied); got != http.StatusUnauthorized {
		t.Errorf("/auth with a copy of the signed-out cookie = %d, want 401", got)
	}
	start := time.Now()
	waitFor(t, time.Second, "the other doorman refusing the copy", func() bool { return authStatus(t, b, copied) == http.StatusUnauthorized })
	t.Logf("ended session refused by the other doorman after %v", time.Since(start))
	if got := authStatus(t, a, other); got != http.StatusOK {
		t.Errorf("/auth with alice's other session = %d, want 200", got)
	}
	if !strings.Contains(a.logs.String(), `"msg":"session ended","email":"alice@example.com"`) || !strings.Contains(a.logs.String(), `"by":"user"`) {
		t.Errorf("no session ended log line:\n%s", a.logs.String())
	}
	if strings.Contains(a.logs.String(), copied.Value) {
		t.Error("a log line carries the session cookie")
	}
}

// TestSessionPostsCheckOriginAndCSRF: a POST to the sessions page without
// the session's CSRF token, with another session's, from another origin or
// without a session changes nothing; with all of them it does.
func TestSessionPostsCheckOriginAndCSRF(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\nbob@example.com\n", testConfig{offline: true})
	alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")
	aliceID := sessionOf(t, td, alice)
	token, bobToken := td.h.csrfToken(aliceID), td.h.csrfToken(sessionOf(t, td, bob))
	own := "http://" + strings.TrimPrefix(td.URL, "http://")
	tests := []struct {
		name, origin, csrf string
		cookie             *http.Cookie
		want               int
	}{
		{"no token", own, "", alice, http.StatusForbidden},
		{"another session's token", own, bobToken, alice, http.StatusForbidden},
		{"token with a byte changed", own, flip(token, 3), alice, http.StatusForbidden},
		{"foreign origin", "https://evil.example", token, alice, http.StatusForbidden},
		{"null origin", "null", token, alice, http.StatusForbidden},
		{"origin on another port", "http://127.0.0.1:1", token, alice, http.StatusForbidden},
		{"no session", own, token, nil, http.StatusForbidden},
	}
	for _, path := range []string{"/sessions/end", "/sessions/end-all"} {
		for _, tt := range tests {
			form := url.Values{"id": {aliceID}, "csrf": {tt.csrf}}
			var cookies []*http.Cookie
			if tt.cookie != nil {
				cookies = append(cookies, tt.cookie)
			}
			if resp := postForm(t, td, path, tt.origin, form, cookies...); resp.StatusCode != tt.want {
				t.Errorf("POST %s, %s = %d, want %d", path, tt.name, resp.StatusCode, tt.want)
			}
			if got := authStatus(t, td, alice); got != http.StatusOK {
				t.Fatalf("after POST %s, %s: alice's session answers %d, want 200 (nothing changed)", path, tt.name, got)
			}
		}
	}
	// No Origin at all (some clients send none) with the token: accepted.
	resp := postForm(t, td, "/sessions/end", "", url.Values{"id": {aliceID}, "csrf": {token}}, alice)
	if resp.StatusCode != http.StatusSeeOther || authStatus(t, td, alice) != http.StatusUnauthorized {
		t.Errorf("POST /sessions/end with the token = %d; want 303 and the session ended", resp.StatusCode)
	}
	if got := authStatus(t, td, bob); got != http.StatusOK {
		t.Errorf("bob's session after alice ended hers = %d, want 200", got)
	}
}

// TestEndSessionForeignIs404: ending someone else's session, an unknown id
// or a malformed one is the same 404, and changes nothing.
func TestEndSessionForeignIs404(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\nbob@example.com\n", testConfig{offline: true})
	alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")
	token := td.h.csrfToken(sessionOf(t, td, alice))
	for _, id := range []string{sessionOf(t, td, bob), "AAAAAAAAAAAAAAAAAAAAAA", "", "../../x", strings.Repeat("a", 500)} {
		resp := postForm(t, td, "/sessions/end", "", url.Values{"id": {id}, "csrf": {token}}, alice)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("alice ending id %.30q = %d, want 404", id, resp.StatusCode)
		}
	}
	if authStatus(t, td, bob) != http.StatusOK || authStatus(t, td, alice) != http.StatusOK {
		t.Error("a refused end changed a session")
	}
}

// TestEndThisAndEveryOther: ending this very session signs the visitor
// out; "sign out everywhere" ends every session of the visitor's and no
// one else's.
func TestEndThisAndEveryOther(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\nbob@example.com\n", testConfig{offline: true})
	a1, a2, a3 := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "alice@example.com")
	bob := mintSession(t, td.h, "bob@example.com")
	id1 := sessionOf(t, td, a1)
	resp := postForm(t, td, "/sessions/end", "", url.Values{"id": {id1}, "csrf": {td.h.csrfToken(id1)}}, a1)
	if c := findCookie(resp, "doorman"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" || c == nil || c.MaxAge >= 0 {
		t.Errorf("ending this session = %d to %q, cookie %v; want 303 to /login clearing the cookie", resp.StatusCode, resp.Header.Get("Location"), c)
	}
	id2 := sessionOf(t, td, a2)
	resp = postForm(t, td, "/sessions/end-all", "", url.Values{"csrf": {td.h.csrfToken(id2)}}, a2)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("POST /sessions/end-all = %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	for i, c := range []*http.Cookie{a1, a2, a3} {
		if got := authStatus(t, td, c); got != http.StatusUnauthorized {
			t.Errorf("alice's session %d after sign out everywhere = %d, want 401", i+1, got)
		}
	}
	if got := authStatus(t, td, bob); got != http.StatusOK {
		t.Errorf("bob's session = %d, want 200", got)
	}
	if n := strings.Count(td.logs.String(), `"by":"user_all"`); n != 2 {
		t.Errorf("%d session ended lines by user_all, want 2 (a2, a3)", n)
	}
}

// TestSessionIdle: with --session-idle, a session unused for that long is
// ended (never before, at most about a minute after), and one in use never
// is. The clock is injected; the store's sweep runs every second.
func TestSessionIdle(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	t0 := int64(1_800_000_000)
	clock.Store(t0)
	st := testStore(t)
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true, auth: func(c *Config) {
		c.Store, c.SessionIdle, c.CookieTTL = st, 10*time.Second, 24*time.Hour
		c.Now = func() time.Time { return time.Unix(clock.Load(), 0) }
	}})
	idle, busy := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "alice@example.com")
	idleID, busyID := sessionOf(t, td, idle), sessionOf(t, td, busy)
	live := func(id string) bool {
		ss, err := st.LiveSessions(t.Context(), "alice@example.com", time.Unix(clock.Load(), 0))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if s.ID == id {
				return true
			}
		}
		return false
	}
	clock.Store(t0 + 5)
	if authStatus(t, td, idle) != http.StatusOK { // its last use: t0+5
		t.Fatal("idle session refused at first use")
	}
	// Keep the busy one in use every 30 s of the clock, past the deadline
	// of the idle one (t0 + 5 + 10 s idle + 62 s margin).
	for now := t0 + 5; now <= t0+77; now += 30 {
		clock.Store(now)
		if authStatus(t, td, busy) != http.StatusOK {
			t.Fatalf("busy session refused at t0+%d", now-t0)
		}
		time.Sleep(1100 * time.Millisecond) // a flush and a sweep
	}
	clock.Store(t0 + 76)
	time.Sleep(2500 * time.Millisecond)
	if !live(idleID) {
		t.Fatal("idle session ended before its idle time and margin had passed")
	}
	clock.Store(t0 + 78)
	waitFor(t, 5*time.Second, "the idle session ended", func() bool { return !live(idleID) })
	if got := authStatus(t, td, idle); got != http.StatusUnauthorized {
		t.Errorf("idle session after its end = %d, want 401", got)
	}
	if !live(busyID) || authStatus(t, td, busy) != http.StatusOK {
		t.Error("a session in use was ended")
	}
	if !strings.Contains(td.logs.String(), `"by":"idle"`) {
		t.Errorf("no session ended log line by idle:\n%s", td.logs.String())
	}
}

// TestCookieWithoutSessionIDRefused: a cookie from a doorman that did not
// record sessions (no session id) is refused: everyone signs in once.
func TestCookieWithoutSessionIDRefused(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true})
	now := td.h.now()
	old, err := td.h.sessions.encode(sessionWire{Email: "alice@example.com", Issued: now.Unix(), Expires: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	malformed, err := td.h.sessions.encode(sessionWire{ID: "short", Email: "alice@example.com", Issued: now.Unix(), Expires: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"no session id": old, "malformed session id": malformed} {
		if got := authStatus(t, td, &http.Cookie{Name: "doorman", Value: v}); got != http.StatusUnauthorized {
			t.Errorf("/auth with a signed cookie with %s = %d, want 401", name, got)
		}
	}
}

// TestEndedSessionStaysEnded: a session ended before doorman restarts is
// still refused after it, read back from the store.
func TestEndedSessionStaysEnded(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "doorman.db")
	start := func() *testDoorman {
		st := openStore(t, path, store.Options{})
		return newTestDoorman(t, "alice@example.com\n", testConfig{offline: true, auth: func(c *Config) { c.Store = st }})
	}
	first := start()
	ended, kept := mintSession(t, first.h, "alice@example.com"), mintSession(t, first.h, "alice@example.com")
	first.do(t, http.MethodGet, "/logout", nil, nil, ended)
	second := start() // a new doorman on the same file, with nothing in memory
	waitFor(t, 5*time.Second, "the new doorman ready", second.h.Ready)
	if got := authStatus(t, second, ended); got != http.StatusUnauthorized {
		t.Errorf("after a restart, the ended session = %d, want 401", got)
	}
	if got := authStatus(t, second, kept); got != http.StatusOK {
		t.Errorf("after a restart, the live session = %d, want 200", got)
	}
}

// TestStoreDownChangesNothing: while the store cannot be reached, /auth
// answers from memory, and sign-in and sign-out answer the 503 page and
// change nothing: no cookie set, none cleared.
func TestStoreDownChangesNothing(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	st := openStore(t, redis.URL(), store.Options{Timeout: 300 * time.Millisecond})
	td := newTestDoorman(t, "alice@example.com\n", testConfig{auth: func(c *Config) { c.Store = st }})
	alice := td.session(t, "alice@example.com")
	redis.Kill(t)
	resp, body := td.signIn(t, "", googletest.Claims{Email: "alice@example.com"})
	if resp.StatusCode != http.StatusServiceUnavailable || findCookie(resp, "doorman") != nil {
		t.Errorf("sign-in with the store down = %d, cookie %v; want 503 and no cookie", resp.StatusCode, findCookie(resp, "doorman"))
	}
	if !strings.Contains(body, "503") {
		t.Errorf("sign-in with the store down: not the 503 page:\n%s", body)
	}
	resp, _ = td.do(t, http.MethodGet, "/logout", nil, nil, alice)
	if resp.StatusCode != http.StatusServiceUnavailable || len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("/logout with the store down = %d, Set-Cookie %q; want 503 and no cookie change", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	for _, path := range []string{"/sessions/end-all"} {
		resp := postForm(t, td, path, "", url.Values{"csrf": {td.h.csrfToken(sessionOf(t, td, alice))}}, alice)
		if resp.StatusCode != http.StatusServiceUnavailable || len(resp.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("POST %s with the store down = %d, Set-Cookie %q; want 503 and no cookie change", path, resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
	}
	if got := authStatus(t, td, alice); got != http.StatusOK {
		t.Errorf("/auth with the store down = %d, want 200 from memory", got)
	}
	if resp, _ := td.do(t, http.MethodGet, "/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz with the store down = %d, want 200", resp.StatusCode)
	}
}

// FuzzValidSessionID: a session id is accepted only in the one spelling
// newSessionID gives: 22 characters that are 16 bytes, base64url.
func FuzzValidSessionID(f *testing.F) {
	for _, s := range []string{newSessionID(), testSessionID, "", "short", strings.Repeat("A", 23), "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAA+/", "AAAAAAAAAAAAAAAAAAAA=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sid string) {
		if !validSessionID(sid) {
			return
		}
		b, err := base64RawURLStrict(sid)
		if err != nil || len(b) != 16 || len(sid) != sessionIDLen {
			t.Fatalf("validSessionID(%q) = true; decoded %d bytes, %v", sid, len(b), err)
		}
		if id := storeID(sid); len(id) != 22 || storeID(sid) != id {
			t.Fatalf("storeID(%q) = %q, want 22 stable characters", sid, id)
		}
	})
}

// TestLogoutBeforeTheStoreIsRead: a doorman that has not yet read the
// store (started while it hangs) cannot tell a live session from an ended
// one, nor end it: /logout with a session cookie answers 503 and keeps the
// cookie, so that the visitor can try again, rather than "signed out" while
// every copy goes on working.
func TestLogoutBeforeTheStoreIsRead(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	list := "alice@example.com\n"
	a := newTestDoorman(t, list, testConfig{offline: true, auth: func(c *Config) { c.Store = openStore(t, redis.URL(), store.Options{}) }})
	alice := mintSession(t, a.h, "alice@example.com")
	redis.Freeze(t)
	b := newTestDoorman(t, list, testConfig{offline: true, unread: true, auth: func(c *Config) { c.Store = openStore(t, redis.URL(), store.Options{}) }})
	resp, _ := b.do(t, http.MethodGet, "/logout", nil, nil, alice)
	if resp.StatusCode != http.StatusServiceUnavailable || findCookie(resp, "doorman") != nil {
		t.Errorf("GET /logout before the store was read = %d, cookie %v; want 503 keeping the cookie", resp.StatusCode, findCookie(resp, "doorman"))
	}
	if resp, _ := b.do(t, http.MethodGet, "/logout", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /logout without a cookie before the store was read = %d, want 303 to the login page", resp.StatusCode)
	}
	redis.Thaw(t)
	waitFor(t, 5*time.Second, "the store read", b.h.Ready)
	if got := authStatus(t, a, alice); got != http.StatusOK {
		t.Errorf("/auth with the session whose logout was refused = %d, want 200", got)
	}
}
