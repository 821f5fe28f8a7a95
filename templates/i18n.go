package templates

import (
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// Lang is one language doorman's pages are written in.
type Lang struct {
	Tag  string // BCP 47 tag, for lang= and Content-Language: "en", "zh-CN", "ko"
	Name string // the language's name in itself, for the language links
	GSI  string // locale for Google's sign-in button (data-locale): "en", "zh_CN", "ko"
	msgs map[string]string
}

// maxAcceptLanguage bounds the Accept-Language header parsed; a longer one
// is ignored. Browsers send a few dozen bytes.
const maxAcceptLanguage = 1024

// languages lists the supported languages, the default (English) first.
func languages() []Lang {
	return []Lang{
		{Tag: "en", Name: "English", GSI: "en", msgs: messagesEN},
		{Tag: "zh-CN", Name: "简体中文", GSI: "zh_CN", msgs: messagesZH},
		{Tag: "ko", Name: "한국어", GSI: "ko", msgs: messagesKO},
	}
}

// Languages returns every supported language, the default (English) first.
func Languages() []Lang { return languages() }

// matcher matches requested languages to the supported ones.
var matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese, language.Korean})

// maxTag bounds a language tag doorman looks at (?hl=, the saved choice):
// the supported ones are a few bytes; a longer value is ignored unparsed.
const maxTag = 35

// Negotiate picks the page language: hl (a ?hl= override, any BCP 47 tag)
// when it names a supported language, else saved (the choice remembered in
// the visitor's language cookie) when it does, else the best match for the
// Accept-Language header (q-values honoured, q=0 excluded), else English.
func Negotiate(hl, saved, acceptLanguage string) Lang {
	if l, ok := Supported(hl); ok {
		return l
	}
	if l, ok := Supported(saved); ok {
		return l
	}
	langs := languages()
	tags := parseAcceptLanguage(acceptLanguage)
	if len(tags) == 0 {
		return langs[0]
	}
	if _, i, conf := matcher.Match(tags...); conf != language.No {
		return langs[i]
	}
	return langs[0]
}

// Supported returns the supported language that the BCP 47 tag names
// ("ko", "ko-KR", "zh-Hans", "zh_CN"), and false for an empty, malformed,
// overlong or unsupported one. Whatever tag says, the Lang's own Tag is
// what a caller may write back (a cookie, a link): never the raw text.
func Supported(tag string) (Lang, bool) {
	if tag == "" || len(tag) > maxTag {
		return Lang{}, false
	}
	t, err := language.Parse(tag)
	if err != nil {
		return Lang{}, false
	}
	if _, i, conf := matcher.Match(t); conf != language.No {
		return languages()[i], true
	}
	return Lang{}, false
}

// parseAcceptLanguage returns the tags of an Accept-Language header, most
// wanted first. A malformed entry is skipped rather than spoiling the rest.
func parseAcceptLanguage(h string) []language.Tag {
	if h == "" || len(h) > maxAcceptLanguage {
		return nil
	}
	if tags, _, err := language.ParseAcceptLanguage(h); err == nil {
		return tags
	}
	type weighted struct {
		tag language.Tag
		q   float64
	}
	var ws []weighted
	for entry := range strings.SplitSeq(h, ",") {
		tags, q, err := language.ParseAcceptLanguage(entry)
		if err == nil && len(tags) == 1 {
			ws = append(ws, weighted{tags[0], float64(q[0])})
		}
	}
	slices.SortStableFunc(ws, func(a, b weighted) int { return -cmpFloat(a.q, b.q) })
	out := make([]language.Tag, len(ws))
	for i, w := range ws {
		out[i] = w.tag
	}
	return out
}

// cmpFloat compares a and b.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lookup returns l's text for key.
func (l Lang) lookup(key string) (string, error) {
	msg, ok := l.msgs[key]
	if !ok {
		return "", fmt.Errorf("templates: no message %q in %s", key, l.Tag)
	}
	return msg, nil
}

// fill replaces {0}, {1}, ... in msg with args, in one pass, so an
// argument's own text is never scanned for placeholders.
func fill(msg string, args []string) string {
	if len(args) == 0 {
		return msg
	}
	pairs := make([]string, 0, 2*len(args))
	for i, a := range args {
		pairs = append(pairs, "{"+strconv.Itoa(i)+"}", a)
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

// text is the template function "t": the message for key as plain text,
// with args filled in. html/template escapes it for wherever it lands.
func text(l Lang, key string, args ...any) (string, error) {
	msg, err := l.lookup(key)
	strs := make([]string, len(args))
	for i, a := range args {
		strs[i] = fmt.Sprint(a)
	}
	return fill(msg, strs), err
}

// richText is the template function "tb": the message for key as HTML, its
// text escaped and each argument escaped and set in <strong>. For body
// text only, not attributes.
func richText(l Lang, key string, args ...any) (template.HTML, error) {
	msg, err := l.lookup(key)
	strs := make([]string, len(args))
	for i, a := range args {
		strs[i] = "<strong>" + template.HTMLEscapeString(fmt.Sprint(a)) + "</strong>"
	}
	return template.HTML(fill(template.HTMLEscapeString(msg), strs)), err
}

// joinLists is the template function "lists": list names as people see
// them, joined in the page's language.
func joinLists(l Lang, names []string) (string, error) {
	shown := make([]string, len(names))
	for i, n := range names {
		var err error
		if shown[i], err = listName(l, n); err != nil {
			return "", err
		}
	}
	sep, err := l.lookup("list.sep")
	return strings.Join(shown, sep), err
}

// listName is how a list is shown to people: the main list has no name of
// its own, so it is called "main" in the page's language.
func listName(l Lang, name string) (string, error) {
	if name == "" {
		return text(l, "list.main")
	}
	return name, nil
}
