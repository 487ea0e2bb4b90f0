package core

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// intents keeps the purges the fleet could not be told of (its tier or bus unreachable, the
// breaker open), and replays them once it answers: a purge during an outage still reaches the
// L2 and every instance's L1 afterwards. Until then, the keys whose L2 copy could not be
// deleted are tombstoned here, so that this instance never promotes them back from L2 (a
// tier that comes back before the replay still holds them). Bounded: past maxIntents, the
// oldest are dropped and a namespace generation move is replayed instead (PurgeAll), which
// makes every older entry unreachable.
type intents struct {
	mu       sync.Mutex
	deletes  map[string]struct{} // L2 keys to delete (tombstoned meanwhile)
	ndeletes atomic.Int64        // len(deletes), so that reads skip the lock when it is 0
	messages []string            // bus messages to send
	tags     map[string]struct{} // tags to purge from the fleet's index
	newGen   bool                // a PurgeAll to replay
	wake     chan struct{}
}

const maxIntents = 10_000

func (in *intents) init() {
	in.deletes = make(map[string]struct{})
	in.tags = make(map[string]struct{})
	in.wake = make(chan struct{}, 1)
}

func (in *intents) overflow() bool {
	return len(in.deletes)+len(in.messages)+len(in.tags) > maxIntents
}

func (in *intents) addDeletes(keys []string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, k := range keys {
		in.deletes[k] = struct{}{}
	}
	in.bound()
	in.ndeletes.Store(int64(len(in.deletes)))
}

func (in *intents) addMessage(msg string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.messages = append(in.messages, msg)
	in.bound()
}

func (in *intents) addTags(tags []string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, t := range tags {
		in.tags[t] = struct{}{}
	}
	in.bound()
}

func (in *intents) addNewGen() {
	in.mu.Lock()
	in.newGen = true
	in.mu.Unlock()
}

// bound replaces too many intents with one generation move; in.mu is held.
func (in *intents) bound() {
	if in.overflow() {
		clear(in.deletes)
		in.ndeletes.Store(0)
		clear(in.tags)
		in.messages = nil
		in.newGen = true
	}
}

// tombstoned reports whether key's L2 copy is purged but not deleted yet.
func (in *intents) tombstoned(key string) bool {
	if in.ndeletes.Load() == 0 {
		return false // the common case: no purge is waiting for the tier
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	_, ok := in.deletes[key]
	return ok
}

func (in *intents) pending() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.newGen || len(in.deletes)+len(in.messages)+len(in.tags) > 0
}

// kick asks the replay loop to try now (after a reconnect).
func (in *intents) kick() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// replayIntents tries the kept purges every second (and at once after a reconnect) until
// Close.
func (c *Cache) replayIntents() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		case <-c.intents.wake:
		}
		if c.intents.pending() {
			c.replay(context.Background())
		}
	}
}

// replay sends the kept purges: each is forgotten once it went through.
func (c *Cache) replay(ctx context.Context) {
	in := &c.intents
	in.mu.Lock()
	newGen := in.newGen
	tags := make([]string, 0, len(in.tags))
	for t := range in.tags {
		tags = append(tags, t)
	}
	keys := make([]string, 0, len(in.deletes))
	for k := range in.deletes {
		keys = append(keys, k)
	}
	kept := len(in.messages)
	msgs := append([]string(nil), in.messages...)
	in.mu.Unlock()

	if newGen {
		n, err := c.fleet.NextGeneration(ctx)
		if err != nil {
			return
		}
		c.setGen(max(n, c.gen.Load()))
		if c.fleet.Publish(ctx, []byte(c.genMessage(c.gen.Load()))) != nil {
			return
		}
		in.mu.Lock()
		in.newGen = false
		in.mu.Unlock()
	}
	if len(tags) > 0 {
		found, err := c.fleet.TagPurge(ctx, tags...)
		if err != nil {
			return
		}
		keys = append(keys, found...)
		msgs = append(msgs, c.keysMessage(found))
	}
	if len(keys) > 0 {
		if err := c.l2.Delete(ctx, keys...); err != nil {
			return
		}
	}
	for _, m := range msgs {
		if c.fleet.Publish(ctx, []byte(m)) != nil {
			return
		}
	}
	in.mu.Lock()
	for _, t := range tags {
		delete(in.tags, t)
	}
	for _, k := range keys {
		delete(in.deletes, k)
	}
	in.ndeletes.Store(int64(len(in.deletes)))
	in.messages = in.messages[min(kept, len(in.messages)):] // those kept since stay
	in.mu.Unlock()
}
