package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// redisStore is the Store in Redis, shared by any number of doorman
// replicas. Its durability is Redis's: an acknowledged change survives a
// Redis restart only with persistence on (appendonly yes; appendfsync
// always to survive a crash of the machine too).
type redisStore struct {
	client  *redis.Client
	prefix  string        // of every key
	feedLen int           // stream entries kept
	timeout time.Duration // bound on each call
	scripts scripts

	offset   atomic.Int64 // Redis's clock minus this machine's, in ms (clockOffset)
	offsetAt atomic.Int64 // unix nanoseconds of its last measure; 0: never
}

// openRedis makes a client for the redis:// or rediss:// URL dsn. It does
// not connect: the first call does.
func openRedis(dsn string, o Options) (*redisStore, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url's own error would quote the URL, password and all.
		return nil, errors.New("redis store: the URL does not parse")
	}
	ro, err := redis.ParseURL(dsn)
	if err != nil {
		return nil, fmt.Errorf("redis store %s: %w", u.Redacted(), err)
	}
	ro.DialTimeout = o.DialTimeout
	ro.ReadTimeout = o.Timeout
	ro.WriteTimeout = o.Timeout
	ro.PoolTimeout = o.Timeout
	ro.ContextTimeoutEnabled = true // each call's context bounds it, see call
	ro.MaxRetries = -1              // a retried script could apply twice
	ro.DialerRetries = 1
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return &redisStore{
		client:  redis.NewClient(ro),
		prefix:  o.KeyPrefix,
		feedLen: o.FeedLength,
		timeout: o.Timeout,
		scripts: newScripts(),
	}, nil
}

// run runs a script that only reads, with the common arguments and then
// args, within the store's timeout. A nil reply is (nil, nil).
func (r *redisStore) run(ctx context.Context, script *redis.Script, args ...any) (any, error) {
	return r.call(ctx, script, 0, args)
}

// runWrite runs a script that changes something, like run, with a
// deadline in Redis's clock: the moment this call gives up, less a margin.
// Redis frozen with the command in its buffer runs it when it thaws; the
// script then sees it is late and changes nothing, so that a call that
// failed with ErrUnavailable really did nothing.
func (r *redisStore) runWrite(ctx context.Context, script *redis.Script, args ...any) (any, error) {
	offset, err := r.clockOffset(ctx)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(r.timeout-lateMargin).UnixMilli() + offset
	if d, ok := ctx.Deadline(); ok && d.Add(-lateMargin).UnixMilli()+offset < deadline {
		deadline = d.Add(-lateMargin).UnixMilli() + offset
	}
	return r.call(ctx, script, deadline, args)
}

// call runs script with the common arguments, deadline and args.
func (r *redisStore) call(ctx context.Context, script *redis.Script, deadline int64, args []any) (any, error) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	argv := append([]any{r.prefix, newEpoch(), r.feedLen, deadline}, args...)
	v, err := script.Run(cctx, r.client, nil, argv...).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case redis.HasErrorPrefix(err, "DOORMAN_LATE"):
		return nil, fmt.Errorf("%w: redis ran the change after its caller had given up; nothing was changed", ErrUnavailable)
	}
	return v, redisErr(ctx, err)
}

// lateMargin is how long before a call gives up its change stops being
// made: room for the clocks' measured offset to be a little off.
const lateMargin = 100 * time.Millisecond

// clockOffsetEvery is how often the offset of Redis's clock is measured.
const clockOffsetEvery = 30 * time.Second

// clockOffset returns how far Redis's clock is ahead of this machine's, in
// milliseconds, measuring it (one TIME call) when the last measure is old.
func (r *redisStore) clockOffset(ctx context.Context) (int64, error) {
	if at := r.offsetAt.Load(); at != 0 && time.Since(time.Unix(0, at)) < clockOffsetEvery {
		return r.offset.Load(), nil
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	before := time.Now()
	t, err := r.client.Time(cctx).Result()
	if err != nil {
		return 0, fmt.Errorf("read redis's clock: %w", redisErr(ctx, err))
	}
	after := time.Now()
	mid := before.Add(after.Sub(before) / 2)
	r.offset.Store(t.UnixMilli() - mid.UnixMilli())
	r.offsetAt.Store(after.UnixNano())
	return r.offset.Load(), nil
}

// newEpoch returns a random name for a feed.
func newEpoch() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Ping implements Store.
func (r *redisStore) Ping(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.client.Ping(cctx).Err(); err != nil {
		return fmt.Errorf("ping: %w", redisErr(ctx, err))
	}
	return nil
}

// Close implements Store.
func (r *redisStore) Close() error {
	return r.client.Close()
}

// redisErr marks err as ErrUnavailable unless it is Redis answering that
// the request itself is wrong, or the caller's own ctx ending. Redis
// answering that it cannot serve now (loading its data after a restart,
// busy, out of memory, a replica) is ErrUnavailable too. nil stays nil.
func redisErr(ctx context.Context, err error) error {
	var reply redis.Error
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	case errors.As(err, &reply) && !busyReply(err):
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// busyReply reports whether Redis answered that it cannot serve now.
func busyReply(err error) bool {
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsMasterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsClusterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.IsOOMError(err) || redis.IsNoReplicasError(err) || redis.HasErrorPrefix(err, "BUSY")
}
