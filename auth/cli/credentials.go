package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Credential is one doorman's token, as the credentials file keeps it.
type Credential struct {
	Token   string    `json:"token"`   // the personal token, doorman_…
	Expires time.Time `json:"expires"` // when the server stops accepting it
	Lists   []string  `json:"lists"`   // the lists asked for at login; "" is the main list
}

// credentials is the credentials file: a token per doorman URL.
type credentials struct {
	Tokens map[string]Credential `json:"tokens"`
}

// credentialsPath is $XDG_CONFIG_HOME/doorman/credentials.json, with
// $XDG_CONFIG_HOME defaulting to $HOME/.config.
func credentialsPath(getenv func(string) string) (string, error) {
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the token")
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "doorman", "credentials.json"), nil
}

// readCredentials reads the file at path; a missing file holds nothing.
// A file that is a symbolic link, or that group or others may use, is
// refused (checkAccess).
func readCredentials(path string) (credentials, error) {
	c := credentials{Tokens: map[string]Credential{}}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	} else if err != nil {
		return c, err
	}
	if err := checkAccess(path, fi); err != nil {
		return c, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if c.Tokens == nil {
		c.Tokens = map[string]Credential{}
	}
	return c, nil
}

// checkAccess refuses a credentials file that is not a plain file of its
// own (a symbolic link could point the tokens anywhere) or that group or
// others may read or write: its tokens may be in other hands, as ssh
// refuses a private key others may read.
func checkAccess(path string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link; doorman keeps tokens only in a plain file: remove it and run doorman login again", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a plain file", path)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s has mode %04o: others may have read its tokens; end them with doorman logout after chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	return nil
}

// update reads the file at path, lets edit change it and writes it back,
// holding a lock on path+".lock" all the while, so that commands run at
// once (two logins) never lose each other's changes.
func update(path string, edit func(c credentials)) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	defer unlock()
	c, err := readCredentials(path)
	if err != nil {
		return err
	}
	edit(c)
	return c.write(path)
}

// write replaces the file at path with c: the file 0600, its directory
// 0700, written to a temporary file first so that a reader never sees half.
func (c credentials) write(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// pick returns the URL saved under server or, when server is "", the one
// URL saved; more than one needs server.
func (c credentials) pick(server string) (string, error) {
	if server != "" {
		if _, ok := c.Tokens[server]; !ok {
			return "", fmt.Errorf("no token for %s; run: doorman login %s", server, server)
		}
		return server, nil
	}
	urls := make([]string, 0, len(c.Tokens))
	for u := range c.Tokens {
		urls = append(urls, u)
	}
	slices.Sort(urls)
	switch len(urls) {
	case 0:
		return "", errors.New("no token saved; run: doorman login <url>")
	case 1:
		return urls[0], nil
	}
	return "", fmt.Errorf("tokens for several doormans (%s); name one", strings.Join(urls, ", "))
}
