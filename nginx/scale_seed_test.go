package nginx_test

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"doorman/auth/store"
)

// seedChunk is how many records the test hands store.Import at a time.
const seedChunk = 50_000

// seedResult is what seed wrote: enough to check it and to report it.
type seedResult struct {
	took         time.Duration
	size         scaleSize
	tokens       []string        // a few of the seeded tokens: the first, a middle one and the last
	person       string          // a seeded person, whose records check reads back
	sessions     []store.Session // person's live sessions, as seeded
	personTokens []store.Token   // person's tokens, as seeded
}

// seed fills st through store.Import: size.sessions sessions of
// size.ended people (the first session of each person ended), the
// session endedID ended too, and size.tokens tokens, one person's each.
func seed(t *testing.T, st store.Store, size scaleSize, endedID string) seedResult {
	t.Helper()
	now := time.Now().Truncate(time.Millisecond)
	per, people := size.sessions/size.ended, size.ended
	r := seedResult{size: size, person: seedEmail(7)}
	start := time.Now()
	for from := 0; from < size.sessions; from += seedChunk {
		b := store.Batch{EndedBy: store.ReasonAdmin, EndedAt: now}
		if from == 0 {
			b.Ended = append(b.Ended, endedID)
		}
		for i := from; i < min(from+seedChunk, size.sessions); i++ {
			s := seedSession(i, per, now)
			b.Sessions = append(b.Sessions, s)
			switch {
			case i%per == 0:
				b.Ended = append(b.Ended, s.ID)
			case s.Email == r.person:
				r.sessions = append(r.sessions, s)
			}
		}
		mustImport(t, st, b)
	}
	for from := 0; from < size.tokens; from += seedChunk {
		var b store.Batch
		for j := from; j < min(from+seedChunk, size.tokens); j++ {
			tok, rec := seedToken(j, people, now)
			b.Tokens = append(b.Tokens, rec)
			if j == 0 || j == size.tokens/2 || j == size.tokens-1 {
				r.tokens = append(r.tokens, tok)
			}
			if rec.Email == r.person {
				r.personTokens = append(r.personTokens, rec)
			}
		}
		mustImport(t, st, b)
	}
	r.took = time.Since(start)
	return r
}

func mustImport(t *testing.T, st store.Store, b store.Batch) {
	t.Helper()
	if err := store.Import(t.Context(), st, b); err != nil {
		t.Fatalf("store.Import(%d sessions, %d ended, %d tokens) = %v", len(b.Sessions), len(b.Ended), len(b.Tokens), err)
	}
}

// seedEmail is the address of seeded person p.
func seedEmail(p int) string { return fmt.Sprintf("user%d@%s", p, scaleDomain) }

// seedAgents are the User-Agents of the seeded sessions, in turn.
var seedAgents = [...]string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
}

// seedSession is seeded session i, person i/per's: its id shaped like
// the ids doorman gives (16 bytes of a hash, base64url), made in the last
// week, for eight days (so that none expires while the test runs), every
// other one seen since.
func seedSession(i, per int, now time.Time) store.Session {
	sum := sha256.Sum256(fmt.Appendf(nil, "scale test session %d", i))
	created := now.Add(-time.Duration(i%(7*24*60)) * time.Minute)
	s := store.Session{
		ID: base64.RawURLEncoding.EncodeToString(sum[:16]), Email: seedEmail(i / per),
		Created: created, Expires: created.Add(8 * 24 * time.Hour),
		UserAgent: seedAgents[i%len(seedAgents)], IP: fmt.Sprintf("198.51.100.%d", i%250+1),
	}
	if seen := created.Add(time.Duration(i%60) * time.Minute); i%2 == 1 && !seen.After(now) {
		s.LastSeen = seen
	}
	return s
}

// seedToken is seeded token j, person j%people's, and its record: made
// in the last 30 days, for 90, opening the main list.
func seedToken(j, people int, now time.Time) (string, store.Token) {
	tok := newDoormanToken()
	created := now.Add(-time.Duration(j%(30*24*60)) * time.Minute)
	return tok, store.Token{
		ID: tokenIDOf(tok), Email: seedEmail(j % people), Name: fmt.Sprintf("seeded %d", j), Prefix: tok[:12],
		Lists: []string{""}, Created: created, Expires: created.Add(90 * 24 * time.Hour),
	}
}

// check reads the seeded store back as doorman does: the count of live
// sessions, and one person's sessions and tokens through `doorman
// sessions` and `doorman tokens`, field by field.
func (r seedResult) check(t *testing.T, st store.Store, dsn string) {
	t.Helper()
	want := r.size.sessions - r.size.ended + 1 // and liveProbe's
	if n, err := st.CountLiveSessions(t.Context(), time.Now()); err != nil || n != want {
		t.Errorf("CountLiveSessions() = %d, %v; want %d", n, err, want)
	}
	var sessions []struct {
		Email     string     `json:"email"`
		Session   string     `json:"session"`
		SignedIn  time.Time  `json:"signed_in"`
		LastSeen  *time.Time `json:"last_seen"`
		Expires   time.Time  `json:"expires"`
		IP        string     `json:"ip"`
		UserAgent string     `json:"user_agent"`
	}
	adminJSON(t, dsn, "sessions", r.person, &sessions)
	byCreated := sortedSessions(r.sessions)
	if len(sessions) != len(byCreated) {
		t.Fatalf("doorman sessions %s lists %d sessions, want %d", r.person, len(sessions), len(byCreated))
	}
	for i, got := range sessions {
		w := byCreated[i]
		seen := time.Time{}
		if got.LastSeen != nil {
			seen = *got.LastSeen
		}
		if got.Email != w.Email || got.Session != w.ID[:8] || !got.SignedIn.Equal(w.Created) || !seen.Equal(w.LastSeen) ||
			!got.Expires.Equal(w.Expires) || got.IP != w.IP || got.UserAgent != w.UserAgent {
			t.Errorf("doorman sessions %s [%d] = %+v, want %+v", r.person, i, got, w)
		}
	}
	r.checkTokens(t, dsn)
}

// checkTokens reads the person's tokens back with `doorman tokens`.
func (r seedResult) checkTokens(t *testing.T, dsn string) {
	t.Helper()
	var tokens []struct {
		Email   string    `json:"email"`
		Name    string    `json:"name"`
		ID      string    `json:"id"`
		Prefix  string    `json:"prefix"`
		Lists   []string  `json:"lists"`
		Created time.Time `json:"created"`
		Expires time.Time `json:"expires"`
	}
	adminJSON(t, dsn, "tokens", r.person, &tokens)
	if len(tokens) != len(r.personTokens) {
		t.Fatalf("doorman tokens %s lists %d tokens, want %d", r.person, len(tokens), len(r.personTokens))
	}
	for i, got := range tokens {
		w := r.personTokens[i] // one a person at most: in no particular order otherwise
		if got.Email != w.Email || got.Name != w.Name || got.ID != w.ID[:8] || got.Prefix != w.Prefix ||
			len(got.Lists) != 1 || got.Lists[0] != "" || !got.Created.Equal(w.Created) || !got.Expires.Equal(w.Expires) {
			t.Errorf("doorman tokens %s [%d] = %+v, want %+v", r.person, i, got, w)
		}
	}
}

// sortedSessions returns ss sorted as doorman lists sessions: by
// Created, then ID.
func sortedSessions(ss []store.Session) []store.Session {
	return slices.SortedFunc(slices.Values(ss), func(a, b store.Session) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
}

// adminJSON runs `doorman <command> --json --store=dsn email` and decodes
// its output into v.
func adminJSON(t *testing.T, dsn, command, email string, v any) {
	t.Helper()
	cmd := exec.Command(doormanBin, command, "--json", "--store="+dsn, email)
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err == nil {
		err = json.Unmarshal(out, v)
	}
	if err != nil {
		t.Fatalf("doorman %s %s: %v\n%s", command, email, err, out)
	}
}

// openScaleStore opens the store at dsn for the test, closed when it ends.
func openScaleStore(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// onlySession is email's one live session in st.
func onlySession(t *testing.T, st store.Store, email string) store.Session {
	t.Helper()
	ss, err := st.LiveSessions(t.Context(), email, time.Now())
	if err != nil || len(ss) != 1 {
		t.Fatalf("LiveSessions(%s) = %d sessions, %v; want 1", email, len(ss), err)
	}
	return ss[0]
}

// endSession ends the session id in st, as `doorman revoke` does.
func endSession(t *testing.T, st store.Store, id string) {
	t.Helper()
	if _, err := st.EndSession(t.Context(), "", id, store.ReasonAdmin, time.Now()); err != nil {
		t.Fatalf("EndSession(%s) = %v", id, err)
	}
}

// createToken makes a token of email for the main list in st, as the
// tokens page does, and returns it.
func createToken(t *testing.T, st store.Store, email string) string {
	t.Helper()
	tok, now := newDoormanToken(), time.Now()
	err := st.CreateToken(t.Context(), store.Token{
		ID: tokenIDOf(tok), Email: email, Name: "scale probe", Prefix: tok[:12],
		Lists: []string{""}, Created: now, Expires: now.Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatalf("CreateToken() = %v", err)
	}
	return tok
}
