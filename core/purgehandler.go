package core

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// PurgeHandler returns an operator endpoint for purges, to mount at any path:
//
//	POST ?url=/products/1      purge a URL (a relative URL uses the request's host)
//	POST ?tag=product:1&tag=…  purge tags
//	POST ?all=1                purge everything
//	POST ?url=/plan&segment=tenant-a&segment=…
//	                           purge a URL's entries under those key segments
//	                           (Config.KeySegments; see PurgeWithSegments)
//
// It needs "Authorization: Bearer <token>" (compared in constant time): 401 without one, 403
// with a wrong one. An empty token disables the endpoint (every request gets 403). It answers
// 200 with {"purged": n}, n being the entries a URL or tag purge removed, and a purge of
// everything with {"purged": "all"}: it moves to a new generation without counting what
// became unreachable. An "error" member says a tier or the Purger failed after the local
// purge. Its answers are never cached.
func (c *Cache) PurgeHandler(token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON := func(status int, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
			return
		}
		auth := r.Header.Get("Authorization")
		given, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || given == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="strata-purge"`)
			writeJSON(http.StatusUnauthorized, map[string]string{"error": "bearer token required"})
			return
		}
		if token == "" || subtle.ConstantTimeCompare([]byte(given), []byte(token)) != 1 {
			writeJSON(http.StatusForbidden, map[string]string{"error": "invalid token"})
			return
		}
		q := r.URL.Query()
		var n any // a count, or "all"
		var err error
		switch {
		case q.Has("all"):
			if v := q.Get("all"); v != "1" && v != "true" {
				writeJSON(http.StatusBadRequest, map[string]string{"error": "all=1 purges everything"})
				return
			}
			err = c.PurgeAll(r.Context())
			n = "all"
		case len(q["tag"]) > 0:
			n, err = c.PurgeTags(r.Context(), q["tag"]...)
		case q.Get("url") != "":
			u, perr := url.Parse(q.Get("url"))
			if perr != nil {
				writeJSON(http.StatusBadRequest, map[string]string{"error": "bad url"})
				return
			}
			if u.Host == "" {
				u.Scheme, u.Host = "http", c.partsOf(r).host
			}
			n, err = c.PurgeWithSegments(r.Context(), u.String(), q["segment"]...)
		default:
			writeJSON(http.StatusBadRequest, map[string]string{"error": "give url=, tag= or all=1"})
			return
		}
		resp := map[string]any{"purged": n}
		if err != nil {
			resp["error"] = err.Error() // the local purge happened; a tier or the CDN hook failed
		}
		writeJSON(http.StatusOK, resp)
	})
}
