package core

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/strata-cache/strata/internal/redistest"
)

// A value under an entry's key that is not an entry of this cache is deleted from L2 when a
// lookup meets it, even when the origin's answer is not stored to replace it.
func TestUnusableL2ValueDeleted(t *testing.T) {
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	client := srv.Client(t)
	c, err := New(withRedis(t, Config{Namespace: "corrupt", DisableL1: true}, client, redisOpts{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private")
		_, _ = w.Write([]byte("mine"))
	}))
	r := httptest.NewRequest(http.MethodGet, "/p", nil)
	key := string(c.base(nil, keys{hash: c.hashKey(c.primary(nil, r, nil)), gen: c.gen.Load()}))
	ctx := context.Background()
	for _, bad := range []string{"", "garbage", "E\x01old format", "V\x02\x00"} {
		if err := client.Set(ctx, key, bad, 0).Err(); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || w.Body.String() != "mine" {
			t.Fatalf("value %q: got %d %q", bad, w.Code, w.Body.String())
		}
		if n, err := client.Exists(ctx, key).Result(); err != nil || n != 0 {
			t.Fatalf("value %q: still in Redis after the lookup (%d, %v)", bad, n, err)
		}
	}
}
