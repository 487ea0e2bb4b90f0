// Package etag generates entity-tags, compares them, evaluates HTTP
// preconditions and provides a middleware that adds ETag and 304 answers to
// responses that no cache stores (private pages, for instance).
//
// It implements RFC 9110: entity-tags and their comparison (§8.8.3), the
// conditional request header fields (§13.1) and their order of evaluation
// (§13.2.2). It imports only the standard library and github.com/zeebo/xxh3.
//
// # Generating entity-tags
//
// Strong and Weak hash a body with xxh3-128 and encode the 16 bytes as
// unpadded base64url, giving a 24-byte strong tag such as
// "Ecg9nB7jaBZMCr4XtV22nA" (26 bytes with the W/ prefix). AppendStrong and
// AppendWeak write into a caller's buffer without allocating. Hashing runs at
// memory speed; see the package benchmarks.
//
// # Comparing and matching
//
// StrongEqual and WeakEqual compare two entity-tags by the strong and weak
// comparison functions of §8.8.3.2. WeakMatch (If-None-Match) and StrongMatch
// (If-Match) look for a tag in a field value. The field value is scanned by
// slicing, without allocation, and read tolerantly:
//
//   - OWS around elements and empty elements (", ,") are skipped;
//   - a comma inside a quoted opaque-tag does not end an element;
//   - an element that is not a valid entity-tag (an unquoted token, a
//     lower-case "w/", a tag followed by junk) never matches but does not
//     stop the scan, so a later valid element still can;
//   - a "*" element matches any existing representation, that is any
//     non-empty etag argument, even when it appears inside a list;
//   - an empty etag argument means there is no representation: nothing
//     matches it, not even "*".
//
// An invalid element never matches, so a malformed If-None-Match at worst
// costs a full 200, and a malformed If-Match a 412: both the safe outcome.
//
// # Evaluating preconditions
//
// Evaluate applies If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since in the order of §13.2.2 and returns Proceed, Unmodified
// (304) or PreconditionFailed (412). Each field may span several field lines;
// a date field sent more than once, or holding an invalid date, is ignored.
// NotModified wraps Evaluate for handlers that know their validators before
// they write a body:
//
//	func show(w http.ResponseWriter, r *http.Request) {
//		doc := load(r)
//		if etag.NotModified(w, r, doc.ETag, doc.Updated) {
//			return // 304 or 412 already written
//		}
//		w.Write(doc.Body)
//	}
//
// # Middleware
//
// Middleware (or MiddlewareWithOptions) wraps a handler. It touches only GET
// and HEAD requests, and only final 200 responses:
//
//   - When the handler set no ETag, the body is buffered (up to
//     Options.MaxBody, 1 MiB by default) and a strong ETag of it is added
//     when the handler returns; then the preconditions are evaluated and the
//     client gets a 304 without a body, or the 200 with its Content-Length.
//   - When the handler set its own ETag, it is kept and the preconditions are
//     evaluated against it (and Last-Modified, if set) as soon as the status
//     is written; a 304 or 412 is sent then, and the body the handler writes
//     afterwards is discarded. Nothing is buffered.
//   - A body that outgrows MaxBody, or a handler that flushes (http.Flusher or
//     http.ResponseController) or hijacks the connection, switches the
//     response to streaming: the header and the bytes buffered so far are
//     written and the rest passes through, without a generated ETag.
//   - Responses with a Content-Encoding other than identity, a Content-Range,
//     a Trailer declaration or a Content-Length above MaxBody get no
//     generated ETag. In these cases and the streaming one, a Last-Modified
//     set by the handler is still evaluated. As the middleware only acts on
//     a 200, it knows the representation exists: "*" in If-Match holds and
//     "*" in If-None-Match fails even when there is no ETag.
//   - Any other status (a 304 the handler wrote itself, 206, errors,
//     redirects) and every other method pass through untouched.
//   - A HEAD handler that writes no body, or a body whose length disagrees
//     with the Content-Length the handler set, gets no generated ETag: those
//     bytes are not the representation.
//
// Header fields are snapshotted when the status is written, as net/http
// does: changes made later (other than http.TrailerPrefix trailers) are
// ignored. The 304 keeps Cache-Control, Content-Location, Date, ETag,
// Expires, Vary and any other response field (Set-Cookie, for one) but drops
// the representation metadata of §15.4.5 (Content-Type, Content-Length,
// Content-Encoding and the like, and Last-Modified when there is an ETag).
//
// The wrapper exposes Unwrap, so http.ResponseController reaches the
// underlying writer's deadlines; Flush, FlushError, Hijack and ReadFrom are
// implemented by the wrapper itself. When the handler panics the panic
// propagates and nothing buffered is written, so a recovering middleware
// further out can still send its own response.
//
// The middleware does not compute If-Range (§13.2.2 step 5) or serve ranges;
// handlers that do, such as http.ServeContent, answer 206 or 304 themselves
// and pass through.
package etag
