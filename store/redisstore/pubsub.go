package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Publish sends msg, as is, on the invalidation channel to every
// subscriber, this store's own included. It goes through the breaker and
// timeout like any call.
func (r *Store) Publish(ctx context.Context, msg []byte) error {
	return r.do(ctx, opPublish, func(ctx context.Context) error {
		return r.c.Publish(ctx, r.channel, msg).Err()
	})
}

// Subscribe calls handler with every message published on the invalidation
// channel, on a goroutine of its own, one message at a time, until stop is
// called (or the store is closed). handler must not block for long, must
// not call stop, and may keep msg.
//
// The subscriber survives Redis outages: when its connection fails, or a
// PING gets no answer within SubscribeHealthCheck, it reconnects with
// backoff (50 ms doubling to 1 s). live (when not nil) is called with true
// once subscribed, with false when a live subscription breaks (so a hung
// Redis is noticed within twice SubscribeHealthCheck of its last answer),
// and with true again once subscribed again: messages sent in between are
// lost. It does not go through
// the breaker. stop waits for the goroutine to end.
//
// Subscribe returns once the subscription is live: it publishes a hello of
// its own until it receives it (every subscriber drops hellos), so that no
// message published after Subscribe returns is missed. With Redis down it
// gives up waiting after a second; the subscriber keeps trying.
func (r *Store) Subscribe(handler func(msg []byte), live func(up bool)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var hello [8]byte
	_, _ = rand.Read(hello[:])
	s := &subscription{cancel: cancel, done: make(chan struct{}), onLive: live,
		hello: helloPrefix + hex.EncodeToString(hello[:]), ready: make(chan struct{})}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		cancel()
		return func() {}
	}
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	go r.subscribeLoop(ctx, s, handler)
	s.await(ctx, r)
	return func() {
		s.stop()
		r.mu.Lock()
		delete(r.subs, s)
		r.mu.Unlock()
	}
}

type subscription struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	onLive func(bool)

	hello     string        // this subscription's readiness probe
	ready     chan struct{} // closed when hello came back
	readyOnce sync.Once

	mu sync.Mutex
	ps *redis.PubSub // current connection, closed by stop to unblock a read
}

func (s *subscription) stop() {
	s.once.Do(func() {
		s.cancel()
		s.mu.Lock()
		if s.ps != nil {
			_ = s.ps.Close()
		}
		s.mu.Unlock()
		<-s.done
	})
}

// helloPrefix starts the readiness probes of Subscribe, which no subscriber passes on.
const helloPrefix = "\x00strata-hello:"

// await publishes the subscription's hello until it comes back, for at most a second.
func (s *subscription) await(ctx context.Context, r *Store) {
	deadline := time.NewTimer(time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = r.Publish(ctx, []byte(s.hello))
		select {
		case <-s.ready:
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// setPS records the current PubSub; false means stop was called.
func (s *subscription) setPS(ctx context.Context, ps *redis.PubSub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil {
		return false
	}
	s.ps = ps
	return true
}

const (
	subBackoffMin = 50 * time.Millisecond
	subBackoffMax = time.Second
)

func (r *Store) subscribeLoop(ctx context.Context, s *subscription, handler func([]byte)) {
	defer close(s.done)
	backoff := subBackoffMin
	for {
		// A fresh PubSub per connection: go-redis would reconnect on its own,
		// but it neither tells when (reconnected needs to know) nor notices a
		// server that stopped answering.
		ps := r.c.Subscribe(ctx, r.channel)
		if !s.setPS(ctx, ps) {
			_ = ps.Close()
			return
		}
		subscribed, err := r.receive(ctx, s, ps, handler)
		s.setPS(ctx, nil)
		_ = ps.Close()
		if ctx.Err() != nil {
			return
		}
		if subscribed {
			backoff = subBackoffMin
			if s.onLive != nil {
				s.onLive(false) // messages may be missed from now on
			}
		}
		r.logf(opSubscribe, "store: redis subscription lost, reconnecting", "channel", r.channel, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, subBackoffMax)
	}
}

// receive reads one connection until it fails. subscribed reports whether
// the subscription was confirmed on it.
func (r *Store) receive(ctx context.Context, s *subscription, ps *redis.PubSub, handler func([]byte)) (subscribed bool, err error) {
	pinged := false
	for {
		m, err := ps.ReceiveTimeout(ctx, r.hc)
		if err != nil {
			if ctx.Err() != nil {
				return subscribed, ctx.Err()
			}
			if !isTimeout(err) {
				return subscribed, err
			}
			if pinged {
				return subscribed, fmt.Errorf("store: no PONG within %s", r.hc)
			}
			if err := ps.Ping(ctx); err != nil {
				return subscribed, err
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := m.(type) {
		case *redis.Message:
			if strings.HasPrefix(m.Payload, helloPrefix) {
				if m.Payload == s.hello {
					s.readyOnce.Do(func() { close(s.ready) })
				}
				continue
			}
			handler([]byte(m.Payload))
		case *redis.Subscription:
			if m.Kind == "subscribe" && !subscribed {
				subscribed = true
				if s.onLive != nil {
					s.onLive(true)
				}
			}
		}
		// *redis.Pong and anything else: the connection is alive.
	}
}
