package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// FuzzParseURL checks that a doorman URL the CLI accepts is kept in one
// spelling (parsing it again gives it back) and that the endpoints the
// CLI builds on it are on its host, under its path.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"https://auth.example.com", "HTTPS://Auth.Example.COM/", "http://127.0.0.1:8080/doorman//",
		"https://[::1]:443", "auth.example.com", "ftp://a", "https://a?x", "https://a#f", "https://u@a", "https://a/%2F/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		server, err := parseURL(raw)
		if err != nil {
			return
		}
		if again, err := parseURL(server); again != server || err != nil {
			t.Fatalf("parseURL(%q) = %q; parseURL(%q) = %q, %v; want it back", raw, server, server, again, err)
		}
		u, err := url.Parse(server + "/device/code")
		if err != nil || u.Host != strings.SplitN(server, "/", 4)[2] || !strings.HasSuffix(u.Path, "/device/code") || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("parseURL(%q) = %q, whose /device/code is %v, %v", raw, server, u, err)
		}
	})
}

// FuzzCredentialsFile checks that readCredentials takes any file without
// panicking, and that what it reads is written and read back unchanged.
func FuzzCredentialsFile(f *testing.F) {
	f.Add(`{"tokens":{"https://auth.example.com":{"token":"` + testToken + `","expires":"2030-01-02T03:04:05Z","lists":["","gpt4"]}}}`)
	f.Add(`{}`)
	f.Add(`{"tokens":null}`)
	f.Add(`{"tokens":{"":{}}}`)
	f.Add(`{"tokens":{"a":{"expires":"2030-01-02T03:04:05.123456789+05:30","lists":null}}}`)
	f.Add(`{"tokens":{"a\ud800":{"token":"\u001b[2J"}}}`)
	f.Add(`[]`)
	f.Add("")
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "credentials.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := readCredentials(path)
		if err != nil {
			return
		}
		if c.Tokens == nil {
			t.Fatalf("readCredentials(%q) = nil Tokens", content)
		}
		again := filepath.Join(dir, "doorman", "credentials.json")
		if err := c.write(again); err != nil {
			return // a time JSON cannot write, such as year 10000
		}
		back, err := readCredentials(again)
		if err != nil || !sameCredentials(back, c) {
			t.Fatalf("readCredentials(%q) = %+v; written and read back: %+v, %v", content, c, back, err)
		}
	})
}

// sameCredentials reports whether a and b hold the same tokens, their
// expiry the same instant.
func sameCredentials(a, b credentials) bool {
	if len(a.Tokens) != len(b.Tokens) {
		return false
	}
	for u, ca := range a.Tokens {
		cb, ok := b.Tokens[u]
		if !ok || ca.Token != cb.Token || !ca.Expires.Equal(cb.Expires) || !reflect.DeepEqual(ca.Lists, cb.Lists) {
			return false
		}
	}
	return true
}

// answer is what a fuzzed doorman answers: status, Content-Type and body.
type answer struct {
	status      int
	contentType string
	body        string
}

// FuzzDeviceCodeAnswer has a real HTTP server answer /device/code with
// the fuzzer's status, Content-Type and body: askCode never panics, and
// what it accepts has a code and a URL to show, which login prints to
// the terminal, so they hold no control characters.
func FuzzDeviceCodeAnswer(f *testing.F) {
	var mu sync.Mutex
	var current answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := current
		mu.Unlock()
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.status)
		w.Write([]byte(a.body))
	}))
	f.Cleanup(srv.Close)
	good := `{"device_code":"dc","user_code":"BCDF-GHJK","verification_uri":"https://auth.example.com/device",` +
		`"verification_uri_complete":"https://auth.example.com/device?code=BCDF-GHJK","expires_in":600,"interval":5}`
	f.Add(200, "application/json", good)
	f.Add(200, "application/json; charset=utf-8", `{"device_code":"dc","user_code":"X","verification_uri":"https://a/device"}`)
	f.Add(200, "text/html", good)
	f.Add(404, "application/json", `{"error":"not found"}`)
	f.Add(400, "application/json", `{"error":"invalid_request"`)
	f.Add(200, "application/json", `{"device_code":1}`)
	e := env{getenv: func(string) string { return "" }, out: io.Discard, client: &http.Client{}, now: time.Now}
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 200 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		if status == http.StatusTooManyRequests {
			status = http.StatusOK // a busy answer is waited out (TestLoginWaitsWhenBusy), not fuzzed
		}
		mu.Lock()
		current = answer{status, contentType, body}
		mu.Unlock()
		a, err := askCode(t.Context(), e, srv.URL, []string{""}, "")
		if err != nil {
			return
		}
		if status != http.StatusOK || a.DeviceCode == "" || a.UserCode == "" {
			t.Fatalf("askCode(%d %q %q) = %+v, want an error", status, contentType, body, a)
		}
		if shown := a.UserCode + a.VerificationURIComplete; strings.ContainsFunc(shown, unicode.IsControl) {
			t.Fatalf("askCode(%d %q %q) = %+v: login would print control characters", status, contentType, body, a)
		}
	})
}
