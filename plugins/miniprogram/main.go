// Command miniprogram is the WeChat Mini Program (小程序) connector plugin.
// The hub starts it; run it with --channelhub-spec to print its spec.
package main

import (
	"github.com/channelhub/channelhub/connectors/miniprogram"
	"github.com/channelhub/channelhub/sdk"
)

func main() { sdk.Serve(miniprogram.Plugin) }
