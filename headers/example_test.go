package headers_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/strata-cache/strata/headers"
)

func ExamplePublic() {
	p := headers.Public(10 * time.Second)
	fmt.Println(p.CacheControl())
	// Output: public, max-age=10
}

func ExamplePublic_chain() {
	p := headers.Public(10 * time.Second).SMaxAge(time.Minute).StaleWhileRevalidate(5 * time.Minute)
	fmt.Println(p.CacheControl())
	// Output: public, max-age=10, s-maxage=60, stale-while-revalidate=300
}

func ExamplePrivate() {
	fmt.Println(headers.Private().CacheControl())
	fmt.Println(headers.Private().NoCache().CacheControl())
	// Output:
	// private
	// private, no-cache
}

func ExampleNoStore() {
	fmt.Println(headers.NoStore().CacheControl())
	// Output: no-store
}

func ExampleNoCache() {
	fmt.Println(headers.NoCache().CacheControl())
	// Output: no-cache
}

func ExampleImmutable() {
	p := headers.Immutable(365 * 24 * time.Hour)
	fmt.Println(p.CacheControl())
	// Output: public, max-age=31536000, immutable
}

func ExamplePolicy_CDNMaxAge() {
	p := headers.Public(time.Minute).StaleIfError(time.Hour).CDNMaxAge(24 * time.Hour)
	fmt.Println("Cache-Control:", p.CacheControl())
	fmt.Println("CDN-Cache-Control:", p.CDNCacheControl())
	// Output:
	// Cache-Control: public, max-age=60, stale-if-error=3600
	// CDN-Cache-Control: public, max-age=86400, stale-if-error=3600
}

func ExamplePolicy_Apply() {
	p := headers.Public(10 * time.Second).SMaxAge(time.Minute).Vary("Accept-Encoding")

	h := http.Header{}
	h.Set("Vary", "accept-encoding, Cookie") // set by the handler
	p.Apply(h)
	fmt.Println(h.Get("Cache-Control"))
	fmt.Println(h.Get("Vary"))

	// A Cache-Control set by the handler wins over the policy.
	h = http.Header{}
	h.Set("Cache-Control", "no-store")
	p.Apply(h)
	fmt.Println(h.Get("Cache-Control"))
	// Output:
	// public, max-age=10, s-maxage=60
	// accept-encoding, Cookie
	// no-store
}

func ExamplePolicy_TagsFor() {
	p := headers.Public(time.Minute).
		Tags("products").
		TagFunc(func(r *http.Request) []string { return []string{"path:" + r.URL.Path} })
	r, _ := http.NewRequest(http.MethodGet, "http://example.com/products/7", nil)
	fmt.Println(headers.SurrogateKey(p.TagsFor(r)))
	// Output: products path:/products/7
}

func ExampleParseCacheControl() {
	h := http.Header{}
	h.Add("Cache-Control", `public, Max-Age=60, private="Set-Cookie", x-ext="a, b"`)
	h.Add("Cache-Control", "max-age=30, stale-while-revalidate=oops")

	d := headers.ParseCacheControl(h.Values("Cache-Control"))
	fmt.Println("public:", d.Public)
	fmt.Println("private fields:", d.PrivateFields)
	fmt.Println("max-age:", d.MaxAge.Duration(), d.MaxAge.Valid) // lowest of the two
	fmt.Println("stale-while-revalidate valid:", d.StaleWhileRevalidate.Valid)
	// Output:
	// public: true
	// private fields: [Set-Cookie]
	// max-age: 30s true
	// stale-while-revalidate valid: false
}

func ExampleMergeVary() {
	h := http.Header{"Vary": {"Accept-Encoding"}}
	headers.MergeVary(h, "accept-encoding", "accept-language")
	fmt.Println(h.Get("Vary"))
	// Output: Accept-Encoding, Accept-Language
}
