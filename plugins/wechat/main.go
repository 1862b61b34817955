// Command wechat is the WeChat Official Account connector plugin. The hub
// starts it; run it with --channelhub-spec to print its spec.
package main

import (
	"github.com/channelhub/channelhub/connectors/wechat"
	"github.com/channelhub/channelhub/sdk"
)

func main() { sdk.Serve(wechat.Plugin) }
