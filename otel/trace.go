package strataotel

import (
	"context"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-cache/strata/core"
)

// maxSpanAttrs is the number of attributes spanAttrs appends at most.
const maxSpanAttrs = 8

var attrBufs = sync.Pool{New: func() any { return new([maxSpanAttrs]attribute.KeyValue) }}

// trace records the decision on the request's span: an event (ModeEvents) or a child span
// (ModeSpans). Nothing is built when the span does not record (none, or not sampled).
func (o *Observer) trace(ctx context.Context, ev *core.Event) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	// The API copies an option's attributes into the event or span it builds (trace's
	// NewEventConfig, NewSpanStartConfig): the buffer is free again once they returned.
	buf := attrBufs.Get().(*[maxSpanAttrs]attribute.KeyValue)
	defer func() {
		*buf = [maxSpanAttrs]attribute.KeyValue{} // keep no strings alive in the pool
		attrBufs.Put(buf)
	}()
	attrs := spanAttrs(buf[:0], ev)
	if o.mode == ModeSpans {
		// The event comes when the request has been answered: the child span starts
		// Duration before now, when the request entered the cache.
		// Duration is measured on core.Config.Clock: an injected clock may report none, or
		// a negative one.
		end := time.Now()
		_, child := o.tracer.Start(ctx, SpanName, trace.WithTimestamp(end.Add(-max(ev.Duration, 0))),
			trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
		child.End(trace.WithTimestamp(end))
		return
	}
	span.AddEvent(EventName, trace.WithAttributes(attrs...))
}

// spanAttrs appends the attributes of a decision to a: result and stored always, the others
// when the event has them. The route is the one reported, uncapped (a span is not a series).
func spanAttrs(a []attribute.KeyValue, ev *core.Event) []attribute.KeyValue {
	a = append(a, resultAttr(ev.Result), AttrStored.Bool(ev.Stored))
	if t := tierLabel(ev.Tier); t != "" {
		a = append(a, AttrTier.String(t))
	}
	if ev.Reason != "" {
		a = append(a, AttrReason.String(reasonLabel(ev.Reason)))
	}
	if ev.KeyHash != 0 {
		a = append(a, AttrKey.String(strconv.FormatUint(ev.KeyHash, 16)))
	}
	if ev.Route != "" {
		a = append(a, AttrRoute.String(ev.Route))
	}
	if ev.Status != 0 {
		a = append(a, AttrStatus.Int(ev.Status))
	}
	if ev.Origin > 0 {
		a = append(a, AttrOriginMS.Float64(float64(ev.Origin)/float64(time.Millisecond)))
	}
	return a
}
