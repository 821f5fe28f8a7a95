package admin_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// The fixture's tokens as `doorman tokens` shows them.
const (
	tokensHeader   = "EMAIL              NAME       TOKEN          LISTS        MADE (UTC)        LAST USED (UTC)   EXPIRES (UTC)\n"
	aliceCiRow     = "alice@example.com  ci         doorman_Ab12…  (main),gpt4  2025-01-02 03:04  2025-01-03 05:05  2099-01-02 03:04\n"
	bobTokenRow    = "bob@example.com    build bot  doorman_Bo0b…  (main)       2025-01-02 04:04  -                 2099-01-02 03:04\n"
	aliceLaptopRow = "alice@example.com  laptop     doorman_Cd34…  gpt4         2025-01-04 03:04  -                 2099-01-02 03:04\n"
)

// aliceHeader and alignAlice are the table of alice's tokens alone, whose
// names are narrower than bob's.
const aliceHeader = "EMAIL              NAME    TOKEN          LISTS        MADE (UTC)        LAST USED (UTC)   EXPIRES (UTC)\n"

func alignAlice(row string) string { return strings.Replace(row, "   doorman_", "doorman_", 1) }

func TestTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		mustFill(t, dsn)
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"everyone", []string{"tokens"}, tokensHeader + aliceCiRow + bobTokenRow + aliceLaptopRow},
			{"one person", []string{"tokens", "Alice@Example.com"}, aliceHeader + alignAlice(aliceCiRow) + alignAlice(aliceLaptopRow)},
			{"expired", []string{"tokens", "carol@example.com"}, "no live tokens of carol@example.com\n"},
			{"ended", []string{"tokens", "dave@example.com"}, "no live tokens of dave@example.com\n"},
			{"nobody, JSON", []string{"tokens", "--json", "nobody@example.com"}, "[]\n"},
		}
		for _, tt := range tests {
			got, err := runAdmin(t, dsn, tt.args...)
			if got != tt.want || err != nil {
				t.Errorf("%s: Run(%q) = %v and wrote\n%s\nwant nil and\n%s", tt.name, tt.args, err, got, tt.want)
			}
		}
	})
}

func TestTokensEmptyStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		mustOpen(t, dsn)
		got, err := runAdmin(t, dsn, "tokens")
		if want := "no live tokens\n"; got != want || err != nil {
			t.Errorf("Run(tokens) = %q, %v; want %q, nil", got, err, want)
		}
	})
}

func TestTokensJSON(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		mustFill(t, dsn)
		out, err := runAdmin(t, dsn, "tokens", "--json", "alice@example.com")
		if err != nil {
			t.Fatalf("Run(tokens --json) = %v", err)
		}
		want := `[
  {
    "email": "alice@example.com",
    "name": "ci",
    "id": "aliceCiT",
    "prefix": "doorman_Ab12",
    "lists": [
      "",
      "gpt4"
    ],
    "created": "2025-01-02T03:04:05.678Z",
    "last_used": "2025-01-03T05:05:04.678Z",
    "expires": "2099-01-02T03:04:05Z"
  },
  {
    "email": "alice@example.com",
    "name": "laptop",
    "id": "aliceLap",
    "prefix": "doorman_Cd34",
    "lists": [
      "gpt4"
    ],
    "created": "2025-01-04T03:04:05.678Z",
    "last_used": null,
    "expires": "2099-01-02T03:04:05Z"
  }
]
`
		if out != want {
			t.Errorf("Run(tokens --json alice) wrote\n%s\nwant\n%s", out, want)
		}
		var parsed []map[string]any
		if err := json.Unmarshal([]byte(out), &parsed); err != nil || strings.Contains(out, "Hash") {
			t.Errorf("tokens --json: %v, or it shows a whole store id:\n%s", err, out)
		}
	})
}
