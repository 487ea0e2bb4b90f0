package negative_test

import (
	"fmt"
	"time"

	"github.com/strata-cache/strata/headers"
	"github.com/strata-cache/strata/negative"
)

func ExampleRules_Lifetime() {
	rules, err := negative.Rules{Statuses: []int{404, 410, 301}, TTL: 30 * time.Second}.Validate()
	if err != nil {
		panic(err)
	}
	none := headers.ParseCacheControl(nil)
	fmt.Println(rules.Lifetime(404, none, false, 0))
	fmt.Println(rules.Lifetime(500, none, false, 0))
	fmt.Println(rules.Lifetime(404, headers.ParseCacheControl([]string{"no-store"}), false, 0))
	// Output:
	// 30s true
	// 0s false
	// 0s false
}
