package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Snapshot implements Store. It is one script: the ended set and the
// feed position are read atomically.
func (r *redisStore) Snapshot(ctx context.Context, now time.Time) (View, error) {
	v, err := r.run(ctx, r.scripts.snapshot, millis(now))
	if err != nil {
		return View{}, fmt.Errorf("snapshot: %w", err)
	}
	view, err := toView(v)
	if err != nil {
		return View{}, fmt.Errorf("snapshot: %w", err)
	}
	return view, nil
}

// toView reads the snapshot script's reply:
// {epoch, n, last stream id, {ended id, expires, …}, {live token, …}}.
func toView(v any) (View, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 5 {
		return View{}, fmt.Errorf("reply %T, want a snapshot's 5 fields", v)
	}
	epoch, _ := f[0].(string)
	n, err1 := strconv.ParseUint(fmt.Sprint(f[1]), 10, 64)
	at, err2 := parseStreamID(fmt.Sprint(f[2]))
	pairs, _ := f[3].([]any)
	if err := errors.Join(err1, err2); err != nil || epoch == "" || len(pairs)%2 != 0 {
		return View{}, fmt.Errorf("bad snapshot reply %v: %w", f[:3], err)
	}
	ended := make(map[string]time.Time, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		id, _ := pairs[i].(string)
		score, err := strconv.ParseFloat(fmt.Sprint(pairs[i+1]), 64)
		if err != nil {
			return View{}, fmt.Errorf("ended session %s: %w", id, err)
		}
		ended[id] = fromMillis(int64(score))
	}
	tokens, err := toTokens(f[4], nil)
	if err != nil {
		return View{}, fmt.Errorf("live tokens: %w", err)
	}
	return View{Ended: ended, Tokens: tokenMap(tokens), Version: Version{epoch: epoch, n: n, at: at}}, nil
}

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
