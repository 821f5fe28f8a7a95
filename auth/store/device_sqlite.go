package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// deviceCols are the columns scanDevice reads, in DeviceCode's order.
const deviceCols = "id, user_code, name, lists, ip, created, expires, interval, status, approver, granted, last_poll"

// CreateDeviceCode implements Store.
func (s *sqliteStore) CreateDeviceCode(ctx context.Context, d DeviceCode) error {
	d, err := d.prepare()
	if err != nil {
		return fmt.Errorf("create device code: %w", err)
	}
	err = s.write(ctx, d.Created, func(tx *sql.Tx) error {
		var taken bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM device_codes
			WHERE user_code = ? AND expires > ?)`, d.UserCode, millis(d.Created)).Scan(&taken)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%w: the user code is taken", ErrConflict)
		}
		return insertNew(ctx, tx, "device code", `INSERT INTO device_codes (`+deviceCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', '[]', NULL) ON CONFLICT DO NOTHING`,
			d.ID, d.UserCode, d.Name, encodeLists(d.Lists), d.IP, millis(d.Created), millis(d.Expires),
			d.Interval.Milliseconds(), string(d.Status))
	})
	if err != nil {
		return fmt.Errorf("create device code: %w", err)
	}
	return nil
}

// DeviceCodeByUser implements Store.
func (s *sqliteStore) DeviceCodeByUser(ctx context.Context, userCode string, now time.Time) (DeviceCode, error) {
	code, err := parseUserCode(userCode)
	if err != nil {
		return DeviceCode{}, fmt.Errorf("device code by user code: %w: %w", ErrNotFound, err)
	}
	d, err := readPending(ctx, s.db, code, now)
	if err != nil {
		return DeviceCode{}, fmt.Errorf("device code by user code: %w", sqliteErr(err))
	}
	return d, nil
}

// DecideDeviceCode implements Store.
func (s *sqliteStore) DecideDeviceCode(ctx context.Context, userCode, approver string, approve bool, lists []string, now time.Time) (DeviceCode, error) {
	code, err := validDecision(userCode, approver, lists)
	if err != nil {
		return DeviceCode{}, fmt.Errorf("decide device code: %w", err)
	}
	var d DeviceCode
	err = s.write(ctx, now, func(tx *sql.Tx) error {
		if d, err = readPending(ctx, tx, code, now); err != nil {
			return err
		}
		d.Approver = approver
		d.Status, d.Granted = d.decision(approve, lists)
		_, err := tx.ExecContext(ctx, `UPDATE device_codes SET status = ?, approver = ?, granted = ?
			WHERE id = ?`, string(d.Status), d.Approver, encodeLists(d.Granted), d.ID)
		return err
	})
	if err != nil {
		return DeviceCode{}, fmt.Errorf("decide device code: %w", err)
	}
	return d, nil
}

// PollDeviceCode implements Store.
func (s *sqliteStore) PollDeviceCode(ctx context.Context, id string, now time.Time) (DeviceCode, error) {
	if err := validID(id); err != nil {
		return DeviceCode{}, fmt.Errorf("poll device code: %w: %w", ErrNotFound, err)
	}
	var d DeviceCode
	err := s.write(ctx, now, func(tx *sql.Tx) error {
		var err error
		if d, err = readDevice(ctx, tx, `id = ?`, id); err != nil {
			return err
		}
		if millis(d.Expires) <= millis(now) {
			return ErrExpired
		}
		_, err = tx.ExecContext(ctx, `UPDATE device_codes SET last_poll = ?1
			WHERE id = ?2 AND (last_poll IS NULL OR last_poll < ?1)`, millis(now), id)
		return err
	})
	if err != nil {
		return DeviceCode{}, fmt.Errorf("poll device code: %w", err)
	}
	return d, nil
}

// RedeemDeviceCode implements Store: one write transaction redeems the
// code and makes the token.
func (s *sqliteStore) RedeemDeviceCode(ctx context.Context, id string, t Token, now time.Time) (DeviceCode, error) {
	if err := validID(id); err != nil {
		return DeviceCode{}, fmt.Errorf("redeem device code: %w: %w", ErrNotFound, err)
	}
	t, err := t.prepareUnowned()
	if err != nil {
		return DeviceCode{}, fmt.Errorf("redeem device code: %w", err)
	}
	var d DeviceCode
	err = s.write(ctx, now, func(tx *sql.Tx) error {
		if d, err = readDevice(ctx, tx, `id = ?`, id); err != nil {
			return err
		}
		if err := d.redeemable(now); err != nil {
			return err
		}
		t.Email, t.Lists = d.Approver, d.Granted
		if err := s.insertToken(ctx, tx, t); err != nil {
			return err
		}
		d.Status = DeviceRedeemed
		_, err := tx.ExecContext(ctx, `UPDATE device_codes SET status = ?, token = ? WHERE id = ?`,
			string(d.Status), t.ID, id)
		return err
	})
	if err != nil {
		return DeviceCode{}, fmt.Errorf("redeem device code: %w", err)
	}
	return d, nil
}

// readPending reads the pending device code of the user code code,
// unexpired at now; ErrNotFound if there is none.
func readPending(ctx context.Context, q rowQuerier, code string, now time.Time) (DeviceCode, error) {
	return readDevice(ctx, q, `user_code = ? AND expires > ? AND status = ?`, code, millis(now), string(DevicePending))
}

// rowQuerier is a *sql.DB or a *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readDevice reads the one device code that matches where; ErrNotFound if
// there is none.
func readDevice(ctx context.Context, q rowQuerier, where string, args ...any) (DeviceCode, error) {
	var d DeviceCode
	var lists, granted string
	var created, expires, interval int64
	var poll sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_codes WHERE `+where, args...).Scan(
		&d.ID, &d.UserCode, &d.Name, &lists, &d.IP, &created, &expires, &interval,
		&d.Status, &d.Approver, &granted, &poll)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, err
	}
	d.Lists, err = decodeLists(lists)
	if err == nil {
		d.Granted, err = decodeLists(granted)
	}
	d.Created, d.Expires, d.LastPoll = fromMillis(created), fromMillis(expires), fromMillis(poll.Int64)
	d.Interval = time.Duration(interval) * time.Millisecond
	return d, err
}
