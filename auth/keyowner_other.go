//go:build !unix

package auth

import "io/fs"

// fileOwner reports no owner where files have no Unix uid: the owner check
// is skipped there.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
