package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
)

// budgetKey returns the Redis key of list's counters in the window key:
// "<prefix>budget:<list>:<key>". A list name has no ':', so the first ':'
// after "budget:" ends it and no two (list, key) pairs share a Redis key.
func budgetKey(prefix, list, key string) string {
	return prefix + "budget:" + list + ":" + key
}

// Spend implements Store: one script, one round trip.
func (r *redisStore) Spend(ctx context.Context, email, list string, windows []BudgetWindow, cost int64) (bool, []int64, error) {
	sp, err := newSpend(email, list, windows, cost)
	if err != nil {
		return false, nil, fmt.Errorf("spend: %w", err)
	}
	args := make([]any, 0, 2+3*len(sp.windows))
	args = append(args, email, cost)
	for _, w := range sp.windows {
		args = append(args, budgetKey(r.prefix, list, w.Key), w.Limit, millis(w.Expires))
	}
	v, err := r.runWrite(ctx, r.scripts.spend, args...)
	if err != nil {
		return false, nil, fmt.Errorf("spend: %w", err)
	}
	ns, err := toInts(v, 1+len(sp.windows))
	if err != nil {
		return false, nil, fmt.Errorf("spend: %w", err)
	}
	sp.allowed = ns[0] == 1
	copy(sp.used, ns[1:])
	return sp.allowed, sp.result(), nil
}

// Used implements Store: one script, so the counters are read at once.
func (r *redisStore) Used(ctx context.Context, email, list string, keys []string) ([]int64, error) {
	if err := validCounter(email, list); err != nil {
		return nil, fmt.Errorf("budget used: %w", err)
	}
	if err := validKeys(keys); err != nil {
		return nil, fmt.Errorf("budget used: %w", err)
	}
	if len(keys) == 0 {
		return []int64{}, nil
	}
	args := make([]any, 0, 1+len(keys))
	args = append(args, email)
	for _, k := range keys {
		args = append(args, budgetKey(r.prefix, list, k))
	}
	v, err := r.run(ctx, r.scripts.used, args...)
	if err != nil {
		return nil, fmt.Errorf("budget used: %w", err)
	}
	used, err := toInts(v, len(keys))
	if err != nil {
		return nil, fmt.Errorf("budget used: %w", err)
	}
	return used, nil
}

// Usage implements Store: the window's hash holds every person's counter.
func (r *redisStore) Usage(ctx context.Context, list, key string) ([]BudgetUsage, error) {
	if err := validList(list); err != nil {
		return nil, fmt.Errorf("budget usage: %w", err)
	}
	if err := validWindowKey(key); err != nil {
		return nil, fmt.Errorf("budget usage: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	m, err := r.client.HGetAll(cctx, budgetKey(r.prefix, list, key)).Result()
	if err != nil {
		return nil, fmt.Errorf("budget usage: %w", redisErr(ctx, err))
	}
	us := make([]BudgetUsage, 0, len(m))
	for email, s := range m {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("budget usage: counter of %s: %w", email, err)
		}
		us = append(us, BudgetUsage{Email: email, Used: n})
	}
	slices.SortFunc(us, func(a, b BudgetUsage) int { return cmp.Compare(a.Email, b.Email) })
	return us, nil
}

// toInts reads a script's reply of n integers.
func toInts(v any, n int) ([]int64, error) {
	list, ok := v.([]any)
	if !ok || len(list) != n {
		return nil, fmt.Errorf("reply %T of %d, want %d integers", v, len(list), n)
	}
	ns := make([]int64, n)
	for i, e := range list {
		if ns[i], ok = e.(int64); !ok {
			return nil, fmt.Errorf("reply item %d is %T, want an integer", i, e)
		}
	}
	return ns, nil
}
