// Package templates holds doorman's HTML pages, embedded in the binary, and
// their text in every supported language.
//
// Every page receives a value with the fields of an auth.Page plus Lang
// (the page's Lang), Demo, Languages and TitleKey; layout.html defines the
// shared "head" and "foot" blocks. Text never appears in a template: it is
// looked up by key with "t" (plain text) or "tb" (HTML, arguments in
// <strong>), so each language's strings live in one file,
// messages_<lang>.go.
package templates

import (
	"embed"
	"html/template"
	"strings"
	"time"
	"unicode/utf8"
)

// FS holds the page templates.
//
//go:embed *.html
var FS embed.FS

// Parse parses every embedded page with doorman's template functions.
func Parse() (*template.Template, error) {
	return template.New("pages").Funcs(funcs()).ParseFS(FS, "*.html")
}

// funcs returns the template functions the pages use:
//
//	t        Lang, key, args...  the message as text
//	tb       Lang, key, args...  the message as HTML, arguments in <strong>
//	listName Lang, list          a list as people see it ("" is the main list)
//	lists    Lang, []list        several lists, joined in the language's way
//	browser  Lang, User-Agent    the browser as people name it: "Chrome 156 on Linux"
//	minute   time.Time           the time in UTC to the minute: "2026-05-03 14:07 UTC"
func funcs() template.FuncMap {
	return template.FuncMap{"t": text, "tb": richText, "listName": listName, "lists": joinLists, "browser": browser, "minute": minute}
}

// minute is the template function "minute": t in UTC, to the minute, in a
// form every language reads alike.
func minute(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// maxBrowser is how many characters of a User-Agent that "browser" does
// not recognise it shows; the rest is cut.
const maxBrowser = 60

// browser is the template function "browser": a User-Agent as people name
// it, "Chrome 156 on Linux", "Firefox 128 on Windows", "curl". One it does
// not recognise is shown as it is, cut to maxBrowser characters.
func browser(l Lang, ua string) (string, error) {
	name, system := userAgent(ua)
	switch {
	case strings.TrimSpace(ua) == "":
		return text(l, "sessions.browser_unknown")
	case name == "":
		return shorten(ua, maxBrowser), nil
	case system == "":
		return name, nil
	}
	return text(l, "sessions.browser_on", name, system)
}

// browsers are the tokens that name a browser in a User-Agent, in the
// order to look for them: those built on Chrome or Safari name both, so
// their own token comes first. need, when set, must appear too.
var browsers = []struct{ token, name, need string }{
	{"Edg/", "Edge", ""}, {"EdgA/", "Edge", ""}, {"EdgiOS/", "Edge", ""},
	{"OPR/", "Opera", ""}, {"SamsungBrowser/", "Samsung Internet", ""},
	{"Whale/", "Whale", ""}, {"YaBrowser/", "Yandex Browser", ""}, {"Vivaldi/", "Vivaldi", ""},
	{"QQBrowser/", "QQ Browser", ""}, {"MicroMessenger/", "WeChat", ""},
	{"Firefox/", "Firefox", ""}, {"FxiOS/", "Firefox", ""},
	{"HeadlessChrome/", "Headless Chrome", ""}, {"CriOS/", "Chrome", ""}, {"Chromium/", "Chromium", ""}, {"Chrome/", "Chrome", ""},
	{"Version/", "Safari", "Safari/"}, // Safari gives its version in Version/
}

// systems are the tokens that name an operating system, in the order to
// look for them: Android's User-Agent says Linux too, an iPhone's Mac OS X.
var systems = []struct{ token, name string }{
	{"Windows", "Windows"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
	{"CrOS", "ChromeOS"}, {"Macintosh", "macOS"}, {"Mac OS X", "macOS"},
	{"Linux", "Linux"}, {"FreeBSD", "FreeBSD"}, {"OpenBSD", "OpenBSD"},
}

// userAgent returns the browser in ua with its major version ("Chrome
// 156"), or a program's own name ("curl"), and the operating system
// ("Linux"); "" for what it does not recognise.
func userAgent(ua string) (name, system string) {
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	for _, b := range browsers {
		if _, after, ok := strings.Cut(ua, b.token); ok && strings.Contains(ua, b.need) {
			if v := leadingDigits(after); v != "" {
				return b.name + " " + v, system
			}
			return b.name, system
		}
	}
	return program(ua), system
}

// program returns the name of a program that is no browser from its
// User-Agent, the first word's part before "/": "curl/8.5.0" is "curl".
// A browser's "Mozilla/5.0", or a first word that is no name/version, is "".
func program(ua string) string {
	word, _, _ := strings.Cut(ua, " ")
	name, version, ok := strings.Cut(word, "/")
	if !ok || name == "Mozilla" || len(name) > 30 || leadingDigits(version) == "" {
		return ""
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return ""
		}
	}
	return name
}

// leadingDigits returns the digits s starts with: a version's major number.
func leadingDigits(s string) string {
	i := 0
	for i < len(s) && i < 6 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// shorten returns s, made valid UTF-8, cut to at most n characters with
// "…" marking the cut.
func shorten(s string, n int) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
