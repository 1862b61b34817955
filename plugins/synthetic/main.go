// Command synthetic is the generated-members connector plugin, used by
// `make bench` and for load tests.
package main

import (
	"github.com/channelhub/channelhub/connectors/synthetic"
	"github.com/channelhub/channelhub/sdk"
)

func main() { sdk.Serve(synthetic.Plugin) }
