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
	"syscall"
	"time"

	"doorman/auth"
	"doorman/templates"
	"doorman/whitelist"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
	logger := newLogger(stderr, cfg.logFormat, level)
	keys, created, err := auth.LoadOrCreateKeys(cfg.secretFile)
	if err != nil {
		return fmt.Errorf("--secret-file (DOORMAN_SECRET_FILE): %w", err)
	}
	logger.Info("cookie keys loaded", "path", cfg.secretFile, "keys", len(keys), "created", created)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wl, err := whitelist.Watch(ctx, cfg.whitelist, logger)
	if err != nil {
		return fmt.Errorf("--whitelist (DOORMAN_WHITELIST): %w", err)
	}
	pages, err := templates.Parse()
	if err != nil {
		return fmt.Errorf("parse templates: %w", err)
	}
	h, err := auth.New(authConfig(ctx, cfg, keys, wl, logger))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("--listen (DOORMAN_LISTEN): %w", err)
	}
	logger.Info("doorman started", append([]any{"addr", ln.Addr().String()}, cfg.logAttrs()...)...)
	return serve(ctx, newHTTPServer(newServer(h, wl.Ready, pages, logger)), ln, logger)
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

// serve serves on ln until ctx is done, then stops accepting and waits up
// to 20 s for in-flight requests.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("doorman stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("doorman stopped")
	return nil
}
