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
func funcs() template.FuncMap {
	return template.FuncMap{"t": text, "tb": richText, "listName": listName, "lists": joinLists}
}
