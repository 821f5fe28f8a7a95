package nginx_test

import (
	"net/http"
	"testing"
	"time"
)

// microWhitelist has carol on the main list, list3 as given and bob on list1.
func microWhitelist(list3 ...string) string {
	s := "carol@example.com\n[list3]\n"
	for _, e := range list3 {
		s += e + "\n"
	}
	return s + "[list1]\nbob@example.com\n"
}

// microStack is nginx with doorman-microcache.conf on two sites, /site3
// (list3) and /site1 (list1), with sessions for alice (list3), bob
// (list1) and carol (main list only).
type microStack struct {
	*loadStack
	doorman           *sidecar
	client            *http.Client
	alice, bob, carol string // Cookie headers
}

// microAnswer is what nginx answered for a protected location.
type microAnswer struct {
	status int
	email  string // X-Auth-Email: the X-Auth-Request-Email nginx got from the sub-request
	cache  string // X-Auth-Cache: the sub-request's $upstream_cache_status (MISS, HIT, …)
	sent   time.Time
}

// get requests path through nginx with the Cookie header cookie.
func (m *microStack) get(t *testing.T, path, cookie string) microAnswer {
	t.Helper()
	req := newRequest(t, http.MethodGet, m.url(path), nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	sent := time.Now()
	resp, _ := do(t, m.client, req)
	return microAnswer{resp.StatusCode, resp.Header.Get("X-Auth-Email"), resp.Header.Get("X-Auth-Cache"), sent}
}

// TestMicrocache checks the safety of doorman-microcache.conf through real
// nginx: only 200s are cached, only for the identical Cookie header and
// list, and a cached 200 outlives a revocation by at most the cache time
// (nginx's "1s": to the end of the next whole second).
func TestMicrocache(t *testing.T) {
	t.Parallel()
	m := &microStack{loadStack: newLoadStack(t), client: &http.Client{Timeout: 10 * time.Second}}
	m.doorman = m.startDoorman(t, "doorman", microWhitelist("alice@example.com"))
	m.startNginx(t, loadConfig{debugHeaders: true, sites: []loadSite{
		{path: "/site3", auth: m.doorman, list: "list3", cached: true},
		{path: "/site1", auth: m.doorman, list: "list1", cached: true},
	}})
	m.alice = m.signIn(t, m.doorman, "alice@example.com", "list3")
	m.bob = m.signIn(t, m.doorman, "bob@example.com", "list1")
	m.carol = m.signIn(t, m.doorman, "carol@example.com", "")
	steps := []struct {
		name string
		run  func(*testing.T, *microStack)
	}{
		{"a 200 is cached, email included", testCachedAllow},
		{"another Cookie header or list never gets the cached 200", testCacheKey},
		{"401 is not cached: an added user gets in after the reload", testDenyNotCached},
		{"revocation: a cached 200 lasts to the end of the next second", testCachedRevocation},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { step.run(t, m) }) {
			return // later steps change the whitelist
		}
	}
}

// testCachedAllow: the first request asks doorman, the next is answered
// from the cache, and the app still gets the email.
func testCachedAllow(t *testing.T, m *microStack) {
	cookie := m.alice + "; step=allow" // a key no other step uses
	for i, wantCache := range []string{"MISS", "HIT"} {
		a := m.get(t, "/site3", cookie)
		if a.status != http.StatusOK || a.email != "alice@example.com" || a.cache != wantCache {
			t.Errorf("request %d: %d, email %q, cache %q; want 200, alice@example.com, %s", i+1, a.status, a.email, a.cache, wantCache)
		}
	}
}

// testCacheKey: with alice's 200 cached for /site3, other Cookie headers
// and the other list go to doorman, twice in a row (a 401 is not cached).
func testCacheKey(t *testing.T, m *microStack) {
	m.get(t, "/site3", m.alice)
	if a := m.get(t, "/site3", m.alice); a.status != http.StatusOK || a.cache != "HIT" {
		t.Fatalf("alice on /site3: %d, cache %q; want 200 from the cache (HIT)", a.status, a.cache)
	}
	for _, tt := range []struct {
		name, path, cookie string
		status             int
	}{
		{"no cookie", "/site3", "", http.StatusUnauthorized},
		{"tampered cookie", "/site3", tampered(m.alice), http.StatusUnauthorized},
		{"bob, not on list3", "/site3", m.bob, http.StatusUnauthorized},
		{"alice on list1's site", "/site1", m.alice, http.StatusUnauthorized},
		{"alice's cookie among others", "/site3", m.alice + "; other=1", http.StatusOK},
	} {
		for i := range 2 {
			a := m.get(t, tt.path, tt.cookie)
			if a.status != tt.status || a.cache == "HIT" && i == 0 || a.cache == "HIT" && tt.status != http.StatusOK {
				t.Errorf("%s, request %d: %d, cache %q; want %d, not from the cache", tt.name, i+1, a.status, a.cache, tt.status)
			}
		}
	}
}

// testDenyNotCached: carol is turned away twice, added to list3, and let in
// at her first request after doorman has reloaded.
func testDenyNotCached(t *testing.T, m *microStack) {
	for i := range 2 {
		if a := m.get(t, "/site3", m.carol); a.status != http.StatusUnauthorized || a.cache == "HIT" {
			t.Fatalf("carol on /site3, request %d: %d, cache %q; want 401, not from the cache", i+1, a.status, a.cache)
		}
	}
	start := time.Now()
	replaceFile(t, m.doorman.whitelist, microWhitelist("alice@example.com", "carol@example.com"))
	waitFor(t, 5*time.Second, "doorman lets carol into list3", func() bool {
		return authStatus(t, m.client, m.doorman, "list3", m.carol) == http.StatusOK
	})
	if a := m.get(t, "/site3", m.carol); a.status != http.StatusOK {
		t.Errorf("carol on /site3 after doorman reloaded: %d, cache %q; want 200 (a cached 401?)", a.status, a.cache)
	}
	t.Logf("carol let in %s after the rename", time.Since(start).Round(time.Millisecond))
}

// testCachedRevocation: alice's 200 is cached, then she is removed from
// list3. nginx may go on answering 200 from the cache, but no request sent
// after the end of the next whole second after the store is let in, and
// from the first 401 on every microAnswer is 401. Only these orderings are
// asserted, so a slow machine makes the test slower, not flaky.
func testCachedRevocation(t *testing.T, m *microStack) {
	cookie := m.alice + "; step=revoke"
	stored := m.get(t, "/site3", cookie)
	if stored.status != http.StatusOK || stored.cache != "MISS" {
		t.Fatalf("alice on /site3: %d, cache %q; want 200, MISS (stored)", stored.status, stored.cache)
	}
	replaceFile(t, m.doorman.whitelist, microWhitelist("carol@example.com"))
	waitFor(t, 5*time.Second, "doorman turns alice away from list3", func() bool {
		return authStatus(t, m.client, m.doorman, "list3", m.alice) == http.StatusUnauthorized
	})
	revoked := time.Now()
	answers := pollDenied(t, m, cookie, 10*time.Second)
	checkRevocation(t, answers, stored.sent, revoked)
}

// pollDenied requests /site3 with cookie every 20 ms until five answers
// have followed the first 401, or for at most d.
func pollDenied(t *testing.T, m *microStack, cookie string, d time.Duration) []microAnswer {
	t.Helper()
	var out []microAnswer
	after := -1 // answers since the first 401
	for end := time.Now().Add(d); after < 5 && time.Now().Before(end); {
		a := m.get(t, "/site3", cookie)
		if a.status == http.StatusUnauthorized || after >= 0 {
			after++
		}
		out = append(out, a)
		time.Sleep(20 * time.Millisecond)
	}
	return out
}

// checkRevocation checks the answers after a revocation for a 200 stored
// at about stored. nginx's proxy_cache_valid 1s keeps a 200 until the end
// of the next whole second, so at most 2 s; slack allows for nginx's
// cached clock.
func checkRevocation(t *testing.T, answers []microAnswer, stored, revoked time.Time) {
	t.Helper()
	const slack = 250 * time.Millisecond
	denied, hits, last := false, 0, stored
	for _, a := range answers {
		switch {
		case a.status == http.StatusOK && denied:
			t.Errorf("200 at +%s after a 401: the cache answered again", a.sent.Sub(stored).Round(time.Millisecond))
		case a.status == http.StatusOK && a.sent.After(stored.Add(2*time.Second+slack)):
			t.Errorf("200 at +%s after the store, want none after +2s", a.sent.Sub(stored).Round(time.Millisecond))
		case a.status == http.StatusOK:
			hits, last = hits+1, a.sent
		case a.status == http.StatusUnauthorized:
			denied = true
		default:
			t.Errorf("microAnswer %d, want 200 or 401", a.status)
		}
	}
	if !denied {
		t.Errorf("no 401 within 10s of the revocation, want alice turned away")
	}
	if first := answers[0]; first.sent.Sub(stored) < 800*time.Millisecond && first.status != http.StatusOK {
		t.Errorf("first request after the revocation (+%s) = %d, want 200 from the cache: is the micro-cache in effect?",
			first.sent.Sub(stored).Round(time.Millisecond), first.status)
	}
	t.Logf("stored +0, revoked at doorman +%s, %d cached 200s after that (the last sent at +%s), then 401",
		revoked.Sub(stored).Round(time.Millisecond), hits, last.Sub(stored).Round(time.Millisecond))
}
