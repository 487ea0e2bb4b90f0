package memcached

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMapKey(t *testing.T) {
	long := strings.Repeat("k", 300)
	for _, tc := range []struct {
		prefix, key string
		asIs        bool
	}{
		{"", "strata:{/a}:GET", true},
		{"app:", "strata:{/a}:GET", true},
		{"", strings.Repeat("k", 250), true},
		{"p:", strings.Repeat("k", 248), true},
		{"p:", strings.Repeat("k", 249), false}, // 251 bytes with the prefix
		{"", long, false},
		{"", "with space", false},
		{"", "tab\there", false},
		{"", "new\nline", false},
		{"", "del\x7f", false},
		{"", "nul\x00", false},
		{"", "", false},
		{"", "#looks-hashed", false},
		{"", "ünïcödé", true}, // bytes over 0x7f are legal in memcached's text protocol
	} {
		got := mapKey(tc.prefix, tc.key)
		if !safeKey(got) {
			t.Errorf("mapKey(%q, %q) = %q: not a legal memcached key", tc.prefix, tc.key, got)
		}
		if !strings.HasPrefix(got, tc.prefix) {
			t.Errorf("mapKey(%q, %q) = %q: lacks the prefix", tc.prefix, tc.key, got)
		}
		if asIs := got == tc.prefix+tc.key; asIs != tc.asIs {
			t.Errorf("mapKey(%q, %q) = %q: used as given %v, want %v", tc.prefix, tc.key, got, asIs, tc.asIs)
		}
		if !tc.asIs {
			if want := len(tc.prefix) + 1 + 43; len(got) != want || got[len(tc.prefix)] != '#' {
				t.Errorf("mapKey(%q, %q) = %q: want prefix + '#' + 43 bytes of hash", tc.prefix, tc.key, got)
			}
		}
		if again := mapKey(tc.prefix, tc.key); again != got {
			t.Errorf("mapKey(%q, %q) not stable: %q then %q", tc.prefix, tc.key, got, again)
		}
	}
	// Keys that differ only past the limit, or only by the hashed characters, stay apart.
	seen := map[string]string{}
	for _, k := range []string{long, long + "x", "a b", "a  b", "a\tb", "#a", "a", "", " "} {
		m := mapKey("", k)
		if other, dup := seen[m]; dup {
			t.Errorf("mapKey(%q) = mapKey(%q) = %q", k, other, m)
		}
		seen[m] = k
	}
	// The longest prefix still leaves room for a hashed key.
	p := strings.Repeat("p", maxPrefixLen)
	if m := mapKey(p, long); len(m) > maxKeyLen || !safeKey(m) {
		t.Errorf("mapKey(64-byte prefix, long key) = %q (%d bytes)", m, len(m))
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, p := range []string{"", "strata:", strings.Repeat("p", maxPrefixLen)} {
		if err := checkPrefix(p); err != nil {
			t.Errorf("checkPrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"a b", "a\nb", strings.Repeat("p", maxPrefixLen+1)} {
		if err := checkPrefix(p); err == nil {
			t.Errorf("checkPrefix(%q) = nil, want an error", p)
		}
	}
}

func TestExpiration(t *testing.T) {
	now := time.Unix(1_700_000_000, 250_000_000) // a quarter second past a whole second
	const day = 24 * time.Hour
	for _, tc := range []struct {
		ttl  time.Duration
		want int32
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Nanosecond, 1},
		{50 * time.Millisecond, 1},
		{999 * time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{1500 * time.Millisecond, 2},
		{time.Minute, 60},
		{30 * day, 30 * 24 * 3600}, // the largest relative value
		{30*day - 500*time.Millisecond, 30 * 24 * 3600},
		// Past 30 days: an absolute unix time, rounded up.
		{30*day + time.Second, 1_700_000_000 + 30*24*3600 + 1 + 1},
		{31 * day, 1_700_000_000 + 31*24*3600 + 1},
		{365 * day, 1_700_000_000 + 365*24*3600 + 1},
		// Beyond January 2038: the largest time the protocol can say.
		{100 * 365 * day, math.MaxInt32},
		{time.Duration(math.MaxInt64), math.MaxInt32},
	} {
		if got := expiration(tc.ttl, now); got != tc.want {
			t.Errorf("expiration(%v) = %d, want %d", tc.ttl, got, tc.want)
		}
	}
	// On a whole second, an absolute time is exact.
	whole := time.Unix(1_700_000_000, 0)
	if got, want := expiration(31*day, whole), int32(1_700_000_000+31*24*3600); got != want {
		t.Errorf("expiration(31 days) on a whole second = %d, want %d", got, want)
	}
}

func TestDeadlineAndDecode(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	if d := deadline(0, now); d != 0 {
		t.Errorf("deadline(0) = %d, want 0", d)
	}
	if d := deadline(50*time.Millisecond, now); d != now.UnixMilli()+50 {
		t.Errorf("deadline(50ms) = %d, want now+50", d)
	}
	if d := deadline(time.Microsecond, now); d != now.UnixMilli()+1 {
		t.Errorf("deadline(1µs) = %d, want now+1 (rounded up)", d)
	}
	if d := deadline(time.Duration(math.MaxInt64), now); d <= now.UnixMilli() {
		t.Errorf("deadline(max) = %d: overflowed", d)
	}

	b := encode([]byte("value"), deadline(50*time.Millisecond, now))
	if v, ok := decode(itemFlags, b, now.Add(49*time.Millisecond)); !ok || string(v) != "value" {
		t.Errorf("decode before the deadline = %q, %v", v, ok)
	}
	if _, ok := decode(itemFlags, b, now.Add(50*time.Millisecond)); ok {
		t.Error("decode at the deadline: still a hit")
	}
	forever := encode([]byte("v"), 0)
	if v, ok := decode(itemFlags, forever, now.Add(100*365*24*time.Hour)); !ok || string(v) != "v" {
		t.Errorf("decode without a deadline = %q, %v", v, ok)
	}
	if _, ok := decode(0, forever, now); ok {
		t.Error("decode of an item with foreign flags: a hit")
	}
	if _, ok := decode(itemFlags, []byte("short"), now); ok {
		t.Error("decode of an item shorter than the header: a hit")
	}
	if v, ok := decode(itemFlags, encode(nil, 0), now); !ok || v == nil || len(v) != 0 {
		t.Errorf("decode of an empty value = %#v, %v; want an empty, non-nil slice", v, ok)
	}
}
