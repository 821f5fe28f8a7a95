package whitelist

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"testing"
)

// The benchmarks below weigh keySet against the map[string]struct{} it
// stands in for, at 100,000 addresses:
//
//	go test -run '^$' -bench 'BenchmarkSet' -count 6 ./whitelist/
//
// BenchmarkSetLookup is the cost of one has (hits and misses, spread over the
// whole set as many users' requests are); BenchmarkSetGC is what a live set
// costs the garbage collector: one full collection per op, and the heap
// objects and bytes the set holds; BenchmarkSetGarbage is the collector's CPU
// time while 64 MiB of short-lived garbage (what requests leave behind) is
// allocated with the set live.

const benchSetSize = 100_000

// benchKeys returns n addresses, each its own string, as a parse makes them.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("user%d.%d@example.com", i%5, i/5)
	}
	return keys
}

// newMapSet is the map a keySet replaces.
func newMapSet(keys []string) map[string]struct{} {
	m := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		m[k] = struct{}{}
	}
	return m
}

// probes returns 4096 keys to look up: addresses of the set in random
// order when hit, addresses not in it otherwise.
func probes(hit bool) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, 4096)
	for i := range out {
		n := r.IntN(benchSetSize)
		if hit {
			out[i] = fmt.Appendf(nil, "user%d.%d@example.com", n%5, n/5)
		} else {
			out[i] = fmt.Appendf(nil, "user%d.%d@example.org", n%5, n/5)
		}
	}
	return out
}

func BenchmarkSetLookup(b *testing.B) {
	keys := benchKeys(benchSetSize)
	ks, m := newKeySet(keys), newMapSet(keys)
	impls := []struct {
		name string
		has  func([]byte) bool
	}{
		{"keyset", ks.has},
		{"map", func(k []byte) bool { _, ok := m[string(k)]; return ok }},
	}
	for _, hit := range []bool{true, false} {
		keys := probes(hit)
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/hit=%v", impl.name, hit), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if impl.has(keys[i&4095]) != hit {
						b.Fatalf("has(%s) = %v, want %v", keys[i&4095], !hit, hit)
					}
					i++
				}
			})
		}
	}
}

// liveSet builds a set of benchSetSize addresses with build and returns it
// with the heap objects and bytes it holds once every temporary is gone.
func liveSet(build func([]string) any) (set any, objects, bytes uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	set = build(benchKeys(benchSetSize))
	runtime.GC()
	runtime.ReadMemStats(&after)
	return set, after.HeapObjects - before.HeapObjects, after.HeapAlloc - before.HeapAlloc
}

// setBuilders are the two ways to hold the set.
var setBuilders = []struct {
	name  string
	build func([]string) any
}{
	{"keyset", func(keys []string) any { s := newKeySet(keys); return &s }},
	{"map", func(keys []string) any { return newMapSet(keys) }},
}

func BenchmarkSetGC(b *testing.B) {
	for _, sb := range setBuilders {
		b.Run(sb.name, func(b *testing.B) {
			set, objects, bytes := liveSet(sb.build)
			cpu0, _ := gcStats()
			for b.Loop() {
				runtime.GC()
			}
			cpu1, _ := gcStats()
			runtime.KeepAlive(set)
			b.ReportMetric(float64(objects), "heap-objects")
			b.ReportMetric(float64(bytes)/(1<<20), "heap-MiB")
			b.ReportMetric((cpu1-cpu0)*1e6/float64(b.N), "gc-cpu-µs/op")
		})
	}
}

func BenchmarkSetGarbage(b *testing.B) {
	for _, sb := range setBuilders {
		b.Run(sb.name, func(b *testing.B) {
			set, _, _ := liveSet(sb.build)
			cpu0, cycles0 := gcStats()
			var ring [64][]byte // keeps each piece of garbage alive for a moment
			for b.Loop() {
				for i := range 1 << 20 { // 64 MiB in 64-byte objects
					ring[i&63] = make([]byte, 64)
				}
			}
			cpu1, cycles1 := gcStats()
			runtime.KeepAlive(set)
			b.ReportMetric((cpu1-cpu0)*1e3/float64(b.N), "gc-cpu-ms/op")
			b.ReportMetric(float64(cycles1-cycles0)/float64(b.N), "gc-cycles/op")
		})
	}
}

// gcStats returns the CPU seconds the garbage collector has used so far
// (the runtime's estimate) and the number of completed cycles.
func gcStats() (cpuSeconds float64, cycles uint64) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Float64(), s[1].Value.Uint64()
}
