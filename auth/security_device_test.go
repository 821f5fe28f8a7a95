package auth

// Device codes replayed and user codes guessed: a code is approved once
// and redeemed once, however the requests race; guesses lock a session
// out whatever their spelling, and nothing a cross-site page can send
// counts as one.

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSecurityDeviceCodeRedeemedOnce: eight programs poll one approved
// device code at the same moment: exactly one gets a token, the others
// invalid_grant, and the store holds that one token; polling again, here
// or with the code's answer replayed later, is invalid_grant too.
func TestSecurityDeviceCodeRedeemedOnce(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	a := askCode(t, td, url.Values{"list": {"gpt4"}, "name": {"raced"}})
	if resp, body := decide(t, td, mintSession(t, td.h, "alice@example.com"), a.UserCode, "approve"); resp.StatusCode != http.StatusOK {
		t.Fatalf("approve = %d:\n%s", resp.StatusCode, body)
	}
	const n = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]map[string]any, n)
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i], results[i] = poll(t, td, deviceGrantType, a.DeviceCode)
		})
	}
	close(start)
	wg.Wait()
	var tokens []string
	for i := range n {
		switch {
		case statuses[i] == http.StatusOK:
			tokens = append(tokens, results[i]["access_token"].(string))
		case statuses[i] != http.StatusBadRequest || results[i]["error"] != "invalid_grant":
			t.Errorf("poll %d = %d %v, want 200 or 400 invalid_grant", i, statuses[i], results[i])
		}
	}
	if len(tokens) != 1 {
		t.Fatalf("%d concurrent polls of one approved code got %d tokens, want exactly 1", n, len(tokens))
	}
	if stored := mustTokens(t, td, "alice@example.com"); len(stored) != 1 || stored[0].Name != "raced" {
		t.Errorf("alice's tokens = %+v, want the one token", stored)
	}
	skew.Add(6)
	wantPoll(t, td, a.DeviceCode, "invalid_grant")
}

// TestSecurityDeviceApprovalOnce: an approval replayed (the same POST
// again), overturned (deny after approve) or raced by another person is
// a 404 and changes nothing: the token goes to the first approver, for
// the lists granted then.
func TestSecurityDeviceApprovalOnce(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")

	a := askCode(t, td, url.Values{"list": {"", "gpt4"}})
	if resp, _ := decide(t, td, alice, a.UserCode, "approve"); resp.StatusCode != http.StatusOK {
		t.Fatalf("alice's approval = %d, want 200", resp.StatusCode)
	}
	for _, tt := range []struct {
		name     string
		cookie   *http.Cookie
		decision string
	}{
		{"the approval replayed", alice, "approve"},
		{"a denial after it", alice, "deny"},
		{"bob approving it too", bob, "approve"},
		{"bob denying it", bob, "deny"},
	} {
		if resp, _ := decide(t, td, tt.cookie, a.UserCode, tt.decision); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s = %d, want 404", tt.name, resp.StatusCode)
		}
	}
	status, m := poll(t, td, deviceGrantType, a.DeviceCode)
	tok, _ := m["access_token"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("redeeming the approved code = %d %v, want a token", status, m)
	}
	waitFor(t, 5*time.Second, "the token admitted on gpt4", func() bool {
		return authWith(t, td, "gpt4", "Authorization", "Bearer "+tok, nil).StatusCode == http.StatusOK
	})
	if got := authWith(t, td, "gpt4", "Authorization", "Bearer "+tok, nil).Header.Get("X-Auth-Request-Email"); got != "alice@example.com" {
		t.Errorf("the token's owner = %q, want alice, the first approver", got)
	}

	// Two people approving one code at the same moment: one wins.
	raced := askCode(t, td, url.Values{"list": {""}})
	var wg sync.WaitGroup
	var won atomic.Int32
	winner := make(chan string, 2)
	for email, c := range map[string]*http.Cookie{"alice@example.com": alice, "bob@example.com": bob} {
		wg.Go(func() {
			if resp, _ := decide(t, td, c, raced.UserCode, "approve"); resp.StatusCode == http.StatusOK {
				won.Add(1)
				winner <- email
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("two approvals at once: %d succeeded, want 1", won.Load())
	}
	who := <-winner
	status, m = poll(t, td, deviceGrantType, raced.DeviceCode)
	if status != http.StatusOK {
		t.Fatalf("redeeming the raced code = %d %v", status, m)
	}
	tok, _ = m["access_token"].(string)
	waitFor(t, 5*time.Second, "the raced code's token admitted as "+who, func() bool {
		return authWith(t, td, "", "Authorization", "Bearer "+tok, nil).Header.Get("X-Auth-Request-Email") == who
	})
}

// TestSecurityUserCodeGuessing: wrong user codes count toward the lockout
// in every spelling the store accepts (case, dashes, spaces) and by every
// way in (?code=, approve, deny); once locked out, even the right code
// decides nothing; requests a cross-site page could make (no or a wrong
// CSRF token, a foreign Origin) count for nothing, so no other site can
// lock a person out.
func TestSecurityUserCodeGuessing(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	td := deviceDoorman(t, &skew, nil)
	alice := mintSession(t, td.h, "alice@example.com")
	a := askCode(t, td, url.Values{"list": {""}})
	csrf := td.h.csrfToken(sessionOf(t, td, alice))
	for i := range 9 { // cross-site attempts: refused before any guess is counted
		origin, token := []string{devicePublicURL, devicePublicURL, "https://evil.example"}[i%3], []string{"", "x", csrf}[i%3]
		form := url.Values{"code": {"BBBBBBBB"}, "decision": {"approve"}, "csrf": {token}}
		if resp := postForm(t, td, "/device", origin, form, alice); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST /device %d = %d, want 403", i, resp.StatusCode)
		}
	}
	if resp, _ := td.do(t, http.MethodGet, "/device?code="+a.UserCode, nil, nil, alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("the right code after 9 cross-site posts = %d, want 200 (not locked out)", resp.StatusCode)
	}
	guesses := []func() int{
		func() int {
			r, _ := td.do(t, http.MethodGet, "/device?code=bbbb-bbbb", nil, nil, alice)
			return r.StatusCode
		},
		func() int { r, _ := decide(t, td, alice, "CCCC CCCC", "approve"); return r.StatusCode },
		func() int { r, _ := decide(t, td, alice, "dd-dd-dd-dd", "deny"); return r.StatusCode },
		func() int {
			r, _ := td.do(t, http.MethodGet, "/device?code="+url.QueryEscape(" FFFFFFFF "), nil, nil, alice)
			return r.StatusCode
		},
	}
	for i, guess := range guesses {
		if got := guess(); got != http.StatusNotFound {
			t.Fatalf("wrong guess %d = %d, want 404", i+1, got)
		}
	}
	if resp, _ := decide(t, td, alice, "GGGG-GGGG", "approve"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fifth wrong guess = %d, want 429", resp.StatusCode)
	}
	right := strings.ToLower(strings.ReplaceAll(a.UserCode, "-", " "))
	if resp, _ := decide(t, td, alice, right, "approve"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right code while locked out = %d, want 429", resp.StatusCode)
	}
	if _, err := td.h.store.DeviceCodeByUser(t.Context(), a.UserCode, time.Now()); err != nil {
		t.Errorf("the right code posted while locked out was decided: %v", err)
	}
	wantPoll(t, td, a.DeviceCode, "authorization_pending")
}
