package demo

import (
	"testing"

	"github.com/strata-cache/strata/core"
)

func TestCDNPurger(t *testing.T) {
	if p, err := cdnPurger(""); p != nil || err != nil {
		t.Fatalf("no -cdn-purge: %v, %v; want no purger", p, err)
	}
	p, err := cdnPurger("http://127.0.0.1:6081")
	if err != nil {
		t.Fatal(err)
	}
	hp, ok := p.(*core.HTTPPurger)
	if !ok || hp.Endpoint != "http://127.0.0.1:6081" || hp.TagHeader != "xkey-purge" {
		t.Fatalf("purger %#v, want HTTPPurger to the endpoint with TagHeader xkey-purge", p)
	}
	for _, bad := range []string{"127.0.0.1:6081", "ftp://x", "http://", "::"} {
		if _, err := cdnPurger(bad); err == nil {
			t.Errorf("-cdn-purge %q: no error", bad)
		}
	}
}
