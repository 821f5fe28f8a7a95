package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Batch is many records for Import to add at once.
type Batch struct {
	// Sessions are created as CreateSession creates each.
	Sessions []Session
	// Ended are the ids of live sessions (of Sessions, or already in the
	// store) then ended as EndSession(ctx, "", id, EndedBy, EndedAt)
	// ends each.
	Ended   []string
	EndedBy Reason
	EndedAt time.Time
	// Tokens are created as CreateToken creates each.
	Tokens []Token
}

// Import adds b to st. It writes what CreateSession for each of
// b.Sessions, then EndSession for each of b.Ended, then CreateToken for
// each of b.Tokens would write, records and change feed alike, with the
// same SQL and scripts, but many at a time: a SQLite store in a few large
// transactions, with each statement prepared once; Redis pipelined. It
// fills a store with a million sessions in seconds where a call each
// takes minutes (a SQLite commit each, a Redis round trip each): for
// scale tests, benchmarks and restoring records kept elsewhere. doorman
// never calls it while it serves.
//
// Every record is checked before any is written: an invalid one is an
// error naming it, and nothing is written. Import is not atomic: a taken
// id, or an ended id that is not a live session (ErrNotFound), stops it
// part-way, with what came before it written.
func Import(ctx context.Context, st Store, b Batch) error {
	b, err := b.prepare()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	im, ok := st.(importer)
	if !ok {
		im = oneByOne{st}
	}
	if err := im.importBatch(ctx, b); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

// importer is a Store that can write a prepared Batch faster than a call
// per record.
type importer interface {
	importBatch(ctx context.Context, b Batch) error
}

// prepare checks every record of b and returns b with them as they are to
// be stored, in new slices.
func (b Batch) prepare() (Batch, error) {
	out := b
	out.Sessions, out.Tokens = make([]Session, len(b.Sessions)), make([]Token, len(b.Tokens))
	for i, s := range b.Sessions {
		var err error
		if out.Sessions[i], err = s.prepare(); err != nil {
			return b, fmt.Errorf("session %d (%q): %w", i, s.ID, err)
		}
	}
	for i, t := range b.Tokens {
		var err error
		if out.Tokens[i], err = t.prepare(); err != nil {
			return b, fmt.Errorf("token %d (%q): %w", i, t.ID, err)
		}
	}
	if len(b.Ended) == 0 {
		return out, nil
	}
	if err := validReason(b.EndedBy); err != nil {
		return b, fmt.Errorf("ended: %w", err)
	}
	if b.EndedAt.IsZero() {
		return b, errors.New("ended: no EndedAt")
	}
	for i, id := range b.Ended {
		if err := validID(id); err != nil {
			return b, fmt.Errorf("ended %d (%q): %w", i, id, err)
		}
	}
	return out, nil
}

// oneByOne imports into any Store with a call per record: the meaning of
// Import, which the backends' own importBatch must match.
type oneByOne struct{ st Store }

func (o oneByOne) importBatch(ctx context.Context, b Batch) error {
	for _, s := range b.Sessions {
		if err := o.st.CreateSession(ctx, s); err != nil {
			return err
		}
	}
	for _, id := range b.Ended {
		if _, err := o.st.EndSession(ctx, "", id, b.EndedBy, b.EndedAt); err != nil {
			return err
		}
	}
	for _, t := range b.Tokens {
		if err := o.st.CreateToken(ctx, t); err != nil {
			return err
		}
	}
	return nil
}
