package auth

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

const (
	// minKeyLen is the shortest secret accepted, in bytes after decoding.
	minKeyLen = 32
	// newKeyLen is the length of a secret doorman generates.
	newKeyLen = 64
)

// LoadOrCreateKeys reads the cookie secrets in path (see the README's "The
// secret file"). When the file does not exist it is created, mode 0600,
// holding one random 64-byte secret, and created is true. A file that group
// or others may read or write is refused: anyone who reads it can mint
// sessions. So is, as ssh refuses a private key, a file owned by a user
// other than the one doorman runs as (root's files excepted): its owner can
// rewrite the keys.
func LoadOrCreateKeys(path string) (keys [][]byte, created bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(path); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
		created = true
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("open secret file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("stat secret file %s: %w", path, err)
	}
	if err := checkKeyFileAccess(path, info); err != nil {
		return nil, false, err
	}
	keys, err = parseKeys(f)
	if err != nil {
		return nil, false, fmt.Errorf("secret file %s: %w", path, err)
	}
	return keys, created, nil
}

// checkKeyFileAccess refuses a secret file that group or others may use,
// or that belongs to a user other than doorman's or root.
func checkKeyFileAccess(path string, info fs.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("secret file %s has mode %04o: group and others must have no access (chmod 600)", path, perm)
	}
	if owner, ok := fileOwner(info); ok && !ownerAllowed(owner, os.Geteuid()) {
		return fmt.Errorf("secret file %s is owned by uid %d, not by doorman's user (uid %d) or root: its owner can change the keys (chown it to uid %d)",
			path, owner, os.Geteuid(), os.Geteuid())
	}
	return nil
}

// ownerAllowed reports whether doorman, running as euid, may trust a key
// file that owner owns: its own, or root's (who could change anything anyway).
func ownerAllowed(owner, euid int) bool { return owner == euid || owner == 0 }

// createKeyFile writes a new secret file with one random key, failing if
// the file already exists (another replica may have won the race).
func createKeyFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create secret file: %w", err)
	}
	key := make([]byte, newKeyLen)
	rand.Read(key) // never fails (crypto/rand panics on failure)
	_, err = fmt.Fprintf(f, "# doorman cookie keys: the first line signs, every line verifies.\n%s\n",
		base64.StdEncoding.EncodeToString(key))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write secret file %s: %w", path, err)
	}
	return nil
}

// parseKeys reads one base64 secret per line (standard or URL-safe
// alphabet, padding optional; blank lines and # comments ignored). Every
// secret must decode to at least 32 bytes; at least one is required.
func parseKeys(r io.Reader) ([][]byte, error) {
	var keys [][]byte
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read: %w", err)
		}
		if text := strings.TrimSpace(line); text != "" && !strings.HasPrefix(text, "#") {
			key, kerr := decodeKey(text)
			if kerr != nil {
				return nil, fmt.Errorf("line %d: %w", n, kerr)
			}
			keys = append(keys, key)
		}
		if err != nil {
			break
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

// decodeKey decodes one secret in any of the four base64 variants.
func decodeKey(text string) ([]byte, error) {
	text = strings.TrimRight(text, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(text, "-_") {
		enc = base64.RawURLEncoding
	}
	key, err := enc.DecodeString(text)
	if err != nil {
		return nil, errors.New("not base64") // the secret itself is never echoed
	}
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("key is %d bytes, want at least %d", len(key), minKeyLen)
	}
	return key, nil
}

// CheckKeyFile reports on the secret file at path for doorman --check,
// naming it by label in problems, and reports whether it is usable. A
// missing file is fine: doorman will create it. It writes nothing to disk.
func CheckKeyFile(path, label string, out io.Writer) bool {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "keys: %s does not exist; doorman will create it (mode 0600)\n", path)
		return true
	}
	keys, _, err := LoadOrCreateKeys(path)
	if err != nil {
		fmt.Fprintf(out, "keys: %s: %v\n", label, err)
		return false
	}
	fmt.Fprintf(out, "keys: %s: %d key(s)\n", path, len(keys))
	return true
}
