package redisstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Versioned values: a per-key counter (the version key) that writers increment and that a
// reader compares, in the same script as its SET, before storing what it loaded. appcache
// uses it so that a load that started before an invalidation can never store its value after
// it (appcache.VersionedTier). In a Cluster the value key and its version key must share a
// hash tag (appcache's keys do).

// setIfVersionScript stores ARGV[2] under KEYS[1] for ARGV[3] ms only while KEYS[2] holds
// ARGV[1] (a missing version key reads as "0"). It returns 1 when it stored.
var setIfVersionScript = redis.NewScript(`
local v = redis.call("GET", KEYS[2])
if not v then v = "0" end
if v ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
return 1`)

// bumpVersionScript increments KEYS[1], keeps it ARGV[1] ms and deletes KEYS[2..], in one
// step: a SET of an older version either ran before (and is deleted here) or runs after (and
// finds the version moved). It returns the new version.
var bumpVersionScript = redis.NewScript(`
local n = redis.call("INCR", KEYS[1])
redis.call("PEXPIRE", KEYS[1], ARGV[1])
for i = 2, #KEYS do redis.call("DEL", KEYS[i]) end
return n`)

// Version returns the counter under versionKey, 0 when it does not exist.
func (r *Store) Version(ctx context.Context, versionKey string) (int64, error) {
	return r.GetInt(ctx, versionKey)
}

// SetIfVersion stores value under key for ttl only if versionKey still holds version (0: the
// version key does not exist), atomically (one Lua script). stored reports whether it did.
func (r *Store) SetIfVersion(ctx context.Context, key, versionKey string, version int64, value []byte, ttl time.Duration) (stored bool, err error) {
	if ttl <= 0 {
		return false, errors.New("store: SetIfVersion: ttl must be positive")
	}
	var n int64
	err = r.do(ctx, opSet, func(ctx context.Context) (err error) {
		n, err = setIfVersionScript.Run(ctx, r.c, []string{key, versionKey},
			strconv.FormatInt(version, 10), value, redisTTL(ttl).Milliseconds()).Int64()
		return err
	})
	return err == nil && n == 1, err
}

// BumpVersion increments versionKey, keeps it for versionTTL (> 0) and deletes keys, atomically
// (one Lua script), and returns the new version. The version key must outlive every load that
// read it: an expired counter starts again from 0.
func (r *Store) BumpVersion(ctx context.Context, versionKey string, versionTTL time.Duration, keys ...string) (int64, error) {
	if versionTTL <= 0 {
		return 0, errors.New("store: BumpVersion: versionTTL must be positive")
	}
	var n int64
	err := r.do(ctx, opDelete, func(ctx context.Context) (err error) {
		n, err = bumpVersionScript.Run(ctx, r.c, append([]string{versionKey}, keys...),
			redisTTL(versionTTL).Milliseconds()).Int64()
		return err
	})
	return n, err
}
