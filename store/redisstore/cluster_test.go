package redisstore_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store"
	"github.com/strata-cache/strata/store/redisstore"
	"github.com/strata-cache/strata/store/storetest"
)

// TestCluster runs the store against a 3-master Redis Cluster (started once
// for all subtests).
func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	newStore := func(t *testing.T) *redisstore.Store {
		r, err := redisstore.New(cl.Client(t), redisstore.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}

	t.Run("Suite", func(t *testing.T) {
		r := newStore(t)
		storetest.Run(t, func(*testing.T) core.Tier { return r })
		if st := r.Stats(); st.Errors != 0 {
			t.Fatalf("Stats() = %+v", st)
		}
	})
	t.Run("TagStamps", func(t *testing.T) { testTagStamps(t, newStore(t)) })
	t.Run("GetManyAcrossSlots", func(t *testing.T) {
		r := newStore(t)
		var keys []string
		for i := range 50 { // spread over all three masters
			k := "m{" + strconv.Itoa(i) + "}"
			keys = append(keys, k)
			if i%5 == 0 {
				continue // missing
			}
			if err := r.Set(ctx, k, []byte(k), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		vals, err := r.GetMany(ctx, keys)
		if err != nil {
			t.Fatalf("GetMany across slots: %v", err)
		}
		for i, k := range keys {
			if want := map[bool]string{true: "", false: k}[i%5 == 0]; string(vals[i]) != want {
				t.Fatalf("GetMany[%d] = %q, want %q", i, vals[i], want)
			}
		}
	})
	t.Run("DeleteAcrossSlots", func(t *testing.T) {
		r := newStore(t)
		var keys []string
		for i := range 50 { // spread over all three masters
			k := "x{" + strconv.Itoa(i) + "}"
			keys = append(keys, k)
			if err := r.Set(ctx, k, []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Delete(ctx, keys...); err != nil {
			t.Fatalf("Delete across slots: %v", err)
		}
		for _, k := range keys {
			if _, err := r.Get(ctx, k); err != store.ErrNotFound {
				t.Fatalf("Get(%q) after Delete = %v", k, err)
			}
		}
	})
	t.Run("DeleteOneURLIsOneCommand", func(t *testing.T) {
		client := cl.Client(t)
		var cc callCounter
		client.AddHook(&cc)
		r, err := redisstore.New(client, redisstore.Options{Timeout: 2 * time.Second}) // semantics, not latency: a loaded machine must not time out
		if err != nil {
			t.Fatal(err)
		}
		keys := []string{"ns:{h1}:0:v:0", "ns:{h1}:0:v:1", "ns:{h1}:0:vary"}
		for _, k := range keys {
			if err := r.Set(ctx, k, []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		before := cc.calls.Load()
		if err := r.Delete(ctx, keys...); err != nil {
			t.Fatal(err)
		}
		if n := cc.calls.Load() - before; n != 1 {
			t.Fatalf("Delete of one URL's keys took %d commands, want 1 multi-key DEL", n)
		}
		if n := client.Exists(ctx, keys...).Val(); n != 0 {
			t.Fatalf("%d keys left", n)
		}
	})
	t.Run("FromURL", func(t *testing.T) {
		addrs := cl.Addrs()
		r, err := redisstore.NewFromURL("redis://"+addrs[0]+"?addr="+addrs[1]+"&addr="+addrs[2], redisstore.Options{Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = r.Close() }()
		if err := r.Set(ctx, "from-url", []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Client().(*redis.ClusterClient); !ok {
			t.Fatalf("client is %T, want a cluster client", r.Client())
		}
	})
	t.Run("Counter", func(t *testing.T) {
		r := newStore(t)
		for want := int64(1); want <= 2; want++ {
			if n, err := r.Incr(ctx, "{ns}:gen"); n != want || err != nil {
				t.Fatalf("Incr = %d, %v", n, err)
			}
		}
	})
	t.Run("Lock", func(t *testing.T) {
		a, b := newStore(t), newStore(t)
		lockScenario(t, a, b)
		lockRaceScenario(t, a, b)
	})
	t.Run("Tags", func(t *testing.T) {
		tagScenario(t, newStore(t), cl.Client(t))
	})
	t.Run("TagPurgeWithScriptsOnSomeNodes", func(t *testing.T) {
		// Tags spread over all masters; one master loses its script cache, so
		// some EVALSHAs of the purge succeed and others fail: the retry must
		// return every member exactly once.
		raw := cl.Client(t)
		r := newStore(t)
		var tags, want []string
		for i := range 30 {
			tag, key := "spread"+strconv.Itoa(i), "k"+strconv.Itoa(i)
			tags, want = append(tags, tag), append(want, key)
			if err := r.TagAdd(ctx, []string{tag}, key, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		node := redis.NewClient(&redis.Options{Addr: cl.Addrs()[0]})
		defer func() { _ = node.Close() }()
		if err := node.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		keys, err := r.TagPurge(ctx, tags...)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sorted(keys), sorted(want)) {
			t.Fatalf("TagPurge = %q, want %q", sorted(keys), sorted(want))
		}
		if n := raw.Exists(ctx, r.TagKey(tags[0]), r.TagKey(tags[29])).Val(); n != 0 {
			t.Fatalf("%d sets left", n)
		}
	})
	t.Run("PubSub", func(t *testing.T) {
		pubsubScenario(t, newStore(t), newStore(t))
	})
}
