package core

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fillResult is what a fill leader hands to the requests that waited for it.
type fillResult struct {
	raw         []byte // the stored entry, read-only; nil when nothing was stored
	variant     uint64 // the variant the entry was stored under
	uncacheable bool   // the response was not storable: waiters run the handler themselves
	stale       bool   // raw is a stale entry served under stale-if-error
	fwdStatus   int    // the status the handler answered (for stale-if-error)
	failed      bool   // the leader panicked or its client left: a waiter takes over
}

// call is one fill in progress.
type call struct {
	done     chan struct{}
	res      fillResult
	waiters  int  // requests that joined it (under flights.mu)
	finished bool // done is closed (under flights.mu)
	// fleetWait is set while the leader waits for another instance's fill (the fleet's lock
	// is held elsewhere). Its waiters then keep waiting past LockWait instead of taking over:
	// the leader's own wait is bounded and hands over across the fleet, and a second
	// takeover in this process would run the handler twice when the holder dies.
	fleetWait atomic.Bool
	// filling is when (UnixNano, real time) the leader began to fill itself (or joined):
	// LockWait counts from there, not from a fleet wait that ended.
	filling atomic.Int64
}

// flights coalesces concurrent fills of one key in this process (like singleflight, but the
// leader writes its own response while the waiters get the stored result, and a failed leader
// hands over instead of failing everyone).
type flights struct {
	mu sync.Mutex
	m  map[string]*call
}

// join returns the call in progress for key, or starts one with the caller as leader.
func (f *flights) join(key string) (*call, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.m[key]; ok {
		c.waiters++
		return c, false
	}
	return f.start(key), true
}

// start registers a new call for key; f.mu is held.
func (f *flights) start(key string) *call {
	if f.m == nil {
		f.m = make(map[string]*call)
	}
	c := &call{done: make(chan struct{})}
	c.filling.Store(time.Now().UnixNano())
	f.m[key] = c
	return c
}

// tryLead starts a call only when none is in progress (background refreshes never wait).
func (f *flights) tryLead(key string) (*call, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[key]; ok {
		return nil, false
	}
	return f.start(key), true
}

func (f *flights) inFlight(key string) bool {
	f.mu.Lock()
	_, ok := f.m[key]
	f.mu.Unlock()
	return ok
}

// waiting returns how many requests joined the call in progress for key (0 when none is).
func (f *flights) waiting(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.m[key]; c != nil {
		return c.waiters
	}
	return 0
}

// rejoin is join for a waiter whose leader (old) is slow: the first such waiter replaces old
// as the key's call and leads it, and the others join that call, so a slow fill hands over to
// one new leader instead of letting every waiter run the handler. old keeps its own waiters
// and result: its leader's finish still wakes them.
func (f *flights) rejoin(key string, old *call) (*call, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.m[key]; ok && c != old {
		c.waiters++
		return c, false
	}
	return f.start(key), true
}

// finish publishes the result and wakes the waiters. It is idempotent, and a call that a
// waiter replaced (rejoin) still wakes its own waiters.
func (f *flights) finish(key string, c *call, res fillResult) {
	f.mu.Lock()
	if c.finished {
		f.mu.Unlock()
		return
	}
	c.finished = true
	if f.m[key] == c {
		delete(f.m, key)
	}
	c.res = res
	f.mu.Unlock()
	close(c.done)
}

// marks remembers keys until a deadline: hit-for-miss (keys whose responses were not storable).
// It is bounded: when full, it starts over.
type marks struct {
	mu  sync.Mutex
	m   map[string]int64
	max int
}

// set marks key until a deadline. The map keeps a copy of key: a request's keys share one
// string with its primary key (keyRequest), which a mark must not keep alive.
func (m *marks) set(key string, until int64) {
	m.mu.Lock()
	if m.m == nil || len(m.m) >= m.max {
		m.m = make(map[string]int64)
	}
	if _, ok := m.m[key]; ok {
		m.m[key] = until
	} else {
		m.m[strings.Clone(key)] = until
	}
	m.mu.Unlock()
}

func (m *marks) has(key string, now int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.m[key]
	if ok && now >= until {
		delete(m.m, key)
		return false
	}
	return ok
}

// take reports whether key is marked and unexpired, and unmarks it: one caller acts on a mark.
func (m *marks) take(key string, now int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.m[key]
	if ok {
		delete(m.m, key)
	}
	return ok && now < until
}

func (m *marks) del(key string) {
	m.mu.Lock()
	delete(m.m, key)
	m.mu.Unlock()
}
