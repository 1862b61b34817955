package taobao

import (
	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/sdk"
)

// Config field names.
const (
	FieldAppKey       = "app_key"
	FieldAppSecret    = "app_secret"
	FieldSession      = "session"
	FieldRefreshToken = "refresh_token"
	FieldShop         = "shop"
	FieldBrand        = "brand"
	FieldAPIBase      = "api_base"
	FieldSignMethod   = "sign_method"
	FieldTimeout      = "timeout"
	FieldLag          = "lag"
	FieldPageSize     = "page_size"
	FieldWindow       = "window"
	FieldTMCGroup     = "tmc_group"
	FieldTMCQuantity  = "tmc_quantity"
)

// Stream and action names.
const (
	// StreamOrders is the shop's trades: a backfill by creation time
	// (taobao.trades.sold.get), then increments by modification time
	// (taobao.trades.sold.increment.get).
	StreamOrders = "orders"
	// StreamMembers is the shop's CRM members (taobao.crm.members.get and
	// .increment.get); 会员通 SPI bind/register calls land here too.
	StreamMembers = "members"
	// StreamTMC is the TMC message pull: trade messages become full orders
	// (taobao.trade.fullinfo.get), tmall_mei_PointChange messages points
	// ledger entries.
	StreamTMC = "tmc"

	// ActionMemberLevel sets a 会员通 member's level (tmall.mei.crm.member.sync).
	ActionMemberLevel = "member.level"
	// ActionPointsSet sets a 会员通 member's points balance
	// (tmall.mei.crm.member.sync takes a balance, not a change).
	ActionPointsSet = "points.set"
)

// Action parameters.
const (
	ParamLevel  = "level"
	ParamPoints = "points"
	// ParamMobile names the member by mobile when the target carries no
	// phone identity; ParamMixNick by 会员通 mix_nick.
	ParamMobile  = "mobile"
	ParamMixNick = "mix_nick"
)

// Spec describes the connector.
var Spec = sdk.Spec{
	Name:        "taobao",
	Version:     "0.1.0",
	Platform:    "taobao_top",
	Description: "Taobao/Tmall (TOP): trades backfilled by creation time and read incrementally by modification time, shop CRM members, the TMC message pull (trade changes re-read in full, 会员通 point changes as ledger entries), 会员通 points and level written back, and the 会员通 member SPI (bind/register with the member's mobile).",
	Streams: []sdk.StreamSpec{
		{Name: StreamOrders, Kind: sdk.KindOrders, Cursor: "time", Sorted: false, Incremental: true,
			Description: "Trades of the shop. A first read backfills the last three months by creation time (taobao.trades.sold.get, week by week, checkpointed after each week); " +
				"later reads take taobao.trades.sold.increment.get in windows of `window` (at most one day), paged from the last page backwards as the platform advises, checkpointed at window ends. " +
				"The bookmark never passes the read's start minus `lag`. Buyers carry taobao_buyer_open_uid (scope app_key)."},
		{Name: StreamMembers, Kind: sdk.KindMembers, Cursor: "time", Sorted: false, Incremental: true,
			Description: "Shop CRM members: grade, trade count and amount, last trade time; identities taobao_ouid (scope shop), and taobao_buyer_open_uid (scope app_key) / taobao_omid (scope brand) when the answer carries them. " +
				"Full reads page taobao.crm.members.get; incremental reads taobao.crm.members.increment.get since the checkpoint. 会员通 bind/register SPI calls (webhook) land here with the member's phone."},
		{Name: StreamTMC, Kind: sdk.KindOrders, Cursor: "token", Sorted: false, Incremental: true,
			Description: "TMC HTTP pull (taobao.tmc.messages.consume). Trade and refund messages are thin: each trade is fetched with taobao.trade.fullinfo.get and emitted as an order; tmall_mei_PointChange messages become points ledger entries (record ids \"points:<record_id>\"). " +
				"Messages are confirmed only once a checkpoint carrying them was committed: the next read confirms them first, after answering each point change (tmall.mei.crm.callback.point.change: done, or failed for one that could not be read). Redelivered messages already emitted are confirmed, not emitted again."},
	},
	Actions: []sdk.ActionSpec{
		{Name: ActionMemberLevel, MaxBatch: 100, Description: "Set a 会员通 member's level: param `level`, a whole number ≥ 0 (tmall.mei.crm.member.sync level, level_type 1). " +
			"Target: a phone identity (sent as the mobile), or param `mobile` / `mix_nick`. Absolute, so a key applied twice leaves the same level."},
		{Name: ActionPointsSet, MaxBatch: 100, Description: "Set a 会员通 member's points balance: param `points`, a whole number (tmall.mei.crm.member.sync point). " +
			"Target as for member.level. The platform takes a balance, not a change, so there is no points.adjust."},
	},
	Config: []sdk.Field{
		{Name: FieldAppKey, Type: sdk.TypeString, Required: true, Description: "App key of the TOP app.", Example: "12345678"},
		{Name: FieldAppSecret, Type: sdk.TypeString, Required: true, Secret: true, Description: "App secret: signs every request and verifies 会员通 SPI calls."},
		{Name: FieldSession, Type: sdk.TypeString, Required: true, Secret: true, Description: "The seller's session (access token) from the app's authorization (OAuth). Shared through the hub's credentials cache."},
		{Name: FieldRefreshToken, Type: sdk.TypeString, Secret: true, Description: "Service-market apps only: refresh token. When the session is rejected (code 27) it is refreshed with taobao.top.auth.token.refresh and both tokens are saved into the connection. Empty: a rejected session needs a new authorization."},
		{Name: FieldShop, Type: sdk.TypeString, Required: true, Description: "The shop (seller user id): scope of taobao_ouid and the Shop of every order.", Example: "2200000000001"},
		{Name: FieldBrand, Type: sdk.TypeString, Description: "Brand id: scope of taobao_omid (会员通 member id across the brand's shops). Use one value on every Taobao connection of the brand. Empty: omids are not emitted.", Example: "brand-a"},
		{Name: FieldAPIBase, Type: sdk.TypeString, Default: top.DefaultBaseURL, Description: "Router URL; the platform's own sandbox is https://gw.api.tbsandbox.com/router/rest."},
		{Name: FieldSignMethod, Type: sdk.TypeString, Default: string(top.SignHMACSHA256), Enum: []string{string(top.SignHMACSHA256), string(top.SignHMAC), string(top.SignMD5)}, Description: "Request signature method."},
		{Name: FieldTimeout, Type: sdk.TypeDuration, Default: "30s", Description: "Timeout of one API call."},
		{Name: FieldLag, Type: sdk.TypeDuration, Default: "1m", Description: "How far behind the clock a read stops; the bookmark never passes the read's start minus lag."},
		{Name: FieldPageSize, Type: sdk.TypeInt, Default: "50", Description: "Page size of the trade and member lists, 1 to 100 (the platform recommends 40–50 for increments)."},
		{Name: FieldWindow, Type: sdk.TypeDuration, Default: "1h", Description: "Span of one taobao.trades.sold.increment.get window, 1s to 24h (the platform allows one day and advises 30 minutes)."},
		{Name: FieldTMCGroup, Type: sdk.TypeString, Default: "default", Description: "TMC group_name to consume."},
		{Name: FieldTMCQuantity, Type: sdk.TypeInt, Default: "100", Description: "Messages per taobao.tmc.messages.consume call, 10 to 200."},
	},
	// No public QPS figure exists (fact sheet §1.8): 10 requests/s for the
	// app; code 7 answers are waited out for the ban they announce.
	RateLimits: []sdk.RateLimit{{API: "*", PerSecond: 10, Burst: 10}},
	Webhook:    true,
}
