package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDeadlinesShared(t *testing.T) {
	const timeout = 40 * time.Millisecond
	d := newDeadlines(timeout)
	start := time.Now()
	a, cancelA := d.withDeadline(context.Background())
	b, cancelB := d.withDeadline(context.Background())
	if cancelA != nil || cancelB != nil {
		t.Fatal("withDeadline under a context without a deadline used context.WithTimeout")
	}
	if a.Done() != b.Done() {
		t.Error("two calls begun within one tick do not share their deadline")
	}
	at, ok := a.Deadline()
	if !ok || at.Before(start.Add(timeout)) || at.After(time.Now().Add(timeout+d.tick)) {
		t.Errorf("Deadline() = %v, %v; want within [start+%s, now+%s]", at, ok, timeout, timeout+d.tick)
	}
	if err := a.Err(); err != nil {
		t.Fatalf("Err() before the deadline = %v", err)
	}
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after the deadline")
	}
	if time.Now().Before(at) {
		t.Errorf("Done closed %s before the deadline", time.Until(at))
	}
	if err := a.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err() after the deadline = %v, want context.DeadlineExceeded", err)
	}
	c, _ := d.withDeadline(context.Background())
	if c.Done() == a.Done() {
		t.Error("a call begun after the deadline reuses it")
	}
}

func TestDeadlinesCallerContext(t *testing.T) {
	d := newDeadlines(time.Hour)
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	c, _ := d.withDeadline(parent)
	if c.Value(key{}) != "v" {
		t.Error("the caller's values are lost")
	}
	cancel()
	if err := c.Err(); err != nil {
		t.Errorf("Err() = %v before the shared deadline (Done is still open)", err)
	}

	// A caller's earlier deadline holds exactly.
	short, cancelShort := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancelShort()
	c, cancelC := d.withDeadline(short)
	if cancelC == nil {
		t.Fatal("a caller's earlier deadline did not fall back to context.WithTimeout")
	}
	defer cancelC()
	want, _ := short.Deadline()
	if got, _ := c.Deadline(); !got.Equal(want) {
		t.Errorf("Deadline() = %v, want the caller's %v", got, want)
	}
}
