package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var verificationURL = regexp.MustCompile(`(http://\S+/device\?code=([A-Z]{4}-[A-Z]{4}))`)

// TestBrowserDeviceSignIn: doorman login against doorman --demo
// --device-sign-in; alice, signed in in headless Chromium, opens the URL
// it prints, sees the warning, approves; the login ends with a token that
// /auth accepts, and the page logged no error.
func TestBrowserDeviceSignIn(t *testing.T) {
	b := startChromium(t, screenshotWidth, screenshotHeight)
	addr := freeAddr(t)
	d := startDemo(t, nil, "--listen="+addr, "--public-url=http://"+addr, "--device-sign-in")
	env := fakeEnv(map[string]string{"XDG_CONFIG_HOME": t.TempDir()})
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"login", d.URL}, env, out, out) }()
	waitFor(t, 5*time.Second, "doorman login printing the URL", func() bool {
		select {
		case err := <-done:
			t.Fatalf("doorman login = %v before approval:\n%s", err, out.String())
		default:
		}
		return verificationURL.MatchString(out.String())
	})
	m := verificationURL.FindStringSubmatch(out.String())

	b.acceptLanguage("en-US,en;q=0.9")
	b.navigate(d.URL + "/login")
	b.loaded(func() { b.click(demoButton("alice@demo.example")) })
	b.navigate(m[1])
	wantPage(t, b, "/device?code="+m[2], "en", "Approve only a code you started yourself")
	shoot(t, b, "device")
	b.loaded(func() { b.click(`button[value="approve"]`) })
	wantPage(t, b, "/device", "en", "The terminal is signed in for: main.")
	if err := <-done; err != nil {
		t.Fatalf("doorman login = %v\n%s", err, out.String())
	}
	var tok strings.Builder
	if err := run(t.Context(), []string{"token"}, env, &tok, &tok); err != nil {
		t.Fatalf("doorman token = %v", err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, d.URL+"/auth", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok.String()))
	waitFor(t, time.Second, "the token admitted at /auth", func() bool {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("the device pages logged errors (CSP violations?):\n%s", strings.Join(errs, "\n"))
	}
}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprintf("127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port)
}
