package admin

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"doorman/auth/store"
)

// tokensHeader is the header of the `doorman tokens` table.
const tokensHeader = "EMAIL\tNAME\tTOKEN\tLISTS\tMADE (UTC)\tLAST USED (UTC)\tEXPIRES (UTC)"

// tokenJSON is one token as `doorman tokens --json` prints it: never the
// token itself. Its keys are stable: scripts read them.
type tokenJSON struct {
	Email    string     `json:"email"`
	Name     string     `json:"name"`
	ID       string     `json:"id"`     // the first 8 characters of the store id, as the logs show it
	Prefix   string     `json:"prefix"` // the token's first 12 characters
	Lists    []string   `json:"lists"`  // "" is the main list
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used"` // null when never used
	Expires  time.Time  `json:"expires"`
}

// tokens lists the live tokens of inv.email, or of everyone.
func tokens(ctx context.Context, st store.Store, inv invocation) error {
	ts, err := st.Tokens(ctx, inv.email, inv.now)
	if err != nil {
		return err // it names what failed
	}
	if inv.json {
		return writeJSON(inv.out, tokensJSON(ts))
	}
	return writeTokens(inv.out, ts, inv.email)
}

// tokensJSON converts ts for --json; never nil, so that none is [].
func tokensJSON(ts []store.Token) []tokenJSON {
	out := make([]tokenJSON, 0, len(ts))
	for _, t := range ts {
		j := tokenJSON{
			Email: t.Email, Name: t.Name, ID: shortID(t.ID), Prefix: t.Prefix, Lists: t.Lists,
			Created: t.Created.UTC(), Expires: t.Expires.UTC(),
		}
		if !t.LastUsed.IsZero() {
			used := t.LastUsed.UTC()
			j.LastUsed = &used
		}
		out = append(out, j)
	}
	return out
}

// writeTokens writes ts as an aligned table, or a line saying there are
// none. Names are shown printable only: their owners chose them.
func writeTokens(w io.Writer, ts []store.Token, email string) error {
	if len(ts) == 0 {
		line := "no live tokens"
		if email != "" {
			line += " of " + email
		}
		_, err := fmt.Fprintln(w, line)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, tokensHeader)
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", printable(t.Email), printable(t.Name), t.Prefix,
			tableLists(t.Lists), minute(t.Created), minute(t.LastUsed), minute(t.Expires))
	}
	return tw.Flush()
}

// tableLists shows lists for the table: the main list as (main).
func tableLists(lists []string) string {
	shown := make([]string, len(lists))
	for i, l := range lists {
		shown[i] = l
		if l == "" {
			shown[i] = mainLabel
		}
	}
	return strings.Join(shown, ",")
}
