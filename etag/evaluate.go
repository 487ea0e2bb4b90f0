package etag

import (
	"net/http"
	"time"
)

// Result is the outcome of evaluating a request's preconditions against the
// selected representation (RFC 9110 §13.2.2).
type Result int

const (
	// Proceed means every present precondition holds (or none applies): the
	// request is handled as if it were unconditional.
	Proceed Result = iota
	// Unmodified means the client's stored representation is current: answer
	// 304 (Not Modified). The architecture notes call this result
	// "NotModified"; that name belongs to the NotModified handler helper.
	Unmodified
	// PreconditionFailed means a precondition is false: answer 412
	// (Precondition Failed).
	PreconditionFailed
)

// Status returns the HTTP status code that answers r: 304 for Unmodified,
// 412 for PreconditionFailed and 0 for Proceed.
func (r Result) Status() int {
	switch r {
	case Unmodified:
		return http.StatusNotModified
	case PreconditionFailed:
		return http.StatusPreconditionFailed
	}
	return 0
}

// String returns "Proceed", "Unmodified" or "PreconditionFailed".
func (r Result) String() string {
	switch r {
	case Proceed:
		return "Proceed"
	case Unmodified:
		return "Unmodified"
	case PreconditionFailed:
		return "PreconditionFailed"
	}
	return "Result(invalid)"
}

// Evaluate runs the precondition evaluation of RFC 9110 §13.2.2, steps 1 to 4
// in that order, for a request with the given method and header fields and a
// selected representation with the given validators: etag is its entity-tag
// ("" for none, which also means that "*" does not match) and lastModified its
// modification time (the zero Time for none). If-Range (step 5) is left to the
// caller.
//
// The caller is responsible for §13.2.1: preconditions are evaluated only
// when the response without them would have been 2xx (or 412).
//
// Header fields are read by their canonical names (If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since); a field whose lines are all blank is
// absent. Dates are read with http.ParseTime, so all three HTTP-date formats
// are accepted (§5.6.7); an invalid date, or a date field sent more than once,
// is ignored (§13.1.3, §13.1.4). Times compare at one-second granularity.
//
// An empty method is treated as GET, as in net/http. With IMF-fixdate dates
// (the format every current client sends) Evaluate does not allocate.
func Evaluate(method string, h http.Header, etag string, lastModified time.Time) Result {
	return evaluate(method, h, etag, lastModified, trimOWS(etag) != "")
}

// evaluate is Evaluate where exists says whether the representation exists
// (for "*") independently of etag: the middleware knows it does when it
// answers a 200, even without an ETag.
func evaluate(method string, h http.Header, etag string, lastModified time.Time, exists bool) Result {
	safe := method == http.MethodGet || method == http.MethodHead || method == ""

	if im := h["If-Match"]; present(im) {
		// Step 1 (§13.2.2 ¶1, §13.1.1): If-Match is present; it is true when
		// "*" and a representation exists, or when a listed tag matches etag
		// by strong comparison. False → 412.
		if !matchValues(im, etag, true, exists) {
			return PreconditionFailed
		}
	} else if t, ok := date(h["If-Unmodified-Since"]); ok && !lastModified.IsZero() {
		// Step 2 (§13.2.2 ¶2, §13.1.4): no If-Match, If-Unmodified-Since is
		// present and valid and the representation has a modification date;
		// it is false when the representation was modified after t → 412.
		if lastModified.Unix() > t.Unix() {
			return PreconditionFailed
		}
	}

	if inm := h["If-None-Match"]; present(inm) {
		// Step 3 (§13.2.2 ¶3, §13.1.2): If-None-Match is present; it is false
		// when "*" and a representation exists, or when a listed tag matches
		// etag by weak comparison. False → 304 for GET and HEAD, 412 for any
		// other method. Its presence also disables step 4 (§13.1.3).
		if matchValues(inm, etag, false, exists) {
			if safe {
				return Unmodified
			}
			return PreconditionFailed
		}
		return Proceed
	}

	if safe && !lastModified.IsZero() {
		// Step 4 (§13.2.2 ¶4, §13.1.3): GET or HEAD, no If-None-Match,
		// If-Modified-Since present and valid, and the representation has a
		// modification date; it is false when the representation was not
		// modified after t → 304.
		if t, ok := date(h["If-Modified-Since"]); ok && lastModified.Unix() <= t.Unix() {
			return Unmodified
		}
	}

	// Step 5 (If-Range) and the request itself are the caller's.
	return Proceed
}

// date parses a header field that holds one HTTP-date. A field with several
// lines is a list of dates, which §13.1.3 and §13.1.4 say to ignore.
func date(lines []string) (time.Time, bool) {
	if len(lines) != 1 {
		return time.Time{}, false
	}
	t, err := http.ParseTime(trimOWS(lines[0]))
	return t, err == nil
}

// NotModified is a helper for handlers that know their validators before
// producing a body. It sets ETag (when etag is not empty) and Last-Modified
// (when lastModified is not zero) on w, then evaluates r's preconditions with
// Evaluate. When the answer is 304 or 412 it writes that status, with the
// representation's metadata removed (see below), and returns true: the handler
// must then return without writing a body. Otherwise it returns false and the
// handler writes the representation as usual.
//
// The 304 keeps every header field already set on w except the
// representation metadata that RFC 9110 §15.4.5 asks a sender not to repeat
// (Content-Type, Content-Length, Content-Encoding, Content-Language,
// Content-Range, digests, Transfer-Encoding, Trailer, and Last-Modified when
// an ETag is present); in particular Cache-Control, Content-Location, Date,
// ETag, Expires, Vary and Set-Cookie are kept.
func NotModified(w http.ResponseWriter, r *http.Request, etag string, lastModified time.Time) bool {
	h := w.Header()
	if etag != "" {
		h.Set("Etag", etag)
	}
	if !lastModified.IsZero() {
		h.Set("Last-Modified", lastModified.UTC().Format(http.TimeFormat))
	}
	return respond(w, Evaluate(r.Method, r.Header, etag, lastModified))
}

// respond writes the status for a non-Proceed result and reports whether it
// did.
func respond(w http.ResponseWriter, res Result) bool {
	switch res {
	case Unmodified:
		h := w.Header()
		hasETag := h.Get("Etag") != ""
		for k := range h {
			if OmitOn304(k, hasETag) {
				delete(h, k)
			}
		}
		w.WriteHeader(http.StatusNotModified)
		return true
	case PreconditionFailed:
		stripRepresentation(w.Header())
		w.WriteHeader(http.StatusPreconditionFailed)
		return true
	}
	return false
}

// representationFields are the header fields that describe a body a 304 or
// 412 does not carry.
var representationFields = [...]string{
	"Content-Type",
	"Content-Length",
	"Content-Encoding",
	"Content-Language",
	"Content-Range",
	"Content-Digest",
	"Repr-Digest",
	"Content-Md5",
	"Transfer-Encoding",
	"Trailer",
}

// OmitOn304 reports whether a 304 (Not Modified) leaves out the header field name (in
// canonical form) of the representation it validates: the representation metadata that RFC
// 9110 §15.4.5 asks a sender not to repeat, and Last-Modified when there is an ETag. Every
// other field is kept, Cache-Control, Content-Location, Date, ETag, Expires and Vary (which
// §15.4.5 requires) included. It is the one 304 field rule of Strata: the cache's own 304s
// follow it too.
func OmitOn304(name string, hasETag bool) bool {
	if name == "Last-Modified" {
		return hasETag
	}
	for _, k := range representationFields {
		if name == k {
			return true
		}
	}
	return false
}

func stripRepresentation(h http.Header) {
	for _, k := range representationFields {
		delete(h, k)
	}
}
