package admin

import (
	"context"
	"fmt"

	"doorman/auth/store"
)

// revokeResult is what `doorman revoke --json` prints. Its keys are stable:
// scripts read them.
type revokeResult struct {
	Email         string `json:"email"`
	SessionsEnded int    `json:"sessions_ended"`
	TokensEnded   int    `json:"tokens_ended"`
}

// revoke ends every live session and token of inv.email. Ending none is
// not an error: the person may have signed out already.
func revoke(ctx context.Context, st store.Store, inv invocation) error {
	ended, err := st.EndSessionsOf(ctx, inv.email, store.ReasonAdmin, inv.now)
	if err != nil {
		return err // it names what failed
	}
	tokens, err := st.EndTokensOf(ctx, inv.email, store.ReasonAdmin, inv.now)
	if err != nil {
		return fmt.Errorf("ended %d sessions, but not the tokens: %w", len(ended), err)
	}
	r := revokeResult{Email: inv.email, SessionsEnded: len(ended), TokensEnded: len(tokens)}
	if inv.json {
		return writeJSON(inv.out, r)
	}
	_, err = fmt.Fprintln(inv.out, r.sentence())
	return err
}

// sentence says what revoke did, for people: "revoked 2 sessions and 1
// token of alice@example.com".
func (r revokeResult) sentence() string {
	s := fmt.Sprintf("revoked %s and %s of %s", count(r.SessionsEnded, "session"), count(r.TokensEnded, "token"), r.Email)
	if r.SessionsEnded+r.TokensEnded == 0 {
		s += ": none was live"
	}
	return s
}

// count is "1 session", "2 sessions", "0 sessions".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
