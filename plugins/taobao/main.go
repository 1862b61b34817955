// Command taobao is the Taobao/Tmall (TOP) connector plugin. The hub starts
// it; run it with --channelhub-spec to print its spec.
package main

import (
	"github.com/channelhub/channelhub/connectors/taobao"
	"github.com/channelhub/channelhub/sdk"
)

func main() { sdk.Serve(taobao.Plugin) }
