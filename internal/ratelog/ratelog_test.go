package ratelog

import (
	"sync"
	"testing"
	"time"
)

func TestSlot(t *testing.T) {
	var s Slot
	t0 := time.Unix(1_700_000_000, 0)
	if ok, n := s.Allow(t0, time.Second); !ok || n != 0 {
		t.Fatalf("first line: %v, %d; want let through, 0 held back", ok, n)
	}
	for i := range 3 {
		if ok, _ := s.Allow(t0.Add(time.Duration(i)*100*time.Millisecond), time.Second); ok {
			t.Fatalf("line %d within the second let through", i)
		}
	}
	if ok, n := s.Allow(t0.Add(time.Second), time.Second); !ok || n != 3 {
		t.Fatalf("after a second: %v, %d; want let through with 3 held back", ok, n)
	}
}

func TestSlotConcurrent(t *testing.T) {
	var s Slot
	now := time.Unix(1_700_000_000, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := s.Allow(now, time.Second); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 1 {
		t.Fatalf("%d of 64 concurrent lines let through at one instant, want 1", allowed)
	}
	if ok, n := s.Allow(now.Add(time.Second), time.Second); !ok || n != 63 {
		t.Fatalf("next second: %v, %d; want 63 held back", ok, n)
	}
}
