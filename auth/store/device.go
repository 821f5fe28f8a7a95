package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DeviceCode is one sign-in from a terminal (RFC 8628's device
// authorization): asked for by a program, approved or denied by a person
// who is signed in, then redeemed by the program for a token. The store
// never sees the device code itself: its ID is a hash of it.
type DeviceCode struct {
	ID       string        // a hash of the device code, as the caller encodes it
	UserCode string        // 8 letters of UserCodeAlphabet, upper-case, without the dash; unique among unexpired codes
	Name     string        // the token name asked for: up to 64 printable characters, may be empty
	Lists    []string      // the lists asked for: at least one, kept sorted and without repeats
	IP       string        // the address that asked; may be empty
	Created  time.Time     // when it was asked for
	Expires  time.Time     // when it stops working
	Interval time.Duration // how often the program may poll, to the millisecond

	// The state, set by the store.
	Status   DeviceStatus // where the code is in its life
	Approver string       // who approved or denied it
	Granted  []string     // the lists granted on approval: those asked for that are the approver's
	LastPoll time.Time    // when the program last polled; zero if never
}

// DeviceStatus is where a device code is in its life.
type DeviceStatus string

// The statuses of a device code: pending, then approved or denied, and an
// approved one redeemed once.
const (
	DevicePending  DeviceStatus = "pending"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
	DeviceRedeemed DeviceStatus = "redeemed"
)

// UserCodeAlphabet is the letters of a user code: no vowels, so that no
// word is spelled, and none that are easily mistaken for another.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// userCodeLen is the letters of a user code.
const userCodeLen = 8

// deviceCodeKept is how long a device code is kept after it expires, so
// that a program polling late hears ErrExpired rather than ErrNotFound.
const deviceCodeKept = 10 * time.Minute

// parseUserCode returns the user code s as the store keeps it: s in upper
// case, without dashes and spaces, which must leave 8 letters of
// UserCodeAlphabet.
func parseUserCode(s string) (string, error) {
	if len(s) > 4*userCodeLen {
		return "", fmt.Errorf("user code of %d bytes, want %d letters", len(s), userCodeLen)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == ' ' {
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if strings.IndexByte(UserCodeAlphabet, c) < 0 {
			return "", fmt.Errorf("user code has %q, want letters of %s", s[i], UserCodeAlphabet)
		}
		b.WriteByte(c)
	}
	if b.Len() != userCodeLen {
		return "", fmt.Errorf("user code of %d letters, want %d", b.Len(), userCodeLen)
	}
	return b.String(), nil
}

// prepare checks d and returns it as it is to be stored: a pending code,
// times to the millisecond, the user code in its one spelling, the lists
// sorted and without repeats.
func (d DeviceCode) prepare() (DeviceCode, error) {
	if err := validID(d.ID); err != nil {
		return d, err
	}
	code, err := parseUserCode(d.UserCode)
	if err != nil {
		return d, err
	}
	if err := validName(d.Name, 0); err != nil {
		return d, err
	}
	lists, err := canonicalLists(d.Lists, 1)
	if err != nil {
		return d, err
	}
	switch {
	case len(d.IP) > maxIPLen:
		return d, fmt.Errorf("ip of %d bytes, want at most %d", len(d.IP), maxIPLen)
	case d.Interval < time.Millisecond:
		return d, errors.New("no polling interval")
	}
	if err := validSpan(d.Created, d.Expires); err != nil {
		return d, err
	}
	return DeviceCode{ID: d.ID, UserCode: code, Name: d.Name, Lists: lists, IP: d.IP,
		Created: fromMillis(millis(d.Created)), Expires: fromMillis(millis(d.Expires)),
		Interval: d.Interval.Truncate(time.Millisecond), Status: DevicePending, Granted: []string{}}, nil
}

// decision works out a decision on d: approving grants the lists asked for
// that are among lists, and denies when there are none.
func (d DeviceCode) decision(approve bool, lists []string) (DeviceStatus, []string) {
	granted := []string{}
	if approve {
		for _, l := range d.Lists {
			if slices.Contains(lists, l) {
				granted = append(granted, l)
			}
		}
	}
	if len(granted) == 0 {
		return DeviceDenied, granted
	}
	return DeviceApproved, granted
}

// validDecision checks DecideDeviceCode's arguments and returns the user
// code as kept; a malformed code is ErrNotFound, like an unknown one.
func validDecision(userCode, approver string, lists []string) (string, error) {
	code, err := parseUserCode(userCode)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if err := validEmail(approver); err != nil {
		return "", err
	}
	for _, l := range lists {
		if err := validList(l); err != nil {
			return "", err
		}
	}
	return code, nil
}

// redeemable checks that d, read at now, may be redeemed.
func (d DeviceCode) redeemable(now time.Time) error {
	switch {
	case millis(d.Expires) <= millis(now):
		return fmt.Errorf("%w: device code expired", ErrNotFound)
	case d.Status == DeviceRedeemed:
		return fmt.Errorf("%w: device code already redeemed", ErrConflict)
	case d.Status != DeviceApproved:
		return fmt.Errorf("%w: device code is %s, not approved", ErrNotFound, d.Status)
	}
	return nil
}
