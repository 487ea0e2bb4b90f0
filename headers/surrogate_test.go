package headers

import (
	"reflect"
	"testing"
)

func TestSurrogateKey(t *testing.T) {
	tests := []struct {
		tags []string
		want string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"a"}, "a"},
		{[]string{"product:1", "category:books"}, "product:1 category:books"},
		{[]string{"a", "", "b", "a"}, "a b"},
		{[]string{"", "a"}, "a"},
	}
	for _, tt := range tests {
		if got := SurrogateKey(tt.tags); got != tt.want {
			t.Errorf("SurrogateKey(%q) = %q, want %q", tt.tags, got, tt.want)
		}
	}
}

func TestParseSurrogateKey(t *testing.T) {
	tests := []struct {
		values []string
		want   []string
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{"   "}, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"product:1 category:books"}, []string{"product:1", "category:books"}},
		{[]string{"  a\t b  ", "c a"}, []string{"a", "b", "c"}},
		{[]string{"a,b, c ,,d"}, []string{"a", "b", "c", "d"}}, // Cache-Tag style
	}
	for _, tt := range tests {
		got := ParseSurrogateKey(tt.values)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSurrogateKey(%q): got %q, want %q", tt.values, got, tt.want)
		}
	}
}

func TestSurrogateKeyRoundTrip(t *testing.T) {
	tags := []string{"product:1", "category:books", "all"}
	got := ParseSurrogateKey([]string{SurrogateKey(tags)})
	if !reflect.DeepEqual(got, tags) {
		t.Errorf("got %q, want %q", got, tags)
	}
}
