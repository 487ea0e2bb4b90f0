package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
)

// instance is one running service.
type instance struct {
	t   *testing.T
	s   *service
	url string
}

func start(t *testing.T, c config) *instance {
	t.Helper()
	if c.delay == 0 {
		c.delay = 20 * time.Millisecond
	}
	c.ttl, c.negative = time.Minute, time.Minute
	s, err := newService(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.routes())
	t.Cleanup(func() {
		srv.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return &instance{t: t, s: s, url: srv.URL}
}

// do sends a request and returns the status and the body.
func (in *instance) do(method, path, body string) (int, string) {
	in.t.Helper()
	req, err := http.NewRequest(method, in.url+path, strings.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (in *instance) product(id string) (int, Product) {
	in.t.Helper()
	code, body := in.do("GET", "/products/"+id, "")
	var p Product
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			in.t.Fatal(err)
		}
	}
	return code, p
}

func (in *instance) stats() statsBody {
	in.t.Helper()
	_, body := in.do("GET", "/stats", "")
	var s statsBody
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		in.t.Fatal(err)
	}
	return s
}

func loads(ins ...*instance) int64 {
	n := int64(0)
	for _, in := range ins {
		n += in.stats().Loads
	}
	return n
}

// stampede sends n concurrent GETs of id, spread over the instances, and wants 200s.
func stampede(t *testing.T, n int, id string, ins ...*instance) {
	t.Helper()
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for i := range n {
		in := ins[i%len(ins)]
		wg.Go(func() {
			resp, err := http.Get(in.url + "/products/" + id)
			if err != nil {
				codes <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("a concurrent GET answered %d", c)
		}
	}
}

func wantLoads(t *testing.T, want int64, ins ...*instance) {
	t.Helper()
	if got := loads(ins...); got != want {
		t.Fatalf("database queries: %d, want %d", got, want)
	}
}

func TestOneInstance(t *testing.T) {
	a := start(t, config{})

	stampede(t, 50, "1", a)
	wantLoads(t, 1, a)

	// Negative caching: the second 404 is answered from the cache.
	for range 2 {
		if code, _ := a.product("999"); code != http.StatusNotFound {
			t.Fatalf("GET /products/999: %d", code)
		}
	}
	wantLoads(t, 2, a)

	// Write-through: the next read is the new value, without a query.
	if code, body := a.do("PUT", "/products/1", `{"name":"Halden lamp II","category":"lamps","price":4200}`); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if _, p := a.product("1"); p.Name != "Halden lamp II" || p.Price != 4200 {
		t.Fatalf("after the PUT: %+v", p)
	}
	wantLoads(t, 2, a)

	// The batch route: 1 and 999 are cached (999 as absent), 2 and 3 come in one query.
	code, body := a.do("GET", "/products?ids=1,2,3,999", "")
	if code != http.StatusOK || !strings.Contains(body, `"missing":["999"]`) || strings.Count(body, `"id"`) != 3 {
		t.Fatalf("GET /products?ids=…: %d %s", code, body)
	}
	if s := a.stats(); s.Loads != 3 || s.RowsRead != 4 {
		t.Fatalf("after the batch: %+v", s)
	}

	// Tag invalidation: the lamps (1 and 2) are loaded again, the desk (3) is not.
	if code, body := a.do("POST", "/purge?tag=category:lamps", ""); code != http.StatusOK || body != "{\"invalidated\":2}\n" {
		t.Fatalf("purge: %d %s", code, body)
	}
	a.product("2")
	a.product("3")
	wantLoads(t, 4, a)

	// Bad requests.
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/purge", ""}, {"PUT", "/products/1", `{"price":1}`}, {"PUT", "/products/1", "{"},
		{"GET", "/products", ""},
	} {
		if code, _ := a.do(r.method, r.path, r.body); code != http.StatusBadRequest {
			t.Errorf("%s %s %q: %d, want 400", r.method, r.path, r.body, code)
		}
	}
}

// The README's walk-through on two instances sharing one Redis (database 0: the cache;
// database 1: the products).
func TestTwoInstancesOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	a := start(t, config{redis: srv.URL()})
	b := start(t, config{redis: srv.URL()})

	// Stampede protection: 50 concurrent GETs over both instances, one query.
	stampede(t, 50, "1", a, b)
	wantLoads(t, 1, a, b)

	// Negative caching: a's 404 is cached in Redis, b answers it without a query.
	if code, _ := a.product("999"); code != http.StatusNotFound {
		t.Fatalf("a: %d", code)
	}
	if code, _ := b.product("999"); code != http.StatusNotFound {
		t.Fatalf("b: %d", code)
	}
	wantLoads(t, 2, a, b)

	// Write-through on a, seen by b (its L1 copy dropped by a's message; the new value read
	// from Redis, not from the database).
	if code, body := a.do("PUT", "/products/1", `{"name":"Halden lamp II","category":"lamps","price":4200}`); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, p := b.product("1"); p.Name == "Halden lamp II" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b never saw a's write")
		}
		time.Sleep(5 * time.Millisecond)
	}
	wantLoads(t, 2, a, b)

	// Tag invalidation on b reaches a: a's next GET queries the database (and sees the row
	// a's PUT wrote there).
	if code, body := b.do("POST", "/purge?tag=product:1", ""); code != http.StatusOK {
		t.Fatalf("purge: %d %s", code, body)
	}
	deadline = time.Now().Add(5 * time.Second)
	for a.stats().Cache.Remote == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a never heard of b's purge")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, p := a.product("1"); p.Name != "Halden lamp II" {
		t.Fatalf("a after the purge: %+v", p)
	}
	wantLoads(t, 3, a, b)
}

func TestRun(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"-delay", "-1s"}, io.Discard, &stderr); err == nil {
		t.Fatal("a negative -delay was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-delay", "0s"}, out, &stderr) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "appcache example on http://127.0.0.1:") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
