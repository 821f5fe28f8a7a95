package auth

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"doorman/auth/store"
	"doorman/static"
)

// gsiSources is what Google's sign-in button needs, and all the login page
// loads from outside: its script, its iframes and their requests, its styles.
// The pages have no inline script or style at all, so no nonce is needed.
const gsiSources = "script-src https://accounts.google.com/gsi/client; " +
	"frame-src https://accounts.google.com/gsi/; " +
	"connect-src https://accounts.google.com/gsi/; " +
	"style-src 'self' https://accounts.google.com/gsi/style; "

// pagePolicy holds the Content-Security-Policy values of doorman's pages.
type pagePolicy struct {
	page  string // every page: own stylesheet and icon only
	login string // the Google login page: page plus Google's sign-in button
}

// newPagePolicy builds the policies. Forms may post to doorman itself and,
// because browsers check form-action on the redirect after a POST, lead on
// to the sites rd may name (redirectSources).
func newPagePolicy(redirectSources []string) pagePolicy {
	formAction := strings.Join(append([]string{"'self'"}, redirectSources...), " ")
	tail := "img-src 'self'; form-action " + formAction + "; base-uri 'none'; frame-ancestors 'none'"
	return pagePolicy{
		page:  "default-src 'none'; style-src 'self'; " + tail,
		login: "default-src 'none'; " + gsiSources + tail,
	}
}

// forPage returns the policy for the template name.
func (p pagePolicy) forPage(name string, demo bool) string {
	if name == "login.html" && !demo {
		return p.login
	}
	return p.page
}

// ServerConfig configures NewServer. The zero value of every field but
// Pages is a working default.
type ServerConfig struct {
	Pages     *template.Template // the parsed templates (templates.Parse); required
	Ready     func() bool        // whether the whitelist is loaded, for /readyz (with Handler.Ready); nil means it is
	RateLimit float64            // requests per second per client to each limited group of routes (see NewServer); 0 is off
	Clock     func() time.Time   // the rate limits' clock; nil means time.Now
	IPTrust   IPTrust            // where the client address comes from; the zero value trusts no header
	// LoopbackHostsOnly refuses requests whose Host is no loopback name
	// (demo mode: see loopbackHostsOnly).
	LoopbackHostsOnly bool
}

// NewServer is doorman's HTTP surface, and the one place that lists every
// route, its middleware, the error handler and the pages' security
// headers. /auth gets no middleware but panic recovery: it runs on every
// request nginx serves.
func NewServer(h *Handler, cfg ServerConfig) http.Handler {
	logger := h.logger
	ready := h.Ready // the store was read once
	if cfg.Ready != nil {
		ready = func() bool { return cfg.Ready() && h.Ready() }
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIP(cfg.IPTrust)
	policy := newPagePolicy(h.redirectSources())
	e.Renderer = &renderer{pages: cfg.Pages, demo: h.inDemo(), policy: policy}
	e.HTTPErrorHandler = errorHandler(logger, policy.page)
	// Panic recovery on every route, not with e.Use: Echo v4 wraps a
	// handler in its middleware anew on every request, which allocates.
	// /auth, which runs on every request nginx serves, is wrapped once here.
	rec := recoverer(logger)

	e.Match([]string{http.MethodGet, http.MethodHead}, "/auth", rec(h.check))
	// Echo answers OPTIONS itself with 204, which nginx would read as
	// "allow"; every other method already ends in errorHandler's 401.
	e.OPTIONS("/auth", func(echo.Context) error { return echo.ErrUnauthorized }, rec)
	e.GET("/healthz", healthz, rec)
	e.GET("/readyz", readyz(ready), rec)

	lang := rememberLanguage(h)
	page := []echo.MiddlewareFunc{rec, requestLogger(logger), pageHeaders(policy.page), lang}
	// Three limiters, each its own allowance per client: signing in in a
	// browser; programs (device sign-in, whose polling must never spend a
	// visitor's sign-ins, and the CLI's logout); and making tokens, which a
	// script must not do without end.
	signInLimit := rateLimit(cfg.RateLimit, cfg.Clock, refusePage)
	programLimit := rateLimit(cfg.RateLimit, cfg.Clock, refuseJSON)
	tokenLimit := rateLimit(cfg.RateLimit, cfg.Clock, refusePage)
	signIn := []echo.MiddlewareFunc{rec, signInLimit, requestLogger(logger), pageHeaders(policy.page), lang}
	makingTokens := []echo.MiddlewareFunc{rec, tokenLimit, requestLogger(logger), pageHeaders(policy.page), lang}
	home := h.home
	if h.inDemo() {
		home = h.demoHome // the demo's start page for a visitor not signed in
	}
	e.GET("/", home, page...)
	e.GET("/login", h.login, signIn...)
	e.GET("/logout", h.logout, page...)
	e.GET("/sessions", h.sessionsPage, page...)
	e.GET("/budget", h.budgetPage, page...)
	e.POST("/sessions/end", h.endSessionPost, page...)
	e.POST("/sessions/end-all", h.endAllPost, page...)
	e.GET("/tokens", h.tokensPage, page...)
	e.POST("/tokens", h.makeTokenPost, makingTokens...)
	e.POST("/tokens/end", h.endTokenPost, page...)
	if h.inDemo() {
		// Demo mode only (doorman --demo): sign-in by button, and pages
		// guarded by the /auth decision so the effect shows without nginx.
		e.POST("/demo/signin", h.demoSignIn, signIn...)
		e.GET("/demo/", h.demoPage, page...)
		e.GET("/demo/:list/", h.demoPage, page...)
		e.POST("/demo/:list/ask", h.demoAsk, page...)
	} else {
		e.POST("/callback", h.callback, signIn...)
	}
	e.POST("/tokens/revoke", h.revokeToken, rec, programLimit)
	if h.deviceSignIn {
		e.POST("/device/code", h.deviceCode, rec, programLimit)
		e.POST("/device/token", h.deviceToken, rec, programLimit)
		e.GET("/device", h.devicePage, page...)
		e.POST("/device", h.deviceDecide, page...)
	}
	e.GET("/static/*", echo.StaticDirectoryHandler(static.FS, true), rec, staticHeaders)
	if cfg.LoopbackHostsOnly {
		return loopbackHostsOnly(e)
	}
	return e
}

// healthz handles "GET /healthz": 200 while the process serves.
func healthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

// readyz handles "GET /readyz": 200 once the whitelist and keys are loaded.
func readyz(ready func() bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !ready() {
			return c.String(http.StatusServiceUnavailable, "not ready\n")
		}
		return c.String(http.StatusOK, "ready\n")
	}
}

// pageHeaders sets the security headers every page route carries; the
// renderer replaces the CSP with the one the rendered page needs.
func pageHeaders(csp string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			setPageHeaders(c.Response().Header(), csp)
			return next(c)
		}
	}
}

// staticHeaders lets browsers keep the stylesheet and icon for an hour and
// forbids sniffing them as anything else.
func staticHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		return next(c)
	}
}

// setPageHeaders sets CSP, framing, referrer and sniffing protections.
func setPageHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" with the pages' own form POSTs, which then could not
	// be told from a cross-site one. Other sites still get no Referer.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
}

// errorHandler is the one place errors become responses: /auth gets an
// empty 401 (so even a panic never lets anyone in), pages get error.html.
// The internal error is logged, never sent.
func errorHandler(logger *slog.Logger, csp string) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code := http.StatusInternalServerError
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
		}
		level := slog.LevelDebug
		if code >= 500 && code != http.StatusServiceUnavailable {
			level = slog.LevelError
		}
		logger.Log(c.Request().Context(), level, "request failed", "path", c.Request().URL.Path, "status", code, "err", err)
		if c.Path() == "/auth" { // the route, so that a panic or a 405 there is still an empty 401
			c.Response().Header().Set("Cache-Control", "no-store")
			_ = c.NoContent(http.StatusUnauthorized)
			return
		}
		renderError(c, Page{Status: code, StoreDown: errors.Is(err, store.ErrUnavailable)}, csp, logger)
	}
}

// renderError writes error.html for p.Status, or the bare status text.
func renderError(c echo.Context, p Page, csp string, logger *slog.Logger) {
	code := p.Status
	setPageHeaders(c.Response().Header(), csp)
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if err := c.Render(code, "error.html", p); err != nil {
		logger.Error("render error page", "err", err)
		_ = c.String(code, http.StatusText(code))
	}
}

// recoverer logs a panic once, with the panicking goroutine's stack, and
// hands errorHandler a bare 500 (an empty 401 for /auth), so the panic's
// text is neither logged twice nor sent.
func recoverer(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			logger.Error("panic", "path", c.Request().URL.Path, "err", err, "stack", string(stack))
			return echo.NewHTTPError(http.StatusInternalServerError)
		},
	})
}

// requestLogger logs each page request at debug level: nginx keeps the
// access log; doorman logs events.
func requestLogger(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogURIPath: true, LogStatus: true, LogLatency: true, LogRemoteIP: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			logger.LogAttrs(c.Request().Context(), slog.LevelDebug, "request",
				slog.String("method", v.Method), slog.String("path", v.URIPath), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("remote_ip", v.RemoteIP))
			return nil
		},
	})
}
