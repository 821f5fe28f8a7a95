package main

import (
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"doorman/auth"
	"doorman/static"
)

// contentSecurityPolicy allows exactly what Google's sign-in button needs.
const contentSecurityPolicy = "default-src 'none'; " +
	"script-src https://accounts.google.com/gsi/client; " +
	"frame-src https://accounts.google.com/gsi/; " +
	"connect-src https://accounts.google.com/gsi/; " +
	"style-src 'self' https://accounts.google.com/gsi/style; " +
	"img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// newServer lists every route, middleware and the error handler. /auth
// gets no middleware but panic recovery: it runs on every request nginx
// serves.
func newServer(h *auth.Handler, ready func() bool, pages *template.Template, logger *slog.Logger) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect() // no client-sent header is trusted for the client address
	e.Renderer = &echo.TemplateRenderer{Template: pages}
	e.HTTPErrorHandler = errorHandler(logger)
	e.Use(recoverer(logger))

	e.Match([]string{http.MethodGet, http.MethodHead}, "/auth", h.Check)
	e.GET("/healthz", healthz)
	e.GET("/readyz", readyz(ready))

	page := []echo.MiddlewareFunc{requestLogger(logger), pageHeaders}
	e.GET("/", h.Home, page...)
	e.GET("/login", h.Login, page...)
	e.POST("/callback", h.Callback, page...)
	e.GET("/logout", h.Logout, page...)
	e.StaticFS("/static", static.FS)
	return e
}

// trustIPHeader makes c.RealIP() read header, which nginx sets (for
// example "proxy_set_header X-Real-IP $remote_addr;"). Only the last
// address in it counts: that is the one nginx added. Without a header the
// peer address is used and no client-sent header is trusted.
func trustIPHeader(e *echo.Echo, header string) {
	if header == "" {
		return
	}
	e.IPExtractor = func(r *http.Request) string {
		v := r.Header.Values(header)
		if len(v) == 0 {
			return echo.ExtractIPDirect()(r)
		}
		last := v[len(v)-1]
		last = strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
		if net.ParseIP(last) == nil {
			return echo.ExtractIPDirect()(r)
		}
		return last
	}
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

// pageHeaders sets the security headers every HTML page carries.
func pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		setPageHeaders(c.Response().Header())
		return next(c)
	}
}

// setPageHeaders sets CSP, framing, referrer and sniffing protections.
func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
}

// errorHandler is the one place errors become responses: /auth gets an
// empty 401 (so even a panic never lets anyone in), pages get error.html.
// The internal error is logged, never sent.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
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
		if c.Request().URL.Path == "/auth" {
			c.Response().Header().Set("Cache-Control", "no-store")
			_ = c.NoContent(http.StatusUnauthorized)
			return
		}
		renderError(c, code, logger)
	}
}

// renderError writes error.html for code, or the bare status text.
func renderError(c echo.Context, code int, logger *slog.Logger) {
	setPageHeaders(c.Response().Header())
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if err := c.Render(code, "error.html", auth.Page{Status: code}); err != nil {
		logger.Error("render error page", "err", err)
		_ = c.String(code, http.StatusText(code))
	}
}

// recoverer turns a panic into an error for errorHandler, logged once.
func recoverer(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			logger.Error("panic", "path", c.Request().URL.Path, "err", err, "stack", string(stack))
			return err
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
