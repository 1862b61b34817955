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
	FieldToken          = "token"
	FieldEncodingAESKey = "encoding_aes_key"
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
	Description: "WeChat Official Account (公众号): followers with unionid and tags; tag changes written back; subscribe/unsubscribe pushes (plain or safe mode) turned into follower records at once.",
	Streams: []sdk.StreamSpec{{
		Name: StreamFollowers, Kind: sdk.KindMembers, Cursor: "token", Sorted: true, Incremental: true,
		Description: "Followers from /cgi-bin/user/get (follow order) enriched by /cgi-bin/user/info/batchget. Incremental reads return followers added since the last checkpoint; a full read refreshes everyone (unchanged followers cost the hub nothing). " +
			"With token set, subscribe and unsubscribe pushes at the connection's webhook URL land on this stream too: a subscribe fetches the follower's user info, an unsubscribe is a deleted record.",
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
		{Name: FieldToken, Type: sdk.TypeString, Secret: true, Description: "Server-config Token (服务器配置 Token) of the account; needed to take pushes (subscribe / unsubscribe) at the connection's webhook URL. Plain-mode pushes are checked with signature = sha1(sorted token, timestamp, nonce)."},
		{Name: FieldEncodingAESKey, Type: sdk.TypeString, Secret: true, Description: "Server-config EncodingAESKey (43 characters); needed when the account's message encryption is safe or compatible mode: pushes are then checked with msg_signature and decrypted, and their appid must be app_id."},
	},
	// The platform's quotas are per day and per minute; a steady 50 requests/s
	// keeps a backfill far below the minute quota of every published tier.
	RateLimits: []sdk.RateLimit{{API: "*", PerSecond: 50, Burst: 50}},
	Webhook:    true,
}
