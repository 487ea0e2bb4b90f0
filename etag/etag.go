package etag

import (
	"encoding/base64"

	"github.com/zeebo/xxh3"
)

// encodedLen is the length of the unquoted opaque part: 16 hash bytes in
// unpadded base64url.
const encodedLen = 22

// strongLen and weakLen are the lengths of the complete entity-tags produced
// by Strong and Weak.
const (
	strongLen = encodedLen + 2 // "…"
	weakLen   = strongLen + 2  // W/"…"
)

// Strong returns a strong entity-tag for body: the xxh3-128 hash of the bytes
// in unpadded base64url (22 characters), enclosed in double quotes:
// "Ecg9nB7jaBZMCr4XtV22nA" for "hello, world". Equal bodies give equal tags;
// the tag is safe to use in an ETag field as is.
//
// It allocates only the returned string.
func Strong(body []byte) string {
	var buf [strongLen]byte
	return string(AppendStrong(buf[:0], body))
}

// Weak returns the weak form of Strong(body), W/"…". Use it when the bytes are
// not the only thing that identifies the representation, for example when an
// encoder further down the line may change them.
func Weak(body []byte) string {
	var buf [weakLen]byte
	return string(AppendWeak(buf[:0], body))
}

// AppendStrong appends Strong(body) to dst and returns the extended slice.
// It does not allocate when dst has room for 24 more bytes.
func AppendStrong(dst, body []byte) []byte {
	sum := xxh3.Hash128(body).Bytes()
	dst = append(dst, '"')
	dst = base64.RawURLEncoding.AppendEncode(dst, sum[:])
	return append(dst, '"')
}

// AppendWeak appends Weak(body) to dst and returns the extended slice.
// It does not allocate when dst has room for 26 more bytes.
func AppendWeak(dst, body []byte) []byte {
	return AppendStrong(append(dst, 'W', '/'), body)
}
