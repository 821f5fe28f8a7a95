package auth

import "time"

// Observer is told what doorman decided, for metrics. Implementations must
// be safe for concurrent use and cheap: AuthChecked runs on every /auth
// request.
type Observer interface {
	// AuthChecked reports one /auth decision for list ("" is the main list).
	AuthChecked(list string, allowed bool, elapsed time.Duration)
	// SignIn reports one /callback outcome: "success", "forbidden" (signed
	// in, but not on the site's list) or "refused" with a Refusal reason.
	SignIn(outcome, reason string)
	// KeyFetchFailed reports a failed fetch of Google's signing keys.
	KeyFetchFailed()
	// BudgetChecked reports one counted /auth check of a person with a
	// budget on list: "allowed", "refused" (at the ceiling), "unavailable"
	// (refused, the store down) or "fail_open" (admitted uncounted).
	BudgetChecked(list, outcome string)
}

// nopObserver is the Observer used when Config.Observer is nil.
type nopObserver struct{}

func (nopObserver) AuthChecked(string, bool, time.Duration) {}
func (nopObserver) SignIn(string, string)                   {}
func (nopObserver) KeyFetchFailed()                         {}
func (nopObserver) BudgetChecked(string, string)            {}
