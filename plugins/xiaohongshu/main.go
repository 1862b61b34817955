// Command xiaohongshu is the Xiaohongshu (小红书) shop connector plugin. The
// hub starts it; run it with --channelhub-spec to print its spec.
package main

import (
	"github.com/channelhub/channelhub/connectors/xiaohongshu"
	"github.com/channelhub/channelhub/sdk"
)

func main() { sdk.Serve(xiaohongshu.Plugin) }
