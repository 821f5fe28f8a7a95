package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// snapshotPage is about how many records one call of a Redis Snapshot
// reads: each call is short, so a snapshot of 100,000 tokens never holds
// Redis (and every replica's calls waiting on it) for long, and each has
// the store's Timeout, however many records there are.
const snapshotPage = 1000

// Snapshot implements Store. It reads where the feed is first (one short
// script), then the ended sessions and the live tokens a page at a time.
// A change made meanwhile is in the feed after that Version, and applying
// it again is harmless: sessions once ended stay ended, and a token once
// ended is never made again.
func (r *redisStore) Snapshot(ctx context.Context, now time.Time) (View, error) {
	pos, err := r.run(ctx, r.scripts.position)
	if err != nil {
		return View{}, fmt.Errorf("snapshot: %w", err)
	}
	v, err := toVersion(pos)
	if err != nil {
		return View{}, fmt.Errorf("snapshot: %w", err)
	}
	ended := make(map[string]time.Time)
	err = r.scanAfter(ctx, "ended", millis(now), func(id string, expires int64) { ended[id] = fromMillis(expires) })
	if err != nil {
		return View{}, fmt.Errorf("snapshot: ended sessions: %w", err)
	}
	tokens, err := r.liveTokens(ctx, now)
	if err != nil {
		return View{}, fmt.Errorf("snapshot: live tokens: %w", err)
	}
	return View{Ended: ended, Tokens: tokens, Version: v}, nil
}

// toVersion reads the position script's reply: {epoch, n, last stream id}.
func toVersion(v any) (Version, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 3 {
		return Version{}, fmt.Errorf("reply %T, want the feed's 3 fields", v)
	}
	epoch, _ := f[0].(string)
	n, err1 := strconv.ParseUint(fmt.Sprint(f[1]), 10, 64)
	at, err2 := parseStreamID(fmt.Sprint(f[2]))
	if err := errors.Join(err1, err2); err != nil || epoch == "" {
		return Version{}, fmt.Errorf("bad feed position %v: %w", f, err)
	}
	return Version{epoch: epoch, n: n, at: at}, nil
}

// scanAfter calls each with every member of the sorted set P<key> whose
// score is over now, and its score, reading snapshotPage at a time
// (ZSCAN). A member may come more than once.
func (r *redisStore) scanAfter(ctx context.Context, key string, now int64, each func(member string, score int64)) error {
	var cursor uint64
	for {
		cctx, cancel := context.WithTimeout(ctx, r.timeout)
		kv, next, err := r.client.ZScan(cctx, r.prefix+key, cursor, "", snapshotPage).Result()
		cancel()
		if err != nil {
			return redisErr(ctx, err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			score, err := strconv.ParseFloat(kv[i+1], 64)
			if err != nil {
				return fmt.Errorf("member %s: %w", kv[i], err)
			}
			if int64(score) > now {
				each(kv[i], int64(score))
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// liveTokens returns every token live at now by ID: the ids in the live
// index, then their records, snapshotPage to a round trip, keeping those
// neither ended nor expired (as the scripts' liveToken does).
func (r *redisStore) liveTokens(ctx context.Context, now time.Time) (map[string]Token, error) {
	seen := make(map[string]bool)
	err := r.scanAfter(ctx, "tokens", millis(now), func(id string, _ int64) { seen[id] = true })
	if err != nil {
		return nil, err
	}
	tokens := make(map[string]Token, len(seen))
	for ids := range slices.Chunk(slices.Collect(maps.Keys(seen)), snapshotPage) {
		if err := r.readTokens(ctx, ids, now, tokens); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// tokenFields are a token hash's fields, in the order toToken reads them
// after the id; "ended" is last.
var tokenFields = []string{"email", "name", "prefix", "lists", "created", "expires", "used", "ended"}

// readTokens reads the tokens ids in one round trip and adds those live at
// now to tokens.
func (r *redisStore) readTokens(ctx context.Context, ids []string, now time.Time, tokens map[string]Token) error {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	pipe := r.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(cctx, r.prefix+"token:"+id, tokenFields...)
	}
	if _, err := pipe.Exec(cctx); err != nil {
		return redisErr(ctx, err)
	}
	for i, cmd := range cmds {
		f := cmd.Val()
		if f[0] == nil || f[len(f)-1] != "0" { // gone, or ended
			continue
		}
		t, err := toToken(append([]any{ids[i]}, f[:len(f)-1]...))
		if err != nil {
			return err
		}
		if t.Expires.After(now) {
			tokens[t.ID] = t
		}
	}
	return nil
}
