package demo

import (
	"strings"
	"testing"
)

// The banner says what each route needs: without STRATA_ADMIN_TOKEN the purge endpoint is
// disabled, and says so; with it, the banner shows how to call it, never the token itself.
func TestBanner(t *testing.T) {
	f := Flags{Addr: "127.0.0.1:8080"}
	off := Banner("chi", f, "")
	on := Banner("chi", f, "s3cret")
	for _, b := range []string{off, on} {
		for _, want := range []string{"GET  /products/{id}", "GET  /me ", "Bearer alice-token", "POST /admin/purge", "GET  /metrics", "PUT  /debug/fail"} {
			if !strings.Contains(b, want) {
				t.Fatalf("banner without %q:\n%s", want, b)
			}
		}
	}
	if !strings.Contains(off, "DISABLED: STRATA_ADMIN_TOKEN is not set") || strings.Contains(off, "/admin/purge?tag=product:1") {
		t.Fatalf("banner without a token:\n%s", off)
	}
	if strings.Contains(on, "DISABLED") || !strings.Contains(on, `-H "Authorization: Bearer $STRATA_ADMIN_TOKEN" 'http://127.0.0.1:8080/admin/purge?tag=product:1'`) {
		t.Fatalf("banner with a token:\n%s", on)
	}
	if strings.Contains(on, "s3cret") {
		t.Fatal("the banner prints the admin token")
	}
}

// TestCatalogueURL: -db wins; else database 1 of the -redis server (0 when the cache is on
// 1), so two instances given one -redis share a catalogue apart from the cache's keys; else
// in memory.
func TestCatalogueURL(t *testing.T) {
	for _, tc := range []struct {
		f       Flags
		want    string
		wantErr string
	}{
		{Flags{}, "", ""},
		{Flags{DB: "redis://db:6380/0"}, "redis://db:6380/0", ""},
		{Flags{Redis: "redis://127.0.0.1:6379/0", DB: "redis://db:6380/2"}, "redis://db:6380/2", ""},
		{Flags{Redis: "redis://127.0.0.1:6379/0"}, "redis://127.0.0.1:6379/1", ""},
		{Flags{Redis: "redis://127.0.0.1:6379"}, "redis://127.0.0.1:6379/1", ""},
		{Flags{Redis: "redis://127.0.0.1:6379/1"}, "redis://127.0.0.1:6379/0", ""},
		{Flags{Redis: "rediss://u:pw@cache:6379/3?dial_timeout=1s"}, "rediss://u:pw@cache:6379/1?dial_timeout=1s", ""}, //nolint:gosec // a made-up password: the test checks it is kept
		{Flags{Redis: "unix:///run/redis.sock?db=0"}, "unix:///run/redis.sock?db=1", ""},
		{Flags{Redis: "redis://a:7000?addr=b:7001"}, "", "cluster"},
		{Flags{Redis: "http://nope"}, "", "redis://"},
	} {
		got, err := CatalogueURL(tc.f)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("CatalogueURL(%+v) = %q, %v; want an error about %q", tc.f, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CatalogueURL(%+v) = %q, %v; want %q", tc.f, got, err, tc.want)
		}
	}
	if b := Banner("chi", Flags{Addr: "127.0.0.1:8080", Redis: "redis://:pw@127.0.0.1:6379/0"}, ""); !strings.Contains(b, "catalogue at redis://:xxxxx@127.0.0.1:6379/1") {
		t.Errorf("banner does not say where the catalogue is (password redacted):\n%s", b)
	}
}
