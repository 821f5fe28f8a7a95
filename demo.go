package main

// Demo mode: `go run . --demo` shows doorman working within a minute of
// cloning, with no Google account, domain or nginx. It serves on loopback
// only, with a throwaway whitelist, throwaway in-memory keys and its own
// cookie name, and signs people in at the click of a button instead of
// Google (auth.Config.DemoAccounts). Everything after sign-in is the real
// code: the lists, the session cookie, revocation on whitelist edit, and
// the /auth decision guarding the demo's protected pages.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"doorman/auth"
	"doorman/templates"
	"doorman/whitelist"
)

// demoCookieName is the demo's session cookie. It differs from every name a
// normal run defaults to, and the demo's keys exist only in its memory, so
// a demo cookie is never valid anywhere else.
const demoCookieName = "doorman-demo"

// demoAccounts are the demo's "Sign in as" buttons: alice is on both lists,
// bob on the main list only, mallory on none.
var demoAccounts = []string{"alice@demo.example", "bob@demo.example", "mallory@demo.example"}

// demoWhitelist is the whitelist the demo writes to its temporary directory.
const demoWhitelist = `# doorman demo whitelist. Edit and save: a change applies within a second,
# to browsers already signed in too. Try deleting alice's first line, then
# reload http://…/demo/ in the browser.
alice@demo.example
bob@demo.example

# Only these may use the GPT-4 site (/demo/gpt4/).
[gpt4]
alice@demo.example

# mallory@demo.example is on no list: she gets the 403 page.
`

// checkDemoConfig rejects demo settings that could expose the demo or be
// mistaken for a real deployment. It names the setting.
func checkDemoConfig(cfg config) error {
	if strings.TrimSpace(cfg.clientID) != "" {
		return fmt.Errorf("--demo cannot be used with %s: demo mode signs people in without Google; unset it", label("client-id"))
	}
	if cfg.check {
		return errors.New("--demo cannot be used with --check")
	}
	host, _, err := net.SplitHostPort(cfg.listen)
	if err != nil {
		return errSetting("listen", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--demo listens on loopback only (127.0.0.1, ::1 or localhost), not %s %q", label("listen"), cfg.listen)
	}
	return nil
}

// runDemo serves demo mode until ctx is done. It never reads the secret
// file or the configured whitelist, and removes its temporary files on exit.
func runDemo(ctx context.Context, cfg config, stdout io.Writer, logger *slog.Logger) error {
	dir, err := os.MkdirTemp("", "doorman-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "whitelist.txt")
	if err := os.WriteFile(path, []byte(demoWhitelist), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wl, err := whitelist.Watch(ctx, path, logger)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	h, err := auth.New(demoAuthConfig(ctx, wl, logger))
	if err != nil {
		return err
	}
	pages, err := templates.Parse()
	if err != nil {
		return fmt.Errorf("parse templates: %w", err)
	}
	servers, err := listen(cfg, loopbackHostsOnly(newServer(h, wl.Ready, pages, logger)), nil)
	if err != nil {
		return err
	}
	if !loopback(servers[0].ln.Addr()) { // "localhost" could resolve elsewhere
		servers[0].ln.Close()
		return fmt.Errorf("--demo listens on loopback only, but %s is not", servers[0].addr())
	}
	printDemo(stdout, "http://"+servers[0].addr(), path)
	logger.Warn("doorman started in DEMO mode: sign-in without Google, throwaway keys, loopback only",
		"addr", servers[0].addr(), "whitelist", path, "cookie_name", demoCookieName)
	return serve(ctx, servers, logger)
}

// loopbackHostsOnly refuses every request whose Host is not a loopback
// name. The demo listens on loopback, but a page whose name an attacker
// points at 127.0.0.1 (DNS rebinding), or a local reverse proxy, reaches
// that listener with a Host of its own; a browser then treats the demo's
// answers as that site's. /auth gets an empty 403, which no auth_request
// caller takes for a sign-in; everything else a 421 that says why.
func loopbackHostsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loopbackHost(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path == "/auth" {
			h.Set("Content-Length", "0")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMisdirectedRequest)
		fmt.Fprintln(w, "421 Misdirected Request: doorman --demo answers only at loopback names (localhost, 127.0.0.1, [::1]).\nOpen the address it printed when it started.")
	})
}

// loopbackHost reports whether host, a request's Host (with or without a
// port), is localhost, a name under .localhost, or a loopback IP literal.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return false // an IPv6 literal must be bracketed
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Zone() == "" && ip.Unmap().IsLoopback()
	}
	name := strings.ToLower(host)
	return name == "localhost" || strings.HasSuffix(name, ".localhost") && dnsName(strings.TrimSuffix(name, ".localhost"))
}

// dnsName reports whether s is dot-separated labels of letters, digits and "-".
func dnsName(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if l == "" || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

// demoAuthConfig is the demo's auth.Config: fresh random keys that live
// only in memory, a cookie name of its own, http on loopback.
func demoAuthConfig(ctx context.Context, wl auth.Allowlist, logger *slog.Logger) auth.Config {
	key := make([]byte, 64)
	rand.Read(key) // never fails (crypto/rand panics on failure)
	return auth.Config{
		Allowlist: wl, Keys: [][]byte{key}, DemoAccounts: demoAccounts,
		CookieName: demoCookieName, CookieTTL: 8 * time.Hour, CookieSecure: false,
		Logger: logger, Context: ctx,
	}
}

// loopback reports whether addr is a loopback address.
func loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// printDemo tells a newcomer what to open, what to edit, and what to run
// for the real thing.
func printDemo(w io.Writer, base, whitelistPath string) {
	fmt.Fprintf(w, `
  ==================================================================
   DEMO MODE: anyone can sign in here, without Google.
   For trying doorman out on this machine; never for real use.
  ==================================================================

  Start here:                    %[1]s/
  The protected demo page:       %[1]s/demo/
    (and the GPT-4 one:          %[1]s/demo/gpt4/)
  You will be sent to sign in. Try alice (on both lists), bob (main list
  only) and mallory (on no list: the 403 page).

  The demo whitelist, live: delete alice's lines, save, reload the page.
    %[2]s

  For the real thing, put nginx in front of doorman with nginx/doorman.conf
  and run doorman with your Google client ID, for example:
    doorman --client-id=1234-abc.apps.googleusercontent.com \
      --whitelist=/etc/doorman/whitelist.txt --cookie-domain=.example.com \
      --public-url=https://auth.example.com

  Ctrl-C stops the demo and deletes its whitelist.

`, base, whitelistPath)
}

// demoPage handles "GET /demo/" and "GET /demo/<list>/" in demo mode: a
// stand-in for an app behind nginx. It lets in exactly whom /auth (or
// /auth?list=<list>) lets in, by the same decision (auth.Handler.Allowed),
// and sends everyone else to the login page as nginx's error_page would.
func demoPage(h *auth.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		list := c.Param("list")
		if list != "" && !plainListName(list) {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		email, ok := h.Allowed(c.Request(), list)
		if !ok {
			return c.Redirect(http.StatusFound, "/login"+demoSiteQuery(list, c.Request().URL.Path))
		}
		return c.Render(http.StatusOK, "demo.html", auth.Page{Email: email, Site: list})
	}
}

// demoSiteQuery is "?[list=<list>&]rd=<path>", as nginx's error_page passes it.
func demoSiteQuery(list, path string) string {
	q := "?"
	if list != "" {
		q += "list=" + list + "&"
	}
	return q + "rd=" + url.QueryEscape(path)
}

// plainListName reports whether s is a list name (CONTRACT §6).
func plainListName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
