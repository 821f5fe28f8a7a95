package admin_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// The fixture's sessions as `doorman sessions` shows them.
const (
	tableHeader = "EMAIL              SESSION   SIGNED IN (UTC)   LAST SEEN (UTC)   EXPIRES (UTC)     IP           BROWSER\n"
	aliceOneRow = "alice@example.com  aliceOne  2025-01-02 03:04  2025-01-03 09:04  2099-01-02 03:04  203.0.113.7  Mozilla/5.0 (X11; Linux x86_64) AppleWe…\n"
	bobRow      = "bob@example.com    bob0Sess  2025-01-02 04:04  -                 2099-01-02 03:04  -            curl/8.5.0\n"
	aliceTwoRow = "alice@example.com  aliceTwo  2025-01-04 03:04  -                 2099-01-02 03:04  2001:db8::1  Evil?[2J?Browser\n"
)

func TestSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		mustFill(t, dsn)
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"everyone", []string{"sessions"}, tableHeader + aliceOneRow + bobRow + aliceTwoRow},
			{"one person", []string{"sessions", "alice@example.com"}, tableHeader + aliceOneRow + aliceTwoRow},
			{"address in capitals", []string{"sessions", "Alice@EXAMPLE.com"}, tableHeader + aliceOneRow + aliceTwoRow},
			{"flags after the address", []string{"sessions", "alice@example.com", "--store", dsn}, tableHeader + aliceOneRow + aliceTwoRow},
			{"expired", []string{"sessions", "carol@example.com"}, "no live sessions of carol@example.com\n"},
			{"ended", []string{"sessions", "dave@example.com"}, "no live sessions of dave@example.com\n"},
			{"nobody", []string{"sessions", "nobody@example.com"}, "no live sessions of nobody@example.com\n"},
			{"nobody, JSON", []string{"sessions", "--json", "nobody@example.com"}, "[]\n"},
		}
		for _, tt := range tests {
			got, err := runAdmin(t, dsn, tt.args...)
			if got != tt.want || err != nil {
				t.Errorf("%s: Run(%q) = %v and wrote\n%s\nwant nil and\n%s", tt.name, tt.args, err, got, tt.want)
			}
		}
	})
}

func TestSessionsEmptyStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		mustOpen(t, dsn)
		got, err := runAdmin(t, dsn, "sessions")
		if want := "no live sessions\n"; got != want || err != nil {
			t.Errorf("Run(sessions) = %q, %v; want %q, nil", got, err, want)
		}
	})
}

func TestSessionsJSON(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		mustFill(t, dsn)
		out, err := runAdmin(t, dsn, "sessions", "--json")
		if err != nil {
			t.Fatalf("Run(sessions --json) = %v", err)
		}
		var got []map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("Run(sessions --json) wrote %q: %v", out, err)
		}
		want := []map[string]any{{
			"email": "alice@example.com", "session": "aliceOne", "signed_in": "2025-01-02T03:04:05.678Z",
			"last_seen": "2025-01-03T09:04:20.678Z", "expires": "2099-01-02T03:04:05Z", "ip": "203.0.113.7",
			"user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		}, {
			"email": "bob@example.com", "session": "bob0Sess", "signed_in": "2025-01-02T04:04:05.678Z",
			"last_seen": nil, "expires": "2099-01-02T03:04:05Z", "ip": "", "user_agent": "curl/8.5.0",
		}, {
			"email": "alice@example.com", "session": "aliceTwo", "signed_in": "2025-01-04T03:04:05.678Z",
			"last_seen": nil, "expires": "2099-01-02T03:04:05Z", "ip": "2001:db8::1", "user_agent": "Evil\x1b[2J\tBrowser",
		}}
		if len(got) != len(want) {
			t.Fatalf("Run(sessions --json) = %d sessions, want %d:\n%s", len(got), len(want), out)
		}
		for i := range want {
			for _, key := range sortedKeys(want[i], got[i]) {
				if g, w := got[i][key], want[i][key]; g != w {
					t.Errorf("session %d: %q = %#v, want %#v", i, key, g, w)
				}
			}
		}
	})
}

// sortedKeys returns the keys of a and b, sorted and without repeats.
func sortedKeys(a, b map[string]any) []string {
	var keys []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
