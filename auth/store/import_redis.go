package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// redisImportChunk is how many script calls Import sends to Redis in
	// one pipeline: one round trip.
	redisImportChunk = 1000
	// redisImportPipelines is how many pipelines Import keeps in flight,
	// so that Redis runs one while the client writes another.
	redisImportPipelines = 3
	// redisImportTimeout bounds each pipeline: all its replies, behind the
	// other pipelines in flight, take longer than one call's.
	redisImportTimeout = 30 * time.Second
)

// importBatch implements importer with the scripts of CreateSession,
// EndSession and CreateToken, pipelined on connections of its own, whose
// timeouts are redisImportTimeout: the records of each kind are written
// in no particular order.
func (r *redisStore) importBatch(ctx context.Context, b Batch) error {
	o := *r.client.Options()
	o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = redisImportTimeout, redisImportTimeout, redisImportTimeout
	o.PoolSize = redisImportPipelines
	im := &redisStore{client: redis.NewClient(&o), prefix: r.prefix, feedLen: r.feedLen,
		timeout: redisImportTimeout, scripts: r.scripts}
	defer im.client.Close()
	return im.importAll(ctx, b)
}

// importAll is importBatch, on r's connections.
func (r *redisStore) importAll(ctx context.Context, b Batch) error {
	err := pipelined(ctx, r, r.scripts.create, b.Sessions, sessionArgs, func(s Session, v any) error {
		if v != int64(1) {
			return fmt.Errorf("create session %s: session id is taken", s.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	endArgs := func(id string) []any { return []any{"", id, millis(b.EndedAt)} }
	err = pipelined(ctx, r, r.scripts.end, b.Ended, endArgs, func(id string, v any) error {
		if v == nil {
			return fmt.Errorf("end session %s: %w", id, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return pipelined(ctx, r, r.scripts.createToken, b.Tokens, tokenArgs, func(t Token, v any) error {
		if v != int64(1) {
			return fmt.Errorf("create token %s: token id is taken", t.ID)
		}
		return nil
	})
}

// pipelined runs script once for each item, with the common arguments (no
// deadline) and then args(item), redisImportChunk calls to a round trip
// and redisImportPipelines round trips at a time, and checks each reply
// (nil for none) with check. The first error stops it.
func pipelined[T any](ctx context.Context, r *redisStore, script *redis.Script, items []T,
	args func(T) []any, check func(T, any) error) error {
	if len(items) == 0 {
		return nil
	}
	if err := script.Load(ctx, r.client).Err(); err != nil {
		return fmt.Errorf("load script: %w", redisErr(ctx, err))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	busy := make(chan struct{}, redisImportPipelines)
	for part := range slices.Chunk(items, redisImportChunk) {
		busy <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-busy }()
			if err := pipelineChunk(ctx, r, script, part, args, check); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// pipelineChunk runs script for each of items in one round trip and
// checks the replies.
func pipelineChunk[T any](ctx context.Context, r *redisStore, script *redis.Script, items []T,
	args func(T) []any, check func(T, any) error) error {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	epoch := newEpoch()
	pipe := r.client.Pipeline()
	cmds := make([]*redis.Cmd, len(items))
	for i, item := range items {
		cmds[i] = script.EvalSha(cctx, pipe, nil, append([]any{r.prefix, epoch, r.feedLen, 0}, args(item)...)...)
	}
	pipe.Exec(cctx) // each command's own error is read below
	for i, cmd := range cmds {
		v, err := cmd.Result()
		if errors.Is(err, redis.Nil) {
			v, err = nil, nil
		}
		if err != nil {
			return redisErr(ctx, err)
		}
		if err := check(items[i], v); err != nil {
			return err
		}
	}
	return nil
}
