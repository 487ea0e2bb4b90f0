package msgpackcodec

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/strata-cache/strata/appcache"
)

// product is a realistic catalogue row, about 1 KiB of JSON.
type product struct {
	ID          int64             `json:"id"`
	SKU         string            `json:"sku"`
	Name        string            `json:"name"`
	Brand       string            `json:"brand"`
	PriceCents  int64             `json:"price_cents"`
	Currency    string            `json:"currency"`
	Stock       int               `json:"stock"`
	Active      bool              `json:"active"`
	Rating      float64           `json:"rating"`
	Categories  []string          `json:"categories"`
	Attributes  map[string]string `json:"attributes"`
	Variants    []variant         `json:"variants"`
	Description string            `json:"description"`
}

type variant struct {
	SKU        string `json:"sku"`
	Color      string `json:"color"`
	PriceCents int64  `json:"price_cents"`
	Stock      int    `json:"stock"`
}

func newProduct() product {
	return product{
		ID: 42, SKU: "LAMP-0042", Name: "Halden dimmable desk lamp", Brand: "Nordlys",
		PriceCents: 3950, Currency: "EUR", Stock: 118, Active: true, Rating: 4.6,
		Categories: []string{"lighting", "office", "desk-lamps"},
		Attributes: map[string]string{"material": "aluminium", "bulb": "E27 LED", "cable": "1.8 m", "warranty": "2 years"},
		Variants: []variant{
			{"LAMP-0042-BLK", "black", 3950, 60}, {"LAMP-0042-WHT", "white", 3950, 41},
			{"LAMP-0042-BRS", "brass", 4450, 17},
		},
		Description: strings.Repeat("A warm, dimmable desk lamp with a weighted base. ", 12),
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range []Codec[product]{{}, {StructTag: "json"}, {Arrays: true}, {StructTag: "json", Arrays: true}} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			want := newProduct()
			b, err := c.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			var got product
			if err := c.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			// The result does not alias the input.
			clear(b)
			if got.Name != want.Name {
				t.Fatal("decoded value aliases the bytes")
			}
		})
	}
}

func TestStructTag(t *testing.T) {
	b, _ := Codec[variant]{StructTag: "json"}.Marshal(variant{SKU: "x", PriceCents: 1})
	if !strings.Contains(string(b), "price_cents") {
		t.Fatalf("json names not used: %q", b)
	}
	b, _ = Codec[variant]{}.Marshal(variant{SKU: "x", PriceCents: 1})
	if !strings.Contains(string(b), "PriceCents") {
		t.Fatalf("field names not used: %q", b)
	}
}

func TestDecodeError(t *testing.T) {
	var p product
	if err := (Codec[product]{}).Unmarshal([]byte{0xc1}, &p); err == nil {
		t.Fatal("no error for a reserved byte")
	}
}

func TestInCache(t *testing.T) {
	c, err := appcache.New(appcache.Options[product]{Codec: Codec[product]{StructTag: "json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	loads := 0
	load := func(context.Context) (product, error) { loads++; return newProduct(), nil }
	for range 2 {
		p, err := c.Fetch(context.Background(), "42", load)
		if err != nil || !reflect.DeepEqual(p, newProduct()) {
			t.Fatalf("%+v %v", p, err)
		}
	}
	if loads != 1 {
		t.Fatalf("%d loads", loads)
	}
}

func TestSizes(t *testing.T) {
	p := newProduct()
	j, _ := json.Marshal(p)
	m, _ := Codec[product]{StructTag: "json"}.Marshal(p)
	a, _ := Codec[product]{Arrays: true}.Marshal(p)
	t.Logf("json %d B, msgpack %d B, msgpack arrays %d B", len(j), len(m), len(a))
	if len(j) < 900 || len(j) > 1200 {
		t.Errorf("the benchmark's value is %d B of JSON, want about 1 KiB", len(j))
	}
	if len(m) >= len(j) || len(a) >= len(m) {
		t.Errorf("sizes json %d, msgpack %d, arrays %d", len(j), len(m), len(a))
	}
}
