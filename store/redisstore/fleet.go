package redisstore

import (
	"context"
	"errors"
	"strconv"
)

// The fleet's shared values live under the store's Prefix: <Prefix>:gen holds the namespace
// generation and <Prefix>:secret the key secret (see core.Fleet).

// Generation returns the namespace generation, 0 when none was set.
func (r *Store) Generation(ctx context.Context) (uint64, error) {
	n, err := r.GetInt(ctx, r.prefix+":gen")
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New("store: negative namespace generation " + strconv.FormatInt(n, 10))
	}
	return uint64(n), nil
}

// NextGeneration increments the namespace generation and returns the new value.
func (r *Store) NextGeneration(ctx context.Context) (uint64, error) {
	n, err := r.Incr(ctx, r.prefix+":gen")
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New("store: negative namespace generation " + strconv.FormatInt(n, 10))
	}
	return uint64(n), nil
}

// Secret returns the fleet's key secret, storing proposal (without expiry) when there is none:
// every instance ends with the first proposal made.
func (r *Store) Secret(ctx context.Context, proposal string) (string, error) {
	v, err := r.GetOrSet(ctx, r.prefix+":secret", proposal)
	if err == nil && v == "" {
		err = errors.New("store: empty key secret")
	}
	return v, err
}
