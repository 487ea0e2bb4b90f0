package core

import (
	"fmt"
	"strconv"
	"time"

	"github.com/strata-cache/strata/store"
)

// cacheStatus is one Cache-Status list member (RFC 9211 §2).
type cacheStatus struct {
	hit       bool          // §2.1: answered from the cache without going forward
	fwd       string        // §2.2: why the request went forward (uri-miss, vary-miss, stale, request, bypass, method)
	fwdStatus int           // §2.3: status the next hop (the handler) answered
	ttl       time.Duration // §2.4: remaining freshness; negative when stale
	hasTTL    bool
	stored    bool   // §2.5: the forwarded response was stored
	collapsed bool   // §2.6: the request was collapsed with another one
	key       string // §2.7: only with Config.Debug
	detail    string // §2.8: implementation detail (a reason token)
}

// detailL2Open is the Cache-Status detail of an answer whose lookup skipped the L2 because
// the L2's circuit breaker is open (store.ErrUnavailable): the request went forward without
// asking the shared tier, and what it stored went to L1 only.
const detailL2Open = "l2-open"

// errL2Open is what get returns when the L2 refused the read because its breaker is open: a
// miss (it matches store.ErrNotFound) that the lookup reports as detail=l2-open.
var errL2Open = fmt.Errorf("%w: the L2 breaker is open", store.ErrNotFound)

// detail returns the Cache-Status detail of a forwarded answer: d, the reason it was not
// stored, when there is one, else detailL2Open when the lookup skipped the L2.
func (x *exchange) detail(d string) string {
	if d == "" && x.l2open {
		return detailL2Open
	}
	return d
}

// renderStatus renders "name; hit; ttl=…". ttl is whole seconds, rounded towards zero.
func (c *Cache) renderStatus(s cacheStatus) string {
	if s.hit && s.hasTTL && !s.stored && !s.collapsed && s.key == "" && s.detail == "" && s.fwd == "" {
		if sec := int64(s.ttl / time.Second); sec >= 0 && sec < int64(len(c.hitStatus)) {
			return c.hitStatus[sec] // the common hit: precomputed, no allocation
		}
	}
	var stack [160]byte
	b := append(stack[:0], c.cfg.Name...)
	if s.hit {
		b = append(b, "; hit"...)
	}
	if s.fwd != "" {
		b = append(b, "; fwd="...)
		b = append(b, s.fwd...)
	}
	if s.fwdStatus != 0 {
		b = append(b, "; fwd-status="...)
		b = strconv.AppendInt(b, int64(s.fwdStatus), 10)
	}
	if s.hasTTL {
		b = append(b, "; ttl="...)
		b = strconv.AppendInt(b, int64(s.ttl/time.Second), 10)
	}
	if s.stored {
		b = append(b, "; stored"...)
	}
	if s.collapsed {
		b = append(b, "; collapsed"...)
	}
	if s.key != "" {
		b = append(b, "; key="...)
		b = strconv.AppendQuote(b, s.key)
	}
	if s.detail != "" {
		b = append(b, "; detail="...)
		b = append(b, s.detail...)
	}
	return string(b)
}

func (c *Cache) initStatus() {
	for i := range c.hitStatus {
		c.hitStatus[i] = c.cfg.Name + "; hit; ttl=" + strconv.Itoa(i)
	}
}
