package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// parseErr runs parseOptions with a client ID and args, and returns its error.
func parseErr(t *testing.T, args []string, env map[string]string) error {
	t.Helper()
	_, err := parseOptions(append([]string{"--client-id=x"}, args...), fakeEnv(env), io.Discard)
	return err
}

// wantRefusal checks that err is one line naming setting and containing want.
func wantRefusal(t *testing.T, what string, err error, setting, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want an error naming %s", what, setting)
		return
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, setting) || !strings.Contains(msg, want) {
		t.Errorf("%s: error %q, want one line naming %s and saying %q", what, msg, setting, want)
	}
}

func TestCookieDomainRefusesMalformedAndPublicSuffixes(t *testing.T) {
	t.Parallel()
	const setting = "--cookie-domain (DOORMAN_COOKIE_DOMAIN)"
	tests := []struct{ domain, want string }{
		{"example.com:8443", "not a domain name"},
		{"https://example.com", "not a domain name"},
		{"example.com/", "not a domain name"},
		{"user@example.com", "not a domain name"},
		{"example.com.", "not a domain name"},
		{"..example.com", "not a domain name"},
		{"exa mple.com", "not a domain name"},
		{"*.example.com", "not a domain name"},
		{"bücher.example", "not a domain name"},
		{"127.0.0.1", "IP address"},
		{"[::1]", "not a domain name"},
		{".com", "public suffix"},
		{"com", "public suffix"},
		{".co.uk", "public suffix"},
		{"CO.UK", "public suffix"},
		{".github.io", "public suffix"},
		{"localhost", "two labels"},
		{".internal", "two labels"},
	}
	for _, tt := range tests {
		wantRefusal(t, "--cookie-domain="+tt.domain, parseErr(t, []string{"--cookie-domain=" + tt.domain}, nil), setting, tt.want)
	}
	wantRefusal(t, "DOORMAN_COOKIE_DOMAIN=.com", parseErr(t, nil, map[string]string{"DOORMAN_COOKIE_DOMAIN": ".com"}), setting, "public suffix")
	// Checked in its own right, not only through the redirect domains it
	// implies when --redirect-domains is unset.
	wantRefusal(t, "--cookie-domain=example.com:8443 with --redirect-domains",
		parseErr(t, []string{"--cookie-domain=example.com:8443", "--redirect-domains=app.example.com"}, nil), setting, "not a domain name")
	for _, ok := range []string{".example.com", "example.com", ".example.co.uk", "auth.example.com", "alice.github.io", "xn--bcher-kva.example", ".corp.internal"} {
		if err := parseErr(t, []string{"--cookie-domain=" + ok}, nil); err != nil {
			t.Errorf("--cookie-domain=%s: %v, want accepted", ok, err)
		}
	}
}

func TestRedirectDomainsRefusePublicSuffixes(t *testing.T) {
	t.Parallel()
	const setting = "--redirect-domains (DOORMAN_REDIRECT_DOMAINS)"
	for _, bad := range []string{".co.uk", "co.uk", "com", ".github.io", ".co.uk:*", "example.com,.co.uk"} {
		wantRefusal(t, "--redirect-domains="+bad, parseErr(t, []string{"--redirect-domains=" + bad}, nil), setting, "public suffix")
	}
	for _, ok := range []string{".example.co.uk", "alice.github.io", "localhost:*", ".example.com:8443"} {
		if err := parseErr(t, []string{"--redirect-domains=" + ok}, nil); err != nil {
			t.Errorf("--redirect-domains=%s: %v, want accepted", ok, err)
		}
	}
}

func TestRateLimitRefusesNonFiniteValues(t *testing.T) {
	t.Parallel()
	const setting = "--rate-limit (DOORMAN_RATE_LIMIT)"
	for _, bad := range []string{"NaN", "nan", "Inf", "+Inf", "-Inf", "infinity", "1e400", "-1", "ten", "1e7"} {
		wantRefusal(t, "--rate-limit="+bad, parseErr(t, []string{"--rate-limit=" + bad}, nil), setting, bad)
	}
	wantRefusal(t, "DOORMAN_RATE_LIMIT=NaN", parseErr(t, nil, map[string]string{"DOORMAN_RATE_LIMIT": "NaN"}), setting, "NaN")
	for _, ok := range []string{"0", "0.5", "10", "1e3"} {
		if err := parseErr(t, []string{"--rate-limit=" + ok}, nil); err != nil {
			t.Errorf("--rate-limit=%s: %v, want accepted", ok, err)
		}
	}
}

func TestFlagErrorsNameTheSettingAndHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"duration in days", []string{"--cookie-ttl=7d"}, nil, []string{"--cookie-ttl (DOORMAN_COOKIE_TTL)", `"7d"`, "168h"}},
		{"duration from env", nil, map[string]string{"DOORMAN_COOKIE_TTL": "7x"}, []string{"DOORMAN_COOKIE_TTL", `"7x"`, "168h"}},
		{"token lifetime in days", nil, map[string]string{"DOORMAN_TOKEN_MAX_TTL": "90d"}, []string{"DOORMAN_TOKEN_MAX_TTL", `"90d"`}},
		{"token lifetime under a day", []string{"--token-max-ttl=12h"}, nil, []string{"--token-max-ttl (DOORMAN_TOKEN_MAX_TTL)", "at least 24h"}},
		{"bool", []string{"--cookie-secure=maybe"}, nil, []string{"--cookie-secure (DOORMAN_COOKIE_SECURE)", `"maybe"`, "true or false"}},
		{"unknown flag", []string{"--nope"}, nil, []string{"--nope", "doorman --help"}},
		{"unknown flag with value", []string{"--cookie-ttl=1h", "--client-idd=y"}, nil, []string{"--client-idd", "doorman --help"}},
		{"single-dash unknown flag", []string{"-nope=1"}, nil, []string{"--nope", "doorman --help"}},
		{"flag without its value", []string{"--cookie-ttl"}, nil, []string{"--cookie-ttl", "needs a value", "doorman --help"}},
		{"stray argument", []string{"serve"}, nil, []string{`"serve"`, "doorman --help"}},
		{"log level", []string{"--log-level=loud"}, nil, []string{"--log-level (DOORMAN_LOG_LEVEL)", "loud"}},
		{"header name", []string{"--trusted-ip-header=X Real IP"}, nil, []string{"--trusted-ip-header (DOORMAN_TRUSTED_IP_HEADER)", "header name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseErr(t, tt.args, tt.env)
			if err == nil {
				t.Fatalf("parseOptions(%q) = nil, want an error", tt.args)
			}
			for _, w := range tt.want {
				if msg := err.Error(); !strings.Contains(msg, w) || strings.Contains(msg, "\n") {
					t.Errorf("parseOptions(%q) error = %q, want one line containing %q", tt.args, msg, w)
				}
			}
		})
	}
}

func TestHelpListsEverySettingWithItsTwin(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(t.Context(), []string{"--help"}, fakeEnv(nil), &out, io.Discard); err != nil {
		t.Fatalf("run(--help) = %v", err)
	}
	help := out.String()
	for _, line := range []string{
		"--listen (DOORMAN_LISTEN)", "--client-id (DOORMAN_GOOGLE_CLIENT_ID)", "--cookie-ttl (DOORMAN_COOKIE_TTL)",
		"(default 168h)", "(default 127.0.0.1:5000)", "--rate-limit (DOORMAN_RATE_LIMIT)", "--trusted-ip-header (DOORMAN_TRUSTED_IP_HEADER)",
		"  --check\n", "  --demo\n", "  --version\n",
	} {
		if !strings.Contains(help, line) {
			t.Errorf("--help lacks %q:\n%s", line, help)
		}
	}
	if m := regexp.MustCompile(`(?m)^\s+-[a-z]`).FindString(help); m != "" {
		t.Errorf("--help writes a flag with one dash (%q); the README writes --flag:\n%s", m, help)
	}
	if strings.Contains(help, "DOORMAN_*") {
		t.Errorf("--help says DOORMAN_* instead of each twin:\n%s", help)
	}
}

// TestREADMEListsEverySetting: the README's configuration table and the
// settings table agree on every flag, its twin and its default.
func TestREADMEListsEverySetting(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string][2]string{} // flag name → env, default, as the README writes them
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`-")
		documented[name] = [2]string{strings.Trim(strings.TrimSpace(cells[2]), "`"), strings.TrimSpace(cells[3])}
	}
	var names []string
	for _, s := range settingsTable(&options{}) {
		names = append(names, s.Name)
		doc, ok := documented[s.Name]
		switch {
		case !ok:
			t.Errorf("README's configuration table has no row for --%s", s.Name)
		case doc[0] != s.Env:
			t.Errorf("README: --%s has env %q, want %q", s.Name, doc[0], s.Env)
		case s.Env != "" && s.Default != "" && doc[1] != "`"+s.Default+"`":
			t.Errorf("README: --%s default %s, want `%s`", s.Name, doc[1], s.Default)
		}
	}
	for name := range documented {
		if !slices.Contains(names, name) {
			t.Errorf("README documents --%s, which is no setting", name)
		}
	}
}

func TestUnknownEnvWarnings(t *testing.T) {
	t.Parallel()
	environ := []string{
		"PATH=/usr/bin", "DOORMAN_GOOGLE_CLIENT_ID=x", "DOORMAN_CLIENT_ID=y", "DOORMAN_COOKIE_DOMIAN=.example.com",
		"DOORMAN_DEMO=1", "DOORMAN_LISTEN=", "DOORMAN_EMPTY=", "doorman_listen=x", "DOORMAN_FROBNICATE=1",
	}
	got := settingsTable(&options{}).UnknownEnv("DOORMAN_", environ)
	want := []string{
		"DOORMAN_CLIENT_ID is set, but doorman reads no such variable: did you mean DOORMAN_GOOGLE_CLIENT_ID (--client-id)?",
		"DOORMAN_COOKIE_DOMIAN is set, but doorman reads no such variable: did you mean DOORMAN_COOKIE_DOMAIN (--cookie-domain)?",
		"DOORMAN_DEMO is set, but doorman reads no such variable: --demo has no environment twin",
		"DOORMAN_FROBNICATE is set, but doorman reads no such variable (doorman --help lists them)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("UnknownEnv() =\n%q\nwant\n%q", got, want)
	}
}
