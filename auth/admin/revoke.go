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
}

// revoke ends every live session of inv.email. Ending none is not an
// error: the person may have signed out already.
func revoke(ctx context.Context, st store.Store, inv invocation) error {
	ended, err := st.EndSessionsOf(ctx, inv.email, store.ReasonAdmin, inv.now)
	if err != nil {
		return err // it names what failed
	}
	// The person's tokens are to be ended here too, once the store keeps
	// them, and counted beside the sessions (tokens_ended).
	r := revokeResult{Email: inv.email, SessionsEnded: len(ended)}
	if inv.json {
		return writeJSON(inv.out, r)
	}
	_, err = fmt.Fprintln(inv.out, r.sentence())
	return err
}

// sentence says what revoke did, for people.
func (r revokeResult) sentence() string {
	switch r.SessionsEnded {
	case 0:
		return fmt.Sprintf("revoked 0 sessions of %s: none was live", r.Email)
	case 1:
		return fmt.Sprintf("revoked 1 session of %s", r.Email)
	}
	return fmt.Sprintf("revoked %d sessions of %s", r.SessionsEnded, r.Email)
}
