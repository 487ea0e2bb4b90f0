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
