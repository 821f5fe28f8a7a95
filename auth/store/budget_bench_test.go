package store_test

import (
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"doorman/auth/store"
	"doorman/auth/store/redistest"
)

// BenchmarkSpend measures counted checks: a Spend of 1 in a day's and an
// hour's window that always has room, one after another and from many
// goroutines at once (8 per CPU), on SQLite and on Redis with its append-only file
// written through (the durable settings).
func BenchmarkSpend(b *testing.B) {
	b.Run("SQLite", func(b *testing.B) { benchSpend(b, filepath.Join(b.TempDir(), "doorman.db")) })
	b.Run("Redis", func(b *testing.B) { benchSpend(b, redistest.Start(b, redistest.AppendOnly()).URL()) })
}

func benchSpend(b *testing.B, dsn string) {
	s, err := store.Open(b.Context(), dsn, store.Options{})
	if err != nil {
		b.Fatalf("Open(%s) = %v", dsn, err)
	}
	b.Cleanup(func() { s.Close() })
	expires := time.Now().Add(24 * time.Hour)
	ws := []store.BudgetWindow{
		{Key: dayKey, Limit: store.MaxBudget, Expires: expires},
		{Key: hourKey, Limit: store.MaxBudget, Expires: expires},
	}
	var n atomic.Int64
	spend := func(b *testing.B) {
		email := "user" + strconv.FormatInt(n.Add(1)%100, 10) + "@example.com"
		if ok, _, err := s.Spend(b.Context(), email, "gpt4", ws, 1); !ok || err != nil {
			b.Errorf("Spend() = %v, %v", ok, err)
		}
	}
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			spend(b)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spends/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8) // goroutines per CPU: many checks waiting at once, as under load
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				spend(b)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spends/s")
	})
}
