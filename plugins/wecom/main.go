// Command wecom is the WeCom customer-contact connector plugin. The hub
// starts it; run it with --channelhub-spec to print its spec.
package main

import (
	"github.com/channelhub/channelhub/connectors/wecom"
	"github.com/channelhub/channelhub/sdk"
)

func main() { sdk.Serve(wecom.Plugin) }
