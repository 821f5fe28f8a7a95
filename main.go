// Command doorman is an nginx auth_request sidecar with Google sign-in: it
// lets in only the people on a whitelist file. main wires the settings into
// the packages, then listens and serves; see README.md for everything else.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"doorman/auth"
	"doorman/auth/admin"
	"doorman/auth/cli"
	"doorman/auth/settings"
	"doorman/auth/store"
	"doorman/templates"
	"doorman/whitelist"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	redis.SetLogger(quietRedis{}) // its own lines on stderr; doorman logs store outages itself
	for _, w := range settingsTable(&options{}).UnknownEnv("DOORMAN_", os.Environ()) {
		fmt.Fprintln(os.Stderr, "doorman: warning:", w)
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "doorman:", err)
		stop()
		os.Exit(1)
	}
}

// quietRedis drops go-redis's own log lines (a failed dial, printed once per
// attempt): doorman logs "store unreachable" once per outage instead.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// options is what the settings set: the packages' own configurations, and
// what only run needs.
type options struct {
	auth          auth.Config
	server        auth.ServerConfig
	whitelist     string
	secretFile    string
	store         string
	listen        string
	metricsListen string
	logFormat     string
	logLevel      string

	// Modes that do not serve.
	version     bool // print the version and exit
	check       bool // validate configuration, keys and whitelist, then exit
	healthcheck bool // probe a running doorman's /healthz (for Docker's HEALTHCHECK)
	demo        bool // demo mode: loopback only, no Google, throwaway whitelist and keys

	ln net.Listener // demo mode's listener, opened early for its address
}

// settingsTable is every setting, bound to o's fields. Keep the README's
// configuration table in step (TestREADMEListsEverySetting).
func settingsTable(o *options) settings.Table {
	a, s := &o.auth, &o.server
	return settings.Table{
		{Name: "listen", Env: "DOORMAN_LISTEN", Default: "127.0.0.1:5000", Help: "address to serve on", Value: settings.Text(&o.listen)},
		{Name: "client-id", Env: "DOORMAN_GOOGLE_CLIENT_ID", Value: settings.Text(&a.ClientID),
			Help: "Google OAuth client ID, required (except with --demo); ID tokens must carry it as aud"},
		{Name: "whitelist", Env: "DOORMAN_WHITELIST", Default: "whitelist.txt", Help: "the whitelist file", Value: settings.Text(&o.whitelist)},
		{Name: "secret-file", Env: "DOORMAN_SECRET_FILE", Default: "doorman.key", Value: settings.Text(&o.secretFile),
			Help: "cookie keys; created (0600) when missing; must be 0600 or stricter and owned by doorman's user or root"},
		{Name: "store", Env: "DOORMAN_STORE", Default: "doorman.db", Value: settings.Text(&o.store),
			Help: "where sessions are kept: a SQLite file (created 0600), or redis://[user:password@]host:port[/db] (rediss:// for TLS) shared by several doorman replicas"},
		{Name: "session-idle", Env: "DOORMAN_SESSION_IDLE", Default: "0", Shown: "0, off", Value: settings.Bind(&a.SessionIdle, idleDuration),
			Help: "end a session not used for this long, e.g. 8h (at least 10s); 0 never does"},
		{Name: "token-max-ttl", Env: "DOORMAN_TOKEN_MAX_TTL", Default: "8760h", Value: settings.Bind(&a.TokenMaxTTL, settings.PositiveDuration),
			Help: "the longest lifetime of a personal token made on the tokens page, e.g. 2160h (90 days); at least 24h"},
		{Name: "budget-timezone", Env: "DOORMAN_BUDGET_TIMEZONE", Default: "UTC", Value: settings.Bind(&a.BudgetZone, time.LoadLocation),
			Help: "the IANA time zone of the budgets' calendar windows, e.g. Europe/Berlin: a day starts at its midnight"},
		{Name: "budget-fail-open", Env: "DOORMAN_BUDGET_FAIL_OPEN", Default: "false", Value: settings.Bind(&a.BudgetFailOpen, settings.Bool),
			Help: "while the store cannot be reached, admit counted checks uncounted instead of refusing them"},
		{Name: "cookie-name", Env: "DOORMAN_COOKIE_NAME", Shown: "__Secure-doorman, or doorman with --cookie-secure=false",
			Help: "session cookie name", Value: settings.Text(&a.CookieName)},
		{Name: "cookie-domain", Env: "DOORMAN_COOKIE_DOMAIN", Shown: "host-only", Value: settings.Text(&a.CookieDomain),
			Help: "e.g. .example.com: one sign-in covers every subdomain; never a public suffix such as .com or .co.uk"},
		{Name: "cookie-ttl", Env: "DOORMAN_COOKIE_TTL", Default: "168h", Help: "session lifetime, e.g. 12h or 168h (7 days)",
			Value: settings.Bind(&a.CookieTTL, settings.PositiveDuration)},
		{Name: "cookie-secure", Env: "DOORMAN_COOKIE_SECURE", Default: "true", Value: settings.Bind(&a.CookieSecure, settings.Bool),
			Help: "the cookie's Secure attribute; false also allows http redirects"},
		{Name: "hosted-domain", Env: "DOORMAN_HOSTED_DOMAIN", Value: settings.Text(&a.HostedDomain),
			Help: "require this Google Workspace domain (the token's hd claim)"},
		{Name: "redirect-domains", Env: "DOORMAN_REDIRECT_DOMAINS", Shown: "the cookie domain",
			Value: settings.Bind(&a.RedirectDomains, settings.List),
			Help:  "comma-separated hosts rd may point to: .example.com (it and every subdomain), app.example.com:8443, host:*"},
		{Name: "public-url", Env: "DOORMAN_PUBLIC_URL", Shown: "relative URLs", Value: settings.Text(&a.PublicURL),
			Help: "doorman's public base URL, e.g. https://auth.example.com, for Google's login_uri"},
		{Name: "device-sign-in", Env: "DOORMAN_DEVICE_SIGN_IN", Default: "false", Value: settings.Bind(&a.DeviceSignIn, settings.Bool),
			Help: "sign-in from a terminal (doorman login): serve /device, /device/code and /device/token; needs --public-url"},
		{Name: "log-format", Env: "DOORMAN_LOG_FORMAT", Default: "json", Help: "json or text", Value: settings.Bind(&o.logFormat, settings.OneOf("json", "text"))},
		{Name: "log-level", Env: "DOORMAN_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error", Value: settings.Bind(&o.logLevel, checkLevel)},
		{Name: "metrics-listen", Env: "DOORMAN_METRICS_LISTEN", Shown: "off", Value: settings.Text(&o.metricsListen),
			Help: "address for Prometheus /metrics, a listener of its own"},
		{Name: "trusted-ip-header", Env: "DOORMAN_TRUSTED_IP_HEADER", Shown: "X-Real-IP, from loopback peers only",
			Value: settings.Bind(&s.IPTrust, auth.ParseIPTrust),
			Help:  "header that holds the client address, trusted from any peer when set (\"none\": the peer address always)"},
		{Name: "rate-limit", Env: "DOORMAN_RATE_LIMIT", Default: "10", Value: settings.Bind(&s.RateLimit, parseRate),
			Help: "requests per second per client (an IPv6 /64 is one client), in bursts of 4 s' worth, to each of: sign-in (/login, /callback), programs (/device/code, /device/token, /tokens/revoke) and making tokens (POST /tokens), counted apart; 0 turns it off"},
		{Name: "demo", Help: "try doorman out: loopback only, sign-in without Google, a throwaway whitelist and keys; never for real use",
			Default: "false", Value: settings.Bind(&o.demo, settings.Bool)},
		{Name: "check", Help: "validate configuration, keys and whitelist (every bad line), then exit 0 (valid) or 1",
			Default: "false", Value: settings.Bind(&o.check, settings.Bool)},
		{Name: "version", Help: "print the version and exit", Default: "false", Value: settings.Bind(&o.version, settings.Bool)},
		{Name: "healthcheck", Help: "probe the running doorman's /healthz on --listen and exit 0 if healthy (for Docker)",
			Default: "false", Value: settings.Bind(&o.healthcheck, settings.Bool)},
	}
}

// authSettings names the setting behind each auth.Config field that
// auth.CheckSettings may refuse.
var authSettings = map[string]string{
	"CookieName": "cookie-name", "CookieDomain": "cookie-domain", "CookieTTL": "cookie-ttl", "SessionIdle": "session-idle", "TokenMaxTTL": "token-max-ttl",
	"RedirectDomains": "redirect-domains", "PublicURL": "public-url", "DeviceSignIn": "device-sign-in",
}

// parseOptions reads the settings from args and getenv (the flag wins),
// then applies derived defaults and checks what needs several settings.
// Errors are one line that names the setting.
func parseOptions(args []string, getenv func(string) string, usage io.Writer) (options, error) {
	var o options
	table := settingsTable(&o)
	if err := table.Parse(args, getenv, usage); err != nil {
		return o, err
	}
	if o.version || o.healthcheck {
		return o, nil // need no other setting
	}
	a := &o.auth
	a.ClientID = strings.TrimSpace(a.ClientID)
	switch {
	case o.demo:
		if err := checkDemo(o, table); err != nil {
			return o, err
		}
	case a.ClientID == "":
		return o, table.Errorf("client-id", "is required: the Google OAuth client ID (…apps.googleusercontent.com)")
	}
	if a.CookieName == "" {
		a.CookieName = map[bool]string{true: "__Secure-doorman", false: "doorman"}[a.CookieSecure]
	}
	if len(a.RedirectDomains) == 0 && a.CookieDomain != "" {
		// Browsers treat a cookie domain with or without its leading dot
		// alike: the domain and every subdomain.
		a.RedirectDomains = []string{"." + strings.TrimPrefix(a.CookieDomain, ".")}
	}
	if a.DeviceSignIn && a.PublicURL == "" {
		return o, table.Errorf("device-sign-in", "needs %s: the address the terminal tells people to open", table.Label("public-url"))
	}
	var se *auth.SettingError
	if err := auth.CheckSettings(*a); errors.As(err, &se) {
		return o, table.Errorf(authSettings[se.Field], "%w", se.Err)
	} else if err != nil {
		return o, err
	}
	return o, nil
}

// checkDemo refuses demo settings that could expose the demo or be
// mistaken for a real deployment.
func checkDemo(o options, table settings.Table) error {
	if o.auth.ClientID != "" {
		return fmt.Errorf("--demo cannot be used with %s: demo mode signs people in without Google; unset it", table.Label("client-id"))
	}
	if o.check {
		return errors.New("--demo cannot be used with --check")
	}
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return table.Errorf("listen", "%w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--demo listens on loopback only (127.0.0.1, ::1 or localhost), not %s %q", table.Label("listen"), o.listen)
	}
	return nil
}

// run runs an admin command (doorman sessions, doorman revoke), a
// terminal command (doorman login, token, logout), or reads
// the settings, loads the whitelist, keys and store, builds the handler and
// server, then serves until ctx is done and shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && admin.IsCommand(args[0]) {
		return admin.Run(ctx, args, getenv, stdout, stderr)
	}
	if len(args) > 0 && cli.IsCommand(args[0]) {
		return cli.Run(ctx, args, getenv, stdout, stderr)
	}
	o, err := parseOptions(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	table := settingsTable(&o)
	switch {
	case o.version:
		fmt.Fprintln(stdout, "doorman", versionString())
		return nil
	case o.healthcheck:
		return healthcheck(o.listen, table)
	case o.check:
		return check(o, table, stdout)
	}
	// Start-up logs are held until doorman serves: a start that fails
	// prints only its one error line.
	held := &heldWriter{w: stderr}
	logger := newLogger(held, o.logFormat, o.logLevel)
	if o.demo {
		dir, err := useDemo(&o)
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wl, err := whitelist.Watch(ctx, o.whitelist, logger)
	if err != nil {
		return table.Errorf("whitelist", "%w", err)
	}
	if err := loadKeys(&o, table, logger); err != nil {
		return err
	}
	st, err := store.Open(ctx, o.store, store.Options{})
	if err != nil {
		return table.Errorf("store", "%w", err)
	}
	defer st.Close()
	if o.server.Pages, err = templates.Parse(); err != nil {
		return fmt.Errorf("parse templates: %w", err)
	}
	o.auth.Allowlist, o.auth.Store, o.auth.Logger, o.auth.Context, o.server.Ready = wl, st, logger, ctx, wl.Ready
	var metrics *auth.Metrics
	if o.metricsListen != "" {
		metrics = auth.NewMetrics(func(name string) bool { return wl.List().Has(name) }, wl.Collector())
		o.auth.Observer = metrics
	}
	h, err := auth.New(o.auth)
	if err != nil {
		return err
	}
	if metrics != nil {
		metrics.Register(h.StoreCollector())
	}
	go h.Run(ctx)
	waitReady(ctx, h, logger)
	servers, err := listen(o, table, auth.NewServer(h, o.server), metrics)
	if err != nil {
		return err
	}
	held.release()
	announce(o, servers, table, stdout, logger)
	return serve(ctx, servers, logger)
}

// useDemo turns o into demo mode's: a throwaway whitelist and store in a
// new temporary directory (returned, for removal), its listener opened (its
// address is the public URL unless --public-url names another; sign-in from
// a terminal is on), throwaway keys in memory, the demo's accounts and
// cookie, loopback Host names only.
func useDemo(o *options) (dir string, err error) {
	dir, err = os.MkdirTemp("", "doorman-demo-")
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	o.whitelist, o.store = filepath.Join(dir, "whitelist.txt"), filepath.Join(dir, "doorman.db")
	if err := os.WriteFile(o.whitelist, []byte(auth.DemoWhitelist), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("demo: %w", err)
	}
	key := make([]byte, 64)
	rand.Read(key) // never fails (crypto/rand panics on failure)
	o.auth = auth.Config{
		Keys: [][]byte{key}, DemoAccounts: auth.DemoEmails(),
		CookieName: auth.DemoCookieName, CookieTTL: 8 * time.Hour, CookieSecure: false,
		PublicURL: o.auth.PublicURL,
	}
	o.server, o.metricsListen = auth.ServerConfig{LoopbackHostsOnly: true}, ""
	// Listen now, so that the address (port 0 included) is known: sign-in
	// from a terminal (doorman login) needs it as the public URL.
	if o.ln, err = net.Listen("tcp", o.listen); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("--listen: %w", err)
	}
	if o.auth.PublicURL == "" {
		o.auth.PublicURL = "http://" + o.ln.Addr().String()
	}
	o.auth.DeviceSignIn = true
	return dir, nil
}

// loadKeys reads (or creates) the secret file into o.auth.Keys, unless
// demo mode already made keys.
func loadKeys(o *options, table settings.Table, logger *slog.Logger) error {
	if o.auth.Keys != nil {
		return nil
	}
	keys, created, err := auth.LoadOrCreateKeys(o.secretFile)
	if err != nil {
		return table.Errorf("secret-file", "%w", err)
	}
	logger.Info("cookie keys loaded", "path", o.secretFile, "keys", len(keys), "created", created)
	o.auth.Keys = keys
	return nil
}

// announce logs the start-up line, and in demo mode tells the newcomer at
// stdout what to open.
func announce(o options, servers []listener, table settings.Table, stdout io.Writer, logger *slog.Logger) {
	if o.demo {
		auth.DemoIntro(stdout, "http://"+servers[0].addr(), o.whitelist)
		logger.Warn("doorman started in DEMO mode: sign-in without Google, throwaway keys, loopback only",
			"addr", servers[0].addr(), "whitelist", o.whitelist, "cookie_name", auth.DemoCookieName)
		return
	}
	started := []any{"version", versionString(), "addr", servers[0].addr()}
	if len(servers) > 1 {
		started = append(started, "metrics_addr", servers[1].addr())
	}
	logger.Info("doorman started", append(started, table.LogAttrs()...)...)
}

// heldWriter keeps what is written until release, then writes it and
// everything after through to w. What is never released is dropped.
type heldWriter struct {
	mu       sync.Mutex
	w        io.Writer
	buf      []byte
	released bool
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return h.w.Write(p)
	}
	h.buf = append(h.buf, p...)
	return len(p), nil
}

// release writes what was held and lets later writes through.
func (h *heldWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.released {
		h.w.Write(h.buf)
		h.buf, h.released = nil, true
	}
}

// newLogger builds doorman's one logger: JSON or text on w, at level
// (already checked by checkLevel).
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// checkLevel accepts a log level slog knows: debug, info, warn or error.
func checkLevel(v string) (string, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(v)); err != nil {
		return "", errors.New("want debug, info, warn or error")
	}
	return v, nil
}

// maxRate is the highest --rate-limit accepted; 0 is the way to turn it off.
const maxRate = 1e6

// parseRate parses --rate-limit: a finite number from 0 (off) to maxRate.
// NaN would compare false with everything and turn the limit off unseen.
func parseRate(v string) (float64, error) {
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(r) || math.IsInf(r, 0) || r < 0 || r > maxRate {
		return 0, fmt.Errorf("want requests per second from 0 (off) to %s", strconv.FormatFloat(maxRate, 'f', -1, 64))
	}
	return r, nil
}

// listener is an http.Server with the listener it serves.
type listener struct {
	srv *http.Server
	ln  net.Listener
}

func (l listener) addr() string { return l.ln.Addr().String() }

// listen opens doorman's listener and, with --metrics-listen, the separate
// metrics listener, so /metrics never shares a port with /auth. Demo mode
// must end up on loopback ("localhost" could resolve elsewhere).
func listen(o options, table settings.Table, handler http.Handler, metrics *auth.Metrics) ([]listener, error) {
	ln, err := o.ln, error(nil)
	if ln == nil {
		ln, err = net.Listen("tcp", o.listen)
	}
	if err != nil {
		return nil, table.Errorf("listen", "%w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); o.demo && (!ok || !tcp.IP.IsLoopback()) {
		ln.Close()
		return nil, fmt.Errorf("--demo listens on loopback only, but %s is not", ln.Addr())
	}
	out := []listener{{newHTTPServer(handler), ln}}
	if metrics == nil {
		return out, nil
	}
	mln, err := net.Listen("tcp", o.metricsListen)
	if err != nil {
		ln.Close()
		return nil, table.Errorf("metrics-listen", "%w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	return append(out, listener{newHTTPServer(mux), mln}), nil
}

// newHTTPServer wraps handler in an http.Server with timeouts that hold
// against slow clients.
func newHTTPServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// serve serves every listener until ctx is done, then stops accepting and
// waits up to 20 s for in-flight requests.
func serve(ctx context.Context, ls []listener, logger *slog.Logger) error {
	errc := make(chan error, len(ls))
	for _, l := range ls {
		go func() { errc <- l.srv.Serve(l.ln) }()
	}
	select {
	case err := <-errc:
		shutdown(ls)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("doorman stopping")
	if err := shutdown(ls); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("doorman stopped")
	return nil
}

// shutdown gracefully stops every server within 20 s.
func shutdown(ls []listener) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var errs []error
	for _, l := range ls {
		errs = append(errs, l.srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

// versionString returns doorman's version.
func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v + " " + info.GoVersion
}

// healthcheck probes /healthz of the doorman listening on listen.
func healthcheck(listen string, table settings.Table) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return table.Errorf("listen", "%w", err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	return nil
}

// check validates the secret file and the whitelist without serving or
// writing anything, printing every problem to out.
func check(o options, table settings.Table, out io.Writer) error {
	ok := auth.CheckKeyFile(o.secretFile, table.Label("secret-file"), out)
	ok = whitelist.Check(o.whitelist, table.Label("whitelist"), out) && ok
	ok = checkStore(o.store, table.Label("store"), out) && ok
	if !ok {
		return errors.New("configuration is not valid")
	}
	fmt.Fprintln(out, "ok: configuration, keys, whitelist and store are valid")
	return nil
}

// checkStore reports whether the store at dsn can be opened and answers.
// A missing SQLite file is fine, and not created: doorman will create it.
func checkStore(dsn, label string, out io.Writer) bool {
	if !strings.Contains(dsn, "://") {
		if _, err := os.Stat(dsn); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(out, "store: %s does not exist; doorman will create it (mode 0600)\n", dsn)
			return true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := store.Open(ctx, dsn, store.Options{})
	if err == nil {
		defer st.Close()
		err = st.Ping(ctx)
	}
	if err != nil {
		fmt.Fprintf(out, "store: %s: %v\n", label, err)
		return false
	}
	fmt.Fprintf(out, "store: %s: reachable\n", dsn)
	return true
}

// idleDuration parses --session-idle: 0 (off) or a Go duration.
func idleDuration(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	return settings.PositiveDuration(v)
}

// waitReady gives doorman up to 5 s to read the store's ended sessions
// before it listens: until it has, it refuses every session (it cannot
// tell an ended one), and /readyz answers 503. A store that stays out of
// reach is logged, and doorman listens anyway, to answer once it is back.
func waitReady(ctx context.Context, h *auth.Handler, logger *slog.Logger) {
	deadline := time.Now().Add(5 * time.Second)
	for !h.Ready() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if !h.Ready() {
		logger.Warn("store not read yet: every session is refused until it is", "waited", "5s")
	}
}
