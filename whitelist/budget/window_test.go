package budget

import (
	"regexp"
	"testing"
	"time"
)

// windowCase is one instant's window of one unit in one zone. Instants are
// RFC 3339 with their offset, so that a wall time that a DST change repeats
// names one instant.
type windowCase struct {
	name       string
	zone       string
	unit       Unit
	at         string
	start, end string
	key        string
}

func windowCases() []windowCase {
	return []windowCase{
		// UTC, and the calendar's edges.
		{"minute", "UTC", Minute, "2026-12-07T13:05:09.5Z", "2026-12-07T13:05:00Z", "2026-12-07T13:06:00Z", "minute/2026-12-07T13:05"},
		{"hour", "UTC", Hour, "2026-12-07T13:05:09Z", "2026-12-07T13:00:00Z", "2026-12-07T14:00:00Z", "hour/2026-12-07T13"},
		{"day", "UTC", Day, "2026-12-07T13:05:09Z", "2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z", "day/2026-12-07"},
		{"week on its Monday", "UTC", Week, "2026-12-07T00:00:00Z", "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z", "week/2026-12-07"},
		{"week on its Sunday", "UTC", Week, "2026-12-13T23:59:59Z", "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z", "week/2026-12-07"},
		{"month", "UTC", Month, "2026-11-30T23:59:59Z", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "month/2026-11"},
		{"last minute of the year", "UTC", Minute, "2026-12-31T23:59:30Z", "2026-12-31T23:59:00Z", "2027-01-01T00:00:00Z", "minute/2026-12-31T23:59"},
		{"last hour of the year", "UTC", Hour, "2026-12-31T23:30:00Z", "2026-12-31T23:00:00Z", "2027-01-01T00:00:00Z", "hour/2026-12-31T23"},
		{"last day of the year", "UTC", Day, "2026-12-31T12:00:00Z", "2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z", "day/2026-12-31"},
		{"December", "UTC", Month, "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "month/2026-12"},
		{"January", "UTC", Month, "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z", "month/2027-01"},
		{"week across the new year", "UTC", Week, "2027-01-01T08:00:00Z", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z", "week/2026-12-28"},
		{"February 29", "UTC", Day, "2028-02-29T10:00:00Z", "2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z", "day/2028-02-29"},
		{"leap February", "UTC", Month, "2028-02-29T10:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z", "month/2028-02"},
		{"week with February 29", "UTC", Week, "2028-03-01T10:00:00Z", "2028-02-28T00:00:00Z", "2028-03-06T00:00:00Z", "week/2028-02-28"},
		{"nil location is UTC", "", Day, "2026-12-07T23:30:00-05:00", "2026-12-08T00:00:00Z", "2026-12-09T00:00:00Z", "day/2026-12-08"},

		// A local calendar, not UTC's.
		{"Berlin day", "Europe/Berlin", Day, "2026-12-07T23:30:00Z", "2026-12-08T00:00:00+01:00", "2026-12-09T00:00:00+01:00", "day/2026-12-08"},
		{"Berlin new year", "Europe/Berlin", Month, "2026-12-31T23:30:00Z", "2027-01-01T00:00:00+01:00", "2027-02-01T00:00:00+01:00", "month/2027-01"},
		{"Kolkata hour", "Asia/Kolkata", Hour, "2026-12-07T13:05:00+05:30", "2026-12-07T13:00:00+05:30", "2026-12-07T14:00:00+05:30", "hour/2026-12-07T13"},
		{"Kolkata day", "Asia/Kolkata", Day, "2026-12-07T20:00:00Z", "2026-12-08T00:00:00+05:30", "2026-12-09T00:00:00+05:30", "day/2026-12-08"},
		{"Kolkata week", "Asia/Kolkata", Week, "2026-12-06T19:00:00Z", "2026-12-07T00:00:00+05:30", "2026-12-14T00:00:00+05:30", "week/2026-12-07"},

		// Europe/Berlin: 02:00 -> 03:00 on 2026-03-29, 03:00 -> 02:00 on 2026-10-25.
		{"Berlin 23-hour day", "Europe/Berlin", Day, "2026-03-29T12:00:00+02:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", "day/2026-03-29"},
		{"Berlin hour before the jump", "Europe/Berlin", Hour, "2026-03-29T01:59:59+01:00", "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "hour/2026-03-29T01"},
		{"Berlin hour after the jump", "Europe/Berlin", Hour, "2026-03-29T03:00:00+02:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00", "hour/2026-03-29T03"},
		{"Berlin 25-hour day", "Europe/Berlin", Day, "2026-10-25T12:00:00+01:00", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", "day/2026-10-25"},
		{"Berlin first 02 hour", "Europe/Berlin", Hour, "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00", "hour/2026-10-25T02"},
		{"Berlin second 02 hour", "Europe/Berlin", Hour, "2026-10-25T02:30:00+01:00", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00", "hour/2026-10-25T02-2nd"},
		{"Berlin hour after the repeat", "Europe/Berlin", Hour, "2026-10-25T03:00:00+01:00", "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00", "hour/2026-10-25T03"},
		{"Berlin repeated minute", "Europe/Berlin", Minute, "2026-10-25T02:59:59+01:00", "2026-10-25T02:59:00+01:00", "2026-10-25T03:00:00+01:00", "minute/2026-10-25T02:59-2nd"},
		{"Berlin first pass minute", "Europe/Berlin", Minute, "2026-10-25T02:59:59+02:00", "2026-10-25T02:59:00+02:00", "2026-10-25T02:00:00+01:00", "minute/2026-10-25T02:59"},
		{"Berlin week with the long day", "Europe/Berlin", Week, "2026-10-25T23:00:00+01:00", "2026-10-19T00:00:00+02:00", "2026-10-26T00:00:00+01:00", "week/2026-10-19"},
		{"Berlin month with the long day", "Europe/Berlin", Month, "2026-10-31T23:59:59+01:00", "2026-10-01T00:00:00+02:00", "2026-11-01T00:00:00+01:00", "month/2026-10"},

		// America/New_York: 02:00 -> 03:00 on 2026-03-08, 02:00 -> 01:00 on 2026-11-01.
		{"New York 23-hour day", "America/New_York", Day, "2026-03-08T10:00:00-04:00", "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", "day/2026-03-08"},
		{"New York first 01 hour", "America/New_York", Hour, "2026-11-01T01:15:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "hour/2026-11-01T01"},
		{"New York second 01 hour", "America/New_York", Hour, "2026-11-01T01:15:00-05:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00", "hour/2026-11-01T01-2nd"},
		{"New York 25-hour day", "America/New_York", Day, "2026-11-01T23:00:00-05:00", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", "day/2026-11-01"},

		// Australia/Lord_Howe: 30-minute DST. 02:00 -> 01:30 on 2026-04-05,
		// 02:00 -> 02:30 on 2026-10-04.
		{"Lord Howe hour before the fall back", "Australia/Lord_Howe", Hour, "2026-04-05T01:45:00+11:00", "2026-04-05T01:00:00+11:00", "2026-04-05T01:30:00+10:30", "hour/2026-04-05T01"},
		{"Lord Howe repeated half hour", "Australia/Lord_Howe", Hour, "2026-04-05T01:45:00+10:30", "2026-04-05T01:30:00+10:30", "2026-04-05T02:00:00+10:30", "hour/2026-04-05T01-2nd"},
		{"Lord Howe hour after the fall back", "Australia/Lord_Howe", Hour, "2026-04-05T02:10:00+10:30", "2026-04-05T02:00:00+10:30", "2026-04-05T03:00:00+10:30", "hour/2026-04-05T02"},
		{"Lord Howe repeated minute", "Australia/Lord_Howe", Minute, "2026-04-05T01:30:10+10:30", "2026-04-05T01:30:00+10:30", "2026-04-05T01:31:00+10:30", "minute/2026-04-05T01:30-2nd"},
		{"Lord Howe 24.5-hour day", "Australia/Lord_Howe", Day, "2026-04-05T12:00:00+10:30", "2026-04-05T00:00:00+11:00", "2026-04-06T00:00:00+10:30", "day/2026-04-05"},
		{"Lord Howe half hour after the jump", "Australia/Lord_Howe", Hour, "2026-10-04T02:45:00+11:00", "2026-10-04T02:30:00+11:00", "2026-10-04T03:00:00+11:00", "hour/2026-10-04T02"},
		{"Lord Howe hour before the jump", "Australia/Lord_Howe", Hour, "2026-10-04T01:59:00+10:30", "2026-10-04T01:00:00+10:30", "2026-10-04T02:30:00+11:00", "hour/2026-10-04T01"},
		{"Lord Howe 23.5-hour day", "Australia/Lord_Howe", Day, "2026-10-04T12:00:00+11:00", "2026-10-04T00:00:00+10:30", "2026-10-05T00:00:00+11:00", "day/2026-10-04"},

		// America/Sao_Paulo, when it had DST: midnight skipped on
		// 2018-11-04 (00:00 -> 01:00), 23:00 repeated on 2019-02-16
		// (24:00 -> 23:00).
		{"Sao Paulo day without midnight", "America/Sao_Paulo", Day, "2018-11-04T12:00:00-02:00", "2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00", "day/2018-11-04"},
		{"Sao Paulo day before it", "America/Sao_Paulo", Day, "2018-11-03T23:59:59-03:00", "2018-11-03T00:00:00-03:00", "2018-11-04T01:00:00-02:00", "day/2018-11-03"},
		{"Sao Paulo first hour without midnight", "America/Sao_Paulo", Hour, "2018-11-04T01:00:00-02:00", "2018-11-04T01:00:00-02:00", "2018-11-04T02:00:00-02:00", "hour/2018-11-04T01"},
		{"Sao Paulo week without Sunday midnight", "America/Sao_Paulo", Week, "2018-11-04T12:00:00-02:00", "2018-10-29T00:00:00-03:00", "2018-11-05T00:00:00-02:00", "week/2018-10-29"},
		{"Sao Paulo 25-hour day", "America/Sao_Paulo", Day, "2019-02-16T23:30:00-03:00", "2019-02-16T00:00:00-02:00", "2019-02-17T00:00:00-03:00", "day/2019-02-16"},
		{"Sao Paulo repeated 23 hour", "America/Sao_Paulo", Hour, "2019-02-16T23:30:00-03:00", "2019-02-16T23:00:00-03:00", "2019-02-17T00:00:00-03:00", "hour/2019-02-16T23-2nd"},

		// America/Goose_Bay, 2010-11-07: 00:01 -> 23:01 the day before. The
		// repeated minutes of Saturday count to Sunday, which began first.
		{"Goose Bay clocks back over midnight", "America/Goose_Bay", Day, "2010-11-06T23:30:00-04:00", "2010-11-07T00:00:00-03:00", "2010-11-08T00:00:00-04:00", "day/2010-11-07"},
		// Pacific/Apia skipped 2011-12-30.
		{"Apia day before the skipped day", "Pacific/Apia", Day, "2011-12-29T23:00:00-10:00", "2011-12-29T00:00:00-10:00", "2011-12-31T00:00:00+14:00", "day/2011-12-29"},
		{"Apia day after the skipped day", "Pacific/Apia", Day, "2011-12-31T00:00:00+14:00", "2011-12-31T00:00:00+14:00", "2012-01-01T00:00:00+14:00", "day/2011-12-31"},
	}
}

// mustLoad returns the named zone; "" is nil.
func mustLoad(t testing.TB, zone string) *time.Location {
	t.Helper()
	if zone == "" {
		return nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", zone, err)
	}
	return loc
}

// mustTime parses an RFC 3339 instant.
func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time.Parse(%q): %v", s, err)
	}
	return at
}

func TestWindow(t *testing.T) {
	t.Parallel()
	for _, tt := range windowCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loc := mustLoad(t, tt.zone)
			at := mustTime(t, tt.at)
			start, end := tt.unit.Window(at, loc)
			if want := mustTime(t, tt.start); !start.Equal(want) {
				t.Errorf("%v.Window(%s) start = %s, want %s", tt.unit, tt.at, start.Format(time.RFC3339), tt.start)
			}
			if want := mustTime(t, tt.end); !end.Equal(want) {
				t.Errorf("%v.Window(%s) end = %s, want %s", tt.unit, tt.at, end.Format(time.RFC3339), tt.end)
			}
			if got := tt.unit.Key(start, loc); got != tt.key {
				t.Errorf("%v.Key(%s) = %q, want %q", tt.unit, start.Format(time.RFC3339), got, tt.key)
			}
			if got := tt.unit.Key(at, loc); got != tt.key {
				t.Errorf("%v.Key(%s), an instant inside the window, = %q, want %q", tt.unit, tt.at, got, tt.key)
			}
		})
	}
}

// keyChars is what a Key may hold.
var keyChars = regexp.MustCompile(`^[A-Za-z0-9/:T-]+$`)

// TestWindowsPartitionTime walks every change of offset of some zones with
// unusual ones, 1970 to 2040, and checks each unit's windows around each
// change: every instant lies in its window, the next window starts where
// one ends, and no two windows share a key.
func TestWindowsPartitionTime(t *testing.T) {
	t.Parallel()
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Sao_Paulo",
		"Asia/Kolkata", "Asia/Kathmandu", "America/Goose_Bay", "America/St_Johns", "Pacific/Apia",
		"Antarctica/Troll", "America/Santiago", "Europe/London", "Pacific/Chatham", "Africa/Casablanca"}
	for _, zone := range zones {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			loc := mustLoad(t, zone)
			changes := offsetChanges(loc, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC))
			for u := Minute; u <= Month; u++ {
				for _, c := range changes {
					checkPartition(t, u, loc, c)
				}
			}
		})
	}
}

// offsetChanges returns the instants in [from, to) at which loc's offset
// changes, plus the turn of each year (where Time.ZoneBounds has been
// wrong).
func offsetChanges(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for y := from.Year(); y < to.Year(); y++ {
		out = append(out, time.Date(y, 12, 31, 23, 59, 0, 0, loc))
	}
	for at := from; at.Before(to); at = at.Add(6 * time.Hour) {
		if offsetAt(at, loc) != offsetAt(at.Add(6*time.Hour), loc) {
			out = append(out, offsetChange(at, at.Add(6*time.Hour), loc))
		}
	}
	return out
}

// checkPartition checks u's windows around the instant c.
func checkPartition(t *testing.T, u Unit, loc *time.Location, c time.Time) {
	t.Helper()
	step := map[Unit]time.Duration{Minute: 13 * time.Second, Hour: 7 * time.Minute, Day: 3 * time.Hour, Week: 20 * time.Hour, Month: 3 * 24 * time.Hour}[u]
	keys := map[string]time.Time{}
	for i := -12; i <= 12; i++ {
		at := c.Add(time.Duration(i) * step)
		start, end := u.Window(at, loc)
		key := u.Key(start, loc)
		next, _ := u.Window(end, loc)
		switch first, seen := keys[key]; {
		case at.Before(start) || !at.Before(end):
			t.Errorf("%v.Window(%s) = [%s, %s), not containing it", u, at, start, end)
		case !next.Equal(end):
			t.Errorf("%v.Window(%s) ends at %s, but the next window starts at %s", u, at, end, next)
		case u.Key(at, loc) != key:
			t.Errorf("%v.Key(%s) = %q, but the key of its window's start is %q", u, at, u.Key(at, loc), key)
		case seen && !first.Equal(start):
			t.Errorf("%v.Key = %q for the windows starting at %s and %s", u, key, first, start)
		case !keyChars.MatchString(key):
			t.Errorf("%v.Key(%s) = %q, want only [A-Za-z0-9/:T-]", u, start, key)
		}
		keys[key] = start
	}
}

func TestWindowPanicsOnBadUnit(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Errorf("Unit(0).Window did not panic")
		}
	}()
	Unit(0).Window(time.Now(), nil)
}

func BenchmarkWindow(b *testing.B) {
	loc := mustLoad(b, "Europe/Berlin")
	at := mustTime(b, "2026-12-07T13:05:09Z")
	for u := Minute; u <= Month; u++ {
		b.Run(u.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				start, _ := u.Window(at, loc)
				_ = u.Key(start, loc)
			}
		})
	}
}
