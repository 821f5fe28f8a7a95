package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestSpendQueueGroups checks group commit: Spends that queue while a group
// is being written are all written by the next writer, in one group, in
// the order they came, and each gets that group's outcome.
func TestSpendQueueGroups(t *testing.T) {
	q := newSpendQueue()
	var (
		mu     sync.Mutex
		groups [][]*spendCall
	)
	release := make(chan struct{})
	write := func(_ context.Context, g []*spendCall) error {
		mu.Lock()
		groups = append(groups, g)
		first := len(groups) == 1
		mu.Unlock()
		if first {
			<-release // the first group holds the turn while the others queue
		}
		return nil
	}
	first := &spendCall{done: make(chan error, 1)}
	firstDone := make(chan error, 1)
	go func() { firstDone <- q.run(t.Context(), first, 10*time.Second, write) }()
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(groups) == 1 })

	const n = 20
	calls := make([]*spendCall, n)
	var wg sync.WaitGroup
	for i := range calls {
		calls[i] = &spendCall{done: make(chan error, 1)}
		wg.Go(func() {
			if err := q.run(t.Context(), calls[i], 10*time.Second, write); err != nil {
				t.Errorf("run() = %v", err)
			}
		})
		waitUntil(t, func() bool { q.mu.Lock(); defer q.mu.Unlock(); return len(q.pending) == i+1 })
	}
	close(release)
	wg.Wait()
	if err := <-firstDone; err != nil {
		t.Fatalf("first run() = %v", err)
	}
	if len(groups) != 2 || len(groups[1]) != n {
		t.Fatalf("groups of %v, want [1 %d]: the %d calls queued behind the first group form one", sizes(groups), n, n)
	}
	for i, c := range groups[1] {
		if c != calls[i] {
			t.Fatalf("call %d of the group is not the %d-th queued", i, i)
		}
	}
}

// TestSpendQueueLeave checks the two ways of giving up: a call that no
// writer took yet leaves the queue and is never written; a call a writer
// took gets that writer's outcome, even after its own context ended, so
// that a caller is never told "not counted" about a count that was made.
func TestSpendQueueLeave(t *testing.T) {
	q := newSpendQueue()
	written := map[*spendCall]bool{}
	var mu sync.Mutex
	inWrite, release := make(chan struct{}), make(chan struct{})
	write := func(_ context.Context, g []*spendCall) error {
		mu.Lock()
		for _, c := range g {
			written[c] = true
		}
		mu.Unlock()
		inWrite <- struct{}{}
		<-release
		return errors.New("disk full")
	}
	holder := &spendCall{done: make(chan error, 1)}
	holderDone := make(chan error, 1)
	go func() { holderDone <- q.run(t.Context(), holder, 10*time.Second, write) }()
	<-inWrite // holder is writing its group of one

	// Queued behind it, then given up: it leaves and is never written.
	ctx, cancel := context.WithCancel(t.Context())
	left := &spendCall{done: make(chan error, 1)}
	leftDone := make(chan error, 1)
	go func() { leftDone <- q.run(ctx, left, 10*time.Second, write) }()
	waitUntil(t, func() bool { q.mu.Lock(); defer q.mu.Unlock(); return len(q.pending) == 1 })
	cancel()
	if err := <-leftDone; !errors.Is(err, context.Canceled) {
		t.Errorf("run() of a call given up while queued = %v, want context.Canceled", err)
	}
	release <- struct{}{}
	if err := <-holderDone; err == nil || err.Error() != "disk full" {
		t.Errorf("run() of the writer = %v, want its group's outcome, disk full", err)
	}
	mu.Lock()
	if written[left] {
		t.Error("a call given up before any writer took it was written")
	}
	mu.Unlock()

	// Taken by a writer, then given up: it waits for the writer's outcome.
	// A writes alone; B and C queue behind it; whichever of them gets the
	// turn next writes both, and the other, given up meanwhile, must wait.
	a := &spendCall{done: make(chan error, 1)}
	aDone := make(chan error, 1)
	go func() { aDone <- q.run(t.Context(), a, 10*time.Second, write) }()
	<-inWrite
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	bc := []*spendCall{{done: make(chan error, 1)}, {done: make(chan error, 1)}}
	bcDone := make(chan error, 2)
	for _, c := range bc {
		go func() { bcDone <- q.run(ctx, c, 10*time.Second, write) }()
	}
	waitUntil(t, func() bool { q.mu.Lock(); defer q.mu.Unlock(); return len(q.pending) == 2 })
	release <- struct{}{}
	<-aDone
	<-inWrite // B or C writes the group of both
	cancel()
	select {
	case err := <-bcDone:
		t.Fatalf("run() returned %v while its group was still being written", err)
	case <-time.After(100 * time.Millisecond):
	}
	release <- struct{}{}
	for range bc {
		if err := <-bcDone; err == nil || err.Error() != "disk full" {
			t.Errorf("run() of a call given up while written = %v, want its group's outcome, disk full", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !written[bc[0]] || !written[bc[1]] {
		t.Error("the queued calls were not written together")
	}
}

func sizes(groups [][]*spendCall) []int {
	var n []int
	for _, g := range groups {
		n = append(n, len(g))
	}
	return n
}

// waitUntil polls cond for up to 5 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
	}
}
