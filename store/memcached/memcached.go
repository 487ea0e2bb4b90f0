package memcached

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/internal/ratelog"
	"github.com/strata-cache/strata/store"
)

// Defaults of Options.
const (
	DefaultTimeout      = 50 * time.Millisecond
	DefaultMaxItemBytes = 1 << 20 // memcached's default -I
	DefaultMaxIdleConns = 16
)

// deleteParallel is how many keys of one Delete are deleted at once.
const deleteParallel = 8

// ErrTimeout is wrapped by the error of a call that ran out of Options.Timeout (or whose
// connection timed out inside the client). It deliberately does not match
// context.DeadlineExceeded: that is what a call returns when the caller's context ended.
var ErrTimeout = errors.New("memcached: call timed out")

// Options configures a Store. The zero value gives the defaults.
type Options struct {
	// Timeout bounds every call: Get, Set, and Delete for each group of up to 8 keys (they are
	// deleted 8 at a time). A call that runs out of it returns an error wrapping ErrTimeout and
	// counts as a failure. A call whose context ends first returns ctx.Err(). Default 50ms.
	Timeout time.Duration
	// Prefix is put in front of every memcached key, to share a server with other
	// applications. At most 64 bytes, none of them a space or a control character.
	// Default "" (core's keys already start with its Config.Namespace).
	Prefix string
	// MaxItemBytes is the server's item size limit (memcached -I). Set refuses, with
	// store.ErrTooLarge and without sending it, a value whose item (value, key, an 8-byte
	// header and memcached's 64 bytes of bookkeeping) would exceed it. Default 1 MiB.
	MaxItemBytes int
	// MaxIdleConns is how many idle connections per server a client built by NewFromServers
	// keeps (a call that finds none opens one). New leaves the given client alone.
	// Default 16.
	MaxIdleConns int
	// Logger receives failures (not cancellations), at most one line per second per kind of
	// call, with the count of the lines held back. Default: discard.
	Logger *slog.Logger
}

// Store is a core.Tier over memcached servers, through a gomemcache
// client. Safe for concurrent use.
type Store struct {
	log     *slog.Logger
	logs    sync.Map // op → *ratelog.Slot
	c       *memcache.Client
	own     bool
	timeout time.Duration
	prefix  string
	maxItem int
	now     func() time.Time

	gets, hits, misses, errs, timeouts, canceled atomic.Uint64
}

// Compile-time interface guards.
var (
	_ core.Tier      = (*Store)(nil)
	_ core.TierStats = (*Store)(nil)
)

// New returns a Store over c, which the caller owns (Close leaves it open). Every call runs
// c's operation on a goroutine and returns when Options.Timeout or the context ends, whichever
// comes first; c's own Timeout (gomemcache's default is 500ms) bounds how long an abandoned
// operation goes on, so set it close to Options.Timeout.
func New(c *memcache.Client, opts Options) (*Store, error) {
	if c == nil {
		return nil, errors.New("memcached: New needs a client")
	}
	if opts.Timeout < 0 {
		return nil, errors.New("memcached: Options.Timeout must not be negative")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxItemBytes < 0 {
		return nil, errors.New("memcached: Options.MaxItemBytes must not be negative")
	}
	if opts.MaxItemBytes == 0 {
		opts.MaxItemBytes = DefaultMaxItemBytes
	}
	if err := checkPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{
		log:     opts.Logger,
		c:       c,
		timeout: opts.Timeout,
		prefix:  opts.Prefix,
		maxItem: opts.MaxItemBytes,
		now:     time.Now,
	}, nil
}

// NewFromServers returns a Store over a client it builds and owns for the given servers
// ("host:port", or a unix socket path), with the client's socket timeout set to
// Options.Timeout and Options.MaxIdleConns idle connections per server. Keys are spread over
// the servers by gomemcache's CRC32 selector. Host names are resolved here, once.
func NewFromServers(servers []string, opts Options) (*Store, error) {
	if len(servers) == 0 {
		return nil, errors.New("memcached: NewFromServers needs at least one server")
	}
	var ss memcache.ServerList
	if err := ss.SetServers(servers...); err != nil {
		return nil, fmt.Errorf("memcached: %w", err)
	}
	c := memcache.NewFromSelector(&ss)
	c.Timeout = opts.Timeout
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	c.MaxIdleConns = opts.MaxIdleConns
	if c.MaxIdleConns <= 0 {
		c.MaxIdleConns = DefaultMaxIdleConns
	}
	s, err := New(c, opts)
	if err != nil {
		return nil, err
	}
	s.own = true
	return s, nil
}

// Close closes the idle connections of a client NewFromServers built; a Store from New leaves
// its client alone. The Store must not be used afterwards.
func (s *Store) Close() error {
	if s.own {
		return s.c.Close()
	}
	return nil
}

// Stats returns the store's counters. The breaker fields stay zero: the Store has no breaker.
func (s *Store) Stats() store.TierStats {
	return store.TierStats{
		Gets:     s.gets.Load(),
		Hits:     s.hits.Load(),
		Misses:   s.misses.Load(),
		Errors:   s.errs.Load(),
		Timeouts: s.timeouts.Load(),
		Canceled: s.canceled.Load(),
	}
}

// Get returns the value stored under key, or store.ErrNotFound on a miss, after the entry's
// TTL (to the millisecond, whatever memcached's one-second clock says), or for an item this
// package did not write.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	s.gets.Add(1)
	mk := mapKey(s.prefix, key)
	it, err := run(ctx, s.timeout, func() (*memcache.Item, error) { return s.c.Get(mk) })
	if errors.Is(err, memcache.ErrCacheMiss) {
		s.misses.Add(1)
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, "get", err)
	}
	v, ok := decode(it.Flags, it.Value, s.now())
	if !ok {
		s.misses.Add(1)
		return nil, store.ErrNotFound
	}
	s.hits.Add(1)
	return v, nil
}

// Set stores a copy of value under key for ttl (ttl <= 0: no expiry of its own; memcached may
// still evict it). A value too large for the server (Options.MaxItemBytes) is refused with
// store.ErrTooLarge, and any older value under key is deleted.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	mk := mapKey(s.prefix, key)
	if len(mk)+headerLen+len(value)+itemOverhead > s.maxItem {
		return s.refuse(ctx, key)
	}
	now := s.now()
	item := &memcache.Item{
		Key:        mk,
		Value:      encode(value, deadline(ttl, now)),
		Flags:      itemFlags,
		Expiration: expiration(ttl, now),
	}
	_, err := run(ctx, s.timeout, func() (struct{}, error) { return struct{}{}, s.c.Set(item) })
	if err != nil {
		if isTooLarge(err) {
			return s.refuse(ctx, key)
		}
		return s.fail(ctx, "set", err)
	}
	return nil
}

// refuse deletes what key holds, so that a refused value leaves no older one behind (as
// memcached does itself when it refuses a set), and returns store.ErrTooLarge.
func (s *Store) refuse(ctx context.Context, key string) error {
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("%w (deleting the older value: %w)", store.ErrTooLarge, err)
	}
	return store.ErrTooLarge
}

// Delete removes keys; a missing key is not an error. Keys are deleted up to 8 at a time, and
// the call is bounded by Options.Timeout for each group of 8.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	mks := make([]string, 0, len(keys))
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		mk := mapKey(s.prefix, k)
		if _, dup := seen[mk]; !dup {
			seen[mk] = struct{}{}
			mks = append(mks, mk)
		}
	}
	groups := (len(mks) + deleteParallel - 1) / deleteParallel
	_, err := run(ctx, s.timeout*time.Duration(groups), func() (struct{}, error) {
		return struct{}{}, s.deleteAll(mks)
	})
	if err != nil {
		return s.fail(ctx, "delete", err)
	}
	return nil
}

func (s *Store) deleteOne(mk string) error {
	if err := s.c.Delete(mk); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return err
	}
	return nil
}

// deleteAll deletes mks, deleteParallel at a time, and returns the first error.
func (s *Store) deleteAll(mks []string) error {
	if len(mks) == 1 {
		return s.deleteOne(mks[0])
	}
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  atomic.Int64
	)
	for range min(deleteParallel, len(mks)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(mks) {
					return
				}
				if err := s.deleteOne(mks[i]); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// fail counts a failed call and returns its error: ctx.Err() when the caller's context ended
// (counted as Canceled, not as an error), an error wrapping ErrTimeout for a timeout.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		s.canceled.Add(1)
		return ctxErr
	}
	s.errs.Add(1)
	s.logf(op, err)
	if errors.Is(err, ErrTimeout) {
		s.timeouts.Add(1)
		return fmt.Errorf("memcached: %s: %w after %s", op, ErrTimeout, s.timeout)
	}
	var ne net.Error
	var cte *memcache.ConnectTimeoutError
	if errors.As(err, &cte) || (errors.As(err, &ne) && ne.Timeout()) {
		s.timeouts.Add(1)
		return fmt.Errorf("memcached: %s: %w: %w", op, ErrTimeout, err)
	}
	return fmt.Errorf("memcached: %s: %w", op, err)
}

// logf logs a failed call, rate-limited per kind of call.
func (s *Store) logf(op string, err error) {
	slot, _ := s.logs.Load(op)
	if slot == nil {
		slot, _ = s.logs.LoadOrStore(op, new(ratelog.Slot))
	}
	ok, n := slot.(*ratelog.Slot).Allow(time.Now(), time.Second)
	if !ok {
		return
	}
	args := []any{"op", op, "err", err}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	s.log.Warn("memcached: call failed", args...)
}

// isTooLarge reports whether err is memcached's answer to an item over its limit
// ("SERVER_ERROR object too large for cache").
func isTooLarge(err error) bool {
	return strings.Contains(err.Error(), "too large")
}

type result[T any] struct {
	v   T
	err error
}

// run calls fn on a goroutine and returns its result, or ctx.Err() when ctx ends first, or
// ErrTimeout after timeout. An abandoned fn goes on until the client's own socket timeout.
func run[T any](ctx context.Context, timeout time.Duration, fn func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	done := make(chan result[T], 1)
	go func() {
		v, err := fn()
		done <- result[T]{v, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-t.C:
		return zero, ErrTimeout
	}
}
