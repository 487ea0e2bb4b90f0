package headers

import (
	"net/http"
	"reflect"
	"testing"
)

func TestMergeVary(t *testing.T) {
	tests := []struct {
		name   string
		before []string // existing Vary lines; nil = absent
		add    []string
		want   []string
	}{
		{"absent", nil, []string{"Accept"}, []string{"Accept"}},
		{"canonicalised", nil, []string{"accept-encoding"}, []string{"Accept-Encoding"}},
		{"deduplicated in input", nil, []string{"Accept", "accept", "ACCEPT"}, []string{"Accept"}},
		{"comma list in input", nil, []string{" accept , Origin,, "}, []string{"Accept, Origin"}},
		{"already there, other case", []string{"ACCEPT-ENCODING"}, []string{"Accept-Encoding"}, []string{"ACCEPT-ENCODING"}},
		{"appended to existing", []string{"Cookie"}, []string{"Accept"}, []string{"Cookie, Accept"}},
		{"several lines joined", []string{"Cookie", "origin, Cookie"}, []string{"Accept", "Origin"}, []string{"Cookie, origin, Accept"}},
		{"empty existing line", []string{""}, []string{"Accept"}, []string{"Accept"}},
		{"nothing to add", []string{"Cookie"}, nil, []string{"Cookie"}},
		{"empty field ignored", []string{"Cookie"}, []string{"", " "}, []string{"Cookie"}},
		{"invalid field name ignored", nil, []string{"bad field", "x\"y"}, nil},
		{"existing star absorbs", []string{"*"}, []string{"Accept"}, []string{"*"}},
		{"existing star in list", []string{"Cookie, *"}, []string{"Accept"}, []string{"Cookie, *"}},
		{"adding star", []string{"Cookie"}, []string{"Accept", "*"}, []string{"*"}},
		{"star already listed with others", []string{"Accept"}, []string{"*"}, []string{"*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.before != nil {
				h["Vary"] = append([]string(nil), tt.before...)
			}
			MergeVary(h, tt.add...)
			if got := h["Vary"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	MergeVary(nil, "Accept") // must not panic
}

func TestMergeVaryNoAllocWhenPresent(t *testing.T) {
	h := http.Header{"Vary": {"Accept-Encoding, Accept"}}
	if n := testing.AllocsPerRun(100, func() { MergeVary(h, "accept", "Accept-Encoding") }); n != 0 {
		t.Errorf("MergeVary with nothing to add: %v allocs, want 0", n)
	}
}
