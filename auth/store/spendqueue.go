package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// maxSpendGroup bounds how many Spends one write transaction takes, so
// that none holds the file's write lock for long.
const maxSpendGroup = 256

// spendCall is one Spend waiting in a spendQueue, and where its outcome
// goes once its group is committed or rolled back.
type spendCall struct {
	sp   *spend
	done chan error // buffered: the group's writer never waits on it
}

// spendQueue groups the Spends of one process into shared transactions:
// group commit. A Spend joins the queue, then waits either for its outcome
// or for the turn to write; with the turn, it writes every Spend queued
// (its own among them, unless a writer before it already took it) and
// hands each its outcome. A Spend that gives up (its context or the wait
// ends) before a writer took it leaves the queue and is never written; one
// that a writer took waits for that writer's outcome, which comes within
// the writer's own deadline, so no caller is told "refused" about a count
// that was made.
type spendQueue struct {
	turn    chan struct{} // holds a token while a group is written
	mu      sync.Mutex
	pending []*spendCall
}

// newSpendQueue returns an empty queue.
func newSpendQueue() *spendQueue { return &spendQueue{turn: make(chan struct{}, 1)} }

// run queues call and returns its outcome: from the writer that took it,
// or, once call has the turn, from write(ctx, group) run on a group with
// call in it. wait bounds both the wait for the turn and the group's
// transaction.
func (q *spendQueue) run(ctx context.Context, call *spendCall, wait time.Duration, write func(context.Context, []*spendCall) error) error {
	q.mu.Lock()
	q.pending = append(q.pending, call)
	q.mu.Unlock()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case err := <-call.done:
			return err
		case q.turn <- struct{}{}:
			q.writeGroup(ctx, wait, write)
			<-q.turn
			// call was in that group, or in an earlier one, unless the
			// group was full: then it waits for its outcome or the turn.
		case <-ctx.Done():
			return q.leave(call, ctx.Err())
		case <-timer.C:
			return q.leave(call, fmt.Errorf("%w: no turn to write within %v", ErrUnavailable, wait))
		}
	}
}

// writeGroup takes up to maxSpendGroup queued calls and writes them as one
// group, handing each the outcome.
func (q *spendQueue) writeGroup(ctx context.Context, wait time.Duration, write func(context.Context, []*spendCall) error) {
	q.mu.Lock()
	n := min(len(q.pending), maxSpendGroup)
	group := q.pending[:n:n]
	q.pending = q.pending[n:]
	if len(q.pending) == 0 {
		q.pending = nil // let the taken calls go
	}
	q.mu.Unlock()
	if n == 0 {
		return
	}
	// The group is written for every caller in it, not just this one: a
	// caller that hangs up must not roll back the others' counts. It keeps
	// the writer's deadline, if any, else twice wait, so that SQLite's own
	// busy wait (wait) ends first.
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(2 * wait)
	}
	wctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	err := write(wctx, group)
	if err != nil && wctx.Err() != nil && !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for _, c := range group {
		c.done <- err
	}
}

// leave takes call out of the queue if no writer took it yet, and returns
// err; otherwise it waits for the outcome of the group that took it.
func (q *spendQueue) leave(call *spendCall, err error) error {
	q.mu.Lock()
	for i, c := range q.pending {
		if c == call {
			q.pending = append(q.pending[:i:i], q.pending[i+1:]...)
			q.mu.Unlock()
			return err
		}
	}
	q.mu.Unlock()
	return <-call.done
}
