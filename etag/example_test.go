package etag_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/strata-cache/strata/etag"
)

func ExampleStrong() {
	fmt.Println(etag.Strong([]byte("hello, world")))
	// Output: "Ecg9nB7jaBZMCr4XtV22nA"
}

func ExampleWeak() {
	fmt.Println(etag.Weak([]byte("hello, world")))
	// Output: W/"Ecg9nB7jaBZMCr4XtV22nA"
}

func ExampleAppendStrong() {
	buf := make([]byte, 0, 64)
	buf = append(buf, "ETag: "...)
	buf = etag.AppendStrong(buf, []byte("hello, world"))
	fmt.Println(string(buf))
	// Output: ETag: "Ecg9nB7jaBZMCr4XtV22nA"
}

func ExampleWeakMatch() {
	current := `"Ecg9nB7jaBZMCr4XtV22nA"`
	// If-None-Match uses weak comparison: the W/ prefix does not matter.
	fmt.Println(etag.WeakMatch(`"old", W/"Ecg9nB7jaBZMCr4XtV22nA"`, current))
	fmt.Println(etag.WeakMatch(`"old"`, current))
	fmt.Println(etag.WeakMatch(`*`, current))
	fmt.Println(etag.WeakMatch(`*`, "")) // no representation
	// If-Match uses strong comparison.
	fmt.Println(etag.StrongMatch(`W/"Ecg9nB7jaBZMCr4XtV22nA"`, current))
	// Output:
	// true
	// false
	// true
	// false
	// false
}

func ExampleEvaluate() {
	tag := `"v2"`
	modified := time.Date(2024, 1, 10, 12, 0, 0, 0, time.UTC)

	revalidate := http.Header{}
	revalidate.Set("If-None-Match", `"v1", "v2"`)
	fmt.Println(etag.Evaluate(http.MethodGet, revalidate, tag, modified))

	update := http.Header{}
	update.Set("If-Match", `"v1"`) // the client edited an older version
	r := etag.Evaluate(http.MethodPut, update, tag, modified)
	fmt.Println(r, r.Status())

	since := http.Header{}
	since.Set("If-Modified-Since", "Wed, 10 Jan 2024 12:00:00 GMT")
	fmt.Println(etag.Evaluate(http.MethodHead, since, "", modified))
	// Output:
	// Unmodified
	// PreconditionFailed 412
	// Unmodified
}

func ExampleNotModified() {
	updated := time.Date(2024, 1, 10, 12, 0, 0, 0, time.UTC)
	handler := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "private, no-cache")
		if etag.NotModified(w, r, `"v7"`, updated) {
			return
		}
		_, _ = io.WriteString(w, `{"name":"Ada","version":7}`)
	}

	for _, inm := range []string{"", `"v6"`, `"v7"`} {
		r := httptest.NewRequest(http.MethodGet, "/me", nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		w := httptest.NewRecorder()
		handler(w, r)
		fmt.Printf("%q → %d %s %q\n", inm, w.Code, w.Header().Get("ETag"), w.Body)
	}
	// Output:
	// "" → 200 "v7" "{\"name\":\"Ada\",\"version\":7}"
	// "\"v6\"" → 200 "v7" "{\"name\":\"Ada\",\"version\":7}"
	// "\"v7\"" → 304 "v7" ""
}

func ExampleMiddleware() {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "private, no-cache")
		_, _ = io.WriteString(w, "<h1>Hello</h1>")
	})
	h := etag.Middleware(page)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	tag := w.Header().Get("ETag")
	fmt.Println(w.Code, tag, w.Header().Get("Content-Length"), w.Body)

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("If-None-Match", tag)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("ETag"), w.Header().Get("Cache-Control"), w.Body.Len())
	// Output:
	// 200 "jTIZqm-GNJPvrYy51j7Ihw" 14 <h1>Hello</h1>
	// 304 "jTIZqm-GNJPvrYy51j7Ihw" private, no-cache 0
}

func ExampleMiddlewareWithOptions() {
	mw := etag.MiddlewareWithOptions(etag.Options{
		MaxBody: 64 << 10, // larger pages stream without an ETag
		Weak:    true,
	})
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello, world")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(w.Header().Get("ETag"))
	// Output: W/"Ecg9nB7jaBZMCr4XtV22nA"
}
