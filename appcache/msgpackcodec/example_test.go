package msgpackcodec_test

import (
	"context"
	"fmt"

	"github.com/strata-cache/strata/appcache"
	"github.com/strata-cache/strata/appcache/msgpackcodec"
)

type Product struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Price int    `json:"price"`
}

// A cache of products stored as MessagePack, with the names of their json tags.
func Example() {
	c, _ := appcache.New(appcache.Options[Product]{
		Namespace: "products",
		Version:   2, // the stored form changed from JSON: a new schema version
		Codec:     msgpackcodec.Codec[Product]{StructTag: "json"},
	})
	defer func() { _ = c.Close() }()
	p, err := c.Fetch(context.Background(), "1", func(context.Context) (Product, error) {
		return Product{1, "lamp", 30}, nil
	})
	fmt.Println(p.Name, p.Price, err)
	// Output: lamp 30 <nil>
}
