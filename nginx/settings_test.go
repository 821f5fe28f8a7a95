package nginx_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDoormanRejectsBadSettings: the real binary refuses bad configuration
// with a non-zero exit and exactly one line on stderr naming the setting
// (README "Configuration").
func TestDoormanRejectsBadSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  []string
		want string // the setting the one line must name
	}{
		{"bad duration flag", []string{"--client-id=x", "--cookie-ttl=7x"}, nil, "cookie-ttl"},
		{"bad duration env", []string{"--client-id=x"}, []string{"DOORMAN_COOKIE_TTL=7x"}, "DOORMAN_COOKIE_TTL"},
		{"missing client id", nil, nil, "--client-id"},
		{"blank client id env", nil, []string{"DOORMAN_GOOGLE_CLIENT_ID= "}, "DOORMAN_GOOGLE_CLIENT_ID"},
		{"negative ttl", []string{"--client-id=x", "--cookie-ttl=-1h"}, nil, "--cookie-ttl"},
		{"bad log format", []string{"--client-id=x", "--log-format=xml"}, nil, "--log-format"},
		{"world-readable secret file", []string{"--client-id=x", "--secret-file=open.key"}, nil, "--secret-file"},
		{"missing whitelist", []string{"--client-id=x", "--whitelist=missing.txt"}, nil, "--whitelist (DOORMAN_WHITELIST)"},
		{"bad redirect domain", []string{"--client-id=x", "--redirect-domains=*.example.com"}, nil, "--redirect-domains (DOORMAN_REDIRECT_DOMAINS)"},
		{"bad public url env", []string{"--client-id=x"}, []string{"DOORMAN_PUBLIC_URL=auth.example.com"}, "--public-url (DOORMAN_PUBLIC_URL)"},
		{"__Secure- cookie without Secure", []string{"--client-id=x", "--cookie-secure=false", "--cookie-name=__Secure-x"}, nil, "--cookie-name (DOORMAN_COOKIE_NAME)"},
		{"demo with a client id", []string{"--demo", "--client-id=x"}, nil, "--client-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := runDoorman(t, tt.args, tt.env)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("doorman %q: %v, want a non-zero exit; stderr:\n%s", tt.args, err, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "doorman: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("doorman %q stderr = %q, want one line naming %q", tt.args, stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("doorman %q stdout = %q, want nothing", tt.args, stdout)
			}
		})
	}
}

// runDoorman runs the binary in a fresh directory holding a good whitelist
// and a world-readable key file open.key; args and env come last and win.
func runDoorman(t *testing.T, args, env []string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "whitelist.txt"), alice+"\n")
	openKey := filepath.Join(dir, "open.key")
	writeFile(t, openKey, strings.Repeat("QUFB", 12)+"\n")
	if err := os.Chmod(openKey, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	base := []string{"--listen=127.0.0.1:0", "--whitelist=whitelist.txt", "--secret-file=doorman.key"}
	cmd := exec.CommandContext(ctx, doormanBin, append(base, args...)...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
