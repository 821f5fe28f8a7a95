package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"doorman/auth"
	"doorman/whitelist"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

// versionString returns doorman's version.
func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v + " " + info.GoVersion
}

// healthcheck probes /healthz of the doorman listening on listen.
func healthcheck(listen string) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return errSetting("listen", err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	return nil
}

// errInvalid is returned by check when anything is wrong; every problem has
// been printed already.
var errInvalid = errors.New("configuration is not valid")

// check validates the secret file and the whitelist without serving or
// writing anything, printing every problem to out.
func check(cfg config, out io.Writer) error {
	ok := checkKeys(cfg.secretFile, out)
	ok = checkWhitelist(cfg.whitelist, out) && ok
	if !ok {
		return errInvalid
	}
	fmt.Fprintln(out, "ok: configuration, keys and whitelist are valid")
	return nil
}

// checkKeys reports on the secret file; a missing one is fine (it will be created).
func checkKeys(path string, out io.Writer) bool {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "keys: %s does not exist; doorman will create it (mode 0600)\n", path)
		return true
	}
	keys, _, err := auth.LoadOrCreateKeys(path)
	if err != nil {
		fmt.Fprintf(out, "keys: %s: %v\n", label("secret-file"), err)
		return false
	}
	fmt.Fprintf(out, "keys: %s: %d key(s)\n", path, len(keys))
	return true
}

// checkWhitelist reports every bad whitelist line; any is a failure.
func checkWhitelist(path string, out io.Writer) bool {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(out, "whitelist: %s: %v\n", label("whitelist"), err)
		return false
	}
	defer f.Close()
	list, skipped, err := whitelist.Parse(f)
	if err != nil {
		fmt.Fprintf(out, "whitelist: %s: %v\n", path, err)
		return false
	}
	for _, le := range skipped {
		fmt.Fprintf(out, "whitelist: %s: %v\n", path, le)
	}
	fmt.Fprintf(out, "whitelist: %s: %s; %d bad line(s)\n", path, formatSizes(list.Sizes()), len(skipped))
	return len(skipped) == 0
}

// formatSizes shows entries per list as "main 3, gpt4 1", main first.
func formatSizes(sizes map[string]int) string {
	names := make([]string, 0, len(sizes))
	for name := range sizes {
		names = append(names, name)
	}
	slices.Sort(names) // "" (main) sorts first
	parts := make([]string, len(names))
	for i, name := range names {
		if name == whitelist.MainList {
			name = "(main)"
		}
		parts[i] = fmt.Sprintf("%s %d", name, sizes[names[i]])
	}
	return "entries: " + strings.Join(parts, ", ")
}
