package core

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
)

// Instances on one Redis share the key secret: one creates it, the others read it, so they
// compute the same store keys; a configured KeySecret is used as is and never stored.
func TestKeySecretShared(t *testing.T) {
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	client := srv.Client(t)
	a, err := New(withRedis(t, Config{Namespace: "sec1"}, client, redisOpts{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	b, err := New(withRedis(t, Config{Namespace: "sec1"}, client, redisOpts{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	if !a.keysShared.Load() || !b.keysShared.Load() {
		t.Fatal("an instance with a reachable Redis does not have the fleet's secret")
	}
	if a.seed.Load() != b.seed.Load() {
		t.Fatal("two instances of one namespace hash keys differently")
	}
	v, err := client.Get(context.Background(), "sec1:secret").Result()
	if err != nil || len(v) != 32 {
		t.Fatalf("secret in Redis: %q, %v", v, err)
	}
	other, err := New(withRedis(t, Config{Namespace: "sec2"}, client, redisOpts{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }()
	if other.seed.Load() == a.seed.Load() {
		t.Fatal("two namespaces share a secret")
	}
	fixed, err := New(withRedis(t, Config{Namespace: "sec3", KeySecret: []byte("s3cret")}, client, redisOpts{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fixed.Close() }()
	if n, _ := client.Exists(context.Background(), "sec3:secret").Result(); n != 0 {
		t.Fatal("a configured KeySecret was written to Redis")
	}
}

// An instance that starts while Redis is down keeps entries out of L2 (its provisional
// secret is not the fleet's), answers from L1 and the origin, and takes the fleet's secret
// when Redis is back.
func TestKeySecretRedisDownAtStart(t *testing.T) {
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	client := srv.Client(t)
	first, err := New(withRedis(t, Config{Namespace: "late"}, client, redisOpts{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Close() }()
	srv.Stop()
	c, err := New(withRedis(t, Config{Namespace: "late"}, srv.Client(t), redisOpts{Timeout: 20 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if c.keysShared.Load() {
		t.Fatal("shared keys without a reachable Redis")
	}
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("ok"))
	}))
	for i := range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/a", nil))
		if w.Code != 200 || w.Body.String() != "ok" {
			t.Fatalf("request %d: %d %q", i, w.Code, w.Body.String())
		}
	}
	srv.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for !c.keysShared.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !c.keysShared.Load() {
		t.Fatal("the fleet's secret was not taken once Redis was back")
	}
	// The restart lost the secret: the instances re-create one and converge on it.
	for c.seed.Load() != first.seed.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if c.seed.Load() != first.seed.Load() {
		t.Fatal("after a Redis restart the instances hash keys differently")
	}
}
