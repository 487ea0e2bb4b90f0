package redisstore_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store/redisstore"
)

var _ core.TagStamper = (*redisstore.Store)(nil)

// TestTagStamps: a tag's stamp is created by the first TagAddStamped, kept by the next ones,
// read by TagStamps, and replaced by another after TagPurge (or after Redis lost it).
func TestTagStamps(t *testing.T) {
	srv := redistest.Start(t)
	testTagStamps(t, newRedis(t, srv, redisstore.Options{Timeout: time.Second}))
}

func testTagStamps(t *testing.T, r *redisstore.Store) {
	t.Helper()
	var tags []string
	for i := range 20 { // spread over the slots of a cluster
		tags = append(tags, "st"+strconv.Itoa(i))
	}
	if got, err := r.TagStamps(ctx, tags[:2]); err != nil || len(got) != 2 || got[0] != "" || got[1] != "" {
		t.Fatalf("TagStamps of new tags = %q, %v; want two empty stamps", got, err)
	}
	first, err := r.TagAddStamped(ctx, tags, "k1", time.Minute)
	if err != nil || len(first) != len(tags) {
		t.Fatalf("TagAddStamped = %q, %v", first, err)
	}
	for i, s := range first {
		if len(s) < 16 {
			t.Fatalf("stamp %d = %q, want a random value", i, s)
		}
	}
	again, err := r.TagAddStamped(ctx, tags, "k2", time.Minute)
	if err != nil || !slices.Equal(again, first) {
		t.Fatalf("second TagAddStamped = %q, %v; want the stamps of the first %q", again, err, first)
	}
	if got, err := r.TagStamps(ctx, tags); err != nil || !slices.Equal(got, first) {
		t.Fatalf("TagStamps = %q, %v; want %q", got, err, first)
	}
	keys, err := r.TagPurge(ctx, tags[0])
	if err != nil || len(keys) != 2 {
		t.Fatalf("TagPurge = %q, %v; want k1 and k2", keys, err)
	}
	got, err := r.TagStamps(ctx, tags[:2])
	if err != nil || got[0] != "" || got[1] != first[1] {
		t.Fatalf("TagStamps after purging %s = %q, %v; want it empty, the other kept", tags[0], got, err)
	}
	next, err := r.TagAddStamped(ctx, tags[:1], "k3", time.Minute)
	if err != nil || next[0] == "" || next[0] == first[0] {
		t.Fatalf("TagAddStamped after a purge = %q, %v; want a new stamp (was %q)", next, err, first[0])
	}
	if err := r.TagDelete(ctx, tags[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.TagStamps(ctx, tags[:1]); got[0] != "" {
		t.Fatalf("TagStamps after TagDelete = %q, want empty", got)
	}
	// The stamp's expiry follows the set's, growing only.
	if ttl := r.Client().PTTL(ctx, r.StampKey(tags[1])).Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("stamp PTTL %s, want about a minute", ttl)
	}
	if _, err := r.TagAddStamped(ctx, tags[1:2], "k4", time.Second); err != nil {
		t.Fatal(err)
	}
	if ttl := r.Client().PTTL(ctx, r.StampKey(tags[1])).Val(); ttl <= 50*time.Second {
		t.Fatalf("stamp PTTL %s after a shorter add, want it kept", ttl)
	}
}
