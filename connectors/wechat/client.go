package wechat

import (
	"github.com/channelhub/channelhub/connectors/wechat/wxapi"
	"github.com/channelhub/channelhub/sdk"
)

// newClient builds the connection's client of the Official Account API
// (shared with the mini-program connector: connectors/wechat/wxapi).
func newClient(cfg sdk.Config, host *sdk.Host) (*wxapi.Client, error) {
	return wxapi.New(cfg.String(FieldAPIBase), FieldAPIBase, cfg.Duration(FieldTimeout), cfg.String(FieldAppID), cfg.Secret(FieldAppSecret), host, classify)
}
