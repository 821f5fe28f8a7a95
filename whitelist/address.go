package whitelist

import "strings"

// Limits of a plain address.
const (
	maxLocal   = 64
	maxDomain  = 253
	maxLabel   = 63
	maxAddress = maxLocal + 1 + maxDomain
)

// Reasons a line is skipped. They are constant so that checking an address
// on the hot path (Contains with a domain entry) never allocates.
const (
	reasonNotAddress    = "not an email address"
	reasonNonASCII      = "non-ASCII character"
	reasonControl       = "control character"
	reasonSpace         = "space inside entry"
	reasonInlineComment = "inline comment (a # comment must be on a line of its own)"
	reasonManyAt        = "more than one @"
	reasonEmptyLocal    = "empty local part"
	reasonLongLocal     = "local part longer than 64 characters"
	reasonLocalChar     = "invalid character in local part"
	reasonLocalDot      = "leading, trailing or double dot in local part"
	reasonEmptyDomain   = "empty domain"
	reasonLongDomain    = "domain longer than 253 characters"
	reasonOneLabel      = "domain needs at least two labels"
	reasonLabel         = "invalid domain label"
	reasonBadHeader     = "invalid section header"
)

// checkEntry checks a trimmed, non-comment, non-header line. It returns the
// stored key (lower-case ASCII), whether it is a domain entry, and the reason
// the line is invalid ("" when valid).
func checkEntry(s string) (key string, domain bool, reason string) {
	if strings.HasPrefix(s, "@") {
		reason = checkChars(s)
		if reason == "" && strings.IndexByte(s[1:], '@') >= 0 {
			reason = reasonManyAt
		}
		if reason == "" {
			reason = checkDomain(s[1:])
		}
		return lowerASCII(s[1:]), true, reason
	}
	reason = checkAddress(s)
	return lowerASCII(s), false, reason
}

// checkAddress returns why s is not a plain ASCII address local@domain, or
// "" when it is one.
func checkAddress(s string) string {
	if r := checkChars(s); r != "" {
		return r
	}
	at := strings.IndexByte(s, '@')
	switch {
	case at < 0:
		return reasonNotAddress
	case strings.IndexByte(s[at+1:], '@') >= 0:
		return reasonManyAt
	}
	if r := checkLocal(s[:at]); r != "" {
		return r
	}
	return checkDomain(s[at+1:])
}

// checkChars rejects bytes that can appear in no entry: non-ASCII, control
// characters (NUL included) and inner spaces or tabs.
func checkChars(s string) string {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			return reasonNonASCII
		case c == ' ' || c == '\t':
			if strings.IndexByte(s, '#') >= 0 {
				return reasonInlineComment
			}
			return reasonSpace
		case c < 0x20 || c == 0x7f:
			return reasonControl
		}
	}
	return ""
}

// checkLocal checks a local part: 1..64 characters of RFC 5322 atext and
// dots, with no leading, trailing or double dot.
func checkLocal(s string) string {
	switch {
	case s == "":
		return reasonEmptyLocal
	case len(s) > maxLocal:
		return reasonLongLocal
	case s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, ".."):
		return reasonLocalDot
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) && s[i] != '.' {
			return reasonLocalChar
		}
	}
	return ""
}

// checkDomain checks a domain: 1..253 characters, at least two labels of
// 1..63 letters, digits and inner hyphens, separated by single dots, with no
// trailing dot.
func checkDomain(s string) string {
	switch {
	case s == "":
		return reasonEmptyDomain
	case len(s) > maxDomain:
		return reasonLongDomain
	case strings.IndexByte(s, '.') < 0:
		return reasonOneLabel
	}
	for s != "" {
		label, rest, found := strings.Cut(s, ".")
		if !validLabel(label) || found && rest == "" {
			return reasonLabel
		}
		s = rest
	}
	return ""
}

// validLabel reports whether s is a DNS label: 1..63 letters, digits and
// hyphens, not starting or ending with a hyphen.
func validLabel(s string) bool {
	if s == "" || len(s) > maxLabel || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// isAtext reports whether c is RFC 5322 atext: ASCII letters, digits and
// !#$%&'*+-/=?^_`{|}~.
func isAtext(c byte) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '/', '=', '?', '^', '_', '`', '{', '|', '}', '~':
		return true
	}
	return false
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
