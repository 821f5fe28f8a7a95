package auth

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKeysCreates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "doorman.key")
	keys, created, err := LoadOrCreateKeys(path)
	if err != nil || !created || len(keys) != 1 || len(keys[0]) != newKeyLen {
		t.Fatalf("LoadOrCreateKeys(missing) = %d keys, created=%v, err=%v; want 1 key of %d bytes, created", len(keys), created, err, newKeyLen)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("created mode = %04o, want 0600", perm)
	}
	again, created, err := LoadOrCreateKeys(path)
	if err != nil || created || string(again[0]) != string(keys[0]) {
		t.Errorf("second load = created %v, err %v, same key %v; want the same key, not created", created, err, err == nil && string(again[0]) == string(keys[0]))
	}
}

func TestLoadOrCreateKeysRefusesOpenModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o640, 0o644, 0o604, 0o620} {
		path := filepath.Join(t.TempDir(), "doorman.key")
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(secret(7))+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadOrCreateKeys(path); err == nil || !strings.Contains(err.Error(), "mode") {
			t.Errorf("LoadOrCreateKeys(mode %04o) err = %v, want a mode error", mode, err)
		}
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k32 := secret(9)
	tests := []struct {
		name    string
		file    string
		want    int
		wantErr string
	}{
		{"standard padded", base64.StdEncoding.EncodeToString(k32), 1, ""},
		{"standard unpadded", base64.RawStdEncoding.EncodeToString(k32), 1, ""},
		{"url-safe", base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xfb\xff", 20))), 1, ""},
		{"url-safe unpadded", base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xfb\xff", 20))), 1, ""},
		{"comments and blanks", "# keys\n\n" + base64.StdEncoding.EncodeToString(k32) + "\r\n  \n" + base64.StdEncoding.EncodeToString(secret(8)) + "\n", 2, ""},
		{"too short", base64.StdEncoding.EncodeToString(k32[:31]), 0, "line 1: key is 31 bytes"},
		{"not base64", "not base64 at all!", 0, "line 1: not base64"},
		{"bad second line", base64.StdEncoding.EncodeToString(k32) + "\n***\n", 0, "line 2"},
		{"empty", "# nothing\n", 0, "no keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys, err := parseKeys(strings.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseKeys() err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(keys) != tt.want {
				t.Fatalf("parseKeys() = %d keys, %v; want %d", len(keys), err, tt.want)
			}
		})
	}
}

func TestParseKeysNeverEchoesSecret(t *testing.T) {
	t.Parallel()
	short := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	_, err := parseKeys(strings.NewReader(short))
	if err == nil || strings.Contains(err.Error(), short) {
		t.Errorf("parseKeys(short) err = %v; want an error that does not contain the secret", err)
	}
}

// TestLoadOrCreateKeysRefusesForeignOwner: like ssh, doorman refuses a key
// file that another user owns (root excepted), whatever its mode: that user
// could rewrite the keys and mint sessions.
func TestLoadOrCreateKeysRefusesForeignOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root (CI runs the tests as root)")
	}
	const otherUID = 4242
	tests := []struct {
		name     string
		uid      int
		wantErr  bool
		wantText string
	}{
		{"another user's file", otherUID, true, "owned by uid 4242"},
		{"root's own file", 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "doorman.key")
			if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(secret(7))+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, tt.uid, tt.uid); err != nil {
				t.Fatal(err)
			}
			keys, _, err := LoadOrCreateKeys(path)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), "chown") {
					t.Fatalf("LoadOrCreateKeys(file of uid %d) = %d keys, err %v; want an error containing %q and a chown hint", tt.uid, len(keys), err, tt.wantText)
				}
				return
			}
			if err != nil || len(keys) != 1 {
				t.Fatalf("LoadOrCreateKeys(file of uid %d) = %d keys, err %v; want 1 key", tt.uid, len(keys), err)
			}
		})
	}
}

func TestKeyFileOwnerAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		owner, euid int
		want        bool
	}{
		{1000, 1000, true},
		{0, 1000, true}, // root's file: root could change anything anyway
		{1001, 1000, false},
		{1000, 0, false}, // root runs doorman on a user's file: that user holds the keys
		{0, 0, true},
		{65532, 65532, true},
	}
	for _, tt := range tests {
		if got := ownerAllowed(tt.owner, tt.euid); got != tt.want {
			t.Errorf("ownerAllowed(owner %d, euid %d) = %v, want %v", tt.owner, tt.euid, got, tt.want)
		}
	}
}
