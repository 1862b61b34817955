package miniprogram

import (
	"time"

	"github.com/channelhub/channelhub/sdk"
)

// Config field names.
const (
	FieldAppID               = "app_id"
	FieldAppSecret           = "app_secret"
	FieldEventSecret         = "event_secret"
	FieldEventSecretPrevious = "event_secret_previous"
	FieldOpenPlatformID      = "open_platform_id"
	FieldBrand               = "brand"
	FieldAPIBase             = "api_base"
	FieldTimeout             = "timeout"
	FieldMaxSkew             = "max_skew"
	FieldBackfill            = "backfill"
	FieldWindow              = "window"
	FieldLag                 = "lag"
	FieldPageSize            = "page_size"
)

// Stream names.
const (
	// StreamOrders is the WeChat-Pay shipping-management order list
	// (/wxa/sec/order/get_order_list) read by pay time, and where order
	// events from the brand's backend land.
	StreamOrders = "orders"
	// StreamMembers is where login, phone_bound and member_registered events
	// land. It is not readable: WeChat has no API that lists a
	// mini-program's users.
	StreamMembers = "members"
)

// Platform is the Order.Platform of every order this connector emits.
const Platform = "miniprogram"

// DefaultAPIBase is the real mini-program API host.
const DefaultAPIBase = "https://api.weixin.qq.com"

// MaxPageSize is the most orders one get_order_list page holds.
const MaxPageSize = 50

// MinEventSecret is the shortest event_secret accepted, in bytes.
const MinEventSecret = 16

// DefaultMaxSkew is how far an event's X-Channelhub-Timestamp may be from the
// hub's clock.
const DefaultMaxSkew = 5 * time.Minute

// Spec describes the connector.
var Spec = sdk.Spec{
	Name:     "miniprogram",
	Version:  "0.1.0",
	Platform: "wechat_miniprogram",
	Description: "WeChat Mini Program (小程序): signed events from the brand's own mini-program backend (login, phone_bound, member_registered, order_created/paid/shipped/refunded) taken at the hub's webhook, " +
		"phone codes exchanged with wxa/business/getuserphonenumber, and WeChat-Pay orders read back from the shipping-management order list for reconciliation. " +
		"There is no members stream to read: WeChat has no API that lists a mini-program's users, so members arrive only as events.",
	Streams: []sdk.StreamSpec{{
		Name: StreamOrders, Kind: sdk.KindOrders, Cursor: "time", Sorted: true, Incremental: true,
		Description: "Reconciliation: WeChat-Pay orders paid inside the mini-program, from /wxa/sec/order/get_order_list (发货信息管理) by pay time, in windows of `window`, 50 a page. " +
			"The checkpoint is the pay second before which every order was read; it is set at window ends only and never passes the read's start minus `lag`. " +
			"Orders are keyed by merchant_trade_no (your WeChat Pay out_trade_no), carry the payer's miniprogram_openid and the paid amount, but no lines (the API has none). " +
			"Members are not readable (no such WeChat API): they arrive as events at the webhook, on the members stream.",
	}},
	Config: []sdk.Field{
		{Name: FieldAppID, Type: sdk.TypeString, Required: true, Description: "Mini-program AppID (wx…): the scope of miniprogram_openid and the shop of its orders. Events for another appid are refused.", Example: "wx1234567890abcdef"},
		{Name: FieldAppSecret, Type: sdk.TypeString, Secret: true, Description: "Mini-program AppSecret, for access tokens (stable_token, shared through the hub's cache). Needed by the orders stream and to exchange phone codes; leave empty for an intake-only connection."},
		{Name: FieldEventSecret, Type: sdk.TypeString, Required: true, Secret: true, Description: "Shared secret (at least 16 bytes, e.g. `openssl rand -hex 32`) with which the brand's backend signs events: HMAC-SHA256 over `timestamp.body`."},
		{Name: FieldEventSecretPrevious, Type: sdk.TypeString, Secret: true, Description: "The event secret being rotated out: events signed with it are still accepted. Set it to the old secret while the backend switches, then remove it."},
		{Name: FieldOpenPlatformID, Type: sdk.TypeString, Description: "Id of the WeChat Open Platform account the mini-program is bound to: the scope of wechat_unionid. Use the same value as on the brand's other WeChat connections so unionids link them. Empty: unionids in events are ignored.", Example: "open-brand"},
		{Name: FieldBrand, Type: sdk.TypeString, Description: "Id of the brand: the scope of member_card. Use the same value as on the brand's other connections (POS files, Douyin) so member card numbers link them. Empty: member_card_no is kept as an attribute only.", Example: "brand-a"},
		{Name: FieldAPIBase, Type: sdk.TypeString, Default: DefaultAPIBase, Description: "API base URL; point it at a sandbox for tests."},
		{Name: FieldTimeout, Type: sdk.TypeDuration, Default: "30s", Description: "Timeout of one API call."},
		{Name: FieldMaxSkew, Type: sdk.TypeDuration, Default: "5m", Description: "How far an event's X-Channelhub-Timestamp may be from the hub's clock before the event is refused as stale (1s to 1h)."},
		{Name: FieldBackfill, Type: sdk.TypeDuration, Default: "2160h", Description: "How far back a full read of the orders stream starts (90 days by default; how far back get_order_list answers is not documented)."},
		{Name: FieldWindow, Type: sdk.TypeDuration, Default: "24h", Description: "Pay-time window of one get_order_list query (1m to 31 days); a checkpoint follows each window."},
		{Name: FieldLag, Type: sdk.TypeDuration, Default: "5m", Description: "How far behind the clock a read stops, so an order paid a moment ago but listed late is not skipped."},
		{Name: FieldPageSize, Type: sdk.TypeInt, Default: "50", Description: "get_order_list page size, 1 to 50."},
	},
	// The daily quota of get_order_list is not published; a steady 20
	// requests/s keeps a backfill far below every published WeChat minute
	// quota, and 45009/45011 are waited out.
	RateLimits: []sdk.RateLimit{{API: "*", PerSecond: 20, Burst: 20}},
	Webhook:    true,
}
