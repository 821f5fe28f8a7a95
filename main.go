// Command doorman is an nginx auth_request sidecar with Google sign-in: it
// lets in only the people on a whitelist file.
//
// See README.md for deployment, and ../shared/CONTRACT.md for the contract.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"doorman/auth"
	"doorman/templates"
	"doorman/whitelist"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, w := range unknownEnv(os.Environ()) {
		fmt.Fprintln(os.Stderr, "doorman: warning:", w)
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "doorman:", err)
		stop()
		os.Exit(1)
	}
}

// run wires configuration, keys, whitelist and handlers, then serves until
// ctx is done and shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	switch {
	case cfg.version:
		fmt.Fprintln(stdout, "doorman", versionString())
		return nil
	case cfg.healthcheck:
		return healthcheck(cfg.listen)
	case cfg.check:
		return check(cfg, stdout)
	}
	level, _ := parseLevel(cfg.logLevel)
	// Start-up logs are held until doorman serves: a start that fails
	// prints only its one error line.
	held := &heldWriter{w: stderr}
	logger := newLogger(held, cfg.logFormat, level)
	if cfg.demo {
		held.release()
		return runDemo(ctx, cfg, stdout, logger)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wl, err := whitelist.Watch(ctx, cfg.whitelist, logger)
	if err != nil {
		return errSetting("whitelist", err)
	}
	keys, created, err := auth.LoadOrCreateKeys(cfg.secretFile)
	if err != nil {
		return errSetting("secret-file", err)
	}
	logger.Info("cookie keys loaded", "path", cfg.secretFile, "keys", len(keys), "created", created)
	pages, err := templates.Parse()
	if err != nil {
		return fmt.Errorf("parse templates: %w", err)
	}
	acfg := authConfig(ctx, cfg, keys, wl, logger)
	var m *metrics
	if cfg.metricsListen != "" {
		m = newMetrics(wl)
		acfg.Observer = m
	}
	h, err := auth.New(acfg)
	if err != nil {
		return err
	}
	e := newServer(h, wl.Ready, pages, logger, withRateLimit(cfg.rateLimit), withIPTrust(cfg.ipTrust))
	servers, err := listen(cfg, e, m)
	if err != nil {
		return err
	}
	started := []any{"version", versionString(), "addr", servers[0].addr()}
	if len(servers) > 1 {
		started = append(started, "metrics_addr", servers[1].addr())
	}
	held.release()
	logger.Info("doorman started", append(started, cfg.logAttrs()...)...)
	return serve(ctx, servers, logger)
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

// authConfig maps doorman's configuration onto auth.Config.
func authConfig(ctx context.Context, cfg config, keys [][]byte, wl auth.Allowlist, logger *slog.Logger) auth.Config {
	return auth.Config{
		ClientID: cfg.clientID, Allowlist: wl, Keys: keys,
		CookieName: cfg.cookieName, CookieDomain: cfg.cookieDomain,
		CookieTTL: cfg.cookieTTL, CookieSecure: cfg.cookieSecure,
		HostedDomain: cfg.hostedDomain, RedirectDomains: cfg.redirectDomains, PublicURL: cfg.publicURL,
		Logger: logger, Context: ctx,
	}
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

// listener is an http.Server with the listener it serves.
type listener struct {
	srv *http.Server
	ln  net.Listener
}

func (l listener) addr() string { return l.ln.Addr().String() }

// listen opens doorman's listener and, with --metrics-listen, the separate
// metrics listener, so /metrics never shares a port with /auth.
func listen(cfg config, handler http.Handler, m *metrics) ([]listener, error) {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return nil, errSetting("listen", err)
	}
	out := []listener{{newHTTPServer(handler), ln}}
	if m == nil {
		return out, nil
	}
	mln, err := net.Listen("tcp", cfg.metricsListen)
	if err != nil {
		ln.Close()
		return nil, errSetting("metrics-listen", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler())
	return append(out, listener{newHTTPServer(mux), mln}), nil
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
