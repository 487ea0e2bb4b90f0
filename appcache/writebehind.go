package appcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrQueueFull is returned by SetBehind when the write-behind queue is full and its Policy is
// Drop.
var ErrQueueFull = errors.New("appcache: write-behind queue full")

// FullPolicy chooses what SetBehind does when the queue is full.
type FullPolicy uint8

const (
	// Block waits for room (back-pressure), until the caller's context ends.
	Block FullPolicy = iota
	// Drop refuses the write with ErrQueueFull (the cache is left unchanged).
	Drop
)

// Pending is one queued write: the latest value SetBehind was given for Key.
type Pending[T any] struct {
	Key   string
	Value T
}

// WriteBehind configures Options.WriteBehind: SetBehind updates the cache at once and queues
// the write for Flush, which runs on a goroutine of the cache's, in batches.
//
// What is lost if the process dies: every accepted write not yet flushed (at most QueueSize
// keys, each with its latest value), and the batch being flushed if Flush had not committed
// it. Close flushes everything accepted before it returns.
type WriteBehind[T any] struct {
	// Flush writes a batch to the source of truth (required). A batch holds each key once.
	// An error retries the whole batch (Flush must be idempotent).
	Flush func(ctx context.Context, batch []Pending[T]) error
	// QueueSize bounds the keys waiting (default 1024); writes to a key already waiting
	// replace its value (coalesced) and take no room.
	QueueSize int
	// BatchSize bounds a batch (default 100). A full batch is flushed at once; otherwise the
	// queue is flushed every Interval (default 100 ms).
	BatchSize int
	Interval  time.Duration
	// Retries is how many times a failed batch is tried again (default 3; negative: never),
	// after Backoff (default 50 ms), doubling each time. A batch that still fails is dropped,
	// counted as Failed and reported to the Observer.
	Retries int
	Backoff time.Duration
	// Policy applies when the queue is full: Block (default) or Drop.
	Policy FullPolicy
	// Timeout bounds one Flush call (default 10 s).
	Timeout time.Duration
}

func (w *WriteBehind[T]) defaults() error {
	if w.Flush == nil {
		return errors.New("appcache: WriteBehind.Flush is required")
	}
	if w.QueueSize <= 0 {
		w.QueueSize = 1024
	}
	if w.BatchSize <= 0 {
		w.BatchSize = 100
	}
	if w.Interval <= 0 {
		w.Interval = 100 * time.Millisecond
	}
	if w.Retries == 0 {
		w.Retries = 3
	}
	if w.Backoff <= 0 {
		w.Backoff = 50 * time.Millisecond
	}
	if w.Timeout <= 0 {
		w.Timeout = 10 * time.Second
	}
	return nil
}

// WriteBehindStats counts the write-behind queue's outcomes.
type WriteBehindStats struct {
	Queued    int64 // writes accepted (coalesced ones included)
	Coalesced int64 // writes that replaced a waiting value of their key
	Dropped   int64 // writes refused with ErrQueueFull
	Blocked   int64 // writes that waited for room
	Flushed   int64 // values written by a successful Flush
	Batches   int64 // successful Flush calls
	Retried   int64 // Flush calls retried after an error
	Failed    int64 // values dropped after the last retry failed
	Waiting   int64 // keys in the queue now
}

type writeBehind[T any] struct {
	c   *Cache[T]
	cfg WriteBehind[T]

	mu      sync.Mutex
	order   []string // keys, oldest first
	pending map[string]T
	room    chan struct{} // closed and replaced when keys leave the queue
	full    chan struct{} // signalled when a batch is ready
	closing bool
	done    chan struct{}
	lastErr error

	queued, coalesced, dropped, blocked, flushed, batches, retried, failed atomic.Int64
}

func newWriteBehind[T any](c *Cache[T], cfg *WriteBehind[T]) *writeBehind[T] {
	w := &writeBehind[T]{c: c, cfg: *cfg, pending: make(map[string]T), room: make(chan struct{}),
		full: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// SetBehind is write-behind: it queues the write of v for Options.WriteBehind.Flush and, once
// queued, stores v in the cache and invalidates the other instances' L1 (as Set does, without
// a write). When the queue is full it waits (Block) or returns ErrQueueFull (Drop).
func (c *Cache[T]) SetBehind(ctx context.Context, key string, v T, opts ...FetchOption) error {
	if c.wb == nil {
		return errors.New("appcache: SetBehind needs Options.WriteBehind")
	}
	cl := &call[T]{key: key, vk: c.valueKey(key)}
	for _, f := range opts {
		f(&cl.opts)
	}
	lv0 := c.vers.read(cl.vk)
	var rv0 int64
	haveRV := false
	if c.vt != nil {
		var err error
		if rv0, err = c.vt.Version(ctx, c.versionKey(key)); err != nil {
			c.fail("l2 version", err)
		} else {
			haveRV = true
		}
	}
	if err := c.wb.enqueue(ctx, key, v); err != nil {
		return err
	}
	return c.storeWrite(ctx, cl, v, lv0, rv0, haveRV)
}

func (w *writeBehind[T]) enqueue(ctx context.Context, key string, v T) error {
	blocked := false
	for {
		w.mu.Lock()
		if w.closing {
			w.mu.Unlock()
			return ErrClosed
		}
		if _, ok := w.pending[key]; ok {
			w.pending[key] = v
			w.mu.Unlock()
			w.queued.Add(1)
			w.coalesced.Add(1)
			return nil
		}
		if len(w.order) < w.cfg.QueueSize {
			w.pending[key] = v
			w.order = append(w.order, key)
			n := len(w.order)
			w.mu.Unlock()
			w.queued.Add(1)
			if n >= w.cfg.BatchSize {
				select {
				case w.full <- struct{}{}:
				default:
				}
			}
			return nil
		}
		if w.cfg.Policy == Drop {
			w.mu.Unlock()
			w.dropped.Add(1)
			return ErrQueueFull
		}
		room := w.room
		w.mu.Unlock()
		if !blocked {
			blocked = true
			w.blocked.Add(1)
		}
		select {
		case w.full <- struct{}{}:
		default:
		}
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take removes up to BatchSize keys from the queue.
func (w *writeBehind[T]) take() []Pending[T] {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(len(w.order), w.cfg.BatchSize)
	if n == 0 {
		return nil
	}
	batch := make([]Pending[T], n)
	for i, k := range w.order[:n] {
		batch[i] = Pending[T]{Key: k, Value: w.pending[k]}
		delete(w.pending, k)
	}
	w.order = append(w.order[:0], w.order[n:]...)
	close(w.room)
	w.room = make(chan struct{})
	return batch
}

func (w *writeBehind[T]) run() {
	defer close(w.done)
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.full:
		}
		w.mu.Lock()
		closing := w.closing
		w.mu.Unlock()
		for b := w.take(); b != nil; b = w.take() {
			w.flush(b)
			if len(b) < w.cfg.BatchSize && !closing {
				break
			}
		}
		if closing {
			return
		}
	}
}

// flush writes one batch with retries.
func (w *writeBehind[T]) flush(batch []Pending[T]) {
	backoff := w.cfg.Backoff
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.Timeout)
		err := w.cfg.Flush(ctx, batch)
		cancel()
		if err == nil {
			w.flushed.Add(int64(len(batch)))
			w.batches.Add(1)
			return
		}
		if attempt >= w.cfg.Retries {
			w.failed.Add(int64(len(batch)))
			err = fmt.Errorf("appcache: write-behind flush of %d values failed after %d attempts: %w", len(batch), attempt+1, err)
			w.mu.Lock()
			w.lastErr = err
			w.mu.Unlock()
			w.c.fail("write-behind", err)
			return
		}
		w.retried.Add(1)
		time.Sleep(backoff)
		backoff *= 2
	}
}

// close stops accepting writes, flushes every accepted one and returns the last flush error.
func (w *writeBehind[T]) close() error {
	w.mu.Lock()
	w.closing = true
	close(w.room) // wake blocked writers: they see closing
	w.room = make(chan struct{})
	w.mu.Unlock()
	select {
	case w.full <- struct{}{}:
	default:
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

func (w *writeBehind[T]) stats() WriteBehindStats {
	w.mu.Lock()
	n := len(w.order)
	w.mu.Unlock()
	return WriteBehindStats{Queued: w.queued.Load(), Coalesced: w.coalesced.Load(), Dropped: w.dropped.Load(),
		Blocked: w.blocked.Load(), Flushed: w.flushed.Load(), Batches: w.batches.Load(),
		Retried: w.retried.Load(), Failed: w.failed.Load(), Waiting: int64(n)}
}
