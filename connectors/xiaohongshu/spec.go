package xiaohongshu

import (
	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/sdk"
)

// Config field names.
const (
	FieldAppID        = "app_id"
	FieldAppSecret    = "app_secret"
	FieldSellerID     = "seller_id"
	FieldRefreshToken = "refresh_token"
	FieldAPIBase      = "api_base"
	FieldTimeout      = "timeout"
	FieldBackfillDays = "backfill_days"
	FieldLag          = "lag"
	FieldPushPath     = "push_path"
)

// StreamOrders is the connector's only stream.
const StreamOrders = "orders"

// Platform is the platform name on every order (mapping.Order.Platform).
const Platform = "xiaohongshu"

// Defaults of the optional fields.
const (
	DefaultBackfillDays = 90
	DefaultLag          = "1m"
)

// Spec describes the connector.
var Spec = sdk.Spec{
	Name:     "xiaohongshu",
	Version:  "0.1.0",
	Platform: Platform,
	Description: "Xiaohongshu (小红书) shop orders through the ark open platform, with buyers as shop-scoped xhs_open_id. " +
		"Orders only: Xiaohongshu has no member (CRM) API, so this connector reads no members, levels or points and writes nothing back. " +
		"Order pushes (msg_fulfillment_*) are verified by their sign header and answered with the full order.",
	Streams: []sdk.StreamSpec{{
		Name: StreamOrders, Kind: sdk.KindOrders, Cursor: "time", Sorted: false, Incremental: true,
		Description: "Orders from order.getOrderList, each completed with order.getOrderDetail (amounts in fen, lines, buyer userId). " +
			"A first or full read backfills by creation time in windows of at most 24 h over the last backfill_days days; " +
			"later reads take the changes by update time in windows of at most 30 min. " +
			"The checkpoint is a window boundary that never passes the run's start minus lag.",
	}},
	Config: []sdk.Field{
		{Name: FieldAppID, Type: sdk.TypeString, Required: true, Example: "4b6e0a5d1c2f8a37",
			Description: "The app's appId (开放平台应用 appId)."},
		{Name: FieldAppSecret, Type: sdk.TypeString, Required: true, Secret: true,
			Description: "The app's appSecret; it signs every call."},
		{Name: FieldSellerID, Type: sdk.TypeString, Required: true, Example: "5f0e1d2c3b4a596877869500",
			Description: "The shop's sellerId, as oauth.getAccessToken returned it when the merchant authorized the app. Orders are keyed by it and buyer ids are scoped to it; Check fails when the refresh token belongs to another shop."},
		{Name: FieldRefreshToken, Type: sdk.TypeString, Required: true, Secret: true,
			Description: "The shop's refreshToken from oauth.getAccessToken. The platform rotates it when it renews the access token (about weekly); the connector then stores the new one in the hub, so this value is only needed once. It lapses after 14 days without a sync: the merchant must then authorize again."},
		{Name: FieldAPIBase, Type: sdk.TypeString, Default: ark.DefaultBaseURL,
			Description: "Gateway base URL (the path " + ark.EndpointPath + " is appended); " + ark.TestBaseURL + " is the platform's test environment; point it at a sandbox for tests."},
		{Name: FieldTimeout, Type: sdk.TypeDuration, Default: "30s",
			Description: "Timeout of one API call."},
		{Name: FieldBackfillDays, Type: sdk.TypeInt, Default: "90",
			Description: "How many days of orders, by creation time, a first or full read fetches (1..730)."},
		{Name: FieldLag, Type: sdk.TypeDuration, Default: DefaultLag,
			Description: "How far behind the run's start a read stops, so orders still being indexed by the platform are read next time rather than skipped. The checkpoint never passes start minus lag. 0 is only right for a sandbox."},
		{Name: FieldPushPath, Type: sdk.TypeString, Example: "/webhooks/brand-a/xhs-shop",
			Description: "Path of the push URL exactly as configured on the platform, when a proxy in front of the hub rewrites it: the sign header covers the public path. Default: the path the hub received."},
	},
	// The platform gives new apps 100 QPS per app and 200 per method (fact
	// sheet §3.7); the app quota is shared by every shop that authorized the
	// app, so one shop's connection takes half of it by default.
	RateLimits: []sdk.RateLimit{{API: "*", PerSecond: 50, Burst: 50}},
	Webhook:    true,
}
