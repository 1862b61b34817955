package douyin

import (
	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/sdk"
)

// Config field names.
const (
	FieldAppKey       = "app_key"
	FieldAppSecret    = "app_secret"
	FieldShopID       = "shop_id"
	FieldBrand        = "brand"
	FieldRefreshToken = "refresh_token"
	FieldMemberAppID  = "member_app_id"
	FieldAPIBase      = "api_base"
	FieldSignMethod   = "sign_method"
	FieldTimeout      = "timeout"
	FieldLag          = "lag"
	FieldPageSize     = "page_size"
)

// Stream and action names.
const (
	// StreamOrders is the shop's orders (order.searchList by update_time).
	StreamOrders = "orders"
	// StreamMembers is where member join/leave callbacks (SPI) land. It is not
	// readable: the platform has no member listing API.
	StreamMembers = "members"

	// ActionMemberLevel sets a shop member's level (member.batchUpdate level).
	ActionMemberLevel = "member.level"
	// ActionPointsSet sets a shop member's points balance (member.batchUpdate
	// pointCent). The platform takes a balance, not a change.
	ActionPointsSet = "points.set"
	// ActionMemberErase ends a shop membership (member.batchUpdate unbind):
	// what the hub queues when it erases a person (PIPL).
	ActionMemberErase = "member.erase"
)

// Action parameters.
const (
	ParamLevel  = "level"
	ParamPoints = "points"
)

// Spec describes the connector.
var Spec = sdk.Spec{
	Name:        "douyin",
	Version:     "0.1.0",
	Platform:    "douyin_shop",
	Description: "Douyin Shop (抖店): orders by update time with buyer open_id/union_id, order pushes re-read in full, member join/leave SPI, member level and points written back and memberships ended on erasure (会员通).",
	Streams: []sdk.StreamSpec{{
		Name: StreamOrders, Kind: sdk.KindOrders, Cursor: "time", Sorted: true, Incremental: true,
		Description: "Shop orders from order.searchList ordered by update_time, oldest first, over the platform's 90-day horizon. " +
			"The checkpoint is the update second through which every order was read; it never passes the read's start minus `lag`. " +
			"Incremental reads return orders updated since. Buyers carry douyin_open_id (scope shop_id) and, with member_app_id, douyin_union_id (scope brand).",
	}},
	Actions: []sdk.ActionSpec{
		{Name: ActionMemberLevel, MaxBatch: 500, Description: "Set a shop member's level: param `level`, a whole number ≥ 0. " +
			"Target: douyin_open_id (scope shop_id); douyin_union_id (scope brand) is looked up when missing. Needs member_app_id. " +
			"The value is absolute, so applying a key twice leaves the same level."},
		{Name: ActionPointsSet, MaxBatch: 500, Description: "Set a shop member's points balance: param `points`, a number with at most two decimals, may be negative (sent as pointCent = points×100). " +
			"Target as for member.level. Absolute, so applying a key twice leaves the same balance; the platform has no add/subtract call."},
		{Name: ActionMemberErase, MaxBatch: 500, Description: "End the buyer's shop membership (member.batchUpdate unbind): the hub queues it when it erases the person (hub identity erase). " +
			"Target: douyin_open_id (scope shop_id). Whether the buyer is still a member is looked up first; a buyer who is not (unbound already, or never joined) counts as applied, so a retried erasure does not fail."},
	},
	Config: []sdk.Field{
		{Name: FieldAppKey, Type: sdk.TypeString, Required: true, Description: "App key of the 抖店 open-platform app (19 digits).", Example: "7000000000000000001"},
		{Name: FieldAppSecret, Type: sdk.TypeString, Required: true, Secret: true, Description: "App secret: signs every request and verifies pushes."},
		{Name: FieldShopID, Type: sdk.TypeInt, Required: true, Description: "Shop id the connection reads. Scope of douyin_open_id; a self-use app's token is created for it.", Example: "10000001"},
		{Name: FieldBrand, Type: sdk.TypeString, Required: true, Description: "Id of the brand that owns the shop: the scope of douyin_union_id. Use the same value on every Douyin connection of the brand so union ids link them.", Example: "brand-a"},
		{Name: FieldRefreshToken, Type: sdk.TypeString, Secret: true, Description: "Tool apps (工具型): the refresh token from the merchant's authorization. Refreshing rotates it; the connector saves the new one into the connection (host UpdateConfig). Empty means a self-use app (自用型): tokens come from token.create with grant authorization_self for shop_id."},
		{Name: FieldMemberAppID, Type: sdk.TypeInt, Description: "会员通 app_id configured for the shop. Enables douyin_union_id on orders (member.batchGetUnionIdByOpenIdList) and the member.level / points.set actions. 0 turns both off."},
		{Name: FieldAPIBase, Type: sdk.TypeString, Default: doudian.DefaultBaseURL, Description: "Gateway base URL; point it at a sandbox for tests (the platform's own sandbox is https://openapi-sandbox.jinritemai.com)."},
		{Name: FieldSignMethod, Type: sdk.TypeString, Default: string(doudian.SignHMACSHA256), Enum: []string{string(doudian.SignHMACSHA256), string(doudian.SignMD5)}, Description: "Request signature method; hmac-sha256 is what the platform recommends."},
		{Name: FieldTimeout, Type: sdk.TypeDuration, Default: "30s", Description: "Timeout of one API call."},
		{Name: FieldLag, Type: sdk.TypeDuration, Default: "1m", Description: "How far behind the clock a read stops: orders updated in the last `lag` are left to the next run, so an order indexed late by the platform is not skipped. The checkpoint never passes the read's start minus lag."},
		{Name: FieldPageSize, Type: sdk.TypeInt, Default: "100", Description: "order.searchList page size, 1 to 100."},
	},
	// Per-app QPS figures are not published (fact sheet §2.4); 20 requests/s
	// keeps well clear of what ISVs report, and code 60000 is waited out.
	RateLimits: []sdk.RateLimit{{API: "*", PerSecond: 20, Burst: 20}},
	Webhook:    true,
}
