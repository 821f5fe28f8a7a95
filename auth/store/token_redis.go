package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CreateToken implements Store.
func (r *redisStore) CreateToken(ctx context.Context, t Token) error {
	t, err := t.prepare()
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	v, err := r.runWrite(ctx, r.scripts.createToken, tokenArgs(t)...)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	if v != int64(1) {
		return errors.New("create token: token id is taken")
	}
	return nil
}

// tokenArgs are the createToken script's arguments for the prepared t.
func tokenArgs(t Token) []any {
	return []any{t.ID, t.Email, t.Name, t.Prefix, encodeLists(t.Lists), millis(t.Created), millis(t.Expires), millis(t.LastUsed)}
}

// Tokens implements Store.
func (r *redisStore) Tokens(ctx context.Context, email string, now time.Time) ([]Token, error) {
	ts, err := toTokens(r.run(ctx, r.scripts.listTokens, email, millis(now)))
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return ts, nil
}

// EndToken implements Store.
func (r *redisStore) EndToken(ctx context.Context, email, id string, by Reason, now time.Time) (Token, error) {
	if err := validID(id); err != nil {
		return Token{}, fmt.Errorf("end token: %w: %w", ErrNotFound, err)
	}
	if err := validReason(by); err != nil {
		return Token{}, fmt.Errorf("end token: %w", err)
	}
	v, err := r.runWrite(ctx, r.scripts.endToken, email, id, string(by), millis(now))
	if err != nil {
		return Token{}, fmt.Errorf("end token: %w", err)
	}
	if v == nil {
		return Token{}, fmt.Errorf("end token: %w", ErrNotFound)
	}
	t, err := toToken(v)
	if err != nil {
		return Token{}, fmt.Errorf("end token: %w", err)
	}
	return t, nil
}

// EndTokensOf implements Store.
func (r *redisStore) EndTokensOf(ctx context.Context, email string, by Reason, now time.Time) ([]Token, error) {
	if err := validReason(by); err != nil {
		return nil, fmt.Errorf("end tokens of %s: %w", email, err)
	}
	ts, err := toTokens(r.runWrite(ctx, r.scripts.endTokensOf, email, string(by), millis(now)))
	if err != nil {
		return nil, fmt.Errorf("end tokens of %s: %w", email, err)
	}
	return ts, nil
}

// TouchTokens implements Store.
func (r *redisStore) TouchTokens(ctx context.Context, used map[string]time.Time) error {
	if err := r.touch(ctx, r.scripts.touchTokens, used); err != nil {
		return fmt.Errorf("touch tokens: %w", err)
	}
	return nil
}

// toTokens reads a script's reply of tokens, sorted by Created.
func toTokens(v any, err error) ([]Token, error) {
	ts, err := replyList(v, err, toToken)
	return sortTokens(ts), err
}

// toToken reads a token as the scripts return it: {id, email, name,
// prefix, lists, created, expires, used, …}.
func toToken(v any) (Token, error) {
	f, err := replyStrings(v, 8, "token")
	if err != nil {
		return Token{}, err
	}
	lists, err := decodeLists(f[4])
	if err != nil {
		return Token{}, fmt.Errorf("token %s: %w", f[0], err)
	}
	ms, err := replyMillis(f[0], f[5:8]...)
	if err != nil {
		return Token{}, err
	}
	return Token{ID: f[0], Email: f[1], Name: f[2], Prefix: f[3], Lists: lists,
		Created: ms[0], Expires: ms[1], LastUsed: ms[2]}, nil
}
