package budget

import (
	"fmt"
	"time"
)

// maxOffset bounds the distance between a wall clock and UTC: real zones
// stay within 15:56 hours (local mean times of the 19th century included).
const maxOffset = 18 * time.Hour

// Window returns the calendar window of unit u that contains t, in the time
// zone loc (nil means UTC): [start, end).
//
// Days, weeks (from Monday) and months run from local midnight to local
// midnight, so a day is 23 or 25 hours long across a DST change. Where a
// DST change skips midnight (America/Sao_Paulo until 2018), the day starts
// when the clocks jump, at 01:00; where it repeats midnight, at the first
// one. Where clocks go back over midnight (America/Goose_Bay in 2010, from
// 00:01 to 23:01), the repeated minutes belong to the new day, which began
// first.
//
// Hours and minutes are what the wall clock shows, but an hour or minute
// that a DST change repeats is two windows, one per pass: with clocks going
// back at 03:00, 02:00-03:00 summer time and 02:00-03:00 winter time are
// each one real hour (Key tells them apart). A DST change of less than an
// hour (Australia/Lord_Howe's 30 minutes) cuts an hour window short: a
// window never spans a change of the zone's offset.
//
// The windows of a unit partition time: the window after [start, end) is
// the Window of end. Window panics if u is no Unit.
func (u Unit) Window(t time.Time, loc *time.Location) (start, end time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	switch u {
	case Minute:
		return clockRun(t, time.Minute, time.Duration(t.Second())*time.Second)
	case Hour:
		return clockRun(t, time.Hour, time.Duration(t.Minute())*time.Minute+time.Duration(t.Second())*time.Second)
	case Day, Week, Month:
		first := u.firstDay(t)
		start, end = firstAtOrAfter(first, loc), firstAtOrAfter(u.nextDay(first), loc)
		if !t.Before(end) { // clocks set back over midnight: t shows the day before
			start, end = end, firstAtOrAfter(u.nextDay(u.nextDay(first)), loc)
		}
		return start, end
	}
	panic(fmt.Sprintf("budget: Window of %v", u))
}

// Key returns a short, stable name of u's window that contains start (a
// window's start, as Window returns, or any instant in it), in loc's local
// calendar (nil means UTC): "minute/2026-12-07T13:05", "hour/2026-12-07T13",
// "day/2026-12-07", "week/2026-12-07" (the Monday) or "month/2026-12". An
// hour or minute that a DST change repeats has "-2nd" added on its second
// pass: "hour/2026-10-25T02-2nd". Keys use only ASCII letters, digits and
// "/:T-"; two windows of a unit in one zone never share a key (for clocks
// set back by up to three hours, as every DST change is). Key panics if u
// is no Unit.
func (u Unit) Key(start time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	start, _ = u.Window(start, loc)
	t := start.In(loc)
	y, m, d := t.Date()
	switch u {
	case Minute:
		return fmt.Sprintf("minute/%04d-%02d-%02dT%02d:%02d%s", y, m, d, t.Hour(), t.Minute(), secondPass(t))
	case Hour:
		return fmt.Sprintf("hour/%04d-%02d-%02dT%02d%s", y, m, d, t.Hour(), secondPass(t))
	case Day:
		return fmt.Sprintf("day/%04d-%02d-%02d", y, m, d)
	case Week:
		return fmt.Sprintf("week/%04d-%02d-%02d", y, m, d)
	}
	return fmt.Sprintf("month/%04d-%02d", y, m)
}

// firstDay returns the first day of the day, week or month u that t's wall
// clock shows, as midnight UTC.
func (u Unit) firstDay(t time.Time) time.Time {
	y, m, d := t.Date()
	switch u {
	case Week:
		d -= (int(t.Weekday()) + 6) % 7 // Monday
	case Month:
		d = 1
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// nextDay returns the first day of the day, week or month u after the one
// that starts on first.
func (u Unit) nextDay(first time.Time) time.Time {
	switch u {
	case Week:
		return first.AddDate(0, 0, 7)
	case Month:
		return first.AddDate(0, 1, 0)
	}
	return first.AddDate(0, 0, 1)
}

// firstAtOrAfter returns the first instant at which the wall clock in loc
// shows the date of day (midnight UTC) at 00:00 or later. That is local
// midnight, or, where a DST change skips midnight, the instant the clocks
// jump; where midnight is repeated, the first one. It assumes at most one
// change of loc's offset within 18 hours of midnight, as in every real zone.
func firstAtOrAfter(day time.Time, loc *time.Location) time.Time {
	wall := day // the wall clock, read as UTC
	lo, hi := wall.Add(-maxOffset), wall.Add(maxOffset)
	before, after := offsetAt(lo, loc), offsetAt(hi, loc)
	first := wall.Add(-before) // where the wall clock shows midnight on the offset before
	if before == after {
		return first.In(loc)
	}
	change := offsetChange(lo, hi, loc)
	switch second := wall.Add(-after); {
	case first.Before(change):
		return first.In(loc)
	case !second.Before(change):
		return second.In(loc)
	default:
		return change // the clocks jumped over midnight
	}
}

// clockRun returns the minute or hour (size) containing t, into which t is
// elapsed, as one run of the wall clock: from the unit's start on t's
// offset, or from the last change of the offset if that is later, to the
// unit's end, or to the next change of the offset if that is sooner.
func clockRun(t time.Time, size, elapsed time.Duration) (start, end time.Time) {
	loc := t.Location()
	start = t.Add(-elapsed - time.Duration(t.Nanosecond()))
	end = start.Add(size)
	offset := offsetAt(t, loc)
	if offsetAt(start, loc) != offset {
		start = offsetChange(start, t, loc)
	}
	if last := end.Add(-time.Nanosecond); offsetAt(last, loc) != offset {
		end = offsetChange(t, last, loc)
	}
	return start, end
}

// maxBack bounds how far a DST change sets clocks back (Antarctica/Troll:
// two hours).
const maxBack = 3 * time.Hour

// secondPass returns "-2nd" when the wall clock showed start before: when
// a DST change set the clocks back over it. It returns "" otherwise.
func secondPass(start time.Time) string {
	loc := start.Location()
	offset := offsetAt(start, loc)
	earlier := offsetAt(start.Add(-maxBack), loc)
	if earlier <= offset {
		return ""
	}
	// On the earlier offset, the wall clock showed start's time at shown.
	if shown := start.Add(offset - earlier); offsetAt(shown, loc) == earlier {
		return "-2nd"
	}
	return ""
}

// offsetAt returns loc's offset from UTC at t.
func offsetAt(t time.Time, loc *time.Location) time.Duration {
	_, offset := t.In(loc).Zone()
	return time.Duration(offset) * time.Second
}

// offsetChange returns the first instant after lo at which loc's offset
// differs from the one at lo; the offset at hi must differ. It finds it by
// bisection (it does not trust Time.ZoneBounds, which for some zones and
// years reports an end of the zone before the instant asked about).
func offsetChange(lo, hi time.Time, loc *time.Location) time.Time {
	offset := offsetAt(lo, loc)
	for hi.Sub(lo) > time.Nanosecond {
		mid := lo.Add(hi.Sub(lo) / 2)
		if offsetAt(mid, loc) == offset {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.In(loc)
}
