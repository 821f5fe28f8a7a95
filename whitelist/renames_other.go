//go:build !linux

package whitelist

// renameLog tells which fsnotify Create events are renames where the
// kernel says so (see renames_linux.go). Elsewhere it never knows, and
// every Create waits for the debounce.
type renameLog struct{}

func newRenameLog() *renameLog            { return nil }
func (*renameLog) add(string)             {}
func (*renameLog) wasRenamed(string) bool { return false }
func (*renameLog) close()                 {}
