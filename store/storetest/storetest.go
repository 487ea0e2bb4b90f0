// Package storetest is a conformance suite that every core.Tier
// implementation (a core.Tier) passes.
//
//	func TestL1(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) core.Tier {
//			l, err := store.NewL1(store.L1Config{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { l.Close() })
//			return l
//		})
//	}
//
// The factory is called once per subtest; the store it returns may be shared
// with other subtests or processes (a Redis database, say), since every
// subtest uses keys of its own. Expiry is tested with real, short TTLs.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/store"
)

// Run runs the suite as subtests of t, getting a store from newStore in
// each.
func Run(t *testing.T, newStore func(t *testing.T) core.Tier) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s core.Tier, k keys)
	}{
		{"GetMissing", testGetMissing},
		{"SetGet", testSetGet},
		{"Overwrite", testOverwrite},
		{"EmptyValue", testEmptyValue},
		{"BinaryValue", testBinaryValue},
		{"CallerOwnsSlices", testCallerOwnsSlices},
		{"LargeValue", testLargeValue},
		{"HugeValue", testHugeValue},
		{"LongKey", testLongKey},
		{"Delete", testDelete},
		{"DeleteMany", testDeleteMany},
		{"DeleteNone", testDeleteNone},
		{"TTLExpiry", testTTLExpiry},
		{"NoTTL", testNoTTL},
		{"Concurrent", testConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.fn(t, s, newKeys(t))
		})
	}
}

// keys makes keys unique to one subtest run. Keys built with tag share a
// Redis Cluster hash tag, as core's keys of one URL do.
type keys struct{ id string }

func newKeys(t *testing.T) keys {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return keys{id: "storetest:" + hex.EncodeToString(b[:])}
}

func (k keys) key(name string) string      { return k.id + ":" + name }
func (k keys) tag(tag, name string) string { return k.id + ":{" + tag + "}:" + name }

var ctx = context.Background()

func mustSet(t *testing.T, s core.Tier, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Set(ctx, key, v, ttl); err != nil {
		t.Fatalf("Set(%q, %d bytes, %s): %v", key, len(v), ttl, err)
	}
}

func wantValue(t *testing.T, s core.Tier, key string, want []byte) {
	t.Helper()
	got, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %d bytes", key, err, len(want))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %s, want %s", key, show(got), show(want))
	}
}

func wantMissing(t *testing.T, s core.Tier, key string) {
	t.Helper()
	got, err := s.Get(ctx, key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %s, %v; want ErrNotFound", key, show(got), err)
	}
	if got != nil {
		t.Fatalf("Get(%q) returned %s with ErrNotFound, want nil", key, show(got))
	}
}

func show(b []byte) string {
	if len(b) > 32 {
		return fmt.Sprintf("%d bytes %q...", len(b), b[:32])
	}
	return fmt.Sprintf("%q", b)
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func testGetMissing(t *testing.T, s core.Tier, k keys) {
	wantMissing(t, s, k.key("missing"))
}

func testSetGet(t *testing.T, s core.Tier, k keys) {
	mustSet(t, s, k.key("a"), []byte("alpha"), time.Minute)
	mustSet(t, s, k.key("b"), []byte("beta"), time.Minute)
	wantValue(t, s, k.key("a"), []byte("alpha"))
	wantValue(t, s, k.key("b"), []byte("beta"))
	wantValue(t, s, k.key("a"), []byte("alpha")) // reads do not consume
}

func testOverwrite(t *testing.T, s core.Tier, k keys) {
	key := k.key("o")
	mustSet(t, s, key, []byte("first, longer value"), time.Minute)
	mustSet(t, s, key, []byte("second"), time.Minute)
	wantValue(t, s, key, []byte("second"))
	mustSet(t, s, key, bytes.Repeat([]byte("third"), 100), time.Minute)
	wantValue(t, s, key, bytes.Repeat([]byte("third"), 100))
}

func testEmptyValue(t *testing.T, s core.Tier, k keys) {
	for _, v := range [][]byte{{}, nil} {
		key := k.key(fmt.Sprintf("empty-%v", v == nil))
		mustSet(t, s, key, v, time.Minute)
		got, err := s.Get(ctx, key)
		if err != nil || len(got) != 0 {
			t.Fatalf("Get(%q) after storing %#v = %s, %v; want an empty value", key, v, show(got), err)
		}
	}
}

func testBinaryValue(t *testing.T, s core.Tier, k keys) {
	v := make([]byte, 256*2)
	for i := range v {
		v[i] = byte(i)
	}
	mustSet(t, s, k.key("bin"), v, time.Minute)
	wantValue(t, s, k.key("bin"), v)
}

func testCallerOwnsSlices(t *testing.T, s core.Tier, k keys) {
	key := k.key("own")
	in := []byte("original")
	mustSet(t, s, key, in, time.Minute)
	copy(in, "XXXXXXXX") // the store keeps its own copy
	got, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "original" {
		t.Fatalf("after changing Set's argument, Get = %q, want %q", got, "original")
	}
	for i := range got { // and the caller may change what Get returned
		got[i] = 'Y'
	}
	wantValue(t, s, key, []byte("original"))
}

func testLargeValue(t *testing.T, s core.Tier, k keys) {
	v := randomBytes(t, 64<<10)
	mustSet(t, s, k.key("large"), v, time.Minute)
	wantValue(t, s, k.key("large"), v)
}

// testHugeValue: a store takes a 4 MiB value whole or refuses it with
// ErrTooLarge, and then holds nothing (not even an older value) under the key.
func testHugeValue(t *testing.T, s core.Tier, k keys) {
	key := k.key("huge")
	mustSet(t, s, key, []byte("older value"), time.Minute)
	v := randomBytes(t, 4<<20)
	err := s.Set(ctx, key, v, time.Minute)
	switch {
	case err == nil:
		wantValue(t, s, key, v)
	case errors.Is(err, store.ErrTooLarge):
		wantMissing(t, s, key)
	default:
		t.Fatalf("Set(4 MiB) = %v, want nil or ErrTooLarge", err)
	}
}

func testLongKey(t *testing.T, s core.Tier, k keys) {
	key := k.key(string(bytes.Repeat([]byte("k"), 1024)))
	mustSet(t, s, key, []byte("v"), time.Minute)
	wantValue(t, s, key, []byte("v"))
	wantMissing(t, s, key[:len(key)-1])
}

func testDelete(t *testing.T, s core.Tier, k keys) {
	mustSet(t, s, k.key("d"), []byte("v"), time.Minute)
	mustSet(t, s, k.key("keep"), []byte("v"), time.Minute)
	if err := s.Delete(ctx, k.key("d")); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, k.key("d"))
	wantValue(t, s, k.key("keep"), []byte("v"))
	if err := s.Delete(ctx, k.key("d")); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
}

// testDeleteMany deletes keys that share a hash tag (one multi-key DEL on
// Redis Cluster), keys of different tags (different slots), untagged and
// missing keys, all in one call.
func testDeleteMany(t *testing.T, s core.Tier, k keys) {
	var del []string
	for i := range 5 {
		del = append(del, k.tag("url1", strconv.Itoa(i)))
	}
	for i := range 20 {
		del = append(del, k.tag("t"+strconv.Itoa(i), "x"), k.key("plain"+strconv.Itoa(i)))
	}
	for _, key := range del {
		mustSet(t, s, key, []byte(key), time.Minute)
	}
	keep := []string{k.tag("url1", "keep"), k.tag("t3", "keep"), k.key("keep")}
	for _, key := range keep {
		mustSet(t, s, key, []byte(key), time.Minute)
	}
	if err := s.Delete(ctx, append(del, k.key("never-set"), k.tag("url1", "never-set"))...); err != nil {
		t.Fatalf("Delete(%d keys): %v", len(del)+2, err)
	}
	for _, key := range del {
		wantMissing(t, s, key)
	}
	for _, key := range keep {
		wantValue(t, s, key, []byte(key))
	}
	// Same-tag keys only.
	if err := s.Delete(ctx, k.tag("url1", "keep"), k.tag("url1", "other")); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, s, k.tag("url1", "keep"))
}

func testDeleteNone(t *testing.T, s core.Tier, _ keys) {
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("Delete() with no keys: %v", err)
	}
}

func testTTLExpiry(t *testing.T, s core.Tier, k keys) {
	mustSet(t, s, k.key("short"), []byte("v"), 50*time.Millisecond)
	mustSet(t, s, k.key("long"), []byte("v"), time.Minute)
	mustSet(t, s, k.key("renewed"), []byte("v"), 50*time.Millisecond)
	mustSet(t, s, k.key("renewed"), []byte("v2"), time.Minute) // an overwrite sets a new TTL
	time.Sleep(300 * time.Millisecond)
	wantMissing(t, s, k.key("short"))
	wantValue(t, s, k.key("long"), []byte("v"))
	wantValue(t, s, k.key("renewed"), []byte("v2"))
	// An expired key can be stored again.
	mustSet(t, s, k.key("short"), []byte("again"), time.Minute)
	wantValue(t, s, k.key("short"), []byte("again"))
}

func testNoTTL(t *testing.T, s core.Tier, k keys) {
	mustSet(t, s, k.key("zero"), []byte("v"), 0)
	wantValue(t, s, k.key("zero"), []byte("v"))
	mustSet(t, s, k.key("negative"), []byte("v"), -time.Second)
	wantValue(t, s, k.key("negative"), []byte("v"))
	if err := s.Delete(ctx, k.key("zero"), k.key("negative")); err != nil {
		t.Fatal(err)
	}
}

// testConcurrent runs writers, readers and deleters on overlapping keys; a
// read must see nothing or a whole value that was written under its key.
func testConcurrent(t *testing.T, s core.Tier, k keys) {
	const workers, ops, nkeys = 8, 150, 10
	value := func(key string, n int) []byte {
		return fmt.Appendf(nil, "%s|%d|%s", key, n, bytes.Repeat([]byte{byte(n)}, n%512))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ops {
				key := k.tag("c"+strconv.Itoa(i%nkeys), "v")
				switch (w + i) % 5 {
				case 0, 1:
					if err := s.Set(ctx, key, value(key, w*ops+i), time.Minute); err != nil {
						errs <- fmt.Errorf("concurrent Set: %w", err)
						return
					}
				case 2:
					if err := s.Delete(ctx, key); err != nil {
						errs <- fmt.Errorf("concurrent Delete: %w", err)
						return
					}
				default:
					got, err := s.Get(ctx, key)
					if errors.Is(err, store.ErrNotFound) {
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("concurrent Get: %w", err)
						return
					}
					var n int
					prefix := key + "|"
					if !bytes.HasPrefix(got, []byte(prefix)) {
						errs <- fmt.Errorf("Get(%q) = %s: another key's value", key, show(got))
						return
					}
					if _, err := fmt.Sscanf(string(got[len(prefix):]), "%d|", &n); err != nil || !bytes.Equal(got, value(key, n)) {
						errs <- fmt.Errorf("Get(%q) = %s: not a value that was written", key, show(got))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
