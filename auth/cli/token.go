package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
)

// saved returns the credentials file's path, its content and the URL the
// optional argument of args names.
func saved(name string, e env, args []string) (string, credentials, string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	raw, err := parseArgs(fs, args)
	if err != nil {
		return "", credentials{}, "", err
	}
	server := ""
	if raw != "" {
		if server, err = parseURL(raw); err != nil {
			return "", credentials{}, "", err
		}
	}
	path, err := credentialsPath(e.getenv)
	if err != nil {
		return "", credentials{}, "", err
	}
	creds, err := readCredentials(path)
	if err != nil {
		return "", credentials{}, "", err
	}
	server, err = creds.pick(server)
	return path, creds, server, err
}

// printToken runs "doorman token [<url>]".
func printToken(_ context.Context, e env, args []string) error {
	_, creds, server, err := saved("token", e, args)
	if err != nil {
		return err
	}
	c := creds.Tokens[server]
	if !e.now().Before(c.Expires) {
		return fmt.Errorf("the token for %s expired at %s; run: doorman login %s", server, c.Expires.UTC().Format("2006-01-02 15:04 UTC"), server)
	}
	_, err = fmt.Fprintln(e.out, c.Token)
	return err
}

// logout runs "doorman logout [<url>]": ends the token on the server, then
// forgets it. A token the server no longer knows is forgotten too; when
// the server cannot be reached, the token is kept, to try again.
func logout(ctx context.Context, e env, args []string) error {
	path, creds, server, err := saved("logout", e, args)
	if err != nil {
		return err
	}
	c := creds.Tokens[server]
	if e.now().Before(c.Expires) {
		if err := revoke(ctx, e.client, server, c.Token); err != nil {
			return err
		}
	}
	if err := update(path, func(creds credentials) { delete(creds.Tokens, server) }); err != nil {
		return fmt.Errorf("forget the token: %w", err)
	}
	fmt.Fprintf(e.out, "Signed out of %s.\n", server)
	return nil
}

// revoke ends tok on server; 401 means the server already refuses it.
func revoke(ctx context.Context, client *http.Client, server, tok string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/tokens/revoke", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	var answer struct{}
	r, err := send(client, req, &answer)
	switch {
	case err != nil:
		return fmt.Errorf("%w; the token is kept, try again", err)
	case r.status == http.StatusOK, r.status == http.StatusUnauthorized:
		return nil
	case r.busy():
		return fmt.Errorf("%s is busy; the token is kept, try again in %s", server, r.pause())
	}
	return fmt.Errorf("%s answered %d; the token is kept, try again", server, r.status)
}
