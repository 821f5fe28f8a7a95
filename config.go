package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"doorman/auth"
)

// config is doorman's effective configuration (CONTRACT §1, §7).
type config struct {
	listen          string
	clientID        string
	whitelist       string
	secretFile      string
	cookieName      string
	cookieDomain    string
	cookieTTL       time.Duration
	cookieSecure    bool
	hostedDomain    string
	redirectDomains []string
	publicURL       string
	logFormat       string
	logLevel        string
	metricsListen   string
	rateLimit       float64 // sign-in page requests per second per client; 0 is off
	trustedIPHeader string

	// Modes that do not serve.
	version     bool // print the version and exit
	check       bool // validate configuration, keys and whitelist, then exit
	healthcheck bool // probe a running doorman's /healthz (for Docker's HEALTHCHECK)
	demo        bool // demo mode: loopback only, no Google, throwaway whitelist and keys (demo.go)
}

// flagEnv pairs every flag with its environment-variable twin.
func flagEnv() [][2]string {
	return [][2]string{
		{"listen", "DOORMAN_LISTEN"},
		{"client-id", "DOORMAN_GOOGLE_CLIENT_ID"},
		{"whitelist", "DOORMAN_WHITELIST"},
		{"secret-file", "DOORMAN_SECRET_FILE"},
		{"cookie-name", "DOORMAN_COOKIE_NAME"},
		{"cookie-domain", "DOORMAN_COOKIE_DOMAIN"},
		{"cookie-ttl", "DOORMAN_COOKIE_TTL"},
		{"cookie-secure", "DOORMAN_COOKIE_SECURE"},
		{"hosted-domain", "DOORMAN_HOSTED_DOMAIN"},
		{"redirect-domains", "DOORMAN_REDIRECT_DOMAINS"},
		{"public-url", "DOORMAN_PUBLIC_URL"},
		{"log-format", "DOORMAN_LOG_FORMAT"},
		{"log-level", "DOORMAN_LOG_LEVEL"},
		{"metrics-listen", "DOORMAN_METRICS_LISTEN"},
		{"rate-limit", "DOORMAN_RATE_LIMIT"},
		{"trusted-ip-header", "DOORMAN_TRUSTED_IP_HEADER"},
	}
}

// parseConfig reads flags, then fills every flag not given on the command
// line from its environment twin; the flag wins. Errors name the setting.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	var cfg config
	var redirects string
	fs := flag.NewFlagSet("doorman", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:5000", "address to serve on")
	fs.StringVar(&cfg.clientID, "client-id", "", "Google OAuth client ID (required)")
	fs.StringVar(&cfg.whitelist, "whitelist", "whitelist.txt", "whitelist file")
	fs.StringVar(&cfg.secretFile, "secret-file", "doorman.key", "cookie key file, created (0600) when missing")
	fs.StringVar(&cfg.cookieName, "cookie-name", "", `session cookie name (default "__Secure-doorman", or "doorman" when --cookie-secure=false)`)
	fs.StringVar(&cfg.cookieDomain, "cookie-domain", "", "cookie domain, e.g. .example.com (default host-only)")
	fs.DurationVar(&cfg.cookieTTL, "cookie-ttl", 168*time.Hour, "session lifetime")
	fs.BoolVar(&cfg.cookieSecure, "cookie-secure", true, "set the cookie's Secure attribute")
	fs.StringVar(&cfg.hostedDomain, "hosted-domain", "", "require this Google Workspace domain (hd claim)")
	fs.StringVar(&redirects, "redirect-domains", "", "comma-separated hosts rd may point to (default the cookie domain)")
	fs.StringVar(&cfg.publicURL, "public-url", "", "doorman's public base URL, e.g. https://auth.example.com")
	fs.StringVar(&cfg.logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&cfg.metricsListen, "metrics-listen", "", "address for Prometheus /metrics (default off)")
	fs.Float64Var(&cfg.rateLimit, "rate-limit", 10, "sign-in requests (/login, /callback) per second per client, in bursts of 4 s' worth; 0 turns it off")
	fs.StringVar(&cfg.trustedIPHeader, "trusted-ip-header", "", "header nginx sets to the client address, e.g. X-Real-IP (default: none; the peer address is used)")
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	fs.BoolVar(&cfg.check, "check", false, "validate configuration, keys and whitelist, then exit (0 valid, 1 not)")
	fs.BoolVar(&cfg.healthcheck, "healthcheck", false, "probe the running doorman's /healthz on --listen and exit (0 healthy)")
	fs.BoolVar(&cfg.demo, "demo", false, "try doorman out: loopback only, sign-in without Google, a throwaway whitelist; never for real use")
	if err := parseArgs(fs, args, usage); err != nil {
		return cfg, err
	}
	if err := applyEnv(fs, getenv); err != nil {
		return cfg, err
	}
	cfg.redirectDomains = splitList(redirects)
	if cfg.version || cfg.healthcheck {
		return cfg, nil // need no other setting
	}
	return finish(cfg)
}

// parseArgs parses the command line; --help prints the usage to usage.
func parseArgs(fs *flag.FlagSet, args []string, usage io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(usage, "Usage: doorman [flags]\n\nEvery flag has an environment twin (DOORMAN_*); the flag wins.")
		fs.SetOutput(usage)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// applyEnv sets every flag not given on the command line from its
// environment twin, through the flag's own parser.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	seen := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { seen[f.Name] = true })
	for _, fe := range flagEnv() {
		name, env := fe[0], fe[1]
		v := getenv(env)
		if seen[name] || v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("invalid %s %q: %v", env, v, err)
		}
	}
	return nil
}

// finish applies derived defaults and checks values no flag parser checks.
func finish(cfg config) (config, error) {
	cfg.clientID = strings.TrimSpace(cfg.clientID)
	switch {
	case cfg.demo:
		if err := checkDemoConfig(cfg); err != nil {
			return cfg, err
		}
	case cfg.clientID == "":
		return cfg, errors.New("--client-id (DOORMAN_GOOGLE_CLIENT_ID) is required")
	}
	switch {
	case cfg.cookieTTL <= 0:
		return cfg, fmt.Errorf("--cookie-ttl (DOORMAN_COOKIE_TTL) must be positive, got %s", cfg.cookieTTL)
	case cfg.logFormat != "json" && cfg.logFormat != "text":
		return cfg, fmt.Errorf("--log-format (DOORMAN_LOG_FORMAT) must be json or text, got %q", cfg.logFormat)
	}
	if _, err := parseLevel(cfg.logLevel); err != nil {
		return cfg, fmt.Errorf("--log-level (DOORMAN_LOG_LEVEL): %w", err)
	}
	if cfg.cookieName == "" {
		cfg.cookieName = "doorman"
		if cfg.cookieSecure {
			cfg.cookieName = "__Secure-doorman"
		}
	}
	if len(cfg.redirectDomains) == 0 && cfg.cookieDomain != "" {
		// Browsers treat a cookie domain with or without its leading dot
		// alike: the domain and every subdomain.
		cfg.redirectDomains = []string{"." + strings.TrimPrefix(cfg.cookieDomain, ".")}
	}
	if cfg.rateLimit < 0 {
		return cfg, fmt.Errorf("--rate-limit (DOORMAN_RATE_LIMIT) must be 0 (off) or positive, got %g", cfg.rateLimit)
	}
	return cfg, checkAuthSettings(cfg)
}

// checkAuthSettings runs auth's checks of the cookie, URL and redirect
// settings now, before anything is loaded, and names the flag at fault.
func checkAuthSettings(cfg config) error {
	err := auth.CheckSettings(auth.Config{
		CookieName: cfg.cookieName, CookieDomain: cfg.cookieDomain, CookieTTL: cfg.cookieTTL,
		CookieSecure: cfg.cookieSecure, PublicURL: cfg.publicURL, RedirectDomains: cfg.redirectDomains,
	})
	var se *auth.SettingError
	if !errors.As(err, &se) {
		return err
	}
	setting := map[string]string{
		"CookieTTL":       "--cookie-ttl (DOORMAN_COOKIE_TTL)",
		"CookieName":      "--cookie-name (DOORMAN_COOKIE_NAME)",
		"PublicURL":       "--public-url (DOORMAN_PUBLIC_URL)",
		"RedirectDomains": "--redirect-domains (DOORMAN_REDIRECT_DOMAINS)",
	}[se.Field]
	if setting == "" {
		setting = se.Field
	}
	return fmt.Errorf("%s: %w", setting, se.Err)
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// logAttrs is the effective configuration for the start-up log line. It
// holds no secrets: the secret file is named, never read out.
func (cfg config) logAttrs() []any {
	return []any{
		"client_id", cfg.clientID, "whitelist", cfg.whitelist, "secret_file", cfg.secretFile,
		"cookie_name", cfg.cookieName, "cookie_domain", cfg.cookieDomain, "cookie_ttl", cfg.cookieTTL.String(),
		"cookie_secure", cfg.cookieSecure, "hosted_domain", cfg.hostedDomain,
		"redirect_domains", cfg.redirectDomains, "public_url", cfg.publicURL,
		"log_format", cfg.logFormat, "log_level", cfg.logLevel, "metrics_listen", cfg.metricsListen,
		"trusted_ip_header", cfg.trustedIPHeader, "rate_limit", cfg.rateLimit,
	}
}

// parseLevel parses --log-level.
func parseLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("want debug, info, warn or error, got %q", s)
	}
	return level, nil
}

// newLogger builds doorman's one logger: JSON or text on w.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
