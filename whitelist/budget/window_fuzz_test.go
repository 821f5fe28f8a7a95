package budget

import (
	"testing"
	"time"
)

// fuzzZones are the zones FuzzWindow picks from: UTC and zones with
// unusual changes of offset.
var fuzzZones = []string{"UTC", "Europe/Berlin", "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kathmandu",
	"America/Goose_Bay", "Pacific/Apia", "Antarctica/Troll", "Africa/Casablanca", "Pacific/Chatham"}

// FuzzWindow checks the windows of every unit around any instant from
// 1900 to 2248 in those zones, as TestWindowsPartitionTime does around
// their changes of offset, and that every key is one the store takes as a
// window's name: 1 to 40 characters.
func FuzzWindow(f *testing.F) {
	for _, tt := range windowCases() {
		for i, z := range fuzzZones {
			if z == tt.zone || tt.zone == "" && z == "UTC" {
				f.Add(mustTime(f, tt.at).UnixMilli(), uint8(i), uint8(tt.unit))
			}
		}
	}
	f.Add(int64(-1<<41), uint8(6), uint8(Month))
	f.Add(int64(1<<43-1), uint8(7), uint8(Minute))
	locs := make([]*time.Location, len(fuzzZones))
	for i, z := range fuzzZones {
		locs[i] = mustLoad(f, z)
	}
	f.Fuzz(func(t *testing.T, ms int64, zone, unit uint8) {
		at := time.UnixMilli(ms % (1 << 43)) // from 1970 to 2248
		if ms < 0 {
			at = time.UnixMilli(ms % (1 << 41)) // from 1900 to 1970
		}
		u, loc := Unit(int(unit)%int(Month)+int(Minute)), locs[int(zone)%len(locs)]
		checkPartition(t, u, loc, at)
		if key := u.Key(at, loc); len(key) > 40 {
			t.Fatalf("%v.Key(%s) = %q, longer than the store's 40 characters", u, at, key)
		}
	})
}
