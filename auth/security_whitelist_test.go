package auth

// Hostile whitelist files, end to end through /auth after each edit.

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSecurityWhitelistFile rewrites the whitelist with hostile content and
// checks, through /auth, who gets in once each version is loaded (a marker
// entry per version tells when).
func TestSecurityWhitelistFile(t *testing.T) {
	t.Parallel()
	td := newTestDoorman(t, "", testConfig{offline: true})
	tests := []struct {
		name          string
		content       string
		markerLast    bool // put the reload marker at the end (the BOM must stay first)
		allowed, nope []string
	}{
		{"BOM", "\ufeffalice@example.com\nbob@example.com\n", true, []string{"alice", "bob"}, nil},
		{"BOM not first is no BOM", "alice@example.com\n\ufeffbob@example.com\n", false, []string{"alice"}, []string{"bob"}},
		{"CRLF", "alice@example.com\r\nbob@example.com\r\n", false, []string{"alice", "bob"}, nil},
		{"CR only joins lines (fails closed)", "alice@example.com\rbob@example.com\r", false, nil, []string{"alice", "bob"}},
		{"NUL after entry", "alice@example.com\x00\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"NUL inside entry", "ali\x00ce@example.com\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"NUL line", "\x00\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"10 MB line", strings.Repeat("a", 10<<20) + "\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"10 MB line ending in an entry", strings.Repeat("x", 10<<20) + "alice@example.com\nbob@example.com\n", false, []string{"bob"}, []string{"alice"}},
		{"Kelvin sign K", "\u212aate@example.com\n", false, nil, []string{"kate"}},
		{"Cyrillic a", "\u0430lice@example.com\n", false, nil, []string{"alice"}},
		{"fullwidth at", "alice\uff20example.com\n", false, nil, []string{"alice"}},
		{"upper case entry", "KATE@EXAMPLE.COM\n", false, []string{"kate"}, nil},
		{"duplicate entries", "alice@example.com\nalice@example.com\nALICE@example.com\n", false, []string{"alice"}, []string{"bob"}},
		{"spaces and tabs around", " \talice@example.com \t\n", false, []string{"alice"}, nil},
		{"inline comment fails closed", "alice@example.com # the boss\n", false, nil, []string{"alice"}},
		{"domain entry", "@example.com\n", false, []string{"alice", "a@example.com"}, []string{"a@sub.example.com", "a@evilexample.com", "a@example.com.evil.com"}},
		{"domain entry upper case", "@EXAMPLE.COM\n", false, []string{"a@example.com"}, []string{"a@sub.example.com"}},
		{"wildcard is no entry", "*@example.com\n*.example.com\n", false, nil, []string{"a@example.com", "a@sub.example.com"}},
		{"dot domain is no entry", "@.example.com\n", false, nil, []string{"a@sub.example.com", "a@example.com"}},
		{"section entries stay out of main", "[gpt4]\nalice@example.com\n", false, nil, []string{"alice"}},
		{"entries after a bad header belong to no list", "[bad name]\nalice@example.com\n", false, nil, []string{"alice"}},
		{"empty file", "", false, nil, []string{"alice", "bob", "a@example.com"}},
	}
	cookies := map[string]*http.Cookie{}
	session := func(who string) *http.Cookie {
		email := who
		if !strings.Contains(who, "@") {
			email = who + "@example.com"
		}
		if cookies[email] == nil {
			cookies[email] = mintSession(t, td.h, email)
		}
		return cookies[email]
	}
	for i, tt := range tests { // sequential: they edit one file
		t.Run(tt.name, func(t *testing.T) {
			marker := fmt.Sprintf("v%d@marker.example.org", i)
			content := marker + "\n" + tt.content
			if tt.markerLast {
				content = tt.content + "\n" + marker + "\n"
			}
			replaceFile(t, td.whitelist, content)
			waitFor(t, time.Second, "whitelist version "+marker+" loaded", func() bool {
				code, _ := authReply(t, td, "/auth", nil, session(marker))
				return code == 200
			})
			if i > 0 {
				if code, _ := authReply(t, td, "/auth", nil, session(fmt.Sprintf("v%d@marker.example.org", i-1))); code != 401 {
					t.Errorf("previous version's marker = %d, want 401", code)
				}
			}
			for _, who := range tt.allowed {
				if code, _ := authReply(t, td, "/auth", nil, session(who)); code != 200 {
					t.Errorf("GET /auth as %s = %d, want 200", who, code)
				}
			}
			for _, who := range tt.nope {
				if code, _ := authReply(t, td, "/auth", nil, session(who)); code != 401 {
					t.Errorf("GET /auth as %s = %d, want 401", who, code)
				}
			}
		})
	}
}

// replaceFile replaces path's content atomically (write and rename), so that
// no reload ever sees half a file.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
