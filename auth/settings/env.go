package settings

import (
	"slices"
	"strings"
)

// UnknownEnv warns of each variable in environ (os.Environ's "NAME=value"
// form) that starts with prefix and is set, but that no setting reads,
// naming the variable probably meant. A command would otherwise ignore it
// silently: DOORMAN_CLIENT_ID looks right, but the client ID's twin may be
// DOORMAN_GOOGLE_CLIENT_ID.
func (t Table) UnknownEnv(prefix string, environ []string) []string {
	var warnings []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, prefix) || value == "" || slices.ContainsFunc(t, func(s Setting) bool { return s.Env == name }) {
			continue
		}
		warnings = append(warnings, name+" is set, but doorman reads no such variable"+t.envHint(prefix, name))
	}
	return warnings
}

// envHint suggests the setting an unknown variable name was meant for.
func (t Table) envHint(prefix, name string) string {
	for _, s := range t {
		if name != prefix+strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_")) {
			continue
		}
		if s.Env == "" {
			return ": --" + s.Name + " has no environment twin"
		}
		return ": did you mean " + s.Env + " (--" + s.Name + ")?"
	}
	for _, s := range t {
		if s.Env != "" && editDistance(name, s.Env) <= 2 {
			return ": did you mean " + s.Env + " (--" + s.Name + ")?"
		}
	}
	return " (doorman --help lists them)"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
