// Package msgpackcodec is an appcache.Codec of MessagePack (github.com/vmihailenco/msgpack/v5),
// in a module of its own so that the strata module does not depend on msgpack.
//
// Against appcache's default JSON codec, on a 1.1 KiB product value (the package's benchmarks,
// on a shared 2-core machine): encoding is about 1.3× faster (2 allocations instead of 11),
// decoding about 2.5× faster, an L1 Fetch hit about 3× faster, and the bytes stored are 8%
// smaller (24% with Arrays). With Arrays, structs are encoded by position rather than by
// field name: smaller again, but a struct whose fields change must then come with a new
// appcache.Options.Version (which a changed T should have in any case).
package msgpackcodec

import (
	"bytes"
	"sync"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/strata-cache/strata/appcache"
)

// Codec encodes T with MessagePack. The zero value is ready to use; it is safe for concurrent
// use.
type Codec[T any] struct {
	// StructTag is the struct tag whose names are used for fields that have no `msgpack` tag,
	// for example "json" to keep the names a type already declares for encoding/json.
	// Default "": msgpack's own rules (the `msgpack` tag, else the field's name).
	StructTag string
	// Arrays encodes structs as arrays of their fields, in order, rather than maps keyed by
	// name (msgpack's UseArrayEncodedStructs). Default false.
	Arrays bool
}

var _ appcache.Codec[struct{}] = Codec[struct{}]{}

// coder is a pooled encoder and decoder with their buffers.
type coder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
	rd  bytes.Reader
	dec *msgpack.Decoder
}

// maxPooled: a coder whose buffer grew past it is not kept.
const maxPooled = 64 << 10

var coders = sync.Pool{New: func() any {
	c := new(coder)
	c.enc = msgpack.NewEncoder(&c.buf)
	c.dec = msgpack.NewDecoder(&c.rd)
	return c
}}

func put(c *coder) {
	if c.buf.Cap() > maxPooled {
		return
	}
	c.rd.Reset(nil)
	coders.Put(c)
}

// Marshal encodes v; the result is a slice of its own.
func (m Codec[T]) Marshal(v T) ([]byte, error) {
	c := coders.Get().(*coder)
	defer put(c)
	c.buf.Reset()
	c.enc.SetCustomStructTag(m.StructTag)
	c.enc.UseArrayEncodedStructs(m.Arrays)
	if err := c.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.Clone(c.buf.Bytes()), nil
}

// Unmarshal decodes b into v; v does not alias b.
func (m Codec[T]) Unmarshal(b []byte, v *T) error {
	c := coders.Get().(*coder)
	defer put(c)
	c.rd.Reset(b)
	c.dec.ResetReader(&c.rd)
	c.dec.SetCustomStructTag(m.StructTag)
	return c.dec.Decode(v)
}
