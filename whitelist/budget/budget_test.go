package budget

import (
	"slices"
	"strings"
	"testing"
)

// parseCase is one Parse table case; FuzzParse seeds from these too.
type parseCase struct {
	in      string
	want    Budget
	none    bool
	wantErr string // a part of the error; "" for none
}

func parseCases() []parseCase {
	return []parseCase{
		{in: "100/day", want: Budget{{100, Day}}},
		{in: "100/day 20/hour", want: Budget{{100, Day}, {20, Hour}}},
		{in: "20/hour 100/day", want: Budget{{100, Day}, {20, Hour}}},
		{in: "1/minute 2/hour 3/day 4/week 5/month", want: Budget{{5, Month}, {4, Week}, {3, Day}, {2, Hour}, {1, Minute}}},
		{in: " \t1000000000/month\t 7/week  ", want: Budget{{1_000_000_000, Month}, {7, Week}}},
		{in: "none", none: true},
		{in: "  none\t", none: true},

		{in: "", wantErr: "no limits"},
		{in: " \t ", wantErr: "no limits"},
		{in: "None", wantErr: `limit "None": want N/unit`},
		{in: "none 10/day", wantErr: `"none" must stand alone`},
		{in: "10/day none", wantErr: `"none" must stand alone`},
		{in: "100", wantErr: `limit "100": want N/unit`},
		{in: "day", wantErr: `limit "day": want N/unit`},
		{in: "/day", wantErr: `limit "/day": N must be decimal digits`},
		{in: "0/day", wantErr: `limit "0/day": N must be 1 or more`},
		{in: "05/day", wantErr: `limit "05/day": N must be 1 or more, without a leading zero`},
		{in: "+5/day", wantErr: `limit "+5/day": N must be decimal digits`},
		{in: "-5/day", wantErr: `limit "-5/day": N must be decimal digits`},
		{in: "1e3/day", wantErr: `limit "1e3/day": N must be decimal digits`},
		{in: "1_000/day", wantErr: `limit "1_000/day": N must be decimal digits`},
		{in: "\u0661/day", wantErr: `limit "\u0661/day": N must be decimal digits`},
		{in: "1000000001/day", wantErr: "N must be at most 1000000000"},
		{in: "99999999999999999999/day", wantErr: "N must be at most 1000000000"},
		{in: "10/dya", wantErr: `limit "10/dya": unknown unit "dya" (want minute, hour, day, week or month)`},
		{in: "10/Day", wantErr: `unknown unit "Day"`},
		{in: "10/days", wantErr: `unknown unit "days"`},
		{in: "10/", wantErr: `unknown unit ""`},
		{in: "10/day/hour", wantErr: `unknown unit "day/hour"`},
		{in: "10 /day", wantErr: `limit "10": want N/unit`},
		{in: "10/day,20/hour", wantErr: `unknown unit "day,20/hour"`},
		{in: "10/day 20/day", wantErr: "two limits per day: 10/day and 20/day"},
		{in: "10/day 10/day", wantErr: "two limits per day"},
		{in: "10/day # daily", wantErr: `limit "#": want N/unit`},
		{in: "10/day\r", wantErr: `unknown unit "day\r"`},
		{in: "10/day\u00a020/hour", wantErr: `unknown unit "day\u00a020/hour"`},
		{in: strings.Repeat("9", 60) + "/day", wantErr: `limit "` + strings.Repeat("9", 40) + `"...: N must be at most`},
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range parseCases() {
		b, none, err := Parse(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error = %v, want one containing %s", tt.in, err, tt.wantErr)
			}
			if b != nil || none {
				t.Errorf("Parse(%q) = %v, %v with an error, want nil, false", tt.in, b, none)
			}
		case err != nil:
			t.Errorf("Parse(%q) error = %v, want nil", tt.in, err)
		case !slices.Equal(b, tt.want) || none != tt.none || (b == nil) != (tt.want == nil):
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tt.in, b, none, tt.want, tt.none)
		}
	}
}

func TestBudgetString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b    Budget
		want string
	}{
		{nil, "none"},
		{Budget{}, "none"},
		{Budget{{100, Day}}, "100/day"},
		{Budget{{100, Day}, {20, Hour}}, "100/day 20/hour"},
		{Budget{{5, Month}, {4, Week}, {3, Day}, {2, Hour}, {1, Minute}}, "5/month 4/week 3/day 2/hour 1/minute"},
	}
	for _, tt := range tests {
		if got := tt.b.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.b, got, tt.want)
		}
	}
}

func TestUnit(t *testing.T) {
	t.Parallel()
	for u, name := range map[Unit]string{Minute: "minute", Hour: "hour", Day: "day", Week: "week", Month: "month"} {
		if got := u.String(); got != name {
			t.Errorf("Unit(%d).String() = %q, want %q", int(u), got, name)
		}
		if got, err := ParseUnit(name); got != u || err != nil {
			t.Errorf("ParseUnit(%q) = %v, %v; want %v, nil", name, got, err, u)
		}
	}
	for _, u := range []Unit{0, 6, -1} {
		if got, want := u.String(), "Unit("; !strings.HasPrefix(got, want) {
			t.Errorf("Unit(%d).String() = %q, want Unit(N)", int(u), got)
		}
	}
	for _, s := range []string{"", "Day", "days", "d", "year", "Unit(0)", "second"} {
		if u, err := ParseUnit(s); err == nil {
			t.Errorf("ParseUnit(%q) = %v, nil; want an error", s, u)
		}
	}
}

// FuzzParse checks that Parse never panics, and that what it accepts is a
// well-formed budget that reads back from its String.
func FuzzParse(f *testing.F) {
	for _, tt := range parseCases() {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b, none, err := Parse(in)
		if err != nil {
			if b != nil || none {
				t.Fatalf("Parse(%q) = %v, %v with error %v", in, b, none, err)
			}
			return
		}
		if none != (len(b) == 0) || b == nil && !none {
			t.Fatalf("Parse(%q) = %v, none %v", in, b, none)
		}
		for i, l := range b {
			if l.N < 1 || l.N > MaxN || !l.Unit.valid() || i > 0 && b[i-1].Unit <= l.Unit {
				t.Fatalf("Parse(%q) = %v: limit %d out of range or order", in, b, i)
			}
		}
		again, none2, err := Parse(b.String())
		if err != nil || none2 != none || !slices.Equal(again, b) {
			t.Fatalf("Parse(%q) = %v; Parse(%q) = %v, %v, %v", in, b, b.String(), again, none2, err)
		}
	})
}
