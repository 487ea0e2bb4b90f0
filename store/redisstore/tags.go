package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/redis/go-redis/v9"
)

// tagAddScript adds ARGV[1] to the set KEYS[1] and makes the set live at
// least ARGV[2] ms (<= 0: forever): the expiry only ever grows. PEXPIRE GT
// (Redis 7) cannot do this alone, because it treats a key without expiry,
// as a newly created set is, as having an infinite one and leaves it so.
var tagAddScript = redis.NewScript(`
local existed = redis.call("EXISTS", KEYS[1])
redis.call("SADD", KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl <= 0 then
	redis.call("PERSIST", KEYS[1])
	return 1
end
local cur = redis.call("PTTL", KEYS[1])
if existed == 0 or (cur >= 0 and cur < ttl) then
	redis.call("PEXPIRE", KEYS[1], ttl)
end
return 1`)

// tagAddStampedScript is tagAddScript plus the tag's stamp at KEYS[2]: it
// creates the stamp with the value ARGV[3] when there is none, gives it the
// set's grow-only expiry, and returns the stamp the tag has afterwards.
var tagAddStampedScript = redis.NewScript(`
local ttl = tonumber(ARGV[2])
local function keep(k, created)
	if ttl <= 0 then
		redis.call("PERSIST", k)
		return
	end
	local cur = redis.call("PTTL", k)
	if created or (cur >= 0 and cur < ttl) then
		redis.call("PEXPIRE", k, ttl)
	end
end
local existed = redis.call("EXISTS", KEYS[1])
redis.call("SADD", KEYS[1], ARGV[1])
keep(KEYS[1], existed == 0)
local stamp = redis.call("GET", KEYS[2])
local created = false
if not stamp then
	stamp = ARGV[3]
	redis.call("SET", KEYS[2], stamp)
	created = true
end
keep(KEYS[2], created)
return stamp`)

// tagPurgeScript returns the members of KEYS[1] and deletes it, and the tag's
// stamp KEYS[2], atomically, so a key added concurrently is either returned
// or stays indexed, and carries the stamp of the side of the purge it was
// added on.
var tagPurgeScript = redis.NewScript(`
local m = redis.call("SMEMBERS", KEYS[1])
redis.call("DEL", KEYS[1], KEYS[2])
return m`)

// TagKey returns the Redis key of tag's set: <Prefix>:tag:{<tag>}. The hash
// tag gives each tag its own Cluster slot.
func (r *Store) TagKey(tag string) string {
	return r.prefix + ":tag:{" + tag + "}"
}

// StampKey returns the Redis key of tag's stamp: <Prefix>:tagv:{<tag>}, in the
// slot of the tag's set.
func (r *Store) StampKey(tag string) string {
	return r.prefix + ":tagv:{" + tag + "}"
}

// tagKeys are the keys the tag scripts take: the set, then the stamp.
func (r *Store) tagKeys(tag string) []string { return []string{r.TagKey(tag), r.StampKey(tag)} }

// TagAdd indexes key under each tag: a SADD into the tag's set, whose
// expiry becomes the larger of its current one and ttl (ttl <= 0: no
// expiry), so the set outlives every entry it names. One pipelined script
// call per tag.
func (r *Store) TagAdd(ctx context.Context, tags []string, key string, ttl time.Duration) error {
	if len(tags) == 0 {
		return nil
	}
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1
	}
	return r.do(ctx, opTagAdd, func(ctx context.Context) error {
		_, err := r.evalPipelined(ctx, tagAddScript, tags, key, ms)
		return err
	})
}

// TagAddStamped is TagAdd, and returns the stamp of each tag, in the order of
// tags: a random value at <Prefix>:tagv:{<tag>} (see StampKey), created here
// when the tag has none, with the expiry of the tag's set. TagPurge deletes
// it, so the next TagAddStamped creates another: an entry stored with the
// stamps its tags had is current as long as TagStamps returns the same, and
// a stamp that Redis evicted only makes it a miss, never stale. The set and
// the stamp of one tag are written by one script (they share a slot).
func (r *Store) TagAddStamped(ctx context.Context, tags []string, key string, ttl time.Duration) ([]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	ms := ttl.Milliseconds()
	if ttl > 0 && ms == 0 {
		ms = 1
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	candidate := base64.RawURLEncoding.EncodeToString(b[:])
	stamps := make([]string, len(tags))
	err := r.do(ctx, opTagAdd, func(ctx context.Context) error {
		cmds, err := r.evalPipelinedKeys(ctx, tagAddStampedScript, tags, r.tagKeys, key, ms, candidate)
		if err != nil {
			return err
		}
		for i, c := range cmds {
			if stamps[i], err = c.Text(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stamps, nil
}

// TagStamps returns the current stamp of each tag, in the order of tags, ""
// for a tag without one (never stamped, purged since, or evicted): one MGET
// on a single node, one GET per tag in a pipeline otherwise (the stamps of
// different tags live in different Cluster slots).
func (r *Store) TagStamps(ctx context.Context, tags []string) ([]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	stamps := make([]string, len(tags))
	err := r.do(ctx, opTagMembers, func(ctx context.Context) error {
		if r.single || len(tags) == 1 {
			keys := make([]string, len(tags))
			for i, t := range tags {
				keys[i] = r.StampKey(t)
			}
			vals, err := r.c.MGet(ctx, keys...).Result()
			if err != nil {
				return err
			}
			for i, v := range vals {
				stamps[i], _ = v.(string)
			}
			return nil
		}
		cmds := make([]*redis.StringCmd, len(tags))
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, t := range tags {
				cmds[i] = p.Get(ctx, r.StampKey(t))
			}
			return nil
		})
		if err != nil && err != redis.Nil {
			return err
		}
		for i, c := range cmds {
			v, err := c.Result()
			if err != nil && err != redis.Nil {
				return err
			}
			stamps[i] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stamps, nil
}

// TagMembers returns the keys indexed under tag (none: an empty slice).
func (r *Store) TagMembers(ctx context.Context, tag string) ([]string, error) {
	var keys []string
	err := r.do(ctx, opTagMembers, func(ctx context.Context) (err error) {
		keys, err = r.c.SMembers(ctx, r.TagKey(tag)).Result()
		return err
	})
	return keys, err
}

// TagPurge deletes the sets and the stamps of tags and returns the keys the
// sets held, each once, for the caller to delete. Each set is read and deleted
// with its stamp atomically; no KEYS or SCAN is involved. A set that Redis
// evicted returns no keys, but its entries' stamps no longer match.
func (r *Store) TagPurge(ctx context.Context, tags ...string) (keys []string, err error) {
	if len(tags) == 0 {
		return nil, nil
	}
	err = r.do(ctx, opTagPurge, func(ctx context.Context) error {
		cmds, err := r.evalPipelinedKeys(ctx, tagPurgeScript, tags, r.tagKeys)
		if err != nil {
			return err
		}
		seen := make(map[string]struct{})
		keys = keys[:0]
		for _, c := range cmds {
			members, err := c.StringSlice()
			if err != nil {
				return err
			}
			for _, m := range members {
				if _, dup := seen[m]; !dup {
					seen[m] = struct{}{}
					keys = append(keys, m)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// TagDelete deletes the sets and the stamps of tags without reading them.
func (r *Store) TagDelete(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, 2*len(tags))
	for _, t := range tags {
		keys = append(keys, r.TagKey(t), r.StampKey(t))
	}
	return r.do(ctx, opTagPurge, func(ctx context.Context) error { return r.del(ctx, keys) })
}

// evalPipelined runs s once per tag, on the tag's set with args, in one
// pipeline: EVALSHA first, then EVAL for the tags whose node lacked the
// script (a restart flushes the cache; Cluster nodes each have their own).
// Only those are run again, so a purge that succeeded is never repeated (and
// its members lost).
func (r *Store) evalPipelined(ctx context.Context, s *redis.Script, tags []string, args ...any) ([]*redis.Cmd, error) {
	return r.evalPipelinedKeys(ctx, s, tags, func(t string) []string { return []string{r.TagKey(t)} }, args...)
}

// evalPipelinedKeys is evalPipelined with the script's keys of each tag given
// by keysOf (keys of one slot).
func (r *Store) evalPipelinedKeys(ctx context.Context, s *redis.Script, tags []string, keysOf func(string) []string,
	args ...any) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(tags))
	run := func(sha bool, idx []int) error {
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range idx {
				keys := keysOf(tags[i])
				if sha {
					cmds[i] = s.EvalSha(ctx, p, keys, args...)
				} else {
					cmds[i] = s.Eval(ctx, p, keys, args...)
				}
			}
			return nil
		})
		return err
	}
	all := make([]int, len(tags))
	for i := range all {
		all[i] = i
	}
	err := run(true, all)
	if err == nil {
		return cmds, nil
	}
	var again []int
	for i, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return cmds, err
	}
	if err := run(false, again); err != nil {
		return cmds, err
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return cmds, err
		}
	}
	return cmds, nil
}
