package etag

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

var (
	// lm has a sub-second part: comparisons are at second granularity.
	lm      = time.Date(2024, 1, 10, 12, 0, 0, 500_000_000, time.UTC)
	lmDate  = lm.Format(http.TimeFormat)
	before  = lm.Add(-time.Hour).Format(http.TimeFormat)
	after   = lm.Add(time.Hour).Format(http.TimeFormat)
	rfc850  = lm.Add(-time.Hour).Format("Monday, 02-Jan-06 15:04:05 GMT")
	asctime = lm.Add(-time.Hour).Format(time.ANSIC)
)

const cur = `"v1"`

// hdr builds a header from name, value pairs; a name may repeat to send
// several field lines.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		method string
		h      http.Header
		etag   string
		lm     time.Time
		want   Result
	}{
		{"no preconditions", "GET", hdr(), cur, lm, Proceed},
		{"no preconditions no validators", "GET", hdr(), "", time.Time{}, Proceed},

		// Step 1: If-Match (§13.1.1), strong comparison.
		{"IM match", "GET", hdr("If-Match", cur), cur, lm, Proceed},
		{"IM match in list", "PUT", hdr("If-Match", `"v0", "v1"`), cur, lm, Proceed},
		{"IM match on second line", "PUT", hdr("If-Match", `"v0"`, "If-Match", cur), cur, lm, Proceed},
		{"IM no match", "GET", hdr("If-Match", `"v0"`), cur, lm, PreconditionFailed},
		{"IM no match PUT", "PUT", hdr("If-Match", `"v0"`), cur, lm, PreconditionFailed},
		{"IM no match DELETE", "DELETE", hdr("If-Match", `"v0"`), cur, lm, PreconditionFailed},
		{"IM star", "PUT", hdr("If-Match", "*"), cur, lm, Proceed},
		{"IM star no representation", "PUT", hdr("If-Match", "*"), "", time.Time{}, PreconditionFailed},
		{"IM weak element strong compare", "PUT", hdr("If-Match", `W/"v1"`), cur, lm, PreconditionFailed},
		{"IM weak current strong compare", "PUT", hdr("If-Match", `W/"v1"`), `W/"v1"`, lm, PreconditionFailed},
		{"IM no etag", "PUT", hdr("If-Match", cur), "", lm, PreconditionFailed},
		{"IM blank is absent", "PUT", hdr("If-Match", "  "), cur, lm, Proceed},
		{"IM junk", "PUT", hdr("If-Match", "junk"), cur, lm, PreconditionFailed},
		{"IM true overrides IUS false", "PUT", hdr("If-Match", cur, "If-Unmodified-Since", before), cur, lm, Proceed},
		{"IM false IUS true", "PUT", hdr("If-Match", `"v0"`, "If-Unmodified-Since", after), cur, lm, PreconditionFailed},
		{"IM false INM false", "GET", hdr("If-Match", `"v0"`, "If-None-Match", cur), cur, lm, PreconditionFailed},
		{"IM true INM match GET", "GET", hdr("If-Match", cur, "If-None-Match", cur), cur, lm, Unmodified},

		// Step 2: If-Unmodified-Since (§13.1.4), only without If-Match.
		{"IUS after", "PUT", hdr("If-Unmodified-Since", after), cur, lm, Proceed},
		{"IUS same second", "PUT", hdr("If-Unmodified-Since", lmDate), cur, lm, Proceed},
		{"IUS before", "PUT", hdr("If-Unmodified-Since", before), cur, lm, PreconditionFailed},
		{"IUS before GET", "GET", hdr("If-Unmodified-Since", before), cur, lm, PreconditionFailed},
		{"IUS before rfc850", "PUT", hdr("If-Unmodified-Since", rfc850), cur, lm, PreconditionFailed},
		{"IUS before asctime", "PUT", hdr("If-Unmodified-Since", asctime), cur, lm, PreconditionFailed},
		{"IUS invalid", "PUT", hdr("If-Unmodified-Since", "yesterday"), cur, lm, Proceed},
		{"IUS list of dates", "PUT", hdr("If-Unmodified-Since", before+", "+before), cur, lm, Proceed},
		{"IUS two lines", "PUT", hdr("If-Unmodified-Since", before, "If-Unmodified-Since", before), cur, lm, Proceed},
		{"IUS before no Last-Modified", "PUT", hdr("If-Unmodified-Since", before), cur, time.Time{}, Proceed},
		{"IUS padded", "PUT", hdr("If-Unmodified-Since", " "+before+" "), cur, lm, PreconditionFailed},
		{"IUS false before INM", "GET", hdr("If-Unmodified-Since", before, "If-None-Match", cur), cur, lm, PreconditionFailed},
		{"IUS true then INM match", "GET", hdr("If-Unmodified-Since", after, "If-None-Match", cur), cur, lm, Unmodified},

		// Step 3: If-None-Match (§13.1.2), weak comparison.
		{"INM match", "GET", hdr("If-None-Match", cur), cur, lm, Unmodified},
		{"INM match in list", "GET", hdr("If-None-Match", `"v0", "v1"`), cur, lm, Unmodified},
		{"INM match on second line", "GET", hdr("If-None-Match", `"v0"`, "If-None-Match", cur), cur, lm, Unmodified},
		{"INM no match", "GET", hdr("If-None-Match", `"v0"`), cur, lm, Proceed},
		{"INM weak element", "GET", hdr("If-None-Match", `W/"v1"`), cur, lm, Unmodified},
		{"INM weak current", "GET", hdr("If-None-Match", cur), `W/"v1"`, lm, Unmodified},
		{"INM star", "GET", hdr("If-None-Match", "*"), cur, lm, Unmodified},
		{"INM star no representation", "GET", hdr("If-None-Match", "*"), "", time.Time{}, Proceed},
		{"INM no etag", "GET", hdr("If-None-Match", cur), "", lm, Proceed},
		{"INM match POST", "POST", hdr("If-None-Match", cur), cur, lm, PreconditionFailed},
		{"INM match PUT", "PUT", hdr("If-None-Match", cur), cur, lm, PreconditionFailed},
		{"INM match DELETE", "DELETE", hdr("If-None-Match", cur), cur, lm, PreconditionFailed},
		{"INM star PUT existing", "PUT", hdr("If-None-Match", "*"), cur, lm, PreconditionFailed},
		{"INM star PUT create", "PUT", hdr("If-None-Match", "*"), "", time.Time{}, Proceed},
		{"INM no match PUT", "PUT", hdr("If-None-Match", `"v0"`), cur, lm, Proceed},
		{"INM blank is absent", "GET", hdr("If-None-Match", "", "If-Modified-Since", after), cur, lm, Unmodified},
		{"INM no match overrides IMS", "GET", hdr("If-None-Match", `"v0"`, "If-Modified-Since", after), cur, lm, Proceed},
		{"INM match overrides IMS", "GET", hdr("If-None-Match", cur, "If-Modified-Since", before), cur, lm, Unmodified},
		{"INM junk overrides IMS", "GET", hdr("If-None-Match", "junk", "If-Modified-Since", after), cur, lm, Proceed},

		// Step 4: If-Modified-Since (§13.1.3), GET and HEAD only.
		{"IMS same second", "GET", hdr("If-Modified-Since", lmDate), cur, lm, Unmodified},
		{"IMS after", "GET", hdr("If-Modified-Since", after), cur, lm, Unmodified},
		{"IMS before", "GET", hdr("If-Modified-Since", before), cur, lm, Proceed},
		{"IMS rfc850 before", "GET", hdr("If-Modified-Since", rfc850), cur, lm, Proceed},
		{"IMS rfc850 after", "GET", hdr("If-Modified-Since", lm.Add(time.Hour).Format("Monday, 02-Jan-06 15:04:05 GMT")), cur, lm, Unmodified},
		{"IMS asctime after", "GET", hdr("If-Modified-Since", lm.Add(time.Hour).Format(time.ANSIC)), cur, lm, Unmodified},
		{"IMS no Last-Modified", "GET", hdr("If-Modified-Since", after), cur, time.Time{}, Proceed},
		{"IMS no validators", "GET", hdr("If-Modified-Since", after), "", time.Time{}, Proceed},
		{"IMS without etag", "GET", hdr("If-Modified-Since", after), "", lm, Unmodified},
		{"IMS invalid", "GET", hdr("If-Modified-Since", "not a date"), cur, lm, Proceed},
		{"IMS two lines", "GET", hdr("If-Modified-Since", after, "If-Modified-Since", after), cur, lm, Proceed},
		{"IMS POST ignored", "POST", hdr("If-Modified-Since", after), cur, lm, Proceed},
		{"IMS PUT ignored", "PUT", hdr("If-Modified-Since", after), cur, lm, Proceed},
		{"empty method is GET", "", hdr("If-Modified-Since", after), cur, lm, Unmodified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(tt.method, tt.h, tt.etag, tt.lm); got != tt.want {
				t.Errorf("Evaluate(%q, %v, %q, %v) = %v, want %v", tt.method, tt.h, tt.etag, tt.lm, got, tt.want)
			}
			if tt.method == "GET" {
				// HEAD is evaluated exactly like GET.
				if got := Evaluate("HEAD", tt.h, tt.etag, tt.lm); got != tt.want {
					t.Errorf("Evaluate(HEAD, %v, %q, %v) = %v, want %v", tt.h, tt.etag, tt.lm, got, tt.want)
				}
			}
		})
	}
}

func TestResult(t *testing.T) {
	for _, tt := range []struct {
		r      Result
		status int
		s      string
	}{
		{Proceed, 0, "Proceed"},
		{Unmodified, 304, "Unmodified"},
		{PreconditionFailed, 412, "PreconditionFailed"},
		{Result(9), 0, "Result(invalid)"},
	} {
		if tt.r.Status() != tt.status || tt.r.String() != tt.s {
			t.Errorf("%d: Status, String = %d, %q; want %d, %q", int(tt.r), tt.r.Status(), tt.r.String(), tt.status, tt.s)
		}
	}
}

func TestEvaluateAllocs(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
	}{
		{"revalidation", hdr("If-None-Match", `W/"v0", "v1"`, "If-Modified-Since", lmDate)},
		{"If-Modified-Since only", hdr("If-Modified-Since", lmDate)},
		{"If-Match and If-None-Match", hdr("If-Match", cur, "If-None-Match", `"v0"`)},
		{"If-Unmodified-Since", hdr("If-Unmodified-Since", after)},
		{"none", hdr("Accept", "*/*")},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, func() { _ = Evaluate("GET", tt.h, cur, lm) }); n != 0 {
			t.Errorf("%s: Evaluate allocs = %v, want 0", tt.name, n)
		}
	}
}

// checkHeader fails when w's header field k is not want ("" = absent).
func checkHeader(t *testing.T, h http.Header, k, want string) {
	t.Helper()
	if got := h.Get(k); got != want {
		t.Errorf("%s = %q, want %q", k, got, want)
	}
}

func TestNotModifiedHelper(t *testing.T) {
	serve := func(method string, h http.Header, etag string, lastMod time.Time) (*httptest.ResponseRecorder, bool) {
		r := httptest.NewRequest(method, "/doc", nil)
		r.Header = h
		w := httptest.NewRecorder()
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "5")
		w.Header().Set("Cache-Control", "private, no-cache")
		w.Header().Set("Vary", "Cookie")
		w.Header().Set("Set-Cookie", "s=1")
		done := NotModified(w, r, etag, lastMod)
		if !done {
			_, _ = w.WriteString("hello")
		}
		return w, done
	}

	t.Run("unconditional", func(t *testing.T) {
		w, done := serve("GET", hdr(), cur, lm)
		if done || w.Code != 200 || w.Body.String() != "hello" {
			t.Fatalf("got done=%v %d %q, want a 200 with the body", done, w.Code, w.Body)
		}
		checkHeader(t, w.Header(), "ETag", cur)
		checkHeader(t, w.Header(), "Last-Modified", "Wed, 10 Jan 2024 12:00:00 GMT")
	})
	t.Run("no validators", func(t *testing.T) {
		w, done := serve("GET", hdr("If-None-Match", "*"), "", time.Time{})
		if done || w.Code != 200 {
			t.Fatalf("got done=%v %d, want 200", done, w.Code)
		}
		checkHeader(t, w.Header(), "ETag", "")
		checkHeader(t, w.Header(), "Last-Modified", "")
	})
	t.Run("304 by etag", func(t *testing.T) {
		w, done := serve("GET", hdr("If-None-Match", cur), cur, lm)
		if !done || w.Code != 304 || w.Body.Len() != 0 {
			t.Fatalf("got done=%v %d %q, want a bodiless 304", done, w.Code, w.Body)
		}
		checkHeader(t, w.Header(), "ETag", cur)
		checkHeader(t, w.Header(), "Cache-Control", "private, no-cache")
		checkHeader(t, w.Header(), "Vary", "Cookie")
		checkHeader(t, w.Header(), "Set-Cookie", "s=1")
		checkHeader(t, w.Header(), "Content-Type", "")
		checkHeader(t, w.Header(), "Content-Length", "")
		checkHeader(t, w.Header(), "Last-Modified", "") // an ETag is present (§15.4.5)
	})
	t.Run("304 by date keeps Last-Modified", func(t *testing.T) {
		w, done := serve("HEAD", hdr("If-Modified-Since", lmDate), "", lm)
		if !done || w.Code != 304 {
			t.Fatalf("got done=%v %d, want 304", done, w.Code)
		}
		checkHeader(t, w.Header(), "Last-Modified", lmDate)
	})
	t.Run("412", func(t *testing.T) {
		w, done := serve("PUT", hdr("If-Match", `"v0"`), cur, lm)
		if !done || w.Code != 412 || w.Body.Len() != 0 {
			t.Fatalf("got done=%v %d %q, want a bodiless 412", done, w.Code, w.Body)
		}
		checkHeader(t, w.Header(), "Content-Type", "")
		checkHeader(t, w.Header(), "ETag", cur)
	})
}

func TestOmitOn304(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hasETag bool
		omit    bool
	}{
		{"Content-Type", true, true}, {"Content-Length", false, true}, {"Content-Encoding", true, true},
		{"Last-Modified", true, true}, {"Last-Modified", false, false},
		{"Etag", true, false}, {"Cache-Control", true, false}, {"Vary", true, false},
		{"Content-Location", true, false}, {"Expires", false, false}, {"Date", false, false},
		{"Set-Cookie", true, false}, {"Access-Control-Allow-Origin", true, false},
	} {
		if got := OmitOn304(tc.name, tc.hasETag); got != tc.omit {
			t.Errorf("OmitOn304(%q, %v) = %v, want %v", tc.name, tc.hasETag, got, tc.omit)
		}
	}
}
