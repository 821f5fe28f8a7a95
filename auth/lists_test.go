package auth

import (
	"slices"
	"testing"
)

func TestLogListNames(t *testing.T) {
	t.Parallel()
	if got, want := logLists([]string{"", "gpt4", "main"}), []string{"(main)", "gpt4", "main"}; !slices.Equal(got, want) {
		t.Errorf("logLists = %q, want %q", got, want)
	}
	if validListName(mainListLabel) {
		t.Errorf("%q is a valid list name; the label of the main list must not be", mainListLabel)
	}
}
