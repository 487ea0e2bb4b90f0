package redisstore

import (
	"context"
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

// tagPurgeScript returns the members of KEYS[1] and deletes it, atomically,
// so a key added concurrently is either returned or stays indexed.
var tagPurgeScript = redis.NewScript(`
local m = redis.call("SMEMBERS", KEYS[1])
redis.call("DEL", KEYS[1])
return m`)

// TagKey returns the Redis key of tag's set: <Prefix>:tag:{<tag>}. The hash
// tag gives each tag its own Cluster slot.
func (r *Store) TagKey(tag string) string {
	return r.prefix + ":tag:{" + tag + "}"
}

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

// TagMembers returns the keys indexed under tag (none: an empty slice).
func (r *Store) TagMembers(ctx context.Context, tag string) ([]string, error) {
	var keys []string
	err := r.do(ctx, opTagMembers, func(ctx context.Context) (err error) {
		keys, err = r.c.SMembers(ctx, r.TagKey(tag)).Result()
		return err
	})
	return keys, err
}

// TagPurge deletes the sets of tags and returns the keys they held, each
// once, for the caller to delete. Each set is read and deleted atomically;
// no KEYS or SCAN is involved.
func (r *Store) TagPurge(ctx context.Context, tags ...string) (keys []string, err error) {
	if len(tags) == 0 {
		return nil, nil
	}
	err = r.do(ctx, opTagPurge, func(ctx context.Context) error {
		cmds, err := r.evalPipelined(ctx, tagPurgeScript, tags)
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

// TagDelete deletes the sets of tags without reading them.
func (r *Store) TagDelete(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = r.TagKey(t)
	}
	return r.do(ctx, opTagPurge, func(ctx context.Context) error { return r.del(ctx, keys) })
}

// evalPipelined runs s once per tag, on the tag's set with args, in one
// pipeline: EVALSHA first, then EVAL for the tags whose node lacked the
// script (a restart flushes the cache; Cluster nodes each have their own).
// Only those are run again, so a purge that succeeded is never repeated (and
// its members lost).
func (r *Store) evalPipelined(ctx context.Context, s *redis.Script, tags []string, args ...any) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(tags))
	run := func(sha bool, idx []int) error {
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range idx {
				keys := []string{r.TagKey(tags[i])}
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
