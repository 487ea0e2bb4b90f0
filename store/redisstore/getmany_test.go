package redisstore_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store/redisstore"
)

func TestGetMany(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{Timeout: 2 * time.Second, Usable: func(b []byte) bool { return !bytes.Equal(b, []byte("bad")) }})
	for k, v := range map[string]string{"a": "1", "c": "3", "d": "bad"} {
		if err := r.Set(ctx, k, []byte(v), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	vals, err := r.GetMany(ctx, []string{"a", "b", "c", "d", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%q", vals); got != `["1" "" "3" "" "1"]` {
		t.Fatalf("GetMany = %s, want the values in order, nil for the missing and the unusable", got)
	}
	if vals[1] != nil || vals[3] != nil {
		t.Fatal("a missing or unusable key's value is not nil")
	}
	if vals, err := r.GetMany(ctx, nil); vals != nil || err != nil {
		t.Fatalf("GetMany of no keys = %q, %v", vals, err)
	}
	s := r.Stats()
	if s.Hits != 3 || s.Misses != 2 || s.Unusable != 1 {
		t.Fatalf("stats %+v: want 3 hits, 2 misses (1 unusable)", s)
	}
	srv.Stop()
	if _, err := r.GetMany(ctx, []string{"a", "b"}); err == nil {
		t.Fatal("GetMany with Redis down: no error")
	}
}
