package auth

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"doorman/templates"
)

// view is what every template receives: the handler's Page plus what
// only the presentation needs.
type view struct {
	Page
	Lang      templates.Lang // the page's language
	Demo      bool           // demo mode: the DEMO banner on every page
	Languages []langLink     // links to this page in every language
	TitleKey  string         // message key of the page title (see Titled)
	From      string         // the page a shared block is shown on, when it matters (see On)
}

// On returns v marked as shown on the page from, for a shared block that
// leads back there: {{template "token_rows" (.On "sessions")}}.
func (v view) On(from string) view {
	v.From = from
	return v
}

// Titled returns v with its title's message key set; a page passes it to
// layout.html's "head": {{template "head" (.Titled "login.title")}}.
func (v view) Titled(key string) view {
	v.TitleKey = key
	return v
}

// ErrorKind is the kind of error page error.html shows for v.Status: the
// statuses with their own text ("503store" when the store could not be
// reached, "503" when Google could not), else "400" for any 4xx and "500"
// for the rest.
func (v view) ErrorKind() string {
	switch s := v.Status; {
	case s == http.StatusServiceUnavailable && v.StoreDown:
		return "503store"
	case s == http.StatusUnauthorized, s == http.StatusNotFound, s == http.StatusTooManyRequests, s == http.StatusServiceUnavailable:
		return strconv.Itoa(s)
	case s >= 400 && s < 500:
		return "400"
	}
	return "500"
}

// langLink is one entry of a page's language links.
type langLink struct {
	Tag, Name, URL string
	Current        bool
}

// renderer renders doorman's pages in the visitor's language with the
// security policy each page needs. It is the one echo.Renderer.
type renderer struct {
	pages  *template.Template
	demo   bool
	policy pagePolicy
}

// Render executes the template name with data, which must be an Page.
func (r *renderer) Render(w io.Writer, name string, data any, c echo.Context) error {
	page, ok := data.(Page)
	if !ok {
		return fmt.Errorf("render %s: data is %T, want Page", name, data)
	}
	req := c.Request()
	saved, _ := savedLanguage(req)
	lang := templates.Negotiate(hlParam(req.URL.RawQuery), saved.Tag, req.Header.Get("Accept-Language"))
	hdr := c.Response().Header()
	hdr.Set("Content-Language", lang.Tag)
	hdr.Add("Vary", "Accept-Language, Cookie")
	hdr.Set("Content-Security-Policy", r.policy.forPage(name, r.demo))
	return r.pages.ExecuteTemplate(w, name, view{
		Page: page, Lang: lang, Demo: r.demo, Languages: languageLinks(req, page.SiteQuery, lang),
	})
}

// rememberLanguage is middleware for doorman's pages: a GET whose ?hl=
// names a supported language sets the language cookie to it (see
// languageCookie), whatever the page then answers, a redirect
// included. An unsupported or malformed hl changes nothing.
func rememberLanguage(h *Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				if l, ok := templates.Supported(hlParam(r.URL.RawQuery)); ok {
					http.SetCookie(c.Response(), h.languageCookie(l))
				}
			}
			return next(c)
		}
	}
}

// hlParam returns the ?hl= language override. Only parameters before rd
// count: nginx passes rd unescaped, so rd runs to the end of the query and
// an "&hl=" after it is part of rd.
func hlParam(rawQuery string) string { return queryParam(rawQuery, "hl") }

// languageLinks links the page in every language. A link keeps list and rd
// (siteQuery, already validated) and puts hl first, so an rd passed on
// unescaped stays last. A page that answered a POST links to /login.
func languageLinks(r *http.Request, siteQuery string, current templates.Lang) []langLink {
	path := "/login"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		path = localPath(r.URL.EscapedPath())
	}
	rest := ""
	if q := strings.TrimPrefix(siteQuery, "?"); q != "" {
		rest = "&" + q
	}
	var out []langLink
	for _, l := range templates.Languages() {
		out = append(out, langLink{Tag: l.Tag, Name: l.Name, URL: path + "?hl=" + l.Tag + rest, Current: l.Tag == current.Tag})
	}
	return out
}

// localPath is p if it is a path on this host ("/x", not "//x" or "/\x"),
// else "/login": a link built from a request path must not leave doorman.
func localPath(p string) string {
	if !singleSlash(p) {
		return "/login"
	}
	return p
}
