package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"doorman/auth"
)

// config is doorman's effective configuration (the README's "Configuration").
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
	ipTrust         ipTrust // where the client address comes from

	// Modes that do not serve.
	version     bool // print the version and exit
	check       bool // validate configuration, keys and whitelist, then exit
	healthcheck bool // probe a running doorman's /healthz (for Docker's HEALTHCHECK)
	demo        bool // demo mode: loopback only, no Google, throwaway whitelist and keys (demo.go)
}

// setting declares one setting. Its flag, its environment twin, its --help
// entry and the name its errors carry ("--cookie-ttl (DOORMAN_COOKIE_TTL)")
// all come from here.
type setting struct {
	name      string       // the flag, without dashes
	env       string       // its environment twin; "" for a mode, which has none
	def       string       // the default, parsed like any value
	shown     string       // the default as --help says it, when def alone would mislead
	help      string       // what it does, for --help
	value     settingValue // parses a value into its config field
	authField string       // the auth.Config field it feeds, for *auth.SettingError
}

// settings is the table of every setting, bound to cfg's fields. Keep the
// README's configuration table in step (TestREADMEListsEverySetting).
func settings(cfg *config) []setting {
	return []setting{
		{name: "listen", env: "DOORMAN_LISTEN", def: "127.0.0.1:5000", help: "address to serve on", value: text(&cfg.listen)},
		{name: "client-id", env: "DOORMAN_GOOGLE_CLIENT_ID", value: text(&cfg.clientID),
			help: "Google OAuth client ID, required (except with --demo); ID tokens must carry it as aud"},
		{name: "whitelist", env: "DOORMAN_WHITELIST", def: "whitelist.txt", help: "the whitelist file", value: text(&cfg.whitelist)},
		{name: "secret-file", env: "DOORMAN_SECRET_FILE", def: "doorman.key", value: text(&cfg.secretFile),
			help: "cookie keys; created (0600) when missing; must be 0600 or stricter and owned by doorman's user or root"},
		{name: "cookie-name", env: "DOORMAN_COOKIE_NAME", shown: "__Secure-doorman, or doorman with --cookie-secure=false",
			help: "session cookie name", value: text(&cfg.cookieName), authField: "CookieName"},
		{name: "cookie-domain", env: "DOORMAN_COOKIE_DOMAIN", shown: "host-only", value: text(&cfg.cookieDomain), authField: "CookieDomain",
			help: "e.g. .example.com: one sign-in covers every subdomain; never a public suffix such as .com or .co.uk"},
		{name: "cookie-ttl", env: "DOORMAN_COOKIE_TTL", def: "168h", help: "session lifetime, e.g. 12h or 168h (7 days)",
			value: bind(&cfg.cookieTTL, parseTTL), authField: "CookieTTL"},
		{name: "cookie-secure", env: "DOORMAN_COOKIE_SECURE", def: "true", value: bind(&cfg.cookieSecure, parseBool),
			help: "the cookie's Secure attribute; false also allows http redirects"},
		{name: "hosted-domain", env: "DOORMAN_HOSTED_DOMAIN", value: text(&cfg.hostedDomain),
			help: "require this Google Workspace domain (the token's hd claim)"},
		{name: "redirect-domains", env: "DOORMAN_REDIRECT_DOMAINS", shown: "the cookie domain", authField: "RedirectDomains",
			value: bind(&cfg.redirectDomains, parseList),
			help:  "comma-separated hosts rd may point to: .example.com (it and every subdomain), app.example.com:8443, host:*"},
		{name: "public-url", env: "DOORMAN_PUBLIC_URL", shown: "relative URLs", value: text(&cfg.publicURL), authField: "PublicURL",
			help: "doorman's public base URL, e.g. https://auth.example.com, for Google's login_uri"},
		{name: "log-format", env: "DOORMAN_LOG_FORMAT", def: "json", help: "json or text", value: bind(&cfg.logFormat, parseLogFormat)},
		{name: "log-level", env: "DOORMAN_LOG_LEVEL", def: "info", help: "debug, info, warn or error", value: bind(&cfg.logLevel, checkLevel)},
		{name: "metrics-listen", env: "DOORMAN_METRICS_LISTEN", shown: "off", value: text(&cfg.metricsListen),
			help: "address for Prometheus /metrics, a listener of its own"},
		{name: "trusted-ip-header", env: "DOORMAN_TRUSTED_IP_HEADER", shown: "X-Real-IP, from loopback peers only",
			value: bind(&cfg.ipTrust, parseIPTrust),
			help:  "header that holds the client address, trusted from any peer when set (\"none\": the peer address always)"},
		{name: "rate-limit", env: "DOORMAN_RATE_LIMIT", def: "10", value: bind(&cfg.rateLimit, parseRate),
			help: "/login and /callback requests per second per client (an IPv6 /64 is one client), in bursts of 4 s' worth; 0 turns it off"},
		{name: "demo", help: "try doorman out: loopback only, sign-in without Google, a throwaway whitelist and keys; never for real use",
			def: "false", value: bind(&cfg.demo, parseBool)},
		{name: "check", help: "validate configuration, keys and whitelist (every bad line), then exit 0 (valid) or 1",
			def: "false", value: bind(&cfg.check, parseBool)},
		{name: "version", help: "print the version and exit", def: "false", value: bind(&cfg.version, parseBool)},
		{name: "healthcheck", help: "probe the running doorman's /healthz on --listen and exit 0 if healthy (for Docker)",
			def: "false", value: bind(&cfg.healthcheck, parseBool)},
	}
}

// label is how errors and --help name the setting: "--name (ENV)".
func (s setting) label() string {
	if s.env == "" {
		return "--" + s.name
	}
	return "--" + s.name + " (" + s.env + ")"
}

// label returns the label of the setting called name.
func label(name string) string {
	for _, s := range settings(&config{}) {
		if s.name == name {
			return s.label()
		}
	}
	return "--" + name
}

// errSetting is err, prefixed with the label of the setting called name.
func errSetting(name string, err error) error {
	return fmt.Errorf("%s: %w", label(name), err)
}

// parseConfig applies every default, then the flags, then for every flag
// not given the environment twin, if set (the flag wins). Both go through
// the same parser. Errors are one line that names the setting.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	var cfg config
	table := settings(&cfg)
	for _, s := range table {
		if err := s.value.set(s.def); err != nil {
			return cfg, fmt.Errorf("%s: default %q: %w", s.label(), s.def, err) // a bug in the table
		}
	}
	given, err := parseArgs(table, args, usage)
	if err != nil {
		return cfg, err
	}
	if err := applyValues(table, given, getenv); err != nil {
		return cfg, err
	}
	if cfg.version || cfg.healthcheck {
		return cfg, nil // need no other setting
	}
	return finish(cfg)
}

// applyValues parses each setting's flag value, or else its environment
// twin's, into its field.
func applyValues(table []setting, given map[string]string, getenv func(string) string) error {
	for _, s := range table {
		v, fromFlag := given[s.name]
		if !fromFlag && s.env != "" {
			v = getenv(s.env)
		}
		if !fromFlag && v == "" {
			continue
		}
		if err := s.value.set(v); err != nil {
			source := "value"
			if !fromFlag {
				source = s.env
			}
			return fmt.Errorf("%s: invalid %s %q: %w", s.label(), source, v, err)
		}
	}
	return nil
}

// finish applies derived defaults and checks what needs several settings.
func finish(cfg config) (config, error) {
	cfg.clientID = strings.TrimSpace(cfg.clientID)
	switch {
	case cfg.demo:
		if err := checkDemoConfig(cfg); err != nil {
			return cfg, err
		}
	case cfg.clientID == "":
		return cfg, fmt.Errorf("%s is required: the Google OAuth client ID (…apps.googleusercontent.com)", label("client-id"))
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
	return cfg, checkAuthSettings(cfg)
}

// checkAuthSettings runs auth's checks of the cookie, URL and redirect
// settings now, before anything is loaded, and names the setting at fault.
func checkAuthSettings(cfg config) error {
	err := auth.CheckSettings(auth.Config{
		CookieName: cfg.cookieName, CookieDomain: cfg.cookieDomain, CookieTTL: cfg.cookieTTL,
		CookieSecure: cfg.cookieSecure, PublicURL: cfg.publicURL, RedirectDomains: cfg.redirectDomains,
	})
	var se *auth.SettingError
	if !errors.As(err, &se) {
		return err
	}
	for _, s := range settings(&config{}) {
		if s.authField == se.Field {
			return fmt.Errorf("%s: %w", s.label(), se.Err)
		}
	}
	return err
}

// logAttrs is the effective configuration for the start-up log line, one
// attribute per setting that is not a mode. It holds no secrets: the
// secret file is named, never read out.
func (cfg config) logAttrs() []any {
	var attrs []any
	for _, s := range settings(&cfg) {
		if s.env == "" {
			continue
		}
		v := s.value.get()
		if str, ok := v.(fmt.Stringer); ok {
			v = str.String()
		}
		attrs = append(attrs, strings.ReplaceAll(s.name, "-", "_"), v)
	}
	return attrs
}

// newLogger builds doorman's one logger: JSON or text on w.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// settingValue parses a setting's value into its config field.
type settingValue interface {
	set(v string) error
	get() any      // the field's value, for the start-up log line
	boolean() bool // a switch: "--name" alone means true
}

// field binds a parser to a config field.
type field[T any] struct {
	p     *T
	parse func(string) (T, error)
}

func (f field[T]) get() any { return *f.p }

func (f field[T]) boolean() bool { _, ok := any(f.p).(*bool); return ok }

func (f field[T]) set(v string) error {
	x, err := f.parse(v)
	if err == nil {
		*f.p = x
	}
	return err
}

// bind makes a settingValue that parses into p.
func bind[T any](p *T, parse func(string) (T, error)) settingValue { return field[T]{p, parse} }

// text makes a settingValue that stores any string in p.
func text(p *string) settingValue {
	return bind(p, func(v string) (string, error) { return v, nil })
}

// parseTTL parses a positive Go duration.
func parseTTL(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%w (write a Go duration such as 90m, 12h or 168h, which is 7 days)", err)
	}
	if d <= 0 {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

// parseBool parses true or false (and the flag package's 1, 0, t, f, …).
func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("want true or false")
	}
	return b, nil
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

// parseLogFormat accepts json or text.
func parseLogFormat(v string) (string, error) {
	if v != "json" && v != "text" {
		return "", errors.New("want json or text")
	}
	return v, nil
}

// checkLevel accepts what parseLevel parses.
func checkLevel(v string) (string, error) {
	_, err := parseLevel(v)
	return v, err
}

// parseLevel parses --log-level.
func parseLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return 0, errors.New("want debug, info, warn or error")
	}
	return level, nil
}

// parseList splits a comma-separated list, dropping blanks.
func parseList(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out, nil
}

// parseIPTrust parses --trusted-ip-header. Unset ("") is the README's
// deployment, nginx beside doorman: X-Real-IP, taken from loopback peers
// only, so a client that reaches doorman directly is known by its own
// address. A header named explicitly is taken from any peer (nginx in
// another pod or host); "none" takes no header at all.
func parseIPTrust(v string) (ipTrust, error) {
	switch {
	case v == "":
		return ipTrust{header: "X-Real-IP"}, nil
	case strings.EqualFold(v, "none"):
		return ipTrust{}, nil
	case strings.IndexFunc(v, notHeaderRune) >= 0:
		return ipTrust{}, errors.New(`want a header name such as X-Real-IP, or "none"`)
	}
	return ipTrust{header: v, anyPeer: true}, nil
}

// notHeaderRune reports runes not allowed in an HTTP header name (RFC 9110 token).
func notHeaderRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}
