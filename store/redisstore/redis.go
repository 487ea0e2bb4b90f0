package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/internal/ratelog"
	"github.com/strata-cache/strata/store"
)

// Options configures New. The zero value is a working default;
// New does not modify the caller's copy.
type Options struct {
	// Prefix namespaces the store's own keys: the invalidation channel and
	// the tag sets (<Prefix>:tag:{<tag>}). Keys passed to Get, Set, Delete,
	// Lock, Incr and the like are used as given. Default "strata".
	Prefix string
	// Timeout bounds each call (a pipeline counts as one call). Running out
	// of it is a Redis failure, returned as an error wrapping store.ErrTimeout;
	// negative disables it, leaving the caller's context as the only bound.
	// Calls that begin within a sixteenth of it share one deadline (one timer
	// rather than one per call), so a call may run up to Timeout/16 longer.
	// Default 50ms.
	Timeout time.Duration
	// BreakerFailures is the circuit breaker's minimum volume: the number of failed calls
	// (errors and timeouts, never cancellations by the caller) within BreakerWindow below
	// which it stays closed, whatever the failure rate. The breaker opens when, within
	// BreakerWindow, at least BreakerFailures calls failed and they are at least
	// BreakerFailureRate of the calls sent: with Redis down or hung, every call fails and it
	// opens at the BreakerFailures-th failure; on a busy machine that misses a deadline now
	// and then among answered calls it stays closed. While open, calls return
	// store.ErrUnavailable without touching the network. Negative disables the breaker.
	// Default 20. (Until v0.2.0 this was a count of consecutive failures, default 5, which
	// a loaded machine reached with Redis healthy.)
	BreakerFailures int
	// BreakerFailureRate is the share of the calls within BreakerWindow that must have
	// failed for the breaker to open, in (0, 1]. Default 0.5.
	BreakerFailureRate float64
	// BreakerWindow is how far back the breaker counts calls; it slides in steps of a tenth
	// of itself. Default 10s.
	BreakerWindow time.Duration
	// BreakerCooldown is how long the breaker stays open before it lets one
	// probe call through (half-open): success closes it (with an empty window), failure
	// reopens it. Default 2s.
	BreakerCooldown time.Duration
	// Channel is the pub/sub channel of the invalidation bus (Publish,
	// Subscribe). Default Prefix + ":inval".
	Channel string
	// SubscribeHealthCheck is how long a subscriber waits for traffic before
	// sending a PING, and then for the PONG before it drops the connection
	// and reconnects; it detects a hung Redis or a silently broken
	// connection. Default 1s.
	SubscribeHealthCheck time.Duration
	// Logger receives failures, rate-limited to one line per second per kind
	// of call (the line counts the ones suppressed). Default: discard.
	Logger *slog.Logger
	// Clock drives the breaker cooldown and log rate limits. Default time.Now.
	Clock store.Clock
	// Usable, when set, tells whether a value Get read is one the caller can use (say, an
	// entry it can decode). Get reports a value it rejects as store.ErrNotFound, and counts it in
	// Misses and Unusable, not in Hits, so that Hits counts usable reads only. Default nil:
	// every value is usable.
	Usable func(value []byte) bool
}

// Redis is a Store over a go-redis UniversalClient (single node, Sentinel
// failover client, Cluster or Ring), with a per-call timeout and a circuit
// breaker, plus the fleet-wide lock, the invalidation bus, the tag index and
// counters. Safe for concurrent use.
type Store struct {
	c       redis.UniversalClient
	own     bool // close c on Close
	single  bool // one node: a multi-key DEL never spans slots
	async   bool // the client ignores context deadlines: run calls on a goroutine
	timeout time.Duration
	// deadlines bounds each call by timeout (nil when it is disabled).
	deadlines *deadlines
	prefix    string
	channel   string
	hc        time.Duration
	log       *slog.Logger
	clock     store.Clock
	id        string
	usable    func([]byte) bool

	br *breaker

	gets, hits, misses, errs, timeouts, rejected, canceled atomic.Uint64
	unusable                                               atomic.Uint64
	logs                                                   [numOps]ratelog.Slot

	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool
}

// New returns a Redis store over client, which stays the caller's to
// close. It does not contact Redis: a server that is down at start-up only
// makes calls fail (and the breaker open) until it is back.
//
// The per-call Timeout needs a client that honours context deadlines
// (ContextTimeoutEnabled in go-redis options, as NewFromURL sets).
// With a client that does not, calls run on a helper goroutine so that the
// Timeout still holds, at the cost of a goroutine per call.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("store: New: nil client")
	}
	o := opts // never modify the caller's options
	if o.Prefix == "" {
		o.Prefix = "strata"
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return nil, fmt.Errorf("store: Options.Prefix %q must not contain braces (tag keys add their own hash tag)", o.Prefix)
	}
	if o.Timeout == 0 {
		o.Timeout = 50 * time.Millisecond
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 20
	}
	if o.BreakerFailureRate == 0 {
		o.BreakerFailureRate = 0.5
	}
	if !(o.BreakerFailureRate > 0 && o.BreakerFailureRate <= 1) {
		return nil, fmt.Errorf("store: Options.BreakerFailureRate %v is not in (0, 1]", o.BreakerFailureRate)
	}
	if o.BreakerWindow == 0 {
		o.BreakerWindow = 10 * time.Second
	}
	if o.BreakerWindow < 0 {
		return nil, fmt.Errorf("store: Options.BreakerWindow %s is negative", o.BreakerWindow)
	}
	if o.BreakerCooldown == 0 {
		o.BreakerCooldown = 2 * time.Second
	}
	if o.BreakerCooldown < 0 {
		return nil, fmt.Errorf("store: Options.BreakerCooldown %s is negative", o.BreakerCooldown)
	}
	if o.Channel == "" {
		o.Channel = o.Prefix + ":inval"
	}
	if o.SubscribeHealthCheck == 0 {
		o.SubscribeHealthCheck = time.Second
	}
	if o.SubscribeHealthCheck < 0 {
		return nil, fmt.Errorf("store: Options.SubscribeHealthCheck %s is negative", o.SubscribeHealthCheck)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])

	r := &Store{
		c:       client,
		timeout: o.Timeout,
		prefix:  o.Prefix,
		channel: o.Channel,
		hc:      o.SubscribeHealthCheck,
		log:     o.Logger,
		clock:   o.Clock.OrNow(),
		id:      hex.EncodeToString(id[:]),
		usable:  o.Usable,
		subs:    make(map[*subscription]struct{}),
	}
	if r.timeout > 0 {
		r.deadlines = newDeadlines(r.timeout)
	}
	r.br = newBreaker(o.BreakerFailures, o.BreakerFailureRate, o.BreakerWindow, o.BreakerCooldown, r.clock)
	var honoursDeadlines bool
	switch c := client.(type) {
	case *redis.Client:
		r.single = true
		honoursDeadlines = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		honoursDeadlines = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		honoursDeadlines = c.Options().ContextTimeoutEnabled
	}
	if r.timeout > 0 && !honoursDeadlines {
		r.async = true
		r.log.Info("store: the redis client ignores context deadlines (ContextTimeoutEnabled is off); calls run on a helper goroutine to keep the per-call timeout",
			"timeout", r.timeout)
	}
	return r, nil
}

// NewFromURL creates a client from a go-redis URL and returns a store
// that owns it (Close closes it). redis://, rediss:// and unix:// URLs give
// a single-node client; a URL with addr= query parameters
// (redis://host1:port?addr=host2:port&addr=host3:port) gives a Cluster
// client. ContextTimeoutEnabled is always set.
func NewFromURL(url string, opts Options) (*Store, error) {
	var client redis.UniversalClient
	if strings.Contains(url, "?addr=") || strings.Contains(url, "&addr=") {
		o, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, fmt.Errorf("store: redis URL: %w", err)
		}
		o.ContextTimeoutEnabled = true
		client = redis.NewClusterClient(o)
	} else {
		o, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("store: redis URL: %w", err)
		}
		o.ContextTimeoutEnabled = true
		client = redis.NewClient(o)
	}
	r, err := New(client, opts)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	r.own = true
	// go-redis logs pool failures to stderr through a process-wide logger. A store that
	// built its own client routes them to its Logger at debug level instead, so a cache is
	// quiet by default (its own failures are logged, rate-limited, as warnings).
	redis.SetLogger(redisLog{r.log})
	return r, nil
}

// redisLog adapts go-redis's logger to slog.
type redisLog struct{ l *slog.Logger }

func (g redisLog) Printf(ctx context.Context, format string, v ...any) {
	g.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// Client returns the underlying client.
func (r *Store) Client() redis.UniversalClient { return r.c }

// InstanceID returns a random id chosen for this store at creation (16 hex
// digits). It is not sent anywhere by the store; a caller can put it in its
// Publish messages to recognise, and skip, its own.
func (r *Store) InstanceID() string { return r.id }

// Healthy reports whether the circuit breaker is closed.
func (r *Store) Healthy() bool { return r.br.State() == store.BreakerClosed }

// Stats returns a snapshot of the counters.
func (r *Store) Stats() store.TierStats {
	return store.TierStats{
		Gets:         r.gets.Load(),
		Hits:         r.hits.Load(),
		Misses:       r.misses.Load(),
		Unusable:     r.unusable.Load(),
		Errors:       r.errs.Load(),
		Timeouts:     r.timeouts.Load(),
		Rejected:     r.rejected.Load(),
		Canceled:     r.canceled.Load(),
		BreakerOpens: r.br.opens.Load(),
		Breaker:      r.br.State(),
	}
}

// Close stops every Subscribe goroutine and, for a store from
// NewFromURL, closes the client. The store must not be used afterwards.
func (r *Store) Close() error {
	r.mu.Lock()
	r.closed = true
	subs := make([]*subscription, 0, len(r.subs))
	for s := range r.subs {
		subs = append(subs, s)
	}
	r.mu.Unlock()
	for _, s := range subs {
		s.stop()
	}
	if r.own {
		return r.c.Close()
	}
	return nil
}

// Get returns the value under key, or store.ErrNotFound; a value Options.Usable rejects is
// store.ErrUnusable, which matches store.ErrNotFound.
func (r *Store) Get(ctx context.Context, key string) ([]byte, error) {
	r.gets.Add(1)
	c, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	var val []byte
	if r.async {
		val, err = runAsync(c.ctx, func(ctx context.Context) ([]byte, error) { return r.c.Get(ctx, key).Bytes() })
	} else {
		val, err = r.c.Get(c.ctx, key).Bytes()
	}
	switch err = r.end(ctx, c, opGet, err); err {
	case nil:
		if r.usable != nil && !r.usable(val) {
			r.unusable.Add(1)
			r.misses.Add(1)
			return nil, store.ErrUnusable
		}
		r.hits.Add(1)
		return val, nil
	case redis.Nil:
		r.misses.Add(1)
		return nil, store.ErrNotFound
	}
	return nil, err
}

// Set stores value under key with SET PX ttl; ttl <= 0 stores it without
// expiry.
func (r *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ttl = redisTTL(ttl)
	c, err := r.begin(ctx)
	if err != nil {
		return err
	}
	if r.async {
		_, err = runAsync(c.ctx, func(ctx context.Context) (string, error) { return r.c.Set(ctx, key, value, ttl).Result() })
	} else {
		err = r.c.Set(c.ctx, key, value, ttl).Err()
	}
	return r.end(ctx, c, opSet, err)
}

// Delete removes keys. On a single node that is one DEL. Otherwise keys are
// grouped by hash tag ({...}, which decides the Cluster slot and the Ring
// shard): one DEL per group, pipelined, so keys of one URL (which share a
// hash tag) go in one command.
func (r *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return r.do(ctx, opDelete, func(ctx context.Context) error { return r.del(ctx, keys) })
}

func (r *Store) del(ctx context.Context, keys []string) error {
	if r.single || len(keys) == 1 {
		return r.c.Del(ctx, keys...).Err()
	}
	groups := make(map[string][]string)
	var order []string
	for _, k := range keys {
		t := hashTag(k)
		if _, ok := groups[t]; !ok {
			order = append(order, t)
		}
		groups[t] = append(groups[t], k)
	}
	if len(groups) == 1 {
		return r.c.Del(ctx, keys...).Err()
	}
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, t := range order {
			p.Del(ctx, groups[t]...)
		}
		return nil
	})
	return err
}

// redisTTL maps a TTL to what go-redis sends: none for ttl <= 0 (go-redis
// reads -1 as KEEPTTL), at least 1 ms otherwise (go-redis logs and rounds up
// shorter ones).
func redisTTL(ttl time.Duration) time.Duration {
	switch {
	case ttl <= 0:
		return 0
	case ttl < time.Millisecond:
		return time.Millisecond
	}
	return ttl
}

// hashTag returns the part of key that Redis Cluster hashes: the content of
// the first non-empty {...}, or the whole key.
func hashTag(key string) string {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			return key[s+1 : s+1+e]
		}
	}
	return key
}

// Incr increments the integer under key (created at 0) and returns the new
// value; core keeps its namespace generation here.
func (r *Store) Incr(ctx context.Context, key string) (int64, error) {
	var n int64
	err := r.do(ctx, opCounter, func(ctx context.Context) (err error) {
		n, err = r.c.Incr(ctx, key).Result()
		return err
	})
	return n, err
}

// GetOrSet stores value under key (without expiry) unless the key exists, and returns the
// value the key holds afterwards: the first caller's value, for every caller. core keeps the
// fleet's key secret here.
func (r *Store) GetOrSet(ctx context.Context, key, value string) (string, error) {
	var got string
	err := r.do(ctx, opCounter, func(ctx context.Context) error {
		if err := r.c.SetNX(ctx, key, value, 0).Err(); err != nil {
			return err
		}
		var err error
		got, err = r.c.Get(ctx, key).Result()
		return err
	})
	return got, err
}

// GetInt returns the integer under key, 0 when the key does not exist.
func (r *Store) GetInt(ctx context.Context, key string) (int64, error) {
	var s string
	err := r.do(ctx, opCounter, func(ctx context.Context) (err error) {
		s, err = r.c.Get(ctx, key).Result()
		return err
	})
	switch {
	case err == redis.Nil:
		return 0, nil
	case err != nil:
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64) // a bad value is not a Redis failure
	if err != nil {
		return 0, fmt.Errorf("store: GetInt %q: %w", key, err)
	}
	return n, nil
}

// do runs one call under the breaker and the per-call timeout; see begin
// and end.
func (r *Store) do(ctx context.Context, o op, fn func(context.Context) error) error {
	c, err := r.begin(ctx)
	if err != nil {
		return err
	}
	if r.async {
		_, err = runAsync(c.ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	} else {
		err = fn(c.ctx)
	}
	return r.end(ctx, c, o, err)
}

// call is one call in flight.
type call struct {
	ctx    context.Context // the caller's context with the per-call timeout
	cancel context.CancelFunc
	probe  bool // the breaker's half-open probe
}

// begin starts a call: it returns the caller's own error if its context has
// already ended, store.ErrUnavailable if the breaker is open, and otherwise the
// context to run the call with. The call must be finished with end. Hot
// paths use begin and end directly, rather than do, to save the closure.
func (r *Store) begin(ctx context.Context) (call, error) {
	if err := ctx.Err(); err != nil {
		r.canceled.Add(1)
		return call{}, err
	}
	ok, probe := r.br.allow()
	if !ok {
		r.rejected.Add(1)
		return call{}, store.ErrUnavailable
	}
	c := call{ctx: ctx, probe: probe}
	if r.deadlines != nil {
		c.ctx, c.cancel = r.deadlines.withDeadline(ctx)
	}
	return c, nil
}

// end finishes a call begun with begin, classifying its outcome:
//   - success, or redis.Nil (returned as is): the server answered;
//   - the caller's ctx ended: ctx.Err() is returned unwrapped and the breaker
//     does not count it (a client that went away says nothing about Redis);
//   - the store's own timeout: an error wrapping store.ErrTimeout, a failure;
//   - an error reply (WRONGTYPE, NOSCRIPT...): returned wrapped, counted as
//     an error, but the server answered, so not a breaker failure, except for
//     replies that mean it cannot serve (LOADING, CLUSTERDOWN, MASTERDOWN,
//     TRYAGAIN, READONLY, max clients);
//   - anything else (network errors): a failure.
func (r *Store) end(ctx context.Context, c call, o op, err error) error {
	timedOut := err != nil && c.ctx.Err() != nil
	if c.cancel != nil {
		c.cancel()
	}
	switch {
	case err == nil || err == redis.Nil:
		r.br.success(c.probe)
		return err
	case ctx.Err() != nil:
		r.br.abandon(c.probe)
		r.canceled.Add(1)
		return ctx.Err()
	case timedOut || isTimeout(err):
		r.errs.Add(1)
		r.timeouts.Add(1)
		r.failed(o, c.probe, err)
		return fmt.Errorf("%w: %s after %s (%v)", store.ErrTimeout, o, r.timeout, err)
	}
	r.errs.Add(1)
	if isReply(err) && !isUnavailableReply(err) {
		r.br.success(c.probe)
		r.logf(o, "store: redis error reply", "op", o.String(), "err", err)
	} else {
		r.failed(o, c.probe, err)
	}
	return fmt.Errorf("store: redis %s: %w", o, err)
}

func (r *Store) failed(o op, probe bool, err error) {
	r.logf(o, "store: redis call failed", "op", o.String(), "err", err)
	if r.br.failure(probe) {
		calls, failed := r.br.counts()
		r.logf(opBreaker, "store: redis circuit breaker open", "failed", failed, "calls", calls,
			"window", time.Duration(r.br.width*breakerBuckets), "cooldown", r.br.cooldown)
	}
}

// runAsync runs fn on a goroutine and returns when it does or when ctx ends,
// for clients that ignore context deadlines.
func runAsync[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn(ctx)
		ch <- result{v, err}
	}()
	select {
	case res := <-ch:
		return res.v, res.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

func isUnavailableReply(err error) bool {
	return redis.IsLoadingError(err) || redis.IsClusterDownError(err) || redis.IsMasterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsReadOnlyError(err) || redis.IsMaxClientsError(err)
}

// logf logs at warn level, at most once per second per kind of call.
func (r *Store) logf(o op, msg string, args ...any) {
	ok, n := r.logs[o].Allow(r.clock(), time.Second)
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	r.log.Warn(msg, args...)
}

// op names a kind of call, for errors, logs and their rate limits.
type op uint8

const (
	opGet op = iota
	opSet
	opDelete
	opCounter
	opLock
	opUnlock
	opExtend
	opPublish
	opSubscribe
	opTagAdd
	opTagMembers
	opTagPurge
	opBreaker
	numOps
)

var opNames = [numOps]string{"GET", "SET", "DEL", "counter", "lock", "unlock", "extend", "publish", "subscribe",
	"tag add", "tag members", "tag purge", "breaker"}

func (o op) String() string { return opNames[o] }
