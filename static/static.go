// Package static holds doorman's stylesheet and icon, embedded in the binary.
package static

import "embed"

// FS holds the static assets, served under /static/.
//
//go:embed *.css *.svg
var FS embed.FS
