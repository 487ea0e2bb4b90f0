package appcache

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The invalidation bus carries, besides core's messages ('K', 'U', 'G', which core's own
// subscribers read and this cache reads 'K' of), one of its own:
//
//	"A" + instance id (16 hex digits) + "I" + value keys joined by "\n"
//	"A" + instance id + "T"  — a tag purge is starting
//
// Receivers other than the sender move the keys' local versions and drop them from their L1
// ("I"), or their tag epoch ("T", see Cache.tagEpoch).
// core ignores messages of any other first byte.
const msgApp = 'A'

// Invalidate removes keys from every tier of every instance and moves their versions, so that
// no load that began before it can store its value afterwards (see the package documentation).
// An error means the L2 or the bus could not be reached: the L1s of other instances then keep
// the values at most Options.MaxStaleness.
func (c *Cache[T]) Invalidate(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	vks := make([]string, len(keys))
	var errs []error
	for i, k := range keys {
		vks[i] = c.valueKey(k)
		if err := c.invalidateL2(ctx, k, vks[i]); err != nil {
			errs = append(errs, err)
		}
		c.vers.bump(vks[i], func() { _ = c.l1.Delete(ctx, vks[i]) })
	}
	c.c.invalidations.Add(int64(len(keys)))
	if c.o.Observer != nil {
		c.o.Observer.Invalidate("key", len(keys))
	}
	if err := c.publish(ctx, vks); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// invalidateL2 moves key's version in the L2 and deletes its value there, atomically with a
// VersionedTier.
func (c *Cache[T]) invalidateL2(ctx context.Context, key, vk string) error {
	if c.l2 == nil {
		return nil
	}
	var err error
	if c.vt != nil {
		_, err = c.vt.BumpVersion(ctx, c.versionKey(key), c.o.VersionTTL, vk)
	} else {
		err = c.l2.Delete(ctx, vk)
	}
	if err != nil {
		c.fail("l2 invalidate", err)
		return fmt.Errorf("appcache: invalidate %q: %w", key, err)
	}
	return nil
}

func (c *Cache[T]) publish(ctx context.Context, vks []string) error {
	if !c.shared || len(vks) == 0 {
		return nil
	}
	msg := string(msgApp) + c.id + "I" + strings.Join(vks, "\n")
	if err := c.fleet.Publish(context.WithoutCancel(ctx), []byte(msg)); err != nil {
		c.fail("publish", err)
		return fmt.Errorf("appcache: publish: %w", err)
	}
	return nil
}

// InvalidateTags invalidates every value stored under any of the tags, on every instance, as
// Invalidate does, and returns how many keys the tag index named. The tag index is the fleet's,
// shared with the HTTP cache (core.Cache) on the same fleet: keys of HTTP responses under the
// tags are deleted from the L2 and announced on the bus with core's own message, so every
// core.Cache instance drops them from its L1 too. Options.Also, when set, is purged as well
// (core.Cache.PurgeTags: its in-process entries and its CDN Purger).
//
// core.Cache.PurgeTags on the same fleet, called directly, removes this cache's values too
// (from the L2, and from every instance's L1 through its 'K' message), without moving their
// versions: prefer this method when loads may be in flight.
func (c *Cache[T]) InvalidateTags(ctx context.Context, tags ...string) (int, error) {
	if len(tags) == 0 {
		return 0, nil
	}
	var errs []error
	c.tagEpoch.Add(1)
	if c.shared {
		if err := c.fleet.Publish(context.WithoutCancel(ctx), []byte(string(msgApp)+c.id+"T")); err != nil {
			c.fail("publish", err)
			errs = append(errs, err)
		}
	}
	keys, err := c.fleet.TagPurge(ctx, tags...)
	if err != nil {
		c.fail("tag purge", err)
		errs = append(errs, fmt.Errorf("appcache: tag purge: %w", err))
	}
	var ours, others []string
	for _, k := range keys {
		if uk, ok := c.userKey(k); ok {
			if err := c.invalidateL2(ctx, uk, k); err != nil {
				errs = append(errs, err)
			}
			c.vers.bump(k, func() { _ = c.l1.Delete(ctx, k) })
			ours = append(ours, k)
		} else {
			others = append(others, k)
		}
	}
	if err := c.publish(ctx, ours); err != nil {
		errs = append(errs, err)
	}
	if len(others) > 0 && c.l2 != nil {
		// The HTTP cache's entries (core's keys): delete them as core.Cache.PurgeTags does.
		if err := c.l2.Delete(ctx, others...); err != nil {
			c.fail("l2 delete", err)
			errs = append(errs, err)
		}
		if c.shared {
			if err := c.fleet.Publish(context.WithoutCancel(ctx), []byte("K"+strings.Join(others, "\n"))); err != nil {
				c.fail("publish", err)
				errs = append(errs, err)
			}
		}
	}
	c.c.invalidations.Add(int64(len(ours)))
	if c.o.Observer != nil {
		c.o.Observer.Invalidate("tag", len(ours))
	}
	n := len(keys)
	if c.o.Also != nil {
		m, err := c.o.Also.PurgeTags(ctx, tags...)
		n += m
		if err != nil {
			errs = append(errs, fmt.Errorf("appcache: also: %w", err))
		}
	}
	return n, errors.Join(errs...)
}

// coreIDLen is the length of the sender's id after the kind of a core message.
const coreIDLen = 16

// onMessage applies a bus message: this cache's own, and core's 'K' (keys of this namespace
// among them: a core.Cache.PurgeTags of a shared tag).
func (c *Cache[T]) onMessage(msg []byte) {
	if len(msg) < 1 {
		return
	}
	var body string
	switch msg[0] {
	case msgApp:
		if len(msg) < 1+len(c.id)+1 || string(msg[1:1+len(c.id)]) == c.id {
			return // this instance applied it before sending
		}
		switch msg[1+len(c.id)] {
		case 'I':
			body = string(msg[2+len(c.id):])
		case 'T':
			c.tagEpoch.Add(1)
			c.msgs.Add(1)
			return
		case 'Z': // a test's marker: every message sent before it was applied
			c.markers.Add(1)
			return
		default:
			return
		}
		c.msgs.Add(1)
	case 'K': // core's: 'K', the sender's 16-digit id, the keys
		if len(msg) < 1+coreIDLen {
			return
		}
		body = string(msg[1+coreIDLen:])
	default:
		return
	}
	n := 0
	for body != "" {
		var k string
		k, body, _ = strings.Cut(body, "\n")
		if !strings.HasPrefix(k, c.nsPre) {
			continue
		}
		c.vers.bump(k, func() { _ = c.l1.Delete(context.Background(), k) })
		n++
	}
	if n > 0 {
		c.c.remote.Add(int64(n))
		c.hook(stepRemoteInvalidate, "")
		if c.o.Observer != nil {
			c.o.Observer.Invalidate("remote", n)
		}
	}
}

// onReconnect: messages may be lost while the bus is down (called when it breaks and when it
// is back). Drop the L1 and move every version, so no load in flight stores what an
// invalidation it missed should have refused.
func (c *Cache[T]) onReconnect() {
	c.vers.bumpAll()
	c.l1.Clear()
}
