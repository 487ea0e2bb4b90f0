package memcached_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/strata-cache/strata/store/memcached"
)

// Example stores and reads an entry on a memcached at 127.0.0.1:11211. It has no Output
// comment because it needs a running server; with core, the store becomes the cache's L2
// (core.Config.L2).
func Example() {
	s, err := memcached.NewFromServers([]string{"127.0.0.1:11211"}, memcached.Options{
		Timeout: 50 * time.Millisecond, // the default
		Prefix:  "myapp:",              // shares the server with other applications
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = s.Close() }()

	ctx := context.Background()
	if err := s.Set(ctx, "greeting", []byte("hello"), time.Minute); err != nil {
		log.Print(err) // the server is down or slow: a cache carries on without its L2
		return
	}
	v, err := s.Get(ctx, "greeting")
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Printf("%s\n", v)
}
