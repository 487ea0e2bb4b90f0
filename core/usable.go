package core

import "context"

// usable tells which values read from L2 the cache can use: a value of another entry-format
// version, a cut, altered or garbage one under a cache key is read as a miss, for the lookup
// and for the L2 hit counter (strata_l2_hits_total; see Stats).
func usable(b []byte) bool {
	switch kindOf(b) {
	case kindEntry:
		var e entry
		_, ok := usableEntry(b, &e)
		return ok
	case kindVary:
		var v varyRecord
		return decodeVary(b, &v) == nil
	case kindIgnore:
		return true
	}
	return false
}

// usableEntry decodes an encoded entry into e with its fields on the stack (checking an entry
// costs no allocation for most untagged ones) and verifies its checksum. e's fields are not
// set.
func usableEntry(b []byte, e *entry) (fields int, ok bool) {
	var fa [16]field
	f, err := decodeEntryTo(b, e, fa[:0])
	return len(f), err == nil && intact(b)
}

// l2Verdict is what checkL2 makes of a value read from L2.
type l2Verdict uint8

const (
	l2OK        l2Verdict = iota // use it
	l2Unusable                   // no record of this cache: a miss, deleted
	l2Forged                     // an entry that fails its MAC: a miss, deleted, reported
	l2Outdated                   // an entry one of whose tags was purged since: a miss, deleted
	l2Unchecked                  // the tag stamps could not be read: a miss, kept
)

// checkL2 checks a value read from L2 under key: its MAC when the cache has a MAC key
// (mac.go), that it is a record of this cache (format, version, checksum) and, for a tagged
// entry, that its tags' stamps are current (tagstamp.go). It returns the value without its
// MAC and the entry's tags, which the L1 copy is indexed under.
func (c *Cache) checkL2(ctx context.Context, key string, b []byte) (_ []byte, tags []string, v l2Verdict) {
	if kindOf(b) != kindEntry {
		if !usable(b) {
			return nil, nil, l2Unusable
		}
		return b, nil, l2OK
	}
	if c.mac != nil {
		var ok bool
		if b, ok = c.mac.open(key, b); !ok {
			return nil, nil, l2Forged
		}
	}
	var e entry
	if _, ok := usableEntry(b, &e); !ok {
		return nil, nil, l2Unusable
	}
	switch current, checked := c.tagsCurrent(ctx, &e); {
	case !checked:
		return nil, nil, l2Unchecked
	case !current:
		return nil, nil, l2Outdated
	}
	return b, e.tags, l2OK
}

// rejectL2 counts a value checkL2 rejected and deletes it from L2 (unless it could not be
// checked), so that it stops costing a read.
func (c *Cache) rejectL2(ctx context.Context, key string, v l2Verdict) {
	switch v {
	case l2Unusable:
		c.unusable.Add(1)
	case l2Forged:
		c.unusable.Add(1)
		if c.cfg.Observer != nil {
			c.cfg.Observer.Error(TierL2, OpVerify)
		}
		c.logErr(string(TierL2), string(OpVerify), errForged)
	case l2Outdated:
		c.outdated.Add(1)
	case l2Unchecked:
		c.outdated.Add(1)
		return
	}
	l2, _ := c.shared()
	_ = l2.Delete(context.WithoutCancel(ctx), key)
}
