package appcache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/store"
)

// ErrNotFound is what a loader returns (or wraps) when the key has no value: the absence is
// cached for Options.NegativeTTL, and Fetch returns ErrNotFound (itself) while it is.
var ErrNotFound = errors.New("appcache: not found")

// ErrClosed is returned by calls on a closed Cache.
var ErrClosed = errors.New("appcache: cache closed")

// Loader loads the value of a key from the source of truth.
type Loader[T any] func(ctx context.Context) (T, error)

// FetchOption adjusts one Fetch or Set.
type FetchOption func(*callOpts)

type callOpts struct {
	ttl  time.Duration
	tags []string
}

// WithTTL overrides Options.TTL for the values this call stores.
func WithTTL(d time.Duration) FetchOption { return func(o *callOpts) { o.ttl = d } }

// WithTags adds tags to the values this call stores (see InvalidateTags).
func WithTags(tags ...string) FetchOption {
	return func(o *callOpts) { o.tags = append(o.tags, tags...) }
}

// Cache is a typed application cache of T over an L1, an optional L2 and a fleet. Safe for
// concurrent use; Close it when done.
type Cache[T any] struct {
	o      Options[T]
	l1     *store.L1
	l2     core.Tier     // nil without one
	vt     VersionedTier // l2's, nil when it has none
	fleet  core.Fleet
	shared bool // a fleet of several instances: L1 lifetimes are bounded by MaxStaleness
	vers   *versions
	flight flights[T]
	id     string // this instance, in bus messages
	prefix string // "<ns>:<version>:{": every value key starts so
	nsPre  string // "<ns>:"
	unsub  func()
	now    func() time.Time
	hooks  *hooks

	bgCtx    context.Context
	bgCancel context.CancelFunc
	mu       sync.Mutex // closed, bg.Add
	closed   bool
	bg       sync.WaitGroup
	refresh  sync.Map // value key -> struct{}: refreshes in flight
	// tagEpoch moves with every tag purge (this instance's, or another's through the bus): a
	// value whose tags are only known after its load (Options.Tags) is not stored if a purge
	// ran meanwhile, since the purge could not find it.
	tagEpoch atomic.Uint64
	msgs     atomic.Int64 // bus messages applied, for tests
	markers  atomic.Int64 // tests' marker messages received
	wb       *writeBehind[T]

	c counters
}

// New builds a Cache from opts (see Options for the defaults).
func New[T any](opts Options[T]) (*Cache[T], error) {
	o := opts
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if o.L1.Clock == nil {
		o.L1.Clock = time.Now
	}
	l1, err := store.NewL1(o.L1)
	if err != nil {
		return nil, fmt.Errorf("appcache: %w", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	c := &Cache[T]{
		o:      o,
		l1:     l1,
		l2:     o.L2,
		vers:   newVersions(o.VersionSlots),
		id:     hex.EncodeToString(id[:]),
		nsPre:  o.Namespace + ":",
		prefix: o.Namespace + ":" + strconv.FormatUint(uint64(o.Version), 10) + ":{",
		now:    o.L1.Clock,
		hooks:  o.hooks,
	}
	c.vt, _ = o.L2.(VersionedTier)
	if o.Fleet == nil {
		c.fleet = &localFleet{maxKeys: 1 << 20, onReset: l1.Clear}
	} else {
		c.fleet = o.Fleet
		c.shared = true
	}
	c.bgCtx, c.bgCancel = context.WithCancel(context.Background()) //nolint:gosec // G118: Close calls it
	if o.WriteBehind != nil {
		c.wb = newWriteBehind(c, o.WriteBehind)
	}
	c.unsub = c.fleet.Subscribe(c.onMessage, func(bool) { c.onReconnect() })
	return c, nil
}

// Close stops the background refreshes (cancelling their loaders) and the bus subscription,
// flushes the write-behind queue (everything it accepted) and releases the L1. It returns the
// write-behind's last flush error. The Cache must not be used afterwards; the L2 and the fleet
// are the application's to close, after it.
func (c *Cache[T]) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	var err error
	if c.wb != nil {
		err = c.wb.close()
	}
	c.unsub()
	c.bgCancel()
	c.bg.Wait()
	_ = c.l1.Close()
	return err
}

// Stats returns a snapshot of the counters.
func (c *Cache[T]) Stats() Stats {
	s := c.c.snapshot()
	if c.wb != nil {
		s.WriteBehind = c.wb.stats()
	}
	return s
}

// Keys. A value lives under "<ns>:<version>:{<key>}", its version counter under
// "<ns>:ver:{<key>}" and its fill lock under "<ns>:lock:{<key>}": one Redis Cluster hash tag.
func (c *Cache[T]) valueKey(key string) string { return c.prefix + key + "}" }
func (c *Cache[T]) versionKey(key string) string {
	return c.o.Namespace + ":ver:{" + key + "}"
}
func (c *Cache[T]) lockKey(key string) string { return c.o.Namespace + ":lock:{" + key + "}" }

// userKey returns the key of a value key of this cache's namespace (any schema version).
func (c *Cache[T]) userKey(vk string) (string, bool) {
	rest, ok := strings.CutPrefix(vk, c.nsPre)
	if !ok {
		return "", false
	}
	i := strings.IndexByte(rest, '{')
	if i < 0 || !strings.HasSuffix(rest, "}") || strings.HasPrefix(rest, "ver:") || strings.HasPrefix(rest, "lock:") {
		return "", false
	}
	return rest[i+1 : len(rest)-1], true
}

// call is one Fetch or refresh.
type call[T any] struct {
	key, vk string
	loader  Loader[T]
	many    BatchLoader[T] // FetchMany's, for a refresh when loader is nil
	opts    callOpts
	// A FetchMany's fill: skipL2 when the L2 was read in a batch already; onWait when it
	// starts waiting for another instance's fill lock.
	skipL2 bool
	onWait func()
	// minFresh: a refresh only accepts an L2 value fresher than the copy it refreshes.
	minFresh   int64
	background bool
	epoch      uint64 // tagEpoch when the load began
	noStore    bool   // the tags could not be indexed
}

type result[T any] struct {
	v   T
	err error
}

// Fetch returns the value of key: from the L1, else from the L2 (copied into the L1), else
// from loader, run once per key across the fleet: concurrent Fetch calls of one instance share
// one load, and the instances of a fleet take the key's fill lock, the others polling the L2
// for the holder's value (see Options.LockWait). A loaded value is stored in both tiers
// unless an invalidation or Set of the key happened after the load began (see the package
// documentation).
//
// A loader that returns ErrNotFound (or wraps it) caches the absence: Fetch returns
// ErrNotFound. Any other loader error is returned and not cached. The loader runs detached
// from ctx's cancellation (it serves every waiting caller), bounded by Options.LoadTimeout
// and cancelled by Close; a caller whose ctx ends returns ctx.Err() at once.
//
// Values answered by a load are shared by the callers that waited for it; hits decode a copy
// of their own.
//
// An L1 hit allocates nothing but what store.L1.Get and the codec's decode do: the value key
// is built in a pooled buffer (see keyBuf), and FetchOption values, when given, cost one
// allocation.
func (c *Cache[T]) Fetch(ctx context.Context, key string, loader Loader[T], opts ...FetchOption) (T, error) {
	cl := call[T]{key: key, loader: loader}
	if len(opts) > 0 {
		cl.opts = collectOpts(opts)
	}
	kb := c.keyBuf(key)
	cl.vk = kb.borrow()
	if b, err := c.l1.Get(ctx, cl.vk); err == nil {
		if v, err, ok := c.hit(&cl, b, L1); ok {
			kb.release()
			return v, err
		}
	}
	cl.vk = kb.String()
	kb.release()
	return c.miss(ctx, cl)
}

// collectOpts applies opts (a func value may keep its pointer: this allocates, which Fetch
// does only when options were given).
func collectOpts(opts []FetchOption) callOpts {
	o := new(callOpts)
	for _, f := range opts {
		f(o)
	}
	return *o
}

// miss waits for the key's fill (this call's or another's), or for ctx.
func (c *Cache[T]) miss(ctx context.Context, cv call[T]) (T, error) {
	var zero T
	if c.isClosed() {
		return zero, ErrClosed
	}
	cl := &cv
	c.c.misses.Add(1)
	if c.o.Observer != nil {
		c.o.Observer.Miss(cl.key)
	}
	if c.l2 != nil && !cl.skipL2 && !c.flight.has(cl.vk) {
		// The L2 fast path: with no fill of the key in flight here, read the L2 on the
		// caller's goroutine (one round trip, no hand-off), and fill only on a miss (whose L2
		// double-check after the fleet lock sees what another instance stored since).
		if r, ok := c.fromL2(ctx, cl); ok {
			return r.v, r.err
		}
		cl.skipL2 = true
	}
	f, owner := c.flight.join(cl.vk)
	if owner {
		// Double-check: the previous fill may have stored the value between this call's L1
		// read and its join; loading again would be a wasted load (and overwrite it).
		if b, err := c.l1.Get(ctx, cl.vk); err == nil {
			if v, herr, ok := c.hit(cl, b, L1); ok {
				c.flight.finish(cl.vk, f, result[T]{v: v, err: herr})
				return v, herr
			}
		}
		go func() { c.flight.finish(cl.vk, f, c.fill(ctx, cl)) }()
	}
	select {
	case <-f.done:
		return f.res.v, f.res.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// hit answers from a stored value b of level; ok is false when b cannot answer (corrupt,
// expired, undecodable).
func (c *Cache[T]) hit(cl *call[T], b []byte, level Level) (v T, err error, ok bool) {
	e, derr := decodeEntry(b, c.o.Version)
	if derr != nil {
		return v, nil, false
	}
	now := c.now().UnixNano()
	stale := false
	if now >= e.fresh {
		if c.o.StaleWhileRevalidate <= 0 || cl.background || now >= e.fresh+int64(c.o.StaleWhileRevalidate) {
			return v, nil, false
		}
		stale = true
	}
	if e.negative() {
		err = ErrNotFound
	} else if uerr := c.o.Codec.Unmarshal(e.payload, &v); uerr != nil {
		c.fail("decode", uerr)
		return v, nil, false
	}
	if level == L1 {
		c.c.hitsL1.Add(1)
	} else {
		c.c.hitsL2.Add(1)
	}
	if stale {
		c.c.stale.Add(1)
	}
	if e.negative() {
		c.c.negative.Add(1)
	}
	if c.o.Observer != nil {
		c.o.Observer.Hit(cl.key, level, stale, e.negative())
	}
	if stale || c.xfetch(e, now) {
		c.startRefresh(cl, e.fresh)
	}
	return v, err, true
}

// xfetch reports whether a fresh value should be refreshed early: XFetch's
// now - δ·β·ln(rand) >= expiry.
func (c *Cache[T]) xfetch(e entry, now int64) bool {
	if c.o.Beta <= 0 || e.delta <= 0 {
		return false
	}
	gap := float64(e.delta) * c.o.Beta * -math.Log(1-mrand.Float64()) //nolint:gosec // G404: a refresh probability, not a secret
	return float64(now)+gap >= float64(e.fresh)
}

// startRefresh loads cl's key in the background, once per key at a time, unless the cache is
// closing.
func (c *Cache[T]) startRefresh(cl *call[T], fresh int64) {
	vk := strings.Clone(cl.vk) // Fetch's hit lends it (keyBuf)
	if _, busy := c.refresh.LoadOrStore(vk, struct{}{}); busy {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.refresh.Delete(vk)
		return
	}
	c.bg.Add(1)
	c.mu.Unlock()
	c.c.refreshes.Add(1)
	rc := &call[T]{key: cl.key, vk: vk, loader: cl.loader, opts: cl.opts, minFresh: fresh, background: true}
	if rc.loader == nil {
		rc.loader = loaderOf(cl.many, cl.key)
	}
	go func() {
		defer c.bg.Done()
		defer c.refresh.Delete(rc.vk)
		// Not through c.flight: a refresh started inside a fill (a stale L2 answer) would wait for
		// that fill and get its stale value. c.refresh keeps it to one per key.
		c.fill(c.bgCtx, rc)
	}()
}

func (c *Cache[T]) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// fill runs once per key in this instance: the L2, then the fleet lock, then the loader.
func (c *Cache[T]) fill(ctx context.Context, cl *call[T]) result[T] {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.LoadTimeout)
	defer cancel()
	stop := context.AfterFunc(c.bgCtx, cancel)
	defer stop()

	if cl.background && c.refreshedMeanwhile(ctx, cl) {
		return result[T]{}
	}
	if !cl.skipL2 {
		if r, ok := c.fromL2(ctx, cl); ok {
			return r
		}
	}
	unlock, r, ok, err := c.lockOrWait(ctx, cl)
	if err != nil {
		return result[T]{err: err}
	}
	if ok {
		return r
	}
	defer unlock()
	return c.load(ctx, cl)
}

// refreshedMeanwhile reports whether the L1 already holds a value fresher than the one a
// refresh was started for: a stale read that raced the previous refresh's store starts
// another, which must not load again.
func (c *Cache[T]) refreshedMeanwhile(ctx context.Context, cl *call[T]) bool {
	b, err := c.l1.Get(ctx, cl.vk)
	if err != nil {
		return false
	}
	e, derr := decodeEntry(b, c.o.Version)
	return derr == nil && e.fresh > cl.minFresh
}

// fromL2 answers from the L2, copying the value into the L1 unless the key was invalidated
// since the read began.
func (c *Cache[T]) fromL2(ctx context.Context, cl *call[T]) (result[T], bool) {
	if c.l2 == nil {
		return result[T]{}, false
	}
	v0 := c.vers.read(cl.vk)
	c.hook(stepBeforeL2Get, cl.key)
	b, err := c.l2.Get(ctx, cl.vk)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.fail("l2 get", err)
		}
		return result[T]{}, false
	}
	return c.useL2(ctx, cl, v0, b)
}

// useL2 answers from b, read from the L2 after the key's local version was v0, and copies it
// into the L1 unless that version moved since.
func (c *Cache[T]) useL2(ctx context.Context, cl *call[T], v0 uint64, b []byte) (result[T], bool) {
	e, derr := decodeEntry(b, c.o.Version)
	if derr != nil || e.fresh <= cl.minFresh {
		return result[T]{}, false
	}
	v, herr, ok := c.hit(cl, b, L2)
	if !ok {
		return result[T]{}, false
	}
	c.hook(stepBeforePromote, cl.key)
	if left := time.Duration(e.fresh-c.now().UnixNano()) + c.o.StaleWhileRevalidate; left > 0 {
		c.vers.storeIf(cl.vk, v0, func() { _ = c.l1.Set(ctx, cl.vk, b, c.l1TTL(left)) })
	}
	return result[T]{v: v, err: herr}, true
}

// l1TTL bounds an L1 lifetime by MaxStaleness in a shared fleet.
func (c *Cache[T]) l1TTL(ttl time.Duration) time.Duration {
	if c.shared && ttl > c.o.MaxStaleness {
		return c.o.MaxStaleness
	}
	return ttl
}

// ttl returns the jittered TTL of a value this call stores.
func (c *Cache[T]) ttl(cl *call[T], negative bool) time.Duration {
	d := c.o.TTL
	if negative {
		d = c.o.NegativeTTL
	} else if cl.opts.ttl > 0 {
		d = cl.opts.ttl
	}
	if c.o.Jitter > 0 {
		d -= time.Duration(float64(d) * c.o.Jitter * mrand.Float64()) //nolint:gosec // G404: TTL jitter, not a secret
	}
	return max(d, time.Millisecond)
}

// load runs the loader and stores its value, conditionally on the key's versions.
func (c *Cache[T]) load(ctx context.Context, cl *call[T]) result[T] {
	// The call's tags are indexed before the load starts, so a purge of them from now on finds
	// the key and moves its version.
	if len(cl.opts.tags) > 0 {
		if err := c.fleet.TagAdd(ctx, cl.opts.tags, cl.vk, c.o.TTL+c.o.StaleWhileRevalidate); err != nil {
			c.fail("tag add", err)
			cl.noStore = true
		}
	}
	cl.epoch = c.tagEpoch.Load()
	lv0 := c.vers.read(cl.vk)
	var rv0 int64
	haveRV := false
	if c.vt != nil {
		var err error
		rv0, err = c.vt.Version(ctx, c.versionKey(cl.key))
		if err != nil {
			c.fail("l2 version", err)
		} else {
			haveRV = true
		}
	}
	c.hook(stepBeforeLoad, cl.key)
	start := c.now()
	v, err := cl.loader(ctx)
	d := c.now().Sub(start)
	c.c.loads.Add(1)
	negative := errors.Is(err, ErrNotFound)
	if c.o.Observer != nil {
		c.o.Observer.Load(cl.key, d, cl.background, err)
	}
	if err != nil && !negative {
		c.c.loadErrors.Add(1)
		return result[T]{v: v, err: err}
	}
	c.hook(stepAfterLoad, cl.key)
	if negative {
		var zero T
		if c.o.NegativeTTL < 0 {
			return result[T]{v: zero, err: ErrNotFound}
		}
		c.store(ctx, cl, zero, true, d, lv0, rv0, haveRV)
		return result[T]{v: zero, err: ErrNotFound}
	}
	c.store(ctx, cl, v, false, d, lv0, rv0, haveRV)
	return result[T]{v: v}
}

// encode returns the stored form of v and its TTL (fresh plus stale-while-revalidate).
func (c *Cache[T]) encode(cl *call[T], v T, negative bool, delta time.Duration) ([]byte, time.Duration, error) {
	var payload []byte
	var flags byte
	if negative {
		flags = flagNegative
	} else {
		var err error
		if payload, err = c.o.Codec.Marshal(v); err != nil {
			return nil, 0, err
		}
	}
	ttl := c.ttl(cl, negative)
	b := encodeEntry(make([]byte, 0, entryOverhead+len(payload)), c.o.Version, flags, c.now().Add(ttl), delta, payload)
	return b, ttl + c.o.StaleWhileRevalidate, nil
}

func (c *Cache[T]) tags(cl *call[T], v T, negative bool) []string {
	tags := cl.opts.tags
	if c.o.Tags != nil && !negative {
		tags = append(tags[:len(tags):len(tags)], c.o.Tags(cl.key, v)...)
	}
	return tags
}

// store writes a loaded value: tags first (so a tag purge after this point finds the key and
// moves its version), then the L2 if the key's version there is still rv0, then the L1 if its
// local version is still lv0.
func (c *Cache[T]) store(ctx context.Context, cl *call[T], v T, negative bool, delta time.Duration, lv0 uint64, rv0 int64, haveRV bool) {
	if cl.noStore {
		return
	}
	b, ttl, err := c.encode(cl, v, negative, delta)
	if err != nil {
		c.fail("encode", err)
		return
	}
	if tags := c.tags(cl, v, negative); len(tags) > 0 {
		if err := c.fleet.TagAdd(ctx, tags, cl.vk, ttl); err != nil {
			c.fail("tag add", err)
			return // a value a tag purge could not find must not be stored
		}
		if c.o.Tags != nil && !negative && c.tagEpoch.Load() != cl.epoch {
			// A tag purge ran while the value's own tags were unknown.
			c.refused()
			return
		}
	}
	if c.l2 != nil {
		switch {
		case c.vt != nil && haveRV:
			ok, err := c.vt.SetIfVersion(ctx, cl.vk, c.versionKey(cl.key), rv0, b, ttl)
			if err != nil {
				c.fail("l2 set", err)
			}
			if !ok {
				c.refused()
				return
			}
		case c.vt != nil:
			// The version could not be read: the L2 is failing; keep to the L1.
		default:
			if err := c.l2.Set(ctx, cl.vk, b, ttl); err != nil {
				c.fail("l2 set", err)
			} else if c.vers.read(cl.vk) != lv0 {
				// An invalidation this instance heard of came in meanwhile: undo.
				_ = c.l2.Delete(ctx, cl.vk)
				c.refused()
				return
			}
		}
	}
	c.hook(stepBeforeL1Store, cl.key)
	if !c.vers.storeIf(cl.vk, lv0, func() { _ = c.l1.Set(ctx, cl.vk, b, c.l1TTL(ttl)) }) {
		c.refused()
	}
}

func (c *Cache[T]) refused() { c.c.refused.Add(1) }

func (c *Cache[T]) fail(op string, err error) {
	c.c.errors.Add(1)
	if c.o.Observer != nil {
		c.o.Observer.Error(op, err)
	}
}

// lockOrWait takes the key's fill lock (ok false, unlock to call when done), or returns the
// value the holder stored (ok true). Waiters poll the L2 with backoff and try the lock again
// each time (a holder that failed released it; one that died lets it lapse); after LockWait
// they try the takeover lock, which one instance of the fleet gets to run the loader again
// while the others keep waiting for either value.
func (c *Cache[T]) lockOrWait(ctx context.Context, cl *call[T]) (unlock func(), r result[T], ok bool, err error) {
	noop := func() {}
	lk := c.lockKey(cl.key)
	tok, got, lerr := c.fleet.Lock(ctx, lk, c.o.LockTTL)
	if lerr != nil {
		c.fail("lock", lerr)
		return noop, r, false, nil // the fleet is unreachable: fill alone
	}
	if got {
		unlock := c.hold(lk, tok)
		// Another instance may have stored the value and released the lock between this
		// fill's L2 read and its Lock: read again before loading it a second time.
		if c.shared {
			if r, ok := c.fromL2(ctx, cl); ok {
				unlock()
				return noop, r, true, nil
			}
		}
		return unlock, r, false, nil
	}
	c.c.lockWaits.Add(1)
	c.hook(stepLockWait, cl.key)
	if cl.onWait != nil {
		cl.onWait()
	}
	deadline := c.now().Add(c.o.LockWait)
	backoff := 5 * time.Millisecond
	t := time.NewTimer(backoff)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return noop, r, false, ctx.Err()
		case <-t.C:
		}
		if r, ok := c.fromL2(ctx, cl); ok {
			return noop, r, true, nil
		}
		key := lk
		if !c.now().Before(deadline) {
			key = lk + ":takeover"
		}
		tok, got, lerr = c.fleet.Lock(ctx, key, c.o.LockTTL)
		if lerr != nil {
			c.fail("lock", lerr)
			return noop, r, false, nil
		}
		if got {
			if key != lk {
				c.c.takeovers.Add(1)
			}
			unlock := c.hold(key, tok)
			if r, ok := c.fromL2(ctx, cl); ok { // stored just before the lock was released
				unlock()
				return noop, r, true, nil
			}
			return unlock, r, false, nil
		}
		backoff = min(backoff*2, 100*time.Millisecond)
		t.Reset(backoff)
	}
}

// hold extends a held lock every LockTTL/3 until the returned func releases it.
func (c *Cache[T]) hold(key, tok string) func() {
	if tok == "" { // the in-process fleet
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(c.o.LockTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if ok, err := c.fleet.Extend(context.Background(), key, tok, c.o.LockTTL); err != nil || !ok {
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		<-exited
		if err := c.fleet.Unlock(context.Background(), key, tok); err != nil {
			c.fail("unlock", err)
		}
	}
}
