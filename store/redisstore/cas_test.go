package redisstore_test

import (
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store/redisstore"
)

func TestVersionedSet(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{Timeout: time.Second})
	const k, vk = "v:{a}", "ver:{a}"
	if n, err := r.Version(ctx, vk); n != 0 || err != nil {
		t.Fatalf("missing version: %d %v", n, err)
	}
	if ok, err := r.SetIfVersion(ctx, k, vk, 0, []byte("one"), time.Minute); !ok || err != nil {
		t.Fatalf("set at version 0: %v %v", ok, err)
	}
	n, err := r.BumpVersion(ctx, vk, time.Minute, k)
	if n != 1 || err != nil {
		t.Fatalf("bump: %d %v", n, err)
	}
	if _, err := r.Get(ctx, k); err == nil {
		t.Fatal("BumpVersion left the value")
	}
	if ok, _ := r.SetIfVersion(ctx, k, vk, 0, []byte("stale"), time.Minute); ok {
		t.Fatal("stored at an old version")
	}
	if ok, _ := r.SetIfVersion(ctx, k, vk, 1, []byte("two"), time.Minute); !ok {
		t.Fatal("refused at the current version")
	}
	if b, _ := r.Get(ctx, k); string(b) != "two" {
		t.Fatalf("value %q", b)
	}
	if ttl := r.Client().PTTL(ctx, vk).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("version TTL %s", ttl)
	}
	if _, err := r.BumpVersion(ctx, vk, 0); err == nil {
		t.Fatal("BumpVersion took a zero TTL")
	}
	if _, err := r.SetIfVersion(ctx, k, vk, 1, nil, 0); err == nil {
		t.Fatal("SetIfVersion took a zero TTL")
	}
}
