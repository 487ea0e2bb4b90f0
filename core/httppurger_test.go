package core

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestHTTPPurger runs purges against a real local HTTP server standing in for the CDN.
func TestHTTPPurger(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fail := false
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, strings.Join([]string{r.Method, r.Host, r.URL.RequestURI(), r.Header.Get("Surrogate-Key"),
			r.Header.Get("X-Purge-All"), r.Header.Get("Authorization")}, "|"))
		if fail {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer cdn.Close()
	p := &HTTPPurger{Endpoint: cdn.URL, Header: http.Header{"Authorization": {"Bearer cdn"}}}
	c, _ := newTestCache(t, Config{Purger: p})
	ctx := context.Background()
	if _, err := c.Purge(ctx, "https://shop.example/products/1?x=1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeTags(ctx, "product:1", "category:books"); err != nil {
		t.Fatal(err)
	}
	if err := c.PurgeAll(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"PURGE|shop.example|/products/1?x=1|||Bearer cdn",
		"PURGE|" + strings.TrimPrefix(cdn.URL, "http://") + "|/|product:1 category:books||Bearer cdn",
		"PURGE|" + strings.TrimPrefix(cdn.URL, "http://") + "|/||1|Bearer cdn",
	}
	mu.Lock()
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("request %d: got %q, want %q", i, got, want[i])
		}
	}
	fail = true
	mu.Unlock()
	if _, err := c.PurgeTags(ctx, "x"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a failing CDN purge must be reported: %v", err)
	}
}
