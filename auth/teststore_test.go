package auth

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"doorman/auth/store"
)

// testStore opens a SQLite store in a new file of the test's own, closed
// when the test ends.
func testStore(t testing.TB) store.Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "doorman.db"), store.Options{})
}

// openStore opens the store at dsn (a SQLite file or a redis:// URL),
// closed when the test ends.
func openStore(t testing.TB, dsn string, o store.Options) store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), dsn, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// testSessionID is a well-formed session id, for cookies tests mint.
const testSessionID = "AAAAAAAAAAAAAAAAAAAAAA"

// base64RawURLStrict decodes s as unpadded base64url, refusing any other
// spelling of the same bytes.
func base64RawURLStrict(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// replaceWhitelist writes content to a new file and renames it onto path,
// as an admin's editor or a ConfigMap update does.
func replaceWhitelist(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
