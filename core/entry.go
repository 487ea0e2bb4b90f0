package core

import (
	"encoding/binary"
	"errors"
	"net/http"
	"time"
	"unsafe"

	"github.com/zeebo/xxh3"
)

// The stored entry is a compact, versioned binary record. Integers that are usually small
// (durations, counts, lengths) are varints; strings are a uvarint length and the bytes.
// Layout:
//
//	kind      byte   kindEntry (see recordKind)
//	version   byte   entryVersion
//	status    uint16 little endian
//	flags     byte   flag* below
//	storedAt  int64  little endian: unix nanos when the response was received (RFC 9111 §4.2.3 response_time)
//	initAge   varint corrected_initial_age in nanos (§4.2.3)
//	fresh     varint freshness_lifetime in nanos (§4.2.1)
//	swr       varint stale-while-revalidate window in nanos (RFC 5861 §3)
//	sie       varint stale-if-error window in nanos (RFC 5861 §4)
//	expires   varint when the tiers drop the entry (freshness + stale windows + jitter), in nanos after storedAt
//	recompute varint nanos the origin took to produce it (XFetch delta)
//	lastMod   varint Last-Modified as unix seconds, 0 = none
//	variant   uint64 little endian, only with flagVariant: the variant hash this entry was stored under
//	key       string the primary key it was stored under, verified on every read
//	vkey      string the normalised request values that selected the variant ("" = no Vary)
//	etag      string only without flagETagField (else it is the value of the first ETag field)
//	route     string route pattern that produced it (metrics label)
//	nTags     uvarint, then tag, stamp pairs: the stamp the tag had in the fleet when the entry
//	          was written to L2 (TagStamper; "" in L1 copies and without stamps), checked on
//	          every L2 read (see tagstamp.go)
//	nFields   uvarint, then name, value pairs in the order the handler wrote them; a name is
//	          uvarint(i<<1 | 1) for commonFields[i], or uvarint(len<<1) and the bytes
//	body      the rest, but for
//	sum       uint64 xxh3 of every byte before it: a value cut or altered in a shared tier is
//	          a miss (checked on every value read from L2; see intact)
//
// Version 5 cut a 1 KiB answer's entry by about 90 bytes against version 4 (fixed 8-byte
// times, ETag twice, field names spelt out).
//
// A vary record (kindVary) holds the primary key, the Vary field names of a URL and the
// variants stored, each with its tier expiry (for eviction when the record is full):
//
//	kind, version, key, nFields, names..., nVariants, (uint64 variant, int64 expires)...
const entryVersion byte = 5

// recordKind is what a stored value is: the first byte of every record this cache writes,
// followed by entryVersion. kindOf reads it; nothing else looks at a value's first bytes.
type recordKind byte

const (
	kindNone   recordKind = 0   // not a record of this cache and version: a miss
	kindEntry  recordKind = 'E' // a stored response
	kindVary   recordKind = 'V' // a URL's Vary record
	kindIgnore recordKind = 'Q' // a route's ignored query parameters (build.go)
)

// kindOf reads the kind of a stored value: kindNone for an empty value, another format or
// version, or garbage (which the decoders then never see).
func kindOf(b []byte) recordKind {
	if len(b) < 2 || b[1] != entryVersion {
		return kindNone
	}
	switch k := recordKind(b[0]); k {
	case kindEntry, kindVary, kindIgnore:
		return k
	}
	return kindNone
}

const (
	flagNoStale  byte = 1 << iota // must-revalidate / proxy-revalidate: never serve stale (RFC 9111 §5.2.2.2, §5.2.2.8)
	flagNegative                  // stored under a negative-caching rule
	flagSMaxAge                   // s-maxage: its implied proxy-revalidate forbids a client's max-stale (RFC 9111 §5.2.2.10)

	// Encoding flags: set by encode, cleared by decode.
	flagVariant   // the variant hash follows the times
	flagETagField // etag is the value of the first ETag field, not stored apart
	flagsEncoding = flagVariant | flagETagField
)

// commonFields are the response field names an entry stores as one byte (a name is matched
// exactly, as the handler wrote it). Append only: the indices are part of the format.
var commonFields = [...]string{
	"Cache-Control", "Content-Type", "Etag", "Last-Modified", "Content-Encoding", "Vary",
	"Expires", "Content-Language", "Content-Disposition", "Link", "Cdn-Cache-Control",
	"Access-Control-Allow-Origin", "X-Content-Type-Options", "Content-Security-Policy",
	"Strict-Transport-Security", "Referrer-Policy", "X-Frame-Options", "Accept-Ranges",
	"Location", "Server", "Date", "Cache-Status", "Content-Location", "Access-Control-Expose-Headers",
	"Access-Control-Allow-Credentials", "Timing-Allow-Origin", "Cross-Origin-Resource-Policy",
	"Permissions-Policy", "X-Request-Id", "Retry-After", "Content-Range", "Allow",
}

// commonField returns the index of name in commonFields, or -1.
func commonField(name string) int {
	switch len(name) {
	case 4:
		switch name {
		case "Etag":
			return 2
		case "Vary":
			return 5
		case "Link":
			return 9
		case "Date":
			return 20
		}
		return -1
	case 12:
		if name == "Content-Type" {
			return 1
		}
	case 13:
		if name == "Cache-Control" {
			return 0
		}
	}
	for i := range commonFields {
		if commonFields[i] == name {
			return i
		}
	}
	return -1
}

var errCorrupt = errors.New("core: corrupt or unknown cache entry")

// errStamps is a fleet answer to TagStamps or TagAddStamped without a stamp per tag.
var errStamps = errors.New("core: fleet returned the wrong number of tag stamps")

// entry is a decoded stored response. Strings and the body alias the buffer they were decoded
// from, which the store hands over to us (copy on read), so decoding allocates only the field slice.
type entry struct {
	status    int
	flags     byte
	storedAt  int64
	initAge   int64
	fresh     int64
	swr       int64
	sie       int64
	expires   int64
	recompute int64
	lastMod   int64
	variant   uint64
	key       string // primary key (verified on read)
	vkey      string // normalised values of the Vary fields ("" when the entry does not vary)
	etag      string
	route     string
	tags      []string
	stamps    []string // the stamps of tags when written to L2 (len(tags), or nil: none)
	fields    []field
	body      []byte
	clen      string // Content-Length, precomputed for entries in the hot set (not encoded)
	ce        string // Content-Encoding, found while decoding (not encoded)
}

type field struct{ name, value string }

// stamp returns the recorded stamp of tag i, "" when none.
func (e *entry) stamp(i int) string {
	if i < len(e.stamps) {
		return e.stamps[i]
	}
	return ""
}

// age is the current_age of RFC 9111 §4.2.3: corrected initial age plus resident time.
func (e *entry) age(now int64) time.Duration {
	a := e.initAge + (now - e.storedAt)
	if a < 0 {
		a = 0
	}
	return time.Duration(a)
}

// ttl is freshness_lifetime - current_age (§4.2): negative once stale.
func (e *entry) ttl(now int64) time.Duration { return time.Duration(e.fresh) - e.age(now) }

func (e *entry) negative() bool { return e.flags&flagNegative != 0 }
func (e *entry) noStale() bool  { return e.flags&flagNoStale != 0 }

// maxStaleOK reports whether a client's max-stale may have the entry when it is stale: not
// when it says must-revalidate, proxy-revalidate or no-cache, nor s-maxage (§5.2.2.10).
func (e *entry) maxStaleOK() bool { return e.flags&(flagNoStale|flagSMaxAge) == 0 }

// values returns the values of every line of a field.
func (e *entry) values(name string) []string {
	var out []string
	for i := range e.fields {
		if e.fields[i].name == name {
			out = append(out, e.fields[i].value)
		}
	}
	return out
}

// size returns an upper bound of the encoded length.
func (e *entry) size() int {
	n := 2 + 2 + 1 + 8 + 7*10 + 8 + 10*6 + len(e.key) + len(e.vkey) + len(e.etag) + len(e.route)
	for i, t := range e.tags {
		n += 10 + len(t) + len(e.stamp(i))
	}
	for _, f := range e.fields {
		n += 10 + len(f.name) + len(f.value)
	}
	return n + len(e.body) + sumLen
}

func (e *entry) encode(dst []byte) []byte {
	start := len(dst)
	flags := e.flags &^ flagsEncoding
	if e.variant != 0 {
		flags |= flagVariant
	}
	if e.etag != "" && e.etag == e.first("Etag") {
		flags |= flagETagField
	}
	dst = append(dst, byte(kindEntry), entryVersion)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(e.status))
	dst = append(dst, flags)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.storedAt))
	for _, v := range [...]int64{e.initAge, e.fresh, e.swr, e.sie, e.expires - e.storedAt, e.recompute, e.lastMod} {
		dst = binary.AppendVarint(dst, v)
	}
	if flags&flagVariant != 0 {
		dst = binary.LittleEndian.AppendUint64(dst, e.variant)
	}
	dst = appendString(dst, e.key)
	dst = appendString(dst, e.vkey)
	if flags&flagETagField == 0 {
		dst = appendString(dst, e.etag)
	}
	dst = appendString(dst, e.route)
	dst = binary.AppendUvarint(dst, uint64(len(e.tags)))
	for i, t := range e.tags {
		dst = appendString(dst, t)
		dst = appendString(dst, e.stamp(i))
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.fields)))
	for _, f := range e.fields {
		if i := commonField(f.name); i >= 0 {
			dst = binary.AppendUvarint(dst, uint64(i)<<1|1)
		} else {
			dst = binary.AppendUvarint(dst, uint64(len(f.name))<<1)
			dst = append(dst, f.name...)
		}
		dst = appendString(dst, f.value)
	}
	dst = append(dst, e.body...)
	return binary.LittleEndian.AppendUint64(dst, xxh3.Hash(dst[start:]))
}

// first returns the value of the first line of a field, "" when there is none.
func (e *entry) first(name string) string {
	for i := range e.fields {
		if e.fields[i].name == name {
			return e.fields[i].value
		}
	}
	return ""
}

// sumLen is the length of an entry's trailing checksum.
const sumLen = 8

// intact reports whether an encoded entry's checksum matches its bytes: the check for values
// read from a shared tier, which anyone with access to it may have cut or rewritten. Entries
// the L1 holds were written by this process, or read from L2 and checked then.
func intact(b []byte) bool {
	if len(b) < sumLen {
		return false
	}
	n := len(b) - sumLen
	return xxh3.Hash(b[:n]) == binary.LittleEndian.Uint64(b[n:])
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decoder reads the encoding; any short or malformed input sets err and yields zero values,
// so a corrupt value becomes a miss, never a panic.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.err = true
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint(limit int) int {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(limit) {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

// name returns a field name: a commonFields entry, or a string aliasing the buffer.
func (d *decoder) name() string {
	x := d.uvarint(2*len(commonFields) + 2*len(d.b))
	if d.err {
		return ""
	}
	if x&1 == 1 {
		if i := x >> 1; i < len(commonFields) {
			return commonFields[i]
		}
		d.err = true
		return ""
	}
	n := x >> 1
	if n == 0 || n > len(d.b) {
		d.err = true
		return ""
	}
	s := unsafe.String(&d.b[0], n)
	d.b = d.b[n:]
	return s
}

// str returns a string aliasing the buffer (never mutated after decoding).
func (d *decoder) str() string {
	n := d.uvarint(len(d.b))
	if d.err || n == 0 {
		return ""
	}
	if n > len(d.b) { // the length counted the varint's own bytes
		d.err = true
		return ""
	}
	s := unsafe.String(&d.b[0], n)
	d.b = d.b[n:]
	return s
}

func decodeEntry(b []byte, e *entry) error {
	fields, err := decodeEntryTo(b, e, e.fields[:0])
	e.fields = fields
	return err
}

// decodeEntryTo decodes b into e, except the fields, which go into the returned slice (using
// the backing array of fields when it is large enough). Keeping the fields out of e lets the
// fast path decode into an array on its stack.
func decodeEntryTo(b []byte, e *entry, fields []field) ([]field, error) {
	if len(b) < 5 || kindOf(b) != kindEntry {
		return nil, errCorrupt
	}
	e.status = int(binary.LittleEndian.Uint16(b[2:]))
	flags := b[4]
	e.flags = flags &^ flagsEncoding
	d := decoder{b: b[5:]}
	e.storedAt = int64(d.u64())
	e.initAge = d.varint()
	e.fresh = d.varint()
	e.swr = d.varint()
	e.sie = d.varint()
	e.expires = e.storedAt + d.varint()
	e.recompute = d.varint()
	e.lastMod = d.varint()
	e.variant = 0
	if flags&flagVariant != 0 {
		e.variant = d.u64()
	}
	e.key = d.str()
	e.vkey = d.str()
	e.etag = ""
	if flags&flagETagField == 0 {
		e.etag = d.str()
	}
	e.route = d.str()
	nt := d.uvarint(len(d.b) / 2)
	e.tags, e.stamps = nil, nil
	if nt > 0 && !d.err {
		s := make([]string, 2*nt) // one allocation for both
		e.tags, e.stamps = s[:nt:nt], s[nt:]
		for i := range e.tags {
			e.tags[i] = d.str()
			e.stamps[i] = d.str()
		}
	}
	nf := d.uvarint(len(d.b) / 2)
	if d.err {
		return nil, errCorrupt
	}
	if cap(fields) >= nf {
		fields = fields[:nf]
	} else {
		fields = make([]field, nf)
	}
	e.ce = ""
	etagField := flags&flagETagField != 0 // the first ETag field is e.etag
	for i := range fields {
		fields[i].name = d.name()
		fields[i].value = d.str()
		switch fields[i].name {
		case "Content-Encoding":
			e.ce = fields[i].value
		case "Etag":
			if etagField {
				e.etag, etagField = fields[i].value, false
			}
		}
	}
	if d.err || e.status < 100 || e.status > 999 || e.key == "" || len(d.b) < sumLen {
		return nil, errCorrupt
	}
	e.body = d.b[:len(d.b)-sumLen]
	return fields, nil
}

// varyRecord is stored under the URL's primary key when its response varies.
type varyRecord struct {
	key      string   // primary key (verified on read)
	fields   []string // canonical request header names
	variants []variantSlot
}

// variantSlot is one stored variant of a URL.
type variantSlot struct {
	hash    uint64
	expires int64 // tier expiry of the variant's entry, unix nanos
}

// maxVaryFields bounds the field names of one record (a response naming more is not stored).
const maxVaryFields = 16

func (v *varyRecord) encode(dst []byte) []byte {
	dst = append(dst, byte(kindVary), entryVersion)
	dst = appendString(dst, v.key)
	dst = binary.AppendUvarint(dst, uint64(len(v.fields)))
	for _, f := range v.fields {
		dst = appendString(dst, f)
	}
	dst = binary.AppendUvarint(dst, uint64(len(v.variants)))
	for _, s := range v.variants {
		dst = binary.LittleEndian.AppendUint64(dst, s.hash)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(s.expires))
	}
	return dst
}

func decodeVary(b []byte, v *varyRecord) error {
	if kindOf(b) != kindVary {
		return errCorrupt
	}
	d := decoder{b: b[2:]}
	v.key = d.str()
	n := d.uvarint(maxVaryFields)
	if d.err || v.key == "" {
		return errCorrupt
	}
	v.fields = make([]string, 0, n)
	for range n {
		v.fields = append(v.fields, d.str())
	}
	m := d.uvarint(len(d.b) / 16)
	if d.err {
		return errCorrupt
	}
	v.variants = make([]variantSlot, 0, m)
	for range m {
		v.variants = append(v.variants, variantSlot{hash: d.u64(), expires: int64(d.u64())})
	}
	if d.err || len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}

func (v *varyRecord) has(h uint64) bool {
	for _, s := range v.variants {
		if s.hash == h {
			return true
		}
	}
	return false
}

// hopByHop lists the fields that are never stored (RFC 9110 §7.6.1), plus fields the cache
// computes itself on every answer (Age, §5.1; Content-Length) and the tag headers that are
// kept in the entry instead. An upstream's Cache-Status is stored: see statusLines.
var hopByHop = map[string]bool{
	"Connection":          true,
	"Keep-Alive":          true,
	"Proxy-Connection":    true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
	"Age":                 true,
	"Content-Length":      true,
	"Surrogate-Key":       true,
	"Cache-Tag":           true,
	"Surrogate-Control":   true,
}

// fieldsFrom snapshots a header map into stored fields, dropping hop-by-hop fields, the fields
// named by Connection (RFC 9110 §7.6.1), and those in strip (qualified private / no-cache,
// RFC 9111 §5.2.2.4 and §5.2.2.7).
func fieldsFrom(h http.Header, strip []string) []field {
	var conn []string
	for t := range elems(h["Connection"]) {
		conn = append(conn, t)
	}
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	out := make([]field, 0, n)
	for name, vs := range h {
		if hopByHop[name] || containsFold(conn, name) || containsFold(strip, name) {
			continue
		}
		for _, v := range vs {
			out = append(out, field{name, v})
		}
	}
	sortFields(out)
	return out
}

// sortFields orders fields by name (stable within a name), so encodings are deterministic and
// repeated lines of one field stay in their original order.
func sortFields(f []field) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].name < f[j-1].name; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}
