// Package cli is doorman's commands for people at a terminal, run by the
// doorman binary itself:
//
//	doorman login <url> [--list L]... [--name N]   sign in through the browser on another device
//	doorman token [<url>]                          print the saved token
//	doorman logout [<url>]                         end the token on the server and forget it
//
// login runs RFC 8628's device flow against doorman's /device/code and
// /device/token, and keeps the token in
// $XDG_CONFIG_HOME/doorman/credentials.json (default ~/.config/doorman/;
// the file 0600, its directory 0700; a file that is a symbolic link or
// that others may read is refused) under the URL. logout ends it with
// POST /tokens/revoke. Requests go through a clone of
// http.DefaultTransport, so HTTPS_PROXY, NO_PROXY and SSL_CERT_FILE
// apply; they follow no redirect, read at most 64 KiB of an answer, and
// wait as long as a busy server's Retry-After asks. main hands them the
// command line:
//
//	if len(args) > 0 && cli.IsCommand(args[0]) {
//		return cli.Run(ctx, args, getenv, stdout, stderr)
//	}
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// command is one of the terminal commands.
type command struct {
	name  string
	usage string
	run   func(ctx context.Context, env env, args []string) error
}

// env is what a command works with.
type env struct {
	getenv func(string) string
	out    io.Writer
	client *http.Client
	now    func() time.Time
}

func commands() []command {
	return []command{
		{"login", "doorman login <url> [--list L]... [--name N]: sign in to the doorman at <url> from this terminal (the main list unless --list says otherwise) and save the token", login},
		{"token", "doorman token [<url>]: print the saved token, e.g. OPENAI_API_KEY=$(doorman token)", printToken},
		{"logout", "doorman logout [<url>]: end the saved token on the server and delete it here", logout},
	}
}

// IsCommand reports whether name is a terminal command, so that main can
// hand the command line to Run.
func IsCommand(name string) bool {
	_, ok := lookup(name)
	return ok
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Run runs one command: args[0] is "login", "token" or "logout". It writes
// what the person needs to stdout; every failure is returned as an error
// of one line, for main to print and exit 1.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	return run(ctx, args, env{getenv: getenv, out: stdout, client: client, now: time.Now})
}

func run(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return errors.New("no command given")
	}
	c, ok := lookup(args[0])
	if !ok {
		return fmt.Errorf("unknown command %q", args[0])
	}
	if err := c.run(ctx, e, args[1:]); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.out, "usage:", c.usage)
		return nil
	} else if err != nil {
		return oneLine(fmt.Errorf("%s: %w", c.name, err))
	}
	return nil
}

// parseURL checks a doorman URL and returns it as the credentials file
// keys it: scheme and host in lower case, the path still escaped (so that
// an escaped '?' or '#' stays in the path), no trailing slash.
func parseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not a doorman URL like https://auth.example.com", raw)
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// oneLine returns err with its message on one line.
func oneLine(err error) error {
	if err == nil || !strings.ContainsAny(err.Error(), "\r\n") {
		return err
	}
	return errors.New(strings.Join(strings.Fields(err.Error()), " "))
}
