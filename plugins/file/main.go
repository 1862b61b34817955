// Command file is the file connector plugin: members and orders from
// exported JSON Lines or CSV files (offline stores, POS, ERP, an old CRM).
// The hub starts it; run it with --channelhub-spec to print its spec.
package main

import (
	"github.com/channelhub/channelhub/connectors/file"
	"github.com/channelhub/channelhub/sdk"
)

func main() { sdk.Serve(file.Plugin) }
