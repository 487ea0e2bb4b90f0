package appcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type sink struct {
	mu      sync.Mutex
	got     map[string]int
	batches [][]Pending[int]
	fail    atomic.Int64 // fail this many calls first (-1: always)
	calls   atomic.Int64
	gate    chan struct{} // when set, each call waits for it
	entered chan struct{} // when set, each call signals it
}

func (s *sink) flush(ctx context.Context, b []Pending[int]) error {
	s.calls.Add(1)
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		<-s.gate
	}
	if f := s.fail.Load(); f != 0 {
		if f > 0 {
			s.fail.Add(-1)
		}
		return errBoom
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got == nil {
		s.got = make(map[string]int)
	}
	for _, p := range b {
		s.got[p.Key] = p.Value
	}
	s.batches = append(s.batches, b)
	return nil
}

func TestWriteBehindCoalescesAndCloseFlushes(t *testing.T) {
	var s sink
	c, err := New(Options[int]{WriteBehind: &WriteBehind[int]{Flush: s.flush, Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := c.SetBehind(bg, []string{"a", "b", "c"}[i%3], i); err != nil {
			t.Fatal(err)
		}
	}
	// The cache answers the latest values at once.
	if v, _ := c.Fetch(bg, "a", func(context.Context) (int, error) { return -1, nil }); v != 9 {
		t.Fatalf("cache answered %d", v)
	}
	st := c.Stats().WriteBehind
	if st.Queued != 10 || st.Coalesced != 7 || st.Waiting != 3 {
		t.Fatalf("%+v", st)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if s.got["a"] != 9 || s.got["b"] != 7 || s.got["c"] != 8 || len(s.batches) != 1 {
		t.Fatalf("flushed %v in %d batches", s.got, len(s.batches))
	}
	if st := c.Stats().WriteBehind; st.Flushed != 3 || st.Batches != 1 || st.Waiting != 0 {
		t.Fatalf("%+v", st)
	}
}

func TestWriteBehindBatchesBySize(t *testing.T) {
	var s sink
	c := newCache(t, Options[int]{WriteBehind: &WriteBehind[int]{Flush: s.flush, BatchSize: 2, Interval: time.Hour}})
	for i, k := range []string{"a", "b", "c", "d"} {
		_ = c.SetBehind(bg, k, i)
	}
	waitFor(t, "two full batches", func() bool { return c.Stats().WriteBehind.Batches == 2 })
}

func TestWriteBehindRetriesThenSucceeds(t *testing.T) {
	var s sink
	s.fail.Store(2)
	c, _ := New(Options[int]{WriteBehind: &WriteBehind[int]{Flush: s.flush, Retries: 3, Backoff: time.Millisecond}})
	_ = c.SetBehind(bg, "a", 1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats().WriteBehind; st.Retried != 2 || st.Flushed != 1 || st.Failed != 0 {
		t.Fatalf("%+v", st)
	}
}

func TestWriteBehindFailingSinkReportsFailure(t *testing.T) {
	var s sink
	s.fail.Store(-1)
	var errs atomic.Int64
	obs := &countingObserver{errs: &errs}
	c, _ := New(Options[int]{Observer: obs, WriteBehind: &WriteBehind[int]{Flush: s.flush, Retries: 2, Backoff: time.Millisecond}})
	_ = c.SetBehind(bg, "a", 1)
	_ = c.SetBehind(bg, "b", 2)
	err := c.Close()
	if !errors.Is(err, errBoom) {
		t.Fatalf("Close: %v", err)
	}
	st := c.Stats().WriteBehind
	if st.Failed != 2 || st.Retried != 2 || s.calls.Load() != 3 || errs.Load() != 1 {
		t.Fatalf("%+v calls %d observer errors %d", st, s.calls.Load(), errs.Load())
	}
}

// fillQueue blocks the flusher in a batch of "a" and fills the one-key queue with "b".
func fillQueue(t *testing.T, policy FullPolicy) (*Cache[int], *sink) {
	s := &sink{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	c, err := New(Options[int]{WriteBehind: &WriteBehind[int]{Flush: s.flush, QueueSize: 1, BatchSize: 1, Policy: policy}})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetBehind(bg, "a", 1)
	<-s.entered // the flusher holds "a"
	if err := c.SetBehind(bg, "b", 2); err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestWriteBehindDropWhenFull(t *testing.T) {
	c, s := fillQueue(t, Drop)
	if err := c.SetBehind(bg, "c", 3); err != ErrQueueFull {
		t.Fatalf("err %v", err)
	}
	if err := c.SetBehind(bg, "b", 4); err != nil { // coalesced: takes no room
		t.Fatal(err)
	}
	var loaded atomic.Bool
	_, _ = c.Fetch(bg, "c", func(context.Context) (int, error) { loaded.Store(true); return 0, nil })
	if !loaded.Load() {
		t.Fatal("a dropped write reached the cache")
	}
	close(s.gate)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats().WriteBehind; st.Dropped != 1 || st.Flushed != 2 || s.got["b"] != 4 {
		t.Fatalf("%+v %v", st, s.got)
	}
}

func TestWriteBehindBlockWhenFull(t *testing.T) {
	c, s := fillQueue(t, Block)
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if err := c.SetBehind(ctx, "c", 3); err != context.DeadlineExceeded {
		t.Fatalf("err %v", err)
	}
	done := make(chan error)
	go func() { done <- c.SetBehind(bg, "d", 4) }()
	waitFor(t, "a blocked writer", func() bool { return c.Stats().WriteBehind.Blocked == 2 })
	s.gate <- struct{}{} // "a" done: "b" is taken, room for "d"
	<-s.entered
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(s.gate)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if s.got["a"] != 1 || s.got["b"] != 2 || s.got["d"] != 4 || len(s.got) != 3 {
		t.Fatalf("flushed %v", s.got)
	}
}

type countingObserver struct {
	NopObserver
	errs *atomic.Int64
}

func (o *countingObserver) Error(string, error) { o.errs.Add(1) }
