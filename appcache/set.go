package appcache

import (
	"context"
	"fmt"
)

// Set is write-through: it runs write (the source of truth; nil for none), then stores v
// under key in the L2 and this instance's L1, and invalidates the other instances' L1. If the
// key was invalidated or written by anyone else between the start of Set and its store (two
// writers racing), v is not stored and the key is left empty instead, so the cache never ends
// holding the older of two writes. A failing write returns its error and changes nothing.
func (c *Cache[T]) Set(ctx context.Context, key string, v T, write func(ctx context.Context) error, opts ...FetchOption) error {
	if c.isClosed() {
		return ErrClosed
	}
	cl := &call[T]{key: key, vk: c.valueKey(key)}
	for _, f := range opts {
		f(&cl.opts)
	}
	lv0 := c.vers.read(cl.vk)
	var rv0 int64
	haveRV := false
	if c.vt != nil {
		var err error
		if rv0, err = c.vt.Version(ctx, c.versionKey(key)); err != nil {
			c.fail("l2 version", err)
		} else {
			haveRV = true
		}
	}
	if write != nil {
		if err := write(ctx); err != nil {
			return err
		}
	}
	return c.storeWrite(ctx, cl, v, lv0, rv0, haveRV)
}

// storeWrite stores a written value: it moves the key's versions and stores b where nobody
// else moved them since lv0 and rv0 were read, deleting it elsewhere; then tells the fleet.
func (c *Cache[T]) storeWrite(ctx context.Context, cl *call[T], v T, lv0 uint64, rv0 int64, haveRV bool) error {
	b, ttl, err := c.encode(cl, v, false, 0)
	if err != nil {
		c.fail("encode", err)
		_ = c.Invalidate(ctx, cl.key)
		return fmt.Errorf("appcache: encode: %w", err)
	}
	stored := true
	if tags := c.tags(cl, v, false); len(tags) > 0 {
		if err := c.fleet.TagAdd(ctx, tags, cl.vk, ttl); err != nil {
			c.fail("tag add", err)
			stored = false
		}
	}
	var l2err error
	if c.l2 != nil {
		if c.vt != nil {
			n, err := c.vt.BumpVersion(ctx, c.versionKey(cl.key), c.o.VersionTTL, cl.vk)
			switch {
			case err != nil:
				l2err = err
				stored = false
			case !stored || !haveRV || n != rv0+1:
				stored = false // another writer or an invalidation came in between
			default:
				ok, err := c.vt.SetIfVersion(ctx, cl.vk, c.versionKey(cl.key), n, b, ttl)
				stored = ok && err == nil
				l2err = err
			}
		} else if stored {
			l2err = c.l2.Set(ctx, cl.vk, b, ttl)
			stored = l2err == nil
		} else {
			l2err = c.l2.Delete(ctx, cl.vk)
		}
		if l2err != nil {
			c.fail("l2 set", l2err)
		}
	}
	ok := c.vers.bumpStoreIf(cl.vk, lv0,
		func() {
			if stored {
				_ = c.l1.Set(ctx, cl.vk, b, c.l1TTL(ttl))
			} else {
				_ = c.l1.Delete(ctx, cl.vk)
			}
		},
		func() { _ = c.l1.Delete(ctx, cl.vk) })
	if c.l2 != nil && c.vt == nil && stored && !ok {
		_ = c.l2.Delete(ctx, cl.vk) // another write came in meanwhile: leave the key empty
	}
	c.c.invalidations.Add(1)
	if c.o.Observer != nil {
		c.o.Observer.Invalidate("set", 1)
	}
	perr := c.publish(ctx, []string{cl.vk})
	if l2err != nil {
		return fmt.Errorf("appcache: set %q: %w", cl.key, l2err)
	}
	return perr
}
