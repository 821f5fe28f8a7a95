// Package templates holds doorman's HTML pages, embedded in the binary.
//
// Every page receives an auth.Page. layout.html defines the shared "head"
// and "foot" blocks.
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
	return template.New("pages").Funcs(template.FuncMap{"listName": listName}).ParseFS(FS, "*.html")
}

// listName is how a list is shown to people: the main list has no name.
func listName(name string) string {
	if name == "" {
		return "main"
	}
	return name
}
