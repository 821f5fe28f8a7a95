package main

// What run()'s own http.Server configuration (newHTTPServer) holds against:
// oversized requests and slow clients. doorman's HTTP surface itself is
// tested in package auth.

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"doorman/auth"
	"doorman/auth/store"
	"doorman/templates"
	"doorman/whitelist"
)

// startRealServer serves doorman over a whitelist holding list through
// newHTTPServer on a loopback listener, and returns its address, the
// server, and the Handler (which mints sessions).
func startRealServer(t *testing.T, list string) (string, *http.Server, *auth.Handler) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	wl, err := whitelist.Watch(t.Context(), writeFile(t, t.TempDir(), "whitelist.txt", list, 0o644), logger)
	if err != nil {
		t.Fatal(err)
	}
	h, err := auth.New(auth.Config{
		ClientID: "x", Allowlist: wl, Keys: [][]byte{[]byte(strings.Repeat("k", 32))}, Store: openStore(t),
		CookieName: "doorman", CookieTTL: time.Hour, Logger: logger, Context: t.Context(),
	})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	go h.Run(t.Context())
	srv := newHTTPServer(auth.NewServer(h, auth.ServerConfig{Pages: pages, Ready: wl.Ready}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), srv, h
}

// loginURIAttr finds the login page's login_uri.
var loginURIAttr = regexp.MustCompile(`data-login_uri="([^"]+)"`)

// checkAuthAnswer checks the shape the README's "Endpoints" gives every
// /auth answer: no redirect, an empty body with Content-Length 0,
// Cache-Control no-store, and X-Auth-Request-Email only on a 200.
func checkAuthAnswer(t *testing.T, what string, resp *http.Response, body []byte) {
	t.Helper()
	h := resp.Header
	if len(body) != 0 || h.Get("Content-Length") != "0" || h.Get("Cache-Control") != "no-store" || h.Get("Location") != "" ||
		resp.StatusCode != http.StatusOK && h.Get("X-Auth-Request-Email") != "" {
		t.Errorf("%s: /auth answered %d, body %q, headers %v; want an empty no-store answer, no Location, the email only on 200",
			what, resp.StatusCode, body, h)
	}
}

// TestSecuritySizes sends oversized headers, queries, cookies and bodies to
// run()'s own http.Server configuration.
func TestSecuritySizes(t *testing.T) {
	t.Parallel()
	addr, _, h := startRealServer(t, "alice@example.com\n")
	session, err := h.SessionCookie("alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	alice := "doorman=" + session.Value
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	big := strings.Repeat("A", 100<<10)
	tests := []struct {
		name, method, path string
		hdr                http.Header
		body               string
		chunked            bool
		want               int
	}{
		{"100 KB cookie header", "GET", "/auth", http.Header{"Cookie": {"x=" + big + "; " + alice}}, "", false, 431},
		{"1000 headers", "GET", "/auth", manyHeaders(1000, 100), "", false, 431},
		{"100 KB query", "GET", "/login?rd=/" + big, nil, "", false, 431},
		{"60 KB cookie header with a valid session", "GET", "/auth", http.Header{"Cookie": {"x=" + big[:60<<10] + "; " + alice}}, "", false, 200},
		{"5 KB session cookie", "GET", "/auth", http.Header{"Cookie": {"doorman=" + big[:5<<10]}}, "", false, 401},
		{"callback body 1 MB", "POST", "/callback", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "credential=" + strings.Repeat(big, 10), false, 413},
		{"callback body 1 MB chunked", "POST", "/callback", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "credential=" + strings.Repeat(big, 10), true, 413},
		{"50 KB rd is dropped", "GET", "/login?rd=/" + big[:50<<10], nil, "", false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // hides the length: chunked
				}
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, "http://"+addr+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.hdr {
				req.Header[k] = v
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.name, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.name, resp.StatusCode, tt.want)
			}
			if strings.HasPrefix(tt.path, "/auth") && tt.want != 431 {
				checkAuthAnswer(t, tt.name, resp, b)
			}
			if m := loginURIAttr.FindSubmatch(b); strings.HasPrefix(tt.path, "/login") && tt.want == 200 && (m == nil || string(m[1]) != "/callback") {
				t.Errorf("%s: login_uri = %q, want /callback without the over-long rd", tt.name, m)
			}
		})
	}
}

// manyHeaders returns n headers of size bytes each.
func manyHeaders(n, size int) http.Header {
	h := http.Header{}
	for i := range n {
		h.Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("p", size))
	}
	return h
}

// TestSecuritySlowloris trickles one header byte per 100 ms: run()'s server
// must close the connection about ReadHeaderTimeout after it opened.
func TestSecuritySlowloris(t *testing.T) {
	t.Parallel()
	addr, srv, _ := startRealServer(t, "alice@example.com\n")
	bound := srv.ReadHeaderTimeout + 2*time.Second
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "POST /callback HTTP/1.1\r\nHost: doorman\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { // the server's answer, if any, then its close
		_, err := io.Copy(io.Discard, bufio.NewReader(conn))
		closed <- err
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for {
		select {
		case <-closed:
			elapsed := time.Since(start)
			if elapsed > bound {
				t.Errorf("server closed the slow connection after %s, want within %s", elapsed, bound)
			}
			if elapsed < srv.ReadHeaderTimeout/2 || sent < 10 {
				t.Errorf("server closed after %s and %d trickled bytes; want it to wait for ReadHeaderTimeout (%s)", elapsed, sent, srv.ReadHeaderTimeout)
			}
			return
		case <-tick.C:
			if time.Since(start) > bound {
				t.Fatalf("server kept a connection that sends one header byte per 100ms open for %s (ReadHeaderTimeout %s)", bound, srv.ReadHeaderTimeout)
			}
			if _, err := conn.Write([]byte("a")); err == nil {
				sent++
			}
		}
	}
}

// openStore opens a SQLite store in a file of the test's own.
func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "doorman.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
