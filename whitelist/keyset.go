package whitelist

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"strings"
)

// keySet is an immutable set of strings laid out without pointers: the keys
// back to back in one string, their ends in a []uint32, and an open-addressing
// table of key numbers. The garbage collector sees three objects and scans
// none of them, however many keys there are. A map[string]struct{} is one
// object per key plus a pointer per slot that every GC cycle marks, and under
// load a GC cycle runs every few thousand /auth requests. The benchmarks in
// keyset_bench_test.go weigh the two: lookups cost the same, while at 100,000
// addresses the map holds 100,000 more heap objects and costs each GC cycle
// several times the CPU.
type keySet struct {
	data  string   // the keys, back to back
	ends  []uint32 // key i is data[ends[i-1]:ends[i]] (from 0 for i == 0)
	slots []uint32 // key number + 1, or 0 for an empty slot; len is a power of 2
	n     int      // keys in slots: a key given twice is in data twice, in slots once
	seed  maphash.Seed
}

// newKeySet returns the set of keys; a key given twice is kept once.
func newKeySet(keys []string) keySet {
	s := keySet{seed: maphash.MakeSeed()}
	if len(keys) == 0 {
		return s
	}
	total := 0
	for _, k := range keys {
		total += len(k)
	}
	var data strings.Builder
	data.Grow(total)
	s.ends = make([]uint32, 0, len(keys))
	for _, k := range keys {
		data.WriteString(k)
		s.ends = append(s.ends, uint32(data.Len()))
	}
	s.data = data.String()
	s.slots = make([]uint32, 1<<bits.Len(uint(2*len(keys)-1))) // load factor ≤ 1/2
	for i := range s.ends {
		key := s.key(uint32(i))
		if slot, found := probe(&s, key, maphash.String(s.seed, key)); !found {
			s.slots[slot] = uint32(i) + 1
			s.n++
		}
	}
	return s
}

// probe returns the slot of key, whose hash is h: the slot holding it
// (found), or the empty slot where it belongs. s must have slots.
func probe[K string | []byte](s *keySet, key K, h uint64) (slot uint32, found bool) {
	mask := uint32(len(s.slots) - 1)
	for i := uint32(h) & mask; ; i = (i + 1) & mask {
		n := s.slots[i]
		if n == 0 {
			return i, false
		}
		if s.key(n-1) == string(key) {
			return i, true
		}
	}
}

// key returns key number i.
func (s *keySet) key(i uint32) string {
	var start uint32
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.data[start:s.ends[i]]
}

// has reports whether key is in s. It does not allocate.
func (s *keySet) has(key []byte) bool {
	if s.n == 0 {
		return false
	}
	_, found := probe(s, key, maphash.Bytes(s.seed, key))
	return found
}

// hasString reports whether key is in s.
func (s *keySet) hasString(key string) bool {
	if s.n == 0 {
		return false
	}
	_, found := probe(s, key, maphash.String(s.seed, key))
	return found
}

// len returns the number of keys.
func (s *keySet) len() int { return s.n }

// all yields every key once, in no particular order.
func (s *keySet) all() iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, n := range s.slots {
			if n != 0 && !yield(s.key(n-1)) {
				return
			}
		}
	}
}
