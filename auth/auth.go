// Package auth decides who may use the protected sites: it verifies Google
// ID tokens at sign-in, records each session in the store and keeps its
// identity in a signed and encrypted session cookie, and answers nginx's
// auth_request sub-requests from memory.
//
// main wires it:
//
//	st, _ := store.Open(ctx, "doorman.db", store.Options{})
//	keys, _, _ := auth.LoadOrCreateKeys("doorman.key")
//	h, err := auth.New(auth.Config{
//		ClientID:  "1234.apps.googleusercontent.com",
//		Allowlist: watcher, // *whitelist.Watcher
//		Store:     st,
//		Keys:      keys,
//		// ...
//	})
//	go h.Run(ctx) // follows the store: ended sessions, last use, idle timeout
//	srv := &http.Server{Handler: auth.NewServer(h, auth.ServerConfig{Pages: pages})}
//
// NewServer lists every route. Handlers render the templates through the
// Echo renderer; errors are returned as *echo.HTTPError for the server's
// error handler to render.
package auth

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"doorman/auth/store"
	"doorman/whitelist/budget"
)

// maxVerifiedSessions bounds the cache of verified session cookies (about
// 300 bytes each).
const maxVerifiedSessions = 10_000

// minSessionIdle is the shortest --session-idle.
const minSessionIdle = 10 * time.Second

// defaultTokenMaxTTL is the longest lifetime of a personal token when
// Config.TokenMaxTTL is 0; minTokenMaxTTL the shortest it may be set to.
const (
	defaultTokenMaxTTL = 8760 * time.Hour
	minTokenMaxTTL     = 24 * time.Hour
)

// Allowlist reports who is on which list right now. *whitelist.Watcher
// satisfies it. list "" is the main list.
type Allowlist interface {
	// Contains reports whether email is on list; an unknown list contains
	// nobody. It logs nothing.
	Contains(list, email string) bool
	// ReportUnknown logs list if the whitelist has no such list, once per
	// name per load. Only /auth calls it: nginx's configuration chooses
	// those names, not clients.
	ReportUnknown(list string)
	// ListsOf names every list email is on, main list ("") first; empty if none.
	ListsOf(email string) []string
	// BudgetOf is the budget of email on list: its limits, none when
	// empty. It does not allocate.
	BudgetOf(list, email string) budget.Budget
}

// Config configures a Handler. Fields without a "nil means" default are required.
type Config struct {
	ClientID  string      // Google OAuth client ID; ID tokens must carry it as aud. Must be empty with DemoAccounts
	Allowlist Allowlist   // who may sign in and use each site
	Store     store.Store // where sessions are recorded and ended
	Keys      [][]byte    // secrets from the secret file; the first signs, all verify

	// SessionIdle ends a session not used at /auth for this long (at most
	// about a minute later); 0 means never. At least 10 s when set.
	SessionIdle time.Duration

	// TokenMaxTTL caps the lifetime of the personal tokens people make on
	// the tokens page; 0 means 8760h (a year). At least 24h when set:
	// lifetimes are chosen in days.
	TokenMaxTTL time.Duration

	// BudgetZone is the time zone of the budgets' calendar windows (a day
	// starts at its midnight); nil means UTC.
	BudgetZone *time.Location
	// BudgetFailOpen admits counted checks uncounted while the store
	// cannot be reached; false refuses them (403, X-Doorman-Refusal:
	// unavailable) when a budget applies.
	BudgetFailOpen bool

	CookieName   string        // session cookie name
	CookieDomain string        // "" means a host-only cookie
	CookieTTL    time.Duration // session lifetime
	CookieSecure bool          // the cookie's Secure attribute; false also allows http redirects

	HostedDomain    string   // if set, the token's hd claim must equal it (ASCII case-insensitive)
	RedirectDomains []string // hosts rd may point to (README "Configuration"); empty means relative paths only
	PublicURL       string   // doorman's public base URL; "" means relative URLs

	// DeviceSignIn serves sign-in from a terminal (RFC 8628): /device,
	// /device/code, /device/token. It needs PublicURL. false means those
	// routes are 404.
	DeviceSignIn bool

	HTTPClient *http.Client     // for Google's keys, each fetch bounded by its Timeout (10 s when zero); nil means a client on http.DefaultTransport with a 10 s timeout
	Observer   Observer         // told each decision, for metrics; nil means none
	Logger     *slog.Logger     // nil means discard
	Now        func() time.Time // nil means time.Now
	Context    context.Context  // scopes the token validator; nil means context.Background()

	// DemoAccounts switches on demo mode, for trying doorman out: no
	// Google, and the login page offers a "Sign in as" button for each of
	// these addresses, which demoSignIn accepts after the same list checks
	// as callback. Never set it for a real site; it requires an empty
	// ClientID, and callback then answers 404. nil means a normal run.
	DemoAccounts []string
}

// Sentinel errors. Handlers wrap them; callers branch with errors.Is.
var (
	// ErrNoSession means the request carries no valid, unexpired session cookie.
	ErrNoSession = errors.New("no valid session")
	// ErrGoogleUnavailable means Google's signing keys could not be fetched.
	ErrGoogleUnavailable = errors.New("google keys unavailable")
)

// Handler serves doorman's sign-in routes and nginx's auth_request target.
type Handler struct {
	clientID       string
	allow          Allowlist
	store          store.Store
	states         *sessionStates // what this doorman knows of every session
	csrf           []byte         // key of the CSRF tokens of doorman's own forms
	budgetZone     *time.Location // of the budgets' calendar windows
	tokenMaxTTL    time.Duration  // the longest lifetime of a personal token
	budgetFailOpen bool           // admit counted checks uncounted while the store is down
	budgetLogged   atomic.Int64   // unix nanoseconds of the last "budget store unreachable" line
	badCosts       badCosts       // malformed cost values logged
	sessions       *codec
	verified       *verifiedCache // session cookies that verified
	nonces         *codec
	verifier       *verifier
	redirects      redirectPolicy
	cookie         cookieSettings
	publicURL      string
	publicOrigin   string // scheme://host of publicURL, what Origin must be on a POST
	observer       Observer
	observed       bool // Config.Observer was set: check times itself for it
	logger         *slog.Logger
	now            func() time.Time
	noStore        []string    // shared header value, never modified
	zeroLength     []string    // shared header value, never modified
	demo           []string    // demo accounts (lower case); nil in a normal run
	deviceSignIn   bool        // serve /device and its endpoints
	devices        deviceGuard // wrong user codes per session
}

// cookieSettings are the session cookie's attributes.
type cookieSettings struct {
	name   string
	domain string
	ttl    time.Duration
	secure bool
}

// New checks cfg and builds a Handler. Errors name the offending field.
func New(cfg Config) (*Handler, error) {
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	observed := cfg.Observer != nil
	cfg = withDefaults(cfg)
	sessions, err := newCodec(cfg.Keys, "session", cfg.CookieName, cfg.CookieTTL)
	if err != nil {
		return nil, fmt.Errorf("auth: Keys: %w", err)
	}
	nonces, err := newCodec(cfg.Keys, "nonce", nonceCookieName(cfg.CookieSecure), nonceTTL)
	if err != nil {
		return nil, fmt.Errorf("auth: Keys: %w", err)
	}
	redirects, err := newRedirectPolicy(cfg.RedirectDomains, !cfg.CookieSecure)
	if err != nil {
		return nil, fmt.Errorf("auth: RedirectDomains: %w", err)
	}
	var v *verifier // nil in demo mode: no Google
	if len(cfg.DemoAccounts) == 0 {
		if v, err = newVerifier(cfg.Context, cfg.HTTPClient, cfg.ClientID, cfg.HostedDomain, cfg.Now, cfg.Observer.KeyFetchFailed); err != nil {
			return nil, fmt.Errorf("auth: token verifier: %w", err)
		}
	}
	csrf, err := hkdf.Key(sha256.New, cfg.Keys[0], nil, "doorman csrf hmac-sha256", 32)
	if err != nil {
		return nil, fmt.Errorf("auth: Keys: %w", err)
	}
	return &Handler{
		store: cfg.Store, states: newSessionStates(cfg.Store, cfg.SessionIdle, cfg.Logger, cfg.Now), csrf: csrf,
		budgetZone: cfg.BudgetZone, budgetFailOpen: cfg.BudgetFailOpen, tokenMaxTTL: cfg.TokenMaxTTL,
		demo: demoAccounts(cfg.DemoAccounts), deviceSignIn: cfg.DeviceSignIn,
		clientID: cfg.ClientID, allow: cfg.Allowlist, sessions: sessions, nonces: nonces,
		verified: newVerifiedCache(maxVerifiedSessions),
		verifier: v, redirects: redirects, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), publicOrigin: originOf(cfg.PublicURL),
		cookie:   cookieSettings{cfg.CookieName, cfg.CookieDomain, cfg.CookieTTL, cfg.CookieSecure},
		observer: cfg.Observer, observed: observed, logger: cfg.Logger, now: cfg.Now, noStore: []string{"no-store"}, zeroLength: []string{"0"},
	}, nil
}

// checkConfig rejects a Config that cannot work, naming the field.
func checkConfig(cfg Config) error {
	switch {
	case len(cfg.DemoAccounts) > 0:
		if err := checkDemo(cfg); err != nil {
			return err
		}
	case strings.TrimSpace(cfg.ClientID) == "":
		return errors.New("auth: ClientID is required")
	}
	switch {
	case cfg.Allowlist == nil:
		return errors.New("auth: Allowlist is required")
	case cfg.Store == nil:
		return errors.New("auth: Store is required")

	case len(cfg.Keys) == 0:
		return errors.New("auth: Keys: at least one key is required")
	}
	return CheckSettings(cfg)
}

// SettingError reports a Config field whose value cannot work.
type SettingError struct {
	Field string // the Config field, e.g. "RedirectDomains"
	Err   error
}

func (e *SettingError) Error() string { return "auth: " + e.Field + ": " + e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// CheckSettings checks the fields that come from configuration — CookieTTL,
// SessionIdle, TokenMaxTTL,
// CookieName with its Domain and Secure, CookieDomain (a domain name, not a
// public suffix), PublicURL and RedirectDomains (no public suffix either) —
// without side effects, so that a caller can refuse a bad setting before it
// loads keys or files. New runs the same checks. Errors are *SettingError.
func CheckSettings(cfg Config) error {
	if cfg.CookieTTL <= 0 {
		return &SettingError{"CookieTTL", fmt.Errorf("must be positive, got %s", cfg.CookieTTL)}
	}
	if cfg.SessionIdle < 0 || cfg.SessionIdle > 0 && cfg.SessionIdle < minSessionIdle {
		return &SettingError{"SessionIdle", fmt.Errorf("must be 0 (off) or at least %s, got %s", minSessionIdle, cfg.SessionIdle)}
	}
	if cfg.TokenMaxTTL < 0 || cfg.TokenMaxTTL > 0 && cfg.TokenMaxTTL < minTokenMaxTTL {
		return &SettingError{"TokenMaxTTL", fmt.Errorf("must be at least %s (a day), got %s", minTokenMaxTTL, cfg.TokenMaxTTL)}
	}
	if err := checkCookieName(cfg.CookieName, cfg.CookieDomain, cfg.CookieSecure); err != nil {
		return &SettingError{"CookieName", err}
	}
	if err := checkCookieDomain(cfg.CookieDomain); err != nil {
		return &SettingError{"CookieDomain", err}
	}
	if cfg.PublicURL != "" {
		if err := checkPublicURL(cfg.PublicURL); err != nil {
			return &SettingError{"PublicURL", err}
		}
	}
	if _, err := newRedirectPolicy(cfg.RedirectDomains, !cfg.CookieSecure); err != nil {
		return &SettingError{"RedirectDomains", err}
	}
	if cfg.DeviceSignIn && cfg.PublicURL == "" {
		return &SettingError{"DeviceSignIn", errors.New("needs PublicURL, the address the terminal shows")}
	}
	return nil
}

// checkCookieName enforces RFC 6265 token syntax and the browser rules for
// the __Secure- and __Host- prefixes, which browsers otherwise silently drop.
func checkCookieName(name, domain string, secure bool) error {
	if name == "" || strings.IndexFunc(name, notCookieTokenRune) >= 0 {
		return fmt.Errorf("invalid cookie name %q", name)
	}
	if strings.HasPrefix(name, "__Secure-") && !secure {
		return fmt.Errorf("%q needs the Secure attribute", name)
	}
	if strings.HasPrefix(name, "__Host-") && (!secure || domain != "") {
		return fmt.Errorf("%q needs the Secure attribute and no cookie domain", name)
	}
	return nil
}

// notCookieTokenRune reports runes not allowed in a cookie name.
func notCookieTokenRune(r rune) bool {
	return r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r)
}

// checkPublicURL accepts an absolute http(s) URL with no query, fragment or user-info.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute http(s) base URL", raw)
	}
	return nil
}

// withDefaults fills the "nil means" fields.
func withDefaults(cfg Config) Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport, Timeout: 10 * time.Second}
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	if cfg.TokenMaxTTL == 0 {
		cfg.TokenMaxTTL = defaultTokenMaxTTL
	}
	if cfg.BudgetZone == nil {
		cfg.BudgetZone = time.UTC
	}
	cfg.HostedDomain = strings.TrimSpace(cfg.HostedDomain)
	return cfg
}

// Run keeps h's view of the store current until ctx is done: the sessions
// ended (here, on another doorman or by the admin commands), the last use
// of each session, and with SessionIdle the idle sessions it ends. Call it
// once, in a goroutine of its own. h answers /readyz with 503 until it has
// read the store once.
func (h *Handler) Run(ctx context.Context) { h.states.run(ctx) }

// Ready reports whether h has read the store's ended sessions once.
func (h *Handler) Ready() bool { return h.states.ready.Load() }

// originOf is the origin (scheme://host[:port]) of the URL raw, or "".
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
