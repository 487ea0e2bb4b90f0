// Forced collisions (every key hashed to one value, through the test-only newCacheWithHash)
// and trusted request fields (Config.TrustHeaders).

package core

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// secCollisionCache builds a cache for the tier whose every key hash is hash.
func secCollisionCache(t *testing.T, tier secTier, cfg Config, hash func([]byte) uint64) *Cache {
	t.Helper()
	c, err := newCacheWithHash(tier.config(t, cfg), hash)
	if err != nil {
		t.Fatalf("newCacheWithHash: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// secTally reports the first few wrong answers of a long run, then their count.
type secTally struct {
	t     *testing.T
	wrong int
}

func (s *secTally) check(r secRes, want string) {
	s.t.Helper()
	if r.status == http.StatusOK && r.body == want {
		return
	}
	s.wrong++
	if s.wrong <= 5 {
		s.t.Errorf("%s: got %d %q, want 200 %q (Cache-Status %q)", r.label, r.status, clipSec(r.body), want, r.cacheStatus())
	}
}

func (s *secTally) done(total int) {
	s.t.Helper()
	if s.wrong > 5 {
		s.t.Errorf("%d of %d responses were another request's answer", s.wrong, total)
	}
}

// TestSecurityForcedCollision: with a hash that maps every key to one value, 1,000 distinct
// URLs and 100 variants of one URL still get only their own answers, on L1 and through
// Redis (the second instance of the redis setup reads everything through L2). Attack: a
// crafted query string hashed to the key of another URL or variant, and was served its entry.
func TestSecurityForcedCollision(t *testing.T) {
	constant := func([]byte) uint64 { return 42 }
	secTiers(t, func(t *testing.T, tier secTier) {
		t.Run("urls", func(t *testing.T) {
			cfg := tier.config(t, Config{}) // one namespace for both instances of the redis setup
			o := secPublic(func(r *http.Request) string { return "item " + strings.TrimPrefix(r.URL.Path, "/item/") })
			sites := []*secSite{secServe(t, secCollisionCache(t, tier, cfg, constant).Middleware(o))}
			if tier.redis() {
				sites = append(sites, secServe(t, secCollisionCache(t, tier, cfg, constant).Middleware(o)))
			}
			tally := &secTally{t: t}
			total := 0
			for _, site := range sites {
				for round := 0; round < 2; round++ {
					for i := 0; i < 1000; i++ {
						tally.check(site.get(t, fmt.Sprintf("/item/%d", i)), fmt.Sprintf("item %d", i))
						total++
					}
				}
			}
			tally.done(total)
		})
		t.Run("coalesced", func(t *testing.T) {
			// Concurrent misses of distinct URLs meet on one key: a waiter must never be
			// handed the leader's answer for another URL.
			cfg := tier.config(t, Config{})
			in := newArrivals(50)
			o := secPublic(func(r *http.Request) string {
				in.wait() // the first fill answers once all 50 are in the cache
				return "slow " + strings.TrimPrefix(r.URL.Path, "/slow/")
			})
			site := secServe(t, in.wrap(secCollisionCache(t, tier, cfg, constant).Middleware(o)))
			var wrong atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < 50; i++ {
				wg.Go(func() {
					r := site.get(t, fmt.Sprintf("/slow/%d", i))
					if want := fmt.Sprintf("slow %d", i); r.status != http.StatusOK || r.body != want {
						if wrong.Add(1) <= 5 {
							t.Errorf("%s: got %d %q, want 200 %q (Cache-Status %q)", r.label, r.status, clipSec(r.body), want, r.cacheStatus())
						}
					}
				})
			}
			wg.Wait()
			if n := wrong.Load(); n > 5 {
				t.Errorf("%d of 50 concurrent responses were another request's answer", n)
			}
		})
		t.Run("variants", func(t *testing.T) {
			cfg := tier.config(t, Config{MaxVariants: 128})
			o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=60")
				w.Header().Set("Vary", "X-Variant")
				_, _ = io.WriteString(w, "variant "+r.Header.Get("X-Variant"))
			})
			sites := []*secSite{secServe(t, secCollisionCache(t, tier, cfg, constant).Middleware(o))}
			if tier.redis() {
				sites = append(sites, secServe(t, secCollisionCache(t, tier, cfg, constant).Middleware(o)))
			}
			tally := &secTally{t: t}
			total := 0
			for _, site := range sites {
				for round := 0; round < 2; round++ {
					for i := 0; i < 100; i++ {
						v := fmt.Sprintf("v%d", i)
						tally.check(site.get(t, "/one", "X-Variant: "+v), "variant "+v)
						total++
					}
				}
			}
			tally.done(total)
		})
	})
}

// TestSecurityTrustHeaders: a request field the application lists in Config.TrustHeaders is
// not guarded as an unkeyed input: it is keyed instead, so each value gets its own entry.
func TestSecurityTrustHeaders(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{TrustHeaders: []string{"X-Forwarded-Host"}})
		o := secPublic(func(r *http.Request) string { return "fwd=" + r.Header.Get("X-Forwarded-Host") })
		site := secServe(t, c.Middleware(o))

		r := site.get(t, "/page", "X-Forwarded-Host: a.com")
		secWantBody(t, r, "fwd=a.com")
		if strings.Contains(r.cacheStatus(), "bypass") {
			t.Errorf("%s: Cache-Status: got %q, want no bypass for a trusted field", r.label, r.cacheStatus())
		}
		r = site.get(t, "/page", "X-Forwarded-Host: b.com")
		secWantBody(t, r, "fwd=b.com")
		secWantRuns(t, "after b.com", o, 2)
		r = site.get(t, "/page", "X-Forwarded-Host: a.com")
		secWantBody(t, r, "fwd=a.com")
		secWantHit(t, r)
		secWantRuns(t, "after the repeat of a.com", o, 2)
	})
}
