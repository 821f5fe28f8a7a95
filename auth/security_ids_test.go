package auth

// Someone else's ids: ending another person's session or token must look
// exactly like ending one that does not exist, so that the answer tells
// nothing about which ids are live, and must change nothing.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSecurityForeignIDsIndistinguishable: alice posting bob's session or
// token id, an unknown one, an ended one, a malformed or an empty one to
// /sessions/end or /tokens/end gets the very same 404, byte for byte, and
// bob keeps his session and token.
func TestSecurityForeignIDsIndistinguishable(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, twoLists, testConfig{offline: true})
	alice, bob := mintSession(t, td.h, "alice@example.com"), mintSession(t, td.h, "bob@example.com")
	bobsToken := makeToken(t, td.h.store, "bob@example.com", "bob's", time.Hour, "")
	ended := mintSession(t, td.h, "alice@example.com")
	endedToken := makeToken(t, td.h.store, "alice@example.com", "old", time.Hour, "")
	if resp, _ := postTokenForm(t, td, "/sessions/end", url.Values{"id": {sessionOf(t, td, ended)}}, alice); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ending alice's own session = %d, want 303", resp.StatusCode)
	}
	if resp, _ := postTokenForm(t, td, "/tokens/end", url.Values{"id": {tokenID(tokenHash(endedToken))}}, alice); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ending alice's own token = %d, want 303", resp.StatusCode)
	}
	ids := map[string]map[string]string{
		"/sessions/end": {
			"someone else's": sessionOf(t, td, bob), "unknown": testSessionID, "already ended": sessionOf(t, td, ended),
			"a token's id": tokenID(tokenHash(bobsToken)),
		},
		"/tokens/end": {
			"someone else's": tokenID(tokenHash(bobsToken)), "unknown": tokenID(tokenHash(newPersonalToken())),
			"already ended": tokenID(tokenHash(endedToken)), "a session's id": sessionOf(t, td, bob),
		},
	}
	for path, byKind := range ids {
		byKind["malformed"], byKind["empty"], byKind["huge"] = "../../"+strings.Repeat("%", 10), "", strings.Repeat("A", 3000)
		var first struct{ kind, body, ctype string }
		for kind, id := range byKind {
			resp, body := postTokenForm(t, td, path, url.Values{"id": {id}}, alice)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s with %s id = %d, want 404", path, kind, resp.StatusCode)
				continue
			}
			if first.kind == "" {
				first.kind, first.body, first.ctype = kind, body, resp.Header.Get("Content-Type")
				continue
			}
			if body != first.body || resp.Header.Get("Content-Type") != first.ctype {
				t.Errorf("POST %s: the 404 for %s id differs from the one for %s id:\n%s\n---\n%s", path, kind, first.kind, body, first.body)
			}
			if strings.Contains(body, "bob") || id != "" && len(id) > 8 && strings.Contains(body, id) {
				t.Errorf("POST %s with %s id: the 404 names bob or the id", path, kind)
			}
		}
	}
	if authStatus(t, td, bob) != http.StatusOK {
		t.Error("bob's session was ended by alice's posts")
	}
	waitFor(t, 5*time.Second, "bob's token admitted", func() bool {
		c, _ := authReply(t, td, "/auth", http.Header{"Authorization": {"Bearer " + bobsToken}})
		return c == http.StatusOK
	})
}
