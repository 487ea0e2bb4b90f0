package negative

import (
	"errors"
	"testing"
	"time"

	"github.com/strata-cache/strata/headers"
)

func TestValidateDefaults(t *testing.T) {
	r, err := Rules{}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if r.TTL != 10*time.Second || r.MaxTTL != 5*time.Minute || len(r.Statuses) != 2 {
		t.Fatalf("got %+v", r)
	}
	if _, err := (Rules{Statuses: []int{500}}).Validate(); !errors.Is(err, ErrStatus) {
		t.Fatalf("500: got %v, want ErrStatus", err)
	}
	if _, err := (Rules{Statuses: []int{200}}).Validate(); !errors.Is(err, ErrStatus) {
		t.Fatalf("200: got %v, want ErrStatus", err)
	}
	if _, err := (Rules{MaxTTL: -1}).Validate(); err == nil {
		t.Fatal("negative MaxTTL accepted")
	}
}

func TestLifetime(t *testing.T) {
	def, _ := Rules{}.Validate()
	more, _ := Rules{Statuses: []int{404, 410, 301, 501}, TTL: time.Minute, MaxTTL: 2 * time.Minute}.Validate()
	off, _ := Rules{TTL: -1}.Validate()
	cc := func(s string) headers.Directives { return headers.ParseCacheControl([]string{s}) }
	tests := []struct {
		name     string
		r        Rules
		status   int
		cc       string
		explicit bool
		route    time.Duration
		want     time.Duration
		ok       bool
	}{
		{"404 default", def, 404, "", false, 0, 10 * time.Second, true},
		{"410 default", def, 410, "", false, 0, 10 * time.Second, true},
		{"301 not by default", def, 301, "", false, 0, 0, false},
		{"301 configured", more, 301, "", false, 0, time.Minute, true},
		{"500 never", def, 500, "", false, 0, 0, false},
		{"503 never even configured", more, 503, "", false, 0, 0, false},
		{"no-store wins", def, 404, "no-store", false, 0, 0, false},
		{"private wins", def, 404, "private", false, 0, 0, false},
		{"no-cache wins", def, 404, "no-cache", false, 0, 0, false},
		{"explicit freshness wins", def, 404, "max-age=60", true, 0, 0, false},
		{"route override", def, 404, "", false, 3 * time.Second, 3 * time.Second, true},
		{"route override capped", more, 404, "", false, time.Hour, 2 * time.Minute, true},
		{"disabled", off, 404, "", false, 0, 0, false},
		{"200 is not negative", def, 200, "", false, 0, 0, false},
	}
	for _, tt := range tests {
		got, ok := tt.r.Lifetime(tt.status, cc(tt.cc), tt.explicit, tt.route)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got (%v, %v), want (%v, %v)", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
