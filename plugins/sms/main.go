// Command sms is the SMS connector plugin (Alibaba Cloud or Tencent Cloud).
package main

import (
	"github.com/channelhub/channelhub/connectors/sms"
	"github.com/channelhub/channelhub/sdk"
)

func main() { sdk.Serve(sms.Plugin) }
