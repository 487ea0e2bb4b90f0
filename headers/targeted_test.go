package headers

import "testing"

func TestParseTargeted(t *testing.T) {
	tests := []struct {
		in   []string
		want string // Directives.String(); "-" for an invalid or empty field
	}{
		{[]string{"max-age=3600"}, "max-age=3600"},
		{[]string{"max-age=99999999999"}, "max-age=2147483648"}, // §1.2.2 clamp
		{[]string{"foobar, max-age=3600"}, "max-age=3600"},      // an extension is ignored
		{[]string{"no-store"}, "no-store"},
		{[]string{"private", "max-age=5"}, "private, max-age=5"}, // field lines form one list
		{[]string{`no-cache="Set-Cookie"`}, `no-cache="Set-Cookie"`},
		{[]string{"max-age=60;foo=1, must-revalidate"}, "max-age=60, must-revalidate"},
		{[]string{"no-store=?0, max-age=1"}, "max-age=1"},
		{[]string{"none"}, ""}, // valid, names nothing (RFC 9213 §3.1's example)
		{[]string{"max-age=5, max-age=10"}, "max-age=5"},
		{[]string{""}, "-"},
		{[]string{"  "}, "-"},
		{[]string{"max-age=10000, &&&&&"}, "-"}, // not a Structured Field
		{[]string{`max-age="10000"`}, "-"},      // wrong type
		{[]string{"max-age=1.5"}, "-"},
		{[]string{"max-age=-1"}, "-"},
		{[]string{"max-age =100"}, "-"},
		{[]string{"max-age= 100"}, "-"},
		{[]string{"MaX-aGe=3600"}, "-"}, // keys are lower case
		{[]string{"no-store=1"}, "-"},
		{[]string{"max-age=1,"}, "-"},
		{[]string{"max-age=1234567890123456"}, "-"},
		{[]string{"x=(a b);q=1, max-age=2"}, "max-age=2"},
		{[]string{"x=:aGk=:, y=?1, z=1.25, max-age=2"}, "max-age=2"},
	}
	for _, tt := range tests {
		d, ok := ParseTargeted(tt.in)
		got := "-"
		if ok {
			got = d.String()
		}
		if got != tt.want {
			t.Errorf("ParseTargeted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseTargeted(f *testing.F) {
	f.Add("max-age=3600, private=\"a, b\"")
	f.Add("x=(a b);q=1.5")
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseTargeted([]string{s})
		if !ok && d.String() != "" {
			t.Fatalf("invalid field %q has directives %q", s, d.String())
		}
	})
}
