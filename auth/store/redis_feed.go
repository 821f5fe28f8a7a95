package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Changes implements Store: one XREAD, blocking up to wait.
func (r *redisStore) Changes(ctx context.Context, since Version, wait time.Duration) ([]Change, Version, error) {
	if since.epoch == "" {
		return nil, since, fmt.Errorf("changes after %s: %w", since, ErrResync)
	}
	block := time.Duration(-1) // no BLOCK: answer at once
	if wait > 0 {
		block = max(wait, time.Millisecond)
	}
	cctx, cancel := context.WithTimeout(ctx, max(wait, 0)+r.timeout)
	defer cancel()
	streams, err := r.client.XRead(cctx, &redis.XReadArgs{
		Streams: []string{r.prefix + "feed", since.at.String()},
		Count:   maxBatch,
		Block:   block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, since, nil
	}
	if err != nil {
		return nil, since, fmt.Errorf("changes after %s: %w", since, redisErr(ctx, err))
	}
	cs, v, err := toChanges(since, streams)
	if err != nil {
		return nil, since, fmt.Errorf("changes after %s: %w", since, err)
	}
	return cs, v, nil
}

// toChanges reads the feed entries XREAD returned after since. They must
// follow on from since without a gap and carry its epoch; otherwise
// entries were trimmed or the data started over, and it is ErrResync.
func toChanges(since Version, streams []redis.XStream) ([]Change, Version, error) {
	var cs []Change
	v := since
	for _, st := range streams {
		for _, m := range st.Messages {
			c, epoch, n, err := toChange(m.Values)
			if err != nil {
				return nil, since, fmt.Errorf("entry %s: %w", m.ID, err)
			}
			if !v.follows(epoch, n) {
				return nil, since, fmt.Errorf("entry %s is change %s/%d: %w", m.ID, epoch, n, ErrResync)
			}
			if v.at, err = parseStreamID(m.ID); err != nil {
				return nil, since, err
			}
			v.n = n
			cs = append(cs, c)
		}
	}
	return cs, v, nil
}

// toChange reads one feed entry's fields.
func toChange(f map[string]any) (c Change, epoch string, n uint64, err error) {
	str := func(k string) string { s, _ := f[k].(string); return s }
	n, err1 := strconv.ParseUint(str("n"), 10, 64)
	ms, err2 := strconv.ParseInt(str("expires"), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return c, "", 0, err
	}
	c = Change{Kind: ChangeKind(str("kind")), ID: str("id"), Expires: fromMillis(ms)}
	if c.Kind == TokenMade {
		t, err := toToken([]any{f["id"], f["email"], f["name"], f["prefix"], f["lists"], f["created"], f["expires"], "0"})
		if err != nil {
			return c, "", 0, err
		}
		c.Token = &t
	}
	return c, str("epoch"), n, nil
}
