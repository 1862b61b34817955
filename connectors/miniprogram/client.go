package miniprogram

import (
	"context"
	"net/http"

	"github.com/silenceper/wechat/v2/miniprogram/business"
	"github.com/silenceper/wechat/v2/miniprogram/order"
	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/connectors/wechat/wxapi"
	"github.com/channelhub/channelhub/sdk"
)

// API paths.
const (
	pathPhoneNumber = "/wxa/business/getuserphonenumber"
	pathOrderList   = "/wxa/sec/order/get_order_list"
)

// client calls the mini-program server API with one connection's
// credentials, through the WeChat client the official account uses too.
type client struct {
	*wxapi.Client
	secret sdk.Secret
}

func newClient(cfg sdk.Config, host *sdk.Host) (*client, error) {
	c, err := wxapi.New(cfg.String(FieldAPIBase), FieldAPIBase, cfg.Duration(FieldTimeout), cfg.String(FieldAppID), cfg.Secret(FieldAppSecret), host, classify)
	if err != nil {
		return nil, err
	}
	return &client{Client: c, secret: cfg.Secret(FieldAppSecret)}, nil
}

// call makes an authenticated POST (see wxapi.Client.Call). A connection
// without an app secret only takes events: it cannot call WeChat.
func (c *client) call(ctx context.Context, api, path string, body, out any) error {
	if c.secret.Reveal() == "" {
		return sdk.ConfigError(FieldAppSecret, "is needed for WeChat API calls (the orders stream and phone codes); this connection only takes events")
	}
	return c.Call(ctx, api, http.MethodPost, path, nil, body, out)
}

// phoneAnswer is the answer of getuserphonenumber.
type phoneAnswer struct {
	util.CommonError
	PhoneInfo business.PhoneInfo `json:"phone_info"`
}

// phoneNumber exchanges a getPhoneNumber button code for the number. The
// code is single use: a retried exchange answers 40029.
func (c *client) phoneNumber(ctx context.Context, code, openid string) (business.PhoneInfo, error) {
	body := map[string]string{"code": code}
	if openid != "" {
		body["openid"] = openid
	}
	var res phoneAnswer
	if err := c.call(ctx, "getuserphonenumber", pathPhoneNumber, body, &res); err != nil {
		return business.PhoneInfo{}, err
	}
	return res.PhoneInfo, nil
}

// orderListAnswer is the answer of get_order_list.
type orderListAnswer = order.GetShippingOrderListResponse

// orderList reads one get_order_list page.
func (c *client) orderList(ctx context.Context, req *order.GetShippingOrderListRequest) (*orderListAnswer, error) {
	var res orderListAnswer
	if err := c.call(ctx, "get_order_list", pathOrderList, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
