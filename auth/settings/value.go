package settings

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Value parses a setting's value into the field it is bound to.
type Value interface {
	set(v string) error
	get() any      // the field's value, for LogAttrs
	boolean() bool // a switch: "--name" alone means true
}

// field binds a parser to a field.
type field[T any] struct {
	p     *T
	parse func(string) (T, error)
}

func (f field[T]) get() any { return *f.p }

func (f field[T]) boolean() bool { _, ok := any(f.p).(*bool); return ok }

func (f field[T]) set(v string) error {
	x, err := f.parse(v)
	if err == nil {
		*f.p = x
	}
	return err
}

// Bind makes a Value that parses into p with parse.
func Bind[T any](p *T, parse func(string) (T, error)) Value { return field[T]{p, parse} }

// Text makes a Value that stores any string in p.
func Text(p *string) Value {
	return Bind(p, func(v string) (string, error) { return v, nil })
}

// PositiveDuration parses a positive Go duration.
func PositiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%w (write a Go duration such as 90m, 12h or 168h, which is 7 days)", err)
	}
	if d <= 0 {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

// Bool parses true or false (and the flag package's 1, 0, t, f, …).
func Bool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("want true or false")
	}
	return b, nil
}

// List splits a comma-separated list, dropping blanks.
func List(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out, nil
}

// OneOf makes a parser that accepts exactly one of choices.
func OneOf(choices ...string) func(string) (string, error) {
	return func(v string) (string, error) {
		for _, c := range choices {
			if v == c {
				return v, nil
			}
		}
		return "", fmt.Errorf("want %s", strings.Join(choices, " or "))
	}
}
