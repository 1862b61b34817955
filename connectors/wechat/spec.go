package wechat

import "github.com/channelhub/channelhub/sdk"

// Config field names.
const (
	FieldAppID          = "app_id"
	FieldAppSecret      = "app_secret"
	FieldOpenPlatformID = "open_platform_id"
	FieldAPIBase        = "api_base"
	FieldTimeout        = "timeout"
	FieldLang           = "lang"
)

// Stream and action names.
const (
	StreamFollowers = "followers"
	ActionTagAdd    = "tags.add"
	ActionTagRemove = "tags.remove"
)

// DefaultAPIBase is the real Official Account API host.
const DefaultAPIBase = "https://api.weixin.qq.com"

// Spec describes the connector.
var Spec = sdk.Spec{
	Name:        "wechat",
	Version:     "0.1.0",
	Platform:    "wechat_official_account",
	Description: "WeChat Official Account (公众号): followers with unionid and tags; tag changes written back.",
	Streams: []sdk.StreamSpec{{
		Name: StreamFollowers, Kind: sdk.KindMembers, Cursor: "token", Sorted: true, Incremental: true,
		Description: "Followers from /cgi-bin/user/get (follow order) enriched by /cgi-bin/user/info/batchget. Incremental reads return followers added since the last checkpoint; a full read refreshes everyone (unchanged followers cost the hub nothing).",
	}},
	Actions: []sdk.ActionSpec{
		{Name: ActionTagAdd, Description: "Put a tag (by name; created when missing) on a follower, 50 per platform call.", MaxBatch: 500},
		{Name: ActionTagRemove, Description: "Take a tag off a follower, 50 per platform call.", MaxBatch: 500},
	},
	Config: []sdk.Field{
		{Name: FieldAppID, Type: sdk.TypeString, Required: true, Description: "Official account AppID (wx…).", Example: "wx1234567890abcdef"},
		{Name: FieldAppSecret, Type: sdk.TypeString, Required: true, Secret: true, Description: "Official account AppSecret."},
		{Name: FieldOpenPlatformID, Type: sdk.TypeString, Required: true, Description: "Id of the WeChat Open Platform account the official account is bound to: the scope of its unionids. Use the same value on every WeChat connection of that account so unionids link them.", Example: "open-brand"},
		{Name: FieldAPIBase, Type: sdk.TypeString, Default: DefaultAPIBase, Description: "API base URL; point it at a sandbox for tests."},
		{Name: FieldTimeout, Type: sdk.TypeDuration, Default: "30s", Description: "Timeout of one API call."},
		{Name: FieldLang, Type: sdk.TypeString, Default: "zh_CN", Enum: []string{"zh_CN", "zh_TW", "en"}, Description: "Language of user info."},
	},
	// The platform's quotas are per day and per minute; a steady 50 requests/s
	// keeps a backfill far below the minute quota of every published tier.
	RateLimits: []sdk.RateLimit{{API: "*", PerSecond: 50, Burst: 50}},
}
