package auth

import (
	"context"
	"maps"
	"sync"
	"time"

	"doorman/auth/store"
)

// countingStore is a real store that counts the calls made to it, by
// method, and those that succeeded. It answers nothing itself: every call
// goes to the store it wraps.
type countingStore struct {
	store.Store
	mu        sync.Mutex
	calls, ok map[string]int
}

func newCountingStore(st store.Store) *countingStore {
	return &countingStore{Store: st, calls: map[string]int{}, ok: map[string]int{}}
}

func (c *countingStore) count(method string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[method]++
	if err == nil {
		c.ok[method]++
	}
}

// counts returns the calls so far and those that succeeded, by method.
func (c *countingStore) counts() (calls, ok map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls), maps.Clone(c.ok)
}

func (c *countingStore) CreateSession(ctx context.Context, s store.Session) error {
	err := c.Store.CreateSession(ctx, s)
	c.count("CreateSession", err)
	return err
}

func (c *countingStore) LiveSessions(ctx context.Context, email string, now time.Time) ([]store.Session, error) {
	v, err := c.Store.LiveSessions(ctx, email, now)
	c.count("LiveSessions", err)
	return v, err
}

func (c *countingStore) CountLiveSessions(ctx context.Context, now time.Time) (int, error) {
	v, err := c.Store.CountLiveSessions(ctx, now)
	c.count("CountLiveSessions", err)
	return v, err
}

func (c *countingStore) EndSession(ctx context.Context, email, id string, by store.Reason, now time.Time) (store.Session, error) {
	v, err := c.Store.EndSession(ctx, email, id, by, now)
	c.count("EndSession", err)
	return v, err
}

func (c *countingStore) EndSessionsOf(ctx context.Context, email string, by store.Reason, now time.Time) ([]store.Session, error) {
	v, err := c.Store.EndSessionsOf(ctx, email, by, now)
	c.count("EndSessionsOf", err)
	return v, err
}

func (c *countingStore) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	err := c.Store.TouchSessions(ctx, seen)
	c.count("TouchSessions", err)
	return err
}

func (c *countingStore) EndIdleSessions(ctx context.Context, cutoff, now time.Time) ([]store.Session, error) {
	v, err := c.Store.EndIdleSessions(ctx, cutoff, now)
	c.count("EndIdleSessions", err)
	return v, err
}

func (c *countingStore) CreateToken(ctx context.Context, t store.Token) error {
	err := c.Store.CreateToken(ctx, t)
	c.count("CreateToken", err)
	return err
}

func (c *countingStore) Tokens(ctx context.Context, email string, now time.Time) ([]store.Token, error) {
	v, err := c.Store.Tokens(ctx, email, now)
	c.count("Tokens", err)
	return v, err
}

func (c *countingStore) EndToken(ctx context.Context, email, id string, by store.Reason, now time.Time) (store.Token, error) {
	v, err := c.Store.EndToken(ctx, email, id, by, now)
	c.count("EndToken", err)
	return v, err
}

func (c *countingStore) EndTokensOf(ctx context.Context, email string, by store.Reason, now time.Time) ([]store.Token, error) {
	v, err := c.Store.EndTokensOf(ctx, email, by, now)
	c.count("EndTokensOf", err)
	return v, err
}

func (c *countingStore) TouchTokens(ctx context.Context, used map[string]time.Time) error {
	err := c.Store.TouchTokens(ctx, used)
	c.count("TouchTokens", err)
	return err
}

func (c *countingStore) CreateDeviceCode(ctx context.Context, d store.DeviceCode) error {
	err := c.Store.CreateDeviceCode(ctx, d)
	c.count("CreateDeviceCode", err)
	return err
}

func (c *countingStore) DeviceCodeByUser(ctx context.Context, userCode string, now time.Time) (store.DeviceCode, error) {
	v, err := c.Store.DeviceCodeByUser(ctx, userCode, now)
	c.count("DeviceCodeByUser", err)
	return v, err
}

func (c *countingStore) DecideDeviceCode(ctx context.Context, userCode, approver string, approve bool, lists []string, now time.Time) (store.DeviceCode, error) {
	v, err := c.Store.DecideDeviceCode(ctx, userCode, approver, approve, lists, now)
	c.count("DecideDeviceCode", err)
	return v, err
}

func (c *countingStore) PollDeviceCode(ctx context.Context, id string, now time.Time) (store.DeviceCode, error) {
	v, err := c.Store.PollDeviceCode(ctx, id, now)
	c.count("PollDeviceCode", err)
	return v, err
}

func (c *countingStore) RedeemDeviceCode(ctx context.Context, id string, t store.Token, now time.Time) (store.DeviceCode, error) {
	v, err := c.Store.RedeemDeviceCode(ctx, id, t, now)
	c.count("RedeemDeviceCode", err)
	return v, err
}

func (c *countingStore) Snapshot(ctx context.Context, now time.Time) (store.View, error) {
	v, err := c.Store.Snapshot(ctx, now)
	c.count("Snapshot", err)
	return v, err
}

func (c *countingStore) Changes(ctx context.Context, since store.Version, wait time.Duration) ([]store.Change, store.Version, error) {
	v, next, err := c.Store.Changes(ctx, since, wait)
	c.count("Changes", err)
	return v, next, err
}

func (c *countingStore) Spend(ctx context.Context, email, list string, windows []store.BudgetWindow, cost int64) (bool, []int64, error) {
	allowed, used, err := c.Store.Spend(ctx, email, list, windows, cost)
	c.count("Spend", err)
	return allowed, used, err
}

func (c *countingStore) Used(ctx context.Context, email, list string, keys []string) ([]int64, error) {
	v, err := c.Store.Used(ctx, email, list, keys)
	c.count("Used", err)
	return v, err
}

func (c *countingStore) Usage(ctx context.Context, list, key string) ([]store.BudgetUsage, error) {
	v, err := c.Store.Usage(ctx, list, key)
	c.count("Usage", err)
	return v, err
}

func (c *countingStore) Ping(ctx context.Context) error {
	err := c.Store.Ping(ctx)
	c.count("Ping", err)
	return err
}
