package gincache

import (
	"net/http"
	"net/url"
	"reflect"
	"unsafe"

	"github.com/gin-gonic/gin"
)

// gin parses a request's query once, on the first c.Query (or QueryArray, ShouldBindQuery…),
// and keeps it in the Context; replacing c.Request does not reset it. When the cache hands
// the chain a request without ignored parameters (Config.IgnoreQuery, a route's
// IgnoreQuery), values a middleware in front parsed from the full query would still reach
// the handler, and an answer reflecting one would be stored under the clean key and served
// to everyone. gin offers no way to reset the parsed query, so its field is located once by
// reflection (gin is pinned; TestIgnoredQueryHiddenFromContext fails if a release renames
// it) and cleared for the time the chain runs with the stripped request.
var queryCacheOffset, hasQueryCache = func() (uintptr, bool) {
	f, ok := reflect.TypeFor[gin.Context]().FieldByName("queryCache")
	if !ok || f.Type != reflect.TypeFor[url.Values]() {
		return 0, false
	}
	return f.Offset, true
}()

// hideQuery makes gc parse its query again from r (which lacks parameters of in) and
// returns the function that puts in's parsed values back, for the middleware in front.
func hideQuery(gc *gin.Context, r, in *http.Request) (restore func()) {
	if !hasQueryCache || r.URL.RawQuery == in.URL.RawQuery {
		return func() {}
	}
	p := (*url.Values)(unsafe.Add(unsafe.Pointer(gc), queryCacheOffset))
	saved := *p
	*p = nil
	return func() { *p = saved }
}
