package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// CreateDeviceCode implements Store.
func (r *redisStore) CreateDeviceCode(ctx context.Context, d DeviceCode) error {
	d, err := d.prepare()
	if err != nil {
		return fmt.Errorf("create device code: %w", err)
	}
	v, err := r.runWrite(ctx, r.scripts.createDevice, d.ID, d.UserCode, d.Name, encodeLists(d.Lists), d.IP,
		millis(d.Created), millis(d.Expires), d.Interval.Milliseconds(), millis(d.Expires.Add(deviceCodeKept)))
	switch {
	case err != nil:
		return fmt.Errorf("create device code: %w", err)
	case v == int64(0):
		return fmt.Errorf("create device code: %w: the user code is taken", ErrConflict)
	case v != int64(1):
		return errors.New("create device code: device code id is taken")
	}
	return nil
}

// DeviceCodeByUser implements Store.
func (r *redisStore) DeviceCodeByUser(ctx context.Context, userCode string, now time.Time) (DeviceCode, error) {
	code, err := parseUserCode(userCode)
	if err != nil {
		return DeviceCode{}, fmt.Errorf("device code by user code: %w: %w", ErrNotFound, err)
	}
	d, err := toDevice(r.run(ctx, r.scripts.deviceByUser, code, millis(now)))
	if err != nil {
		return DeviceCode{}, fmt.Errorf("device code by user code: %w", err)
	}
	return d, nil
}

// DecideDeviceCode implements Store.
func (r *redisStore) DecideDeviceCode(ctx context.Context, userCode, approver string, approve bool, lists []string, now time.Time) (DeviceCode, error) {
	code, err := validDecision(userCode, approver, lists)
	if err != nil {
		return DeviceCode{}, fmt.Errorf("decide device code: %w", err)
	}
	yes := 0
	if approve {
		yes = 1
	}
	d, err := toDevice(r.runWrite(ctx, r.scripts.decideDevice, code, approver, yes, encodeLists(lists), millis(now)))
	if err != nil {
		return DeviceCode{}, fmt.Errorf("decide device code: %w", err)
	}
	return d, nil
}

// PollDeviceCode implements Store.
func (r *redisStore) PollDeviceCode(ctx context.Context, id string, now time.Time) (DeviceCode, error) {
	if err := validID(id); err != nil {
		return DeviceCode{}, fmt.Errorf("poll device code: %w: %w", ErrNotFound, err)
	}
	d, err := toDevice(r.runWrite(ctx, r.scripts.pollDevice, id, millis(now)))
	if err == nil && millis(d.Expires) <= millis(now) {
		err = ErrExpired
	}
	if err != nil {
		return DeviceCode{}, fmt.Errorf("poll device code: %w", err)
	}
	return d, nil
}

// RedeemDeviceCode implements Store: one script redeems the code and
// makes the token.
func (r *redisStore) RedeemDeviceCode(ctx context.Context, id string, t Token, now time.Time) (DeviceCode, error) {
	if err := validID(id); err != nil {
		return DeviceCode{}, fmt.Errorf("redeem device code: %w: %w", ErrNotFound, err)
	}
	t, err := t.prepareUnowned()
	if err != nil {
		return DeviceCode{}, fmt.Errorf("redeem device code: %w", err)
	}
	v, err := r.runWrite(ctx, r.scripts.redeemDevice, id, millis(now),
		t.ID, t.Name, t.Prefix, millis(t.Created), millis(t.Expires), millis(t.LastUsed))
	switch {
	case err != nil:
	case v == int64(0):
		err = fmt.Errorf("%w: no approved, unexpired device code", ErrNotFound)
	case v == int64(-1):
		err = errors.New("token id is taken")
	case v == int64(-2):
		err = fmt.Errorf("%w: device code already redeemed", ErrConflict)
	}
	d, err := toDevice(v, err)
	if err != nil {
		return DeviceCode{}, fmt.Errorf("redeem device code: %w", err)
	}
	return d, nil
}

// toDevice reads a device code as the scripts return it: {id, user, name,
// lists, ip, created, expires, interval, status, approver, granted, poll};
// none is ErrNotFound.
func toDevice(v any, err error) (DeviceCode, error) {
	if err != nil {
		return DeviceCode{}, err
	}
	if v == nil {
		return DeviceCode{}, ErrNotFound
	}
	f, err := replyStrings(v, 12, "device code")
	if err != nil {
		return DeviceCode{}, err
	}
	lists, err1 := decodeLists(f[3])
	granted, err2 := decodeLists(f[10])
	ms, err3 := replyMillis(f[0], f[5], f[6], f[11])
	interval, err4 := strconv.ParseInt(f[7], 10, 64)
	if err4 == nil && (interval < 0 || interval > math.MaxInt64/int64(time.Millisecond)) {
		err4 = fmt.Errorf("interval of %d ms out of range", interval)
	}
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return DeviceCode{}, fmt.Errorf("device code %s: %w", f[0], err)
	}
	return DeviceCode{ID: f[0], UserCode: f[1], Name: f[2], Lists: lists, IP: f[4],
		Created: ms[0], Expires: ms[1], Interval: time.Duration(interval) * time.Millisecond,
		Status: DeviceStatus(f[8]), Approver: f[9], Granted: granted, LastPoll: ms[2]}, nil
}
