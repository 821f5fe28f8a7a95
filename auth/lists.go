package auth

// mainListLabel is how log events name the main list, whose own name is
// "" (as in "list=" and in the metrics' list label). "(main)" cannot be a
// list's name — names are letters, digits, '.', '_' and '-' — so it never
// stands for a list literally called "main", which a whitelist file may
// have; the whitelist's reload events use the same label.
const mainListLabel = "(main)"

// logList is list as log events name it.
func logList(list string) string {
	if list == "" {
		return mainListLabel
	}
	return list
}

// logLists is lists as log events name them, in a new slice.
func logLists(lists []string) []string {
	out := make([]string, len(lists))
	for i, l := range lists {
		out[i] = logList(l)
	}
	return out
}
