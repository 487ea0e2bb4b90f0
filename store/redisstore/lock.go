package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// unlockScript deletes KEYS[1] only while it still holds the caller's token.
var unlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// extendScript resets KEYS[1]'s expiry to ARGV[2] ms only while it still
// holds the caller's token.
var extendScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// Lock tries once to take the fleet-wide lock key for ttl, with
// SET key token NX PX ttl. ok reports whether it was taken; token, a random
// 128-bit value, is what Unlock and Extend need. A lock nobody releases
// expires after ttl. The key is used as given (one key, so any Cluster slot
// is fine).
func (r *Store) Lock(ctx context.Context, key string, ttl time.Duration) (token string, ok bool, err error) {
	if ttl <= 0 {
		return "", false, errors.New("store: Lock: ttl must be positive")
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	err = r.do(ctx, opLock, func(ctx context.Context) error {
		return r.c.SetArgs(ctx, key, tok, redis.SetArgs{Mode: "NX", TTL: redisTTL(ttl)}).Err()
	})
	switch err {
	case nil:
		return tok, true, nil
	case redis.Nil: // held by someone else
		return "", false, nil
	}
	return "", false, err
}

// Unlock releases key if it is still held with token (an atomic
// compare-and-delete in Lua); with another token, or after expiry, it does
// nothing and returns nil.
func (r *Store) Unlock(ctx context.Context, key, token string) error {
	return r.do(ctx, opUnlock, func(ctx context.Context) error {
		return unlockScript.Run(ctx, r.c, []string{key}, token).Err()
	})
}

// Extend resets the expiry of key to ttl if it is still held with token
// (compare-and-PEXPIRE in Lua). ok is false when the lock was lost.
func (r *Store) Extend(ctx context.Context, key, token string, ttl time.Duration) (ok bool, err error) {
	if ttl <= 0 {
		return false, errors.New("store: Extend: ttl must be positive")
	}
	var n int64
	err = r.do(ctx, opExtend, func(ctx context.Context) (err error) {
		n, err = extendScript.Run(ctx, r.c, []string{key}, token, redisTTL(ttl).Milliseconds()).Int64()
		return err
	})
	return err == nil && n == 1, err
}
