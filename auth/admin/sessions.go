package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"doorman/auth/store"
)

const (
	shortIDLen  = 8                  // characters of a store id shown, as in the logs
	browserLen  = 40                 // characters of a User-Agent the table shows
	minuteTime  = "2006-01-02 15:04" // the table's times, in UTC
	tableHeader = "EMAIL\tSESSION\tSIGNED IN (UTC)\tLAST SEEN (UTC)\tEXPIRES (UTC)\tIP\tBROWSER"
)

// sessionJSON is one session as `doorman sessions --json` prints it. Its
// keys are stable: scripts read them.
type sessionJSON struct {
	Email     string     `json:"email"`
	Session   string     `json:"session"` // the first 8 characters of the store id
	SignedIn  time.Time  `json:"signed_in"`
	LastSeen  *time.Time `json:"last_seen"` // null when never seen
	Expires   time.Time  `json:"expires"`
	IP        string     `json:"ip"`         // "" when unknown
	UserAgent string     `json:"user_agent"` // all of it, as the store keeps it
}

// sessions lists the live sessions of inv.email, or of everyone.
func sessions(ctx context.Context, st store.Store, inv invocation) error {
	ss, err := st.LiveSessions(ctx, inv.email, inv.now)
	if err != nil {
		return err // it names what failed
	}
	if inv.json {
		return writeJSON(inv.out, sessionsJSON(ss))
	}
	return writeTable(inv.out, ss, inv.email)
}

// sessionsJSON converts ss for --json; never nil, so that none is [].
func sessionsJSON(ss []store.Session) []sessionJSON {
	out := make([]sessionJSON, 0, len(ss))
	for _, s := range ss {
		j := sessionJSON{
			Email: s.Email, Session: shortID(s.ID), SignedIn: s.Created.UTC(), Expires: s.Expires.UTC(),
			IP: s.IP, UserAgent: s.UserAgent,
		}
		if !s.LastSeen.IsZero() {
			seen := s.LastSeen.UTC()
			j.LastSeen = &seen
		}
		out = append(out, j)
	}
	return out
}

// writeTable writes ss as an aligned table, or a line saying there are
// none. Stored text is shown printable only: a User-Agent is whatever a
// browser sent, and must not drive the admin's terminal.
func writeTable(w io.Writer, ss []store.Session, email string) error {
	if len(ss) == 0 {
		line := "no live sessions"
		if email != "" {
			line += " of " + email
		}
		_, err := fmt.Fprintln(w, line)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, tableHeader)
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(s.Email), shortID(s.ID),
			minute(s.Created), minute(s.LastSeen), minute(s.Expires),
			orDash(printable(s.IP)), orDash(cut(printable(s.UserAgent), browserLen)))
	}
	return tw.Flush()
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// shortID returns the first characters of a store id, as logs show it.
func shortID(id string) string { return id[:min(len(id), shortIDLen)] }

// minute formats t in UTC to the minute; "-" for the zero time.
func minute(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(minuteTime)
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printable replaces what a terminal would not just show (control
// characters, escapes, tabs, invalid UTF-8) with '?'.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

// cut returns s cut to n characters, the last one "…" when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
