// Command douyin is the Douyin Shop (抖店) connector plugin. The hub starts
// it; run it with --channelhub-spec to print its spec.
package main

import (
	"github.com/channelhub/channelhub/connectors/douyin"
	"github.com/channelhub/channelhub/sdk"
)

func main() { sdk.Serve(douyin.Plugin) }
