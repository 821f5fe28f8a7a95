package nginx_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README's instructions, checked against the files they describe and run
// as written where a test can run them. A block of README.md is marked for
// these tests by the line "<!-- readme_test.go: NAME -->" right above its
// opening fence.

// readme returns README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeBlock returns the fenced block of README.md marked with name,
// without its fences and with the fence's indentation removed.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	marker := "<!-- readme_test.go: " + name + " -->"
	text := readme(t)
	if n := strings.Count(text, marker); n != 1 {
		t.Fatalf("README.md has %d lines %q, want 1", n, marker)
	}
	lines := strings.Split(text[strings.Index(text, marker)+len(marker):], "\n")[1:]
	fence := strings.TrimLeft(lines[0], " ")
	indent := strings.Repeat(" ", len(lines[0])-len(fence))
	if !strings.HasPrefix(fence, "```") {
		t.Fatalf("README.md: %q is followed by %q, want a fenced block", marker, lines[0])
	}
	var b strings.Builder
	for _, line := range lines[1:] {
		if strings.TrimSpace(line) == "```" {
			return b.String()
		}
		b.WriteString(strings.TrimPrefix(line, indent) + "\n")
	}
	t.Fatalf("README.md: the block after %q never ends", marker)
	return ""
}

// runShell runs script with bash -euo pipefail in dir, with the test's
// environment (less DOORMAN_*) and env, and returns its output.
func runShell(t *testing.T, dir string, env []string, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash in %s: %v\nscript:\n%s\noutput:\n%s", dir, err, script, out)
	}
	return string(out)
}

// needTool returns the path of a program the README uses, or skips the test
// (fails it when CI is set: CI installs every tool).
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not on PATH and CI is set: %v", name, err)
	}
	t.Skipf("%s is not on PATH: %v", name, err)
	return ""
}

// TestReadmeGoVersion: the README names the Go version go.mod requires.
func TestReadmeGoVersion(t *testing.T) {
	t.Parallel()
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "Go " + string(m[1]) + " or newer"; !strings.Contains(readme(t), want) {
		t.Errorf("README.md does not say %q, the version go.mod requires", want)
	}
}

// TestReadmeNginxExcerpt: the README's nginx excerpt is doorman.conf's own
// lines in doorman.conf's order (comments aside), and it shows what a reader
// copying it must not miss.
func TestReadmeNginxExcerpt(t *testing.T) {
	t.Parallel()
	excerpt := confLines(readmeBlock(t, "excerpt"))
	b, err := os.ReadFile("doorman.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := confLines(string(b))
	next := 0
	for _, line := range excerpt {
		for next < len(conf) && conf[next] != line {
			next++
		}
		if next == len(conf) {
			t.Fatalf("README.md's nginx excerpt line %q is not in doorman.conf (in this order)", line)
		}
		next++
	}
	for _, want := range []string{
		"listen 443 ssl;", "ssl_certificate tls/example.com.crt;", "ssl_certificate_key tls/example.com.key;",
		"auth_request off;", "proxy_set_header X-Real-IP $remote_addr;", "proxy_set_header X-Auth-Request-Email $doorman_email;",
	} {
		if !strings.Contains("\n"+strings.Join(excerpt, "\n")+"\n", "\n"+want+"\n") {
			t.Errorf("README.md's nginx excerpt lacks %q", want)
		}
	}
}

// confLines returns the lines of an nginx configuration without comments,
// blank lines and repeated spaces.
func confLines(text string) []string {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestReadmeKeyRotation runs the README's key rotation in a directory holding
// a secret file, from a shell with the usual umask 022, and loads the result
// with the real binary's --check: the new key first, the old one kept, the
// file still 0600.
func TestReadmeKeyRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	oldKey := newKey(t)
	keyFile, whitelist := filepath.Join(dir, "doorman.key"), filepath.Join(dir, "whitelist.txt")
	writeFile(t, keyFile, "# doorman cookie keys: the first line signs, every line verifies.\n"+oldKey+"\n")
	writeFile(t, whitelist, alice+"\n")
	runShell(t, dir, nil, "umask 022\n"+readmeBlock(t, "rotate-key"))

	info, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("secret file mode after rotation = %04o, want 0600", perm)
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if keys := confLines(string(b)); len(keys) != 2 || keys[0] == oldKey || keys[1] != oldKey {
		t.Errorf("secret file after rotation holds keys %q, want a new key, then %q", keys, oldKey)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, doormanBin, "--check", "--client-id=x", "--whitelist="+whitelist, "--secret-file="+keyFile)
	cmd.Env, cmd.Dir = cleanEnv(), t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(": 2 key(s)")) {
		t.Errorf("doorman --check after rotation: %v, want exit 0 and 2 keys:\n%s", err, out)
	}
}

// newKey returns a secret the way the README makes one: 64 random bytes in base64.
func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 64)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
