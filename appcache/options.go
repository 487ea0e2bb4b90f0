package appcache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/store"
)

// Codec turns values into bytes and back. It must be safe for concurrent use.
type Codec[T any] interface {
	Marshal(v T) ([]byte, error)
	Unmarshal(b []byte, v *T) error
}

// JSON is the default Codec: encoding/json.
type JSON[T any] struct{}

// Marshal encodes v with encoding/json.
func (JSON[T]) Marshal(v T) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes b with encoding/json.
func (JSON[T]) Unmarshal(b []byte, v *T) error { return json.Unmarshal(b, v) }

// VersionedTier is an optional interface of an L2 (store/redisstore implements it) that
// compares a per-key version and stores in one atomic step. With it, a load that started before
// an invalidation or a Set can never leave its value in the L2; see the package documentation.
// value keys and their version keys share a Redis Cluster hash tag.
type VersionedTier interface {
	// Version returns the counter under versionKey, 0 when it does not exist.
	Version(ctx context.Context, versionKey string) (int64, error)
	// SetIfVersion stores value under key for ttl only while versionKey holds version.
	SetIfVersion(ctx context.Context, key, versionKey string, version int64, value []byte, ttl time.Duration) (bool, error)
	// BumpVersion increments versionKey (kept for versionTTL) and deletes keys, in one step,
	// and returns the new version.
	BumpVersion(ctx context.Context, versionKey string, versionTTL time.Duration, keys ...string) (int64, error)
}

// TagPurger is what Options.Also takes: core.Cache has this method, so one InvalidateTags call
// also purges the HTTP responses carrying the tags (on every instance, through its own fleet).
type TagPurger interface {
	PurgeTags(ctx context.Context, tags ...string) (int, error)
}

// Options configures New. The zero value (with nothing but a Codec default) is an L1-only
// cache of T.
type Options[T any] struct {
	// Namespace prefixes every key (default "app"). Use a namespace of its own per Cache,
	// different from the HTTP cache's (core.Config.Namespace) when they share an L2. It must not
	// contain braces, spaces or ':'.
	Namespace string
	// Version is the schema version of T: part of every key, so that a Cache of a changed T
	// (give it a new Version) never reads the bytes an older one wrote. Also recorded in each
	// value's header and verified on read.
	Version uint32
	// Codec encodes T. Default JSON[T].
	Codec Codec[T]

	// L1 configures this cache's own in-process tier (bounded; default 32 MiB, 64 shards).
	L1 store.L1Config
	// L2 is the shared tier (optional): the value an application gives core.Config.L2, for
	// example a *redisstore.Store. When it also implements VersionedTier, stores are
	// conditional on the key's version there (see the package documentation).
	L2 core.Tier
	// Fleet coordinates the instances (optional): the fill lock, the invalidation bus, the tag
	// index. Default: L2 when it implements core.Fleet, else an in-process fleet of one.
	Fleet core.Fleet

	// TTL is how long a loaded value is fresh (default 5 minutes). Each stored value's TTL is
	// shortened by a random fraction up to Jitter (default 0.1; negative disables) so that keys
	// loaded together do not expire together.
	TTL    time.Duration
	Jitter float64
	// NegativeTTL is how long the absence of a value (the loader returned ErrNotFound) is
	// cached (default 30 s; negative disables negative caching).
	NegativeTTL time.Duration
	// StaleWhileRevalidate, when positive, keeps values that long past their TTL: a Fetch then
	// returns the stale value at once and refreshes it in the background.
	StaleWhileRevalidate time.Duration
	// Beta is XFetch's β (default 1; negative disables early refresh): a hit refreshes a value
	// in the background before it expires with a probability that grows as expiry nears, scaled
	// by the measured load time (Vattani et al., "Optimal Probabilistic Cache Stampede
	// Prevention").
	Beta float64
	// MaxStaleness bounds the L1 lifetime of a value when there is a fleet of several
	// instances (Options.Fleet or an L2 that is one): an instance whose invalidation message
	// was lost serves the old value at most this long. Default 30 s.
	MaxStaleness time.Duration

	// LockTTL is the fleet fill lock's lifetime, extended every LockTTL/3 while the loader runs
	// (default 3 s). LockWait is how long the other instances poll the L2 for the holder's
	// value (with backoff, 5 ms doubling to 100 ms) before one of them takes over (default
	// 5 s).
	LockTTL  time.Duration
	LockWait time.Duration
	// LoadTimeout bounds a background refresh's loader (default 30 s). A Fetch's loader runs
	// under the caller's context.
	LoadTimeout time.Duration
	// VersionTTL is how long a key's version counter lives in the L2 after its last
	// invalidation (default 24 h). The no-stale-after-write guarantee holds for loads shorter
	// than it.
	VersionTTL time.Duration
	// VersionSlots is the size of the in-process version table (rounded up to a power of two,
	// default 4096). Keys sharing a slot only cost each other a store now and then.
	VersionSlots int

	// Tags, when set, returns the tags a loaded value is stored under (for InvalidateTags).
	// Per call, WithTags adds more.
	Tags func(key string, v T) []string
	// Also, when set, is purged by InvalidateTags with the same tags: give it the HTTP cache
	// (a *core.Cache) to purge values and responses in one call.
	Also TagPurger

	// Observer receives the cache's events (optional).
	Observer Observer
	// WriteBehind enables SetBehind (optional).
	WriteBehind *WriteBehind[T]

	// hooks, set by tests only, run at the steps of the load path.
	hooks *hooks
}

func (o *Options[T]) defaults() error {
	if o.Namespace == "" {
		o.Namespace = "app"
	}
	if strings.ContainsAny(o.Namespace, "{} :\n") {
		return fmt.Errorf("appcache: Namespace %q must not contain braces, spaces, ':' or newlines", o.Namespace)
	}
	if o.Codec == nil {
		o.Codec = JSON[T]{}
	}
	if o.L1.MaxBytes == 0 {
		o.L1.MaxBytes = 32 << 20
	}
	if o.L1.Shards == 0 {
		o.L1.Shards = 64
	}
	if o.Fleet == nil {
		if f, ok := o.L2.(core.Fleet); ok {
			o.Fleet = f
		}
	}
	setDur := func(d *time.Duration, def time.Duration, name string) error {
		if *d == 0 {
			*d = def
		}
		if *d < 0 {
			return fmt.Errorf("appcache: %s %s is negative", name, *d)
		}
		return nil
	}
	if o.NegativeTTL == 0 {
		o.NegativeTTL = 30 * time.Second
	}
	if o.StaleWhileRevalidate < 0 {
		return errors.New("appcache: StaleWhileRevalidate is negative")
	}
	if o.Jitter == 0 {
		o.Jitter = 0.1
	}
	if o.Jitter >= 1 {
		return fmt.Errorf("appcache: Jitter %v must be below 1", o.Jitter)
	}
	if o.Beta == 0 {
		o.Beta = 1
	}
	for _, d := range []struct {
		p    *time.Duration
		def  time.Duration
		name string
	}{
		{&o.TTL, 5 * time.Minute, "TTL"},
		{&o.MaxStaleness, 30 * time.Second, "MaxStaleness"},
		{&o.LockTTL, 3 * time.Second, "LockTTL"},
		{&o.LockWait, 5 * time.Second, "LockWait"},
		{&o.LoadTimeout, 30 * time.Second, "LoadTimeout"},
		{&o.VersionTTL, 24 * time.Hour, "VersionTTL"},
	} {
		if err := setDur(d.p, d.def, d.name); err != nil {
			return err
		}
	}
	if o.VersionSlots <= 0 {
		o.VersionSlots = 4096
	}
	n := 1
	for n < o.VersionSlots {
		n <<= 1
	}
	o.VersionSlots = n
	if o.WriteBehind != nil {
		if err := o.WriteBehind.defaults(); err != nil {
			return err
		}
	}
	return nil
}
