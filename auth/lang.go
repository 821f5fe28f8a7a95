package auth

// The page language a visitor picks (a ?hl= link, such as the language
// links at the foot of every page) is remembered in a small cookie, so that
// it survives what drops the query: nginx's redirect to /login, the POST to
// /callback, the 403 page, the signed-in page, signing out. An ?hl= cannot
// ride along instead: nginx passes rd unescaped, and everything after it,
// "&hl=" included, belongs to rd.

import (
	"net/http"

	"doorman/templates"
)

// LanguageCookieName is the cookie that remembers the page language a
// visitor picked. It holds one supported language tag ("en", "zh-CN", "ko")
// and no identity.
const LanguageCookieName = "doorman-hl"

// languageCookieMaxAge is how long the choice is kept: a year, in seconds.
const languageCookieMaxAge = 365 * 24 * 60 * 60

// maxLanguageCookies bounds the same-name cookies savedLanguage looks at.
const maxLanguageCookies = 4

// languageCookie returns the Set-Cookie that remembers lang. Its value is
// lang.Tag, one of templates.Languages(), never text from a request.
//
// It has the session cookie's scope: host-only, or Config.CookieDomain when
// that is set, so that one choice holds wherever one sign-in does, and a
// site on that domain may set it for its visitors (Domain=.example.com;
// Path=/) to have doorman's pages speak the site's language. A sibling
// site that sets it can change no more than the language, which any link
// with ?hl= can too. It is Secure as the session cookie is, SameSite=Lax,
// and not HttpOnly: it is no secret, and a site's own script may set it.
func (h *Handler) languageCookie(lang templates.Lang) *http.Cookie {
	c := h.cookie.newCookie(LanguageCookieName, lang.Tag, "/", h.cookie.domain, languageCookieMaxAge)
	c.HttpOnly = false
	return c
}

// savedLanguage returns the language r's language cookie remembers, and
// false when it carries none that doorman's pages are written in. Of
// several such cookies (a host-only one and a domain one, say) the last of
// the first four counts: browsers send the newest last.
func savedLanguage(r *http.Request) (templates.Lang, bool) {
	var saved templates.Lang
	found := false
	for i, c := range r.CookiesNamed(LanguageCookieName) {
		if i == maxLanguageCookies {
			break
		}
		if l, ok := templates.Supported(c.Value); ok {
			saved, found = l, true
		}
	}
	return saved, found
}
