package auth

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

// makeToken records a new token of email for lists in st, as the tokens
// page will, and returns it.
func makeToken(t testing.TB, st store.Store, email, name string, ttl time.Duration, lists ...string) string {
	t.Helper()
	tok := newPersonalToken()
	now := time.Now()
	err := st.CreateToken(t.Context(), store.Token{
		ID: tokenID(tokenHash(tok)), Email: email, Name: name, Prefix: tok[:tokenShown],
		Lists: lists, Created: now, Expires: now.Add(ttl),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// authWith is /auth?list=list on td with the header name: value (and a cookie).
func authWith(t *testing.T, td *testDoorman, list, name, value string, cookie *http.Cookie) *http.Response {
	t.Helper()
	hdr := http.Header{}
	if name != "" {
		hdr.Set(name, value)
	}
	var cookies []*http.Cookie
	if cookie != nil {
		cookies = append(cookies, cookie)
	}
	resp, _ := td.do(t, http.MethodGet, "/auth?list="+list, nil, hdr, cookies...)
	return resp
}

// TestTokenAuth: /auth with a personal token — in Authorization or
// Proxy-Authorization — admits its owner on its lists while the owner is on
// them; a bad token is refused even beside a good cookie; another app's
// own bearer token leaves the decision to the cookie.
func TestTokenAuth(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "doorman.db")
	st := openStore(t, path, store.Options{})
	list := "alice@example.com\nbob@example.com\n[gpt4]\nalice@example.com\n"
	td := newTestDoorman(t, list, testConfig{offline: true, auth: func(c *Config) { c.Store = st }})
	alice := mintSession(t, td.h, "alice@example.com")
	gpt4 := makeToken(t, st, "alice@example.com", "my script", time.Hour, "gpt4")
	expired := makeToken(t, st, "alice@example.com", "old", time.Second, "gpt4")
	bobs := makeToken(t, st, "bob@example.com", "bob's", time.Hour, "gpt4") // bob is not on gpt4
	waitFor(t, time.Second, "the new tokens known", func() bool {
		return authWith(t, td, "gpt4", "Authorization", "Bearer "+gpt4, nil).StatusCode == http.StatusOK
	})
	resp := authWith(t, td, "gpt4", "Proxy-Authorization", "Bearer "+gpt4, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Auth-Request-Email") != "alice@example.com" || resp.Header.Get("X-Auth-Request-Token") != "my script" {
		t.Errorf("Proxy-Authorization token: %d, email %q, token %q; want 200, alice, my script", resp.StatusCode,
			resp.Header.Get("X-Auth-Request-Email"), resp.Header.Get("X-Auth-Request-Token"))
	}
	time.Sleep(1100 * time.Millisecond) // expired's second is over
	bad := gpt4[:20] + string(base62[(base62Value(gpt4[20])+1)%62]) + gpt4[21:]
	tests := []struct {
		name, list, header, value string
		cookie                    *http.Cookie
		want                      int
	}{
		{"a list the token does not open", "", "Authorization", "Bearer " + gpt4, nil, http.StatusUnauthorized},
		{"an owner not on the list", "gpt4", "Authorization", "Bearer " + bobs, nil, http.StatusUnauthorized},
		{"expired", "gpt4", "Authorization", "Bearer " + expired, nil, http.StatusUnauthorized},
		{"bad checksum beside a good cookie", "gpt4", "Authorization", "Bearer " + bad, alice, http.StatusUnauthorized},
		{"unknown beside a good cookie", "gpt4", "Authorization", "Bearer " + newPersonalToken(), alice, http.StatusUnauthorized},
		{"another app's bearer token, good cookie", "gpt4", "Authorization", "Bearer sk-proj-abc123", alice, http.StatusOK},
		{"lower-case scheme", "gpt4", "Authorization", "bearer " + gpt4, nil, http.StatusOK},
		{"Basic is no doorman token", "gpt4", "Authorization", "Basic YWxpY2U6eA==", alice, http.StatusOK},
	}
	for _, tt := range tests {
		if got := authWith(t, td, tt.list, tt.header, tt.value, tt.cookie).StatusCode; got != tt.want {
			t.Errorf("%s: /auth = %d, want %d", tt.name, got, tt.want)
		}
	}
	// Its last use is recorded, in a batch (at most once a minute per token).
	waitFor(t, 3*time.Second, "the last use recorded", func() bool {
		tokens, err := st.Tokens(t.Context(), "alice@example.com", time.Now())
		return err == nil && len(tokens) == 1 && tokens[0].Name == "my script" && !tokens[0].LastUsed.IsZero()
	})
	if tokens, _ := st.Tokens(t.Context(), "bob@example.com", time.Now()); len(tokens) != 1 || !tokens[0].LastUsed.IsZero() {
		t.Errorf("bob's token, never admitted: %+v, want it never used", tokens)
	}
	// Ended on another doorman (here: straight in the store): refused within a second.
	if _, err := st.EndToken(t.Context(), "alice@example.com", tokenID(tokenHash(gpt4)), store.ReasonUser, time.Now()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, time.Second, "the ended token refused", func() bool {
		return authWith(t, td, "gpt4", "Authorization", "Bearer "+gpt4, nil).StatusCode == http.StatusUnauthorized
	})
	t.Logf("ended token refused after %v", time.Since(start))
}

// TestTokenRefusedWithoutLookup: a malformed token costs no allocation and
// never reaches the map of live tokens.
func TestTokenRefusedWithoutLookup(t *testing.T) {
	td := newTestDoorman(t, "alice@example.com\n", testConfig{offline: true})
	req, _ := http.NewRequest(http.MethodGet, "/auth", nil)
	req.Header.Set("Authorization", "Bearer doorman_0123456789ABCDEFGHIJKLMNOPQRSTUV000000")
	if n := testing.AllocsPerRun(100, func() {
		tok, _ := bearerToken(req)
		td.h.tokenFor(tok, "", time.Now().Unix())
	}); n != 0 {
		t.Errorf("refusing a malformed token allocates %v times, want 0", n)
	}
}

// TestTokenEndedOnEveryReplica: two doormans on one Redis: a token made
// through one is accepted by the other as soon as the feed brings it, and
// one ended through the other is refused by both within a second.
func TestTokenEndedOnEveryReplica(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	open := func() store.Store { return openStore(t, redis.URL(), store.Options{}) }
	list := "alice@example.com\n"
	stA, stB := open(), open()
	a := newTestDoorman(t, list, testConfig{offline: true, auth: func(c *Config) { c.Store = stA }})
	b := newTestDoorman(t, list, testConfig{offline: true, auth: func(c *Config) { c.Store = stB }})
	tok := makeToken(t, stA, "alice@example.com", "script", time.Hour, "")
	made := time.Now()
	for _, td := range []*testDoorman{a, b} {
		waitFor(t, time.Second, "the new token known", func() bool {
			return authWith(t, td, "", "Authorization", "Bearer "+tok, nil).StatusCode == http.StatusOK
		})
	}
	t.Logf("token made through A accepted by both after %v", time.Since(made))
	if _, err := stB.EndToken(t.Context(), "alice@example.com", tokenID(tokenHash(tok)), store.ReasonUser, time.Now()); err != nil {
		t.Fatal(err)
	}
	ended := time.Now()
	for _, td := range []*testDoorman{a, b} {
		waitFor(t, time.Second, "the ended token refused", func() bool {
			return authWith(t, td, "", "Authorization", "Bearer "+tok, nil).StatusCode == http.StatusUnauthorized
		})
	}
	t.Logf("token ended through B refused by both after %v", time.Since(ended))
}

// bearerPattern is the README's rule for a doorman token in a header,
// restated for FuzzBearerToken: the scheme Bearer in any case, one space,
// then the token after any more spaces.
var bearerPattern = regexp.MustCompile(`(?s)^(?i:bearer) ( *doorman_.*)$`)

// FuzzBearerToken checks that bearerToken finds the first Authorization,
// then Proxy-Authorization, value that carries a doorman token by the
// rule restated, and only such a one; values are the fuzzer's strings cut
// at newlines.
func FuzzBearerToken(f *testing.F) {
	tok := newPersonalToken()
	for _, seed := range [][2]string{
		{"Bearer " + tok, ""}, {"", "bearer " + tok}, {"Bearer sk-proj-abc", "Bearer " + tok},
		{"BEARER   " + tok + " \t", ""}, {"Basic YTpi\nBearer doorman_x", ""}, {"Bearer\tdoorman_x", ""},
		{"Bearerdoorman_x", ""}, {"Token " + tok, ""}, {"Bearer " + tok + " " + tok, ""}, {"Bearer ", " "},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, auth, proxy string) {
		r := &http.Request{Header: http.Header{}}
		var want string
		found := false
		for _, h := range [2][2]string{{"Authorization", auth}, {"Proxy-Authorization", proxy}} {
			if h[1] == "" {
				continue
			}
			r.Header[h[0]] = strings.Split(h[1], "\n")
			for _, v := range r.Header[h[0]] {
				if m := bearerPattern.FindStringSubmatch(v); m != nil && !found {
					want, found = strings.TrimSpace(m[1]), true
				}
			}
		}
		if got, ok := bearerToken(r); got != want || ok != found {
			t.Fatalf("bearerToken(%q, %q) = %q, %v; want %q, %v", auth, proxy, got, ok, want, found)
		}
	})
}
