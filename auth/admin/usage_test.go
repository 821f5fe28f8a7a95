package admin_test

import (
	"strings"
	"testing"
	"time"

	"doorman/auth/store"
)

// usageNow is when the tests look at usage: Wednesday 10 June 2099, 20:30
// UTC, when it is already Thursday 11 June, 05:30, in Tokyo.
var usageNow = time.Date(2099, 6, 10, 20, 30, 0, 0, time.UTC)

// usageWhitelist gives the main list a budget of 1000 a day, except for
// carol, who has none; gpt4's people have 100 a day and 20 an hour, bob
// 500 a week instead, frank 10 a day (less than he used today). The list
// called main has no budget.
const usageWhitelist = `budget 1000/day
@example.com
carol@example.com budget none

[gpt4]
budget 100/day 20/hour
alice@example.com
bob@example.com budget 500/week
frank@example.com budget 10/day

[main]
alice@example.com
`

// usageSpent are the counters the tests start from. erin is on no list
// any more; dave's counter is of the day before.
var usageSpent = []struct {
	list, email, key string
	cost             int64
}{
	{"", "alice@example.com", "day/2099-06-10", 7},
	{"", "carol@example.com", "day/2099-06-10", 3},
	{"", "erin@elsewhere.org", "day/2099-06-10", 2},
	{"", "alice@example.com", "day/2099-06-11", 4}, // Tokyo's day
	{"gpt4", "alice@example.com", "day/2099-06-10", 12},
	{"gpt4", "bob@example.com", "day/2099-06-10", 40},
	{"gpt4", "frank@example.com", "day/2099-06-10", 15},
	{"gpt4", "dave@example.com", "day/2099-06-09", 99},
	{"gpt4", "alice@example.com", "hour/2099-06-10T20", 5},
	{"gpt4", "alice@example.com", "week/2099-06-08", 30},
	{"gpt4", "bob@example.com", "week/2099-06-08", 60},
	{"gpt4", "alice@example.com", "month/2099-06", 90},
	{"main", "alice@example.com", "day/2099-06-10", 1},
}

// mustSpendFixture counts usageSpent in the store at dsn.
func mustSpendFixture(t *testing.T, dsn string) {
	t.Helper()
	st := mustOpen(t, dsn)
	expires := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) // by the store's clock
	for _, s := range usageSpent {
		w := []store.BudgetWindow{{Key: s.key, Limit: store.MaxBudget, Expires: expires}}
		if ok, _, err := st.Spend(t.Context(), s.email, s.list, w, s.cost); !ok || err != nil {
			t.Fatalf("Spend(%s, %q, %s, %d) = %v, %v; want true, nil", s.email, s.list, s.key, s.cost, ok, err)
		}
	}
}

// The fixture's rows in the tables of `doorman usage`.
const (
	usageTableHeader = "LIST    EMAIL               USED  LIMIT       REMAINING\n"
	aliceMainRow     = "(main)  alice@example.com   7     1000        993\n"
	carolMainRow     = "(main)  carol@example.com   3     none        -\n"
	erinMainRow      = "(main)  erin@elsewhere.org  2     not listed  -\n"
	bobGPT4Row       = "gpt4    bob@example.com     40    -           -\n"
	frankGPT4Row     = "gpt4    frank@example.com   15    10          0\n"
	aliceGPT4Row     = "gpt4    alice@example.com   12    100         88\n"
	aliceNamedMain   = "main    alice@example.com   1     none        -\n"
)

func TestUsage(t *testing.T) {
	wl := mustWriteFile(t, "whitelist.txt", usageWhitelist)
	forEachStore(t, func(t *testing.T, dsn string) {
		mustSpendFixture(t, dsn)
		env := map[string]string{"DOORMAN_STORE": dsn, "DOORMAN_WHITELIST": wl}
		tokyo := map[string]string{"DOORMAN_STORE": dsn, "DOORMAN_WHITELIST": wl, "DOORMAN_BUDGET_TIMEZONE": "Asia/Tokyo"}
		tests := []struct {
			name string
			env  map[string]string
			args []string
			want string
		}{
			{"every list", env, []string{"usage"}, "day 2099-06-10 (UTC)\n" + usageTableHeader +
				aliceMainRow + carolMainRow + erinMainRow + bobGPT4Row + frankGPT4Row + aliceGPT4Row + aliceNamedMain},
			{"one list", env, []string{"usage", "--list", "gpt4"}, "day 2099-06-10 (UTC)\n" +
				"LIST  EMAIL              USED  LIMIT  REMAINING\n" +
				"gpt4  bob@example.com    40    -      -\n" +
				"gpt4  frank@example.com  15    10     0\n" +
				"gpt4  alice@example.com  12    100    88\n"},
			{"main list", env, []string{"usage", "--list="}, "day 2099-06-10 (UTC)\n" + usageTableHeader +
				aliceMainRow + carolMainRow + erinMainRow},
			{"main list by its label", env, []string{"usage", "--list", "(main)"}, "day 2099-06-10 (UTC)\n" + usageTableHeader +
				aliceMainRow + carolMainRow + erinMainRow},
			{"the list called main", env, []string{"usage", "--list", "main"}, "day 2099-06-10 (UTC)\n" +
				"LIST  EMAIL              USED  LIMIT  REMAINING\n" +
				"main  alice@example.com  1     none   -\n"},
			{"hour", env, []string{"usage", "--window", "hour", "--list", "gpt4"}, "hour 2099-06-10T20 (UTC)\n" +
				"LIST  EMAIL              USED  LIMIT  REMAINING\n" +
				"gpt4  alice@example.com  5     20     15\n"},
			{"week", env, []string{"usage", "--window=week"}, "week 2099-06-08 (UTC)\n" +
				"LIST  EMAIL              USED  LIMIT  REMAINING\n" +
				"gpt4  bob@example.com    60    500    440\n" +
				"gpt4  alice@example.com  30    -      -\n"},
			{"month", env, []string{"usage", "--window", "month"}, "month 2099-06 (UTC)\n" +
				"LIST  EMAIL              USED  LIMIT  REMAINING\n" +
				"gpt4  alice@example.com  90    -      -\n"},
			{"nobody this minute", env, []string{"usage", "--window", "minute"}, "minute 2099-06-10T20:30 (UTC)\nno counted requests\n"},
			{"Tokyo's day", tokyo, []string{"usage"}, "day 2099-06-11 (Asia/Tokyo)\n" +
				"LIST    EMAIL              USED  LIMIT  REMAINING\n" +
				"(main)  alice@example.com  4     1000   996\n"},
			{"flag wins over env", tokyo, []string{"usage", "--budget-timezone", "UTC", "--list", ""}, "day 2099-06-10 (UTC)\n" + usageTableHeader +
				aliceMainRow + carolMainRow + erinMainRow},
			{"whitelist flag", map[string]string{"DOORMAN_STORE": dsn}, []string{"usage", "--whitelist", wl, "--list", "main"}, "day 2099-06-10 (UTC)\n" +
				"LIST  EMAIL              USED  LIMIT  REMAINING\n" +
				"main  alice@example.com  1     none   -\n"},
		}
		for _, tt := range tests {
			got, err := runUsage(t, tt.env, tt.args...)
			if got != tt.want || err != nil {
				t.Errorf("%s: Run(%q) = %v and wrote\n%s\nwant nil and\n%s", tt.name, tt.args, err, got, tt.want)
			}
		}
	})
}

func TestUsageJSON(t *testing.T) {
	wl := mustWriteFile(t, "whitelist.txt", usageWhitelist)
	forEachStore(t, func(t *testing.T, dsn string) {
		mustSpendFixture(t, dsn)
		env := map[string]string{"DOORMAN_STORE": dsn, "DOORMAN_WHITELIST": wl}
		tests := []struct {
			args []string
			want string
		}{
			{[]string{"usage", "--json", "--list", "(main)"}, `[
  {
    "list": "",
    "email": "alice@example.com",
    "window": "day/2099-06-10",
    "used": 7,
    "limit": 1000,
    "remaining": 993,
    "budget": "1000/day"
  },
  {
    "list": "",
    "email": "carol@example.com",
    "window": "day/2099-06-10",
    "used": 3,
    "limit": null,
    "remaining": null,
    "budget": "none"
  },
  {
    "list": "",
    "email": "erin@elsewhere.org",
    "window": "day/2099-06-10",
    "used": 2,
    "limit": null,
    "remaining": null,
    "budget": null
  }
]
`},
			{[]string{"usage", "--list", "gpt4", "--window", "week", "--json"}, `[
  {
    "list": "gpt4",
    "email": "bob@example.com",
    "window": "week/2099-06-08",
    "used": 60,
    "limit": 500,
    "remaining": 440,
    "budget": "500/week"
  },
  {
    "list": "gpt4",
    "email": "alice@example.com",
    "window": "week/2099-06-08",
    "used": 30,
    "limit": null,
    "remaining": null,
    "budget": "100/day 20/hour"
  }
]
`},
			{[]string{"usage", "--json", "--window", "minute"}, "[]\n"},
		}
		for _, tt := range tests {
			got, err := runUsage(t, env, tt.args...)
			if got != tt.want || err != nil {
				t.Errorf("Run(%q) = %v and wrote\n%s\nwant nil and\n%s", tt.args, err, got, tt.want)
			}
		}
	})
}

func TestUsageHelp(t *testing.T) {
	t.Parallel()
	out, err := runUsage(t, nil, "usage", "--help")
	if err != nil {
		t.Errorf("Run(usage --help) = %v, want nil", err)
	}
	for _, want := range []string{"Usage: doorman usage [flags]\n", "--store (DOORMAN_STORE)", "--whitelist (DOORMAN_WHITELIST)",
		"(default whitelist.txt)", "--budget-timezone (DOORMAN_BUDGET_TIMEZONE)", "(default UTC)", "--list\n",
		"(default every list of the whitelist)", "--window\n", "(default day)", "--json"} {
		if !strings.Contains(out, want) {
			t.Errorf("Run(usage --help) wrote %q, want %q in it", out, want)
		}
	}
}
