package headers

import (
	"net/http"
	"testing"
	"time"
)

func BenchmarkParseCacheControl(b *testing.B) {
	for _, bc := range []struct {
		name   string
		values []string
	}{
		{"common", []string{"public, max-age=60, s-maxage=300, stale-while-revalidate=30"}},
		{"no-store", []string{"no-cache, no-store, must-revalidate"}},
		{"mixed-case-lines", []string{"Public", "Max-Age=60", "stale-if-error=86400"}},
		{"quoted-extension", []string{`max-age="60", community="UCI, x", private`}},
		{"qualified", []string{`private="Set-Cookie, X-Foo", no-cache="Authorization", max-age=10`}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkDirectives = ParseCacheControl(bc.values)
			}
		})
	}
}

func BenchmarkPolicyCacheControl(b *testing.B) {
	p := Public(10 * time.Second).SMaxAge(time.Minute).StaleWhileRevalidate(5 * time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		sinkString = p.CacheControl()
	}
}

// BenchmarkPolicyBuild is the one-off cost at route setup.
func BenchmarkPolicyBuild(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkString = Public(10 * time.Second).SMaxAge(time.Minute).StaleWhileRevalidate(5 * time.Minute).CacheControl()
	}
}

func BenchmarkPolicyApply(b *testing.B) {
	p := Public(10 * time.Second).SMaxAge(time.Minute).Vary("Accept-Encoding")
	b.Run("empty", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Apply(http.Header{})
		}
	})
	b.Run("handler-set", func(b *testing.B) {
		h := http.Header{"Cache-Control": {"no-store"}, "Vary": {"Accept-Encoding"}}
		b.ReportAllocs()
		for b.Loop() {
			p.Apply(h)
		}
	})
}
