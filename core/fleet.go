package core

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/strata-cache/strata/store"
)

// localFleet is the fleet of one instance: the Fleet a cache uses when it is given none, and
// the one it falls back to for entries it keeps out of the shared tier (before it has the
// fleet's key secret). Its lock always succeeds with no token (in-process coalescing, the
// flights, is all a single instance needs); its tag index follows the L1; its bus has no
// other member.
type localFleet struct {
	tags *tagIndex
	gen  atomic.Uint64
}

var _ Fleet = (*localFleet)(nil)

func (*localFleet) Lock(context.Context, string, time.Duration) (string, bool, error) {
	return "", true, nil
}

func (*localFleet) Extend(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}

func (*localFleet) Unlock(context.Context, string, string) error { return nil }

// Publish has nobody to tell: every purge applies to this instance's tiers directly.
func (*localFleet) Publish(context.Context, []byte) error { return nil }

func (*localFleet) Subscribe(func([]byte), func(bool)) (stop func()) { return func() {} }

func (f *localFleet) TagAdd(_ context.Context, tags []string, key string, _ time.Duration) error {
	f.tags.add(tags, key)
	return nil
}

func (f *localFleet) TagPurge(_ context.Context, tags ...string) ([]string, error) {
	return f.tags.purge(tags), nil
}

func (f *localFleet) Generation(context.Context) (uint64, error) { return f.gen.Load(), nil }

func (f *localFleet) NextGeneration(context.Context) (uint64, error) { return f.gen.Add(1), nil }

// Secret: an instance alone keeps its own random secret.
func (*localFleet) Secret(_ context.Context, proposal string) (string, error) { return proposal, nil }

// noTier is the L2 of a cache without one, and the L1 of one with DisableL1: it holds nothing.
type noTier struct{}

func (noTier) Get(context.Context, string) ([]byte, error)              { return nil, store.ErrNotFound }
func (noTier) Set(context.Context, string, []byte, time.Duration) error { return nil }
func (noTier) Delete(context.Context, ...string) error                  { return nil }
func (noTier) Clear()                                                   {}
func (noTier) Close() error                                             { return nil }
func (noTier) Stats() store.L1Stats                                     { return store.L1Stats{} }
func (noTier) Len() int                                                 { return 0 }

// memTier is the in-process tier: store.L1, or noTier when disabled.
type memTier interface {
	Tier
	Clear()
	Close() error
	Stats() store.L1Stats
	Len() int
}

// The invalidation bus carries four messages, built and read only here; each starts with
// its kind and the sending instance's id (16 hex digits), so that an instance skips its own
// (it applied them before sending):
//
//	"K" id + keys joined by "\n"  — delete these keys from L1
//	"U" id + base key             — delete a URL (base and the variants this instance knows)
//	"T" id + tags joined by "\n"  — tags are being purged: fills carrying them do not store, L1
//	                                copies carrying them go (sent before and after the fleet's purge)
//	"R" id + keys joined by "\n"  — a late write was retracted: drop these keys from L1
//	"G" id + decimal generation   — PurgeAll happened: move to that generation
//	"F" id + store key            — a fill of the key ended (stored or not): its waiters look again
func (c *Cache) keysMessage(keys []string) string { return "K" + c.id + strings.Join(keys, "\n") }
func (c *Cache) tagsMessage(tags []string) string { return "T" + c.id + strings.Join(tags, "\n") }
func (c *Cache) retractMessage(keys []string) string {
	return "R" + c.id + strings.Join(keys, "\n")
}
func (c *Cache) urlMessage(base string) string   { return "U" + c.id + base }
func (c *Cache) genMessage(gen uint64) string    { return "G" + c.id + strconv.FormatUint(gen, 10) }
func (c *Cache) filledMessage(key string) string { return "F" + c.id + key }

// idLen is the length of an instance id in a message.
const idLen = 16

// onMessage applies a message of another instance.
func (c *Cache) onMessage(msg []byte) {
	if len(msg) < 1+idLen || string(msg[1:1+idLen]) == c.id {
		return
	}
	ctx := context.Background()
	body := string(msg[1+idLen:])
	switch msg[0] {
	case 'K', 'R': // R: a late write another instance retracted; nothing of ours to retract
		var late []string
		for _, k := range strings.Split(body, "\n") {
			if k == "" {
				continue
			}
			if c.fences.bumpKey(k, time.Now()) && msg[0] == 'K' {
				late = append(late, k) // this instance's late write, if it came after the delete
			}
			c.l1Delete(ctx, k)
		}
		c.retractRead(ctx, late...)
	case 'U':
		late := c.fences.bumpKey(body, time.Now())
		keys := c.l1DeleteURL(ctx, body)
		if late {
			c.retractRead(ctx, keys...)
		}
	case 'T':
		tags := strings.Split(body, "\n")
		late := c.tags.purge(tags, time.Now())
		c.l1Delete(ctx, late...)
		c.retractRead(ctx, late...)
		// The L1 copies of entries carrying the tags, which the fleet's index may have
		// lost (Redis evicted a tag set): this instance's index names them.
		own, _ := c.local.TagPurge(ctx, tags...)
		for _, k := range own {
			c.fences.bumpKey(k, time.Now())
		}
		c.l1Delete(ctx, own...)
	case 'F':
		c.wakers.wake(body)
	case 'G':
		if g, err := strconv.ParseUint(body, 10, 64); err == nil {
			c.setGen(g)
		}
	}
}

// retractRead is retract for keys whose L1 copies a message just deleted: a lookup of this
// instance may have read the late write from L2 before the retraction deleted it, and be
// promoting it into L1 (its fence read after the message's bump). The fences move again
// after the L2 delete and the L1 copies go again, so such a promotion is dropped either by
// its own fence check or by this delete.
func (c *Cache) retractRead(ctx context.Context, keys ...string) {
	if len(keys) == 0 {
		return
	}
	c.retract(ctx, keys...)
	now := time.Now()
	for _, k := range keys {
		c.fences.bumpKey(k, now)
	}
	c.l1Delete(ctx, keys...)
}

// retract deletes keys this instance may have written to L2 after a purge deleted them (a late
// write, see fence.go), and tells every instance to drop the copies it may have read from L2
// in between.
func (c *Cache) retract(ctx context.Context, keys ...string) {
	if len(keys) == 0 {
		return
	}
	c.l2Delete(ctx, keys...)
	c.publish(ctx, c.retractMessage(keys))
}

// publish tells the other instances; a fleet that cannot be reached is counted by the store.
func (c *Cache) publish(ctx context.Context, msg string) {
	if err := c.fleet.Publish(context.WithoutCancel(ctx), []byte(msg)); err != nil {
		c.storeErr(TierL2, OpPublish, err)
		c.intents.addMessage(msg) // sent when the fleet answers again
	}
}
