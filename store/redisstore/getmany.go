package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// GetMany reads keys in one round trip (a pipeline of GETs, which a Cluster client splits
// per node, so the keys need not share a slot) and returns their values in order, nil for a
// key with no value or with one the Usable option rejects. An error is a failure of the call
// (the breaker counts it once), and no value is returned then. appcache.FetchMany uses it.
func (r *Store) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	err := r.do(ctx, opGet, func(ctx context.Context) error {
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.Get(ctx, k)
			}
			return nil
		})
		if !errors.Is(err, redis.Nil) {
			return err
		}
		for _, cmd := range cmds { // some keys had no value, which is no failure; any other error is
			if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	vals := make([][]byte, len(keys))
	for i, cmd := range cmds {
		r.gets.Add(1)
		b, err := cmd.Bytes()
		switch {
		case err != nil:
			r.misses.Add(1)
		case r.usable != nil && !r.usable(b):
			r.unusable.Add(1)
			r.misses.Add(1)
		default:
			r.hits.Add(1)
			vals[i] = b
		}
	}
	return vals, nil
}
