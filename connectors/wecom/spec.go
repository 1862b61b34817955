package wecom

import "github.com/channelhub/channelhub/sdk"

// Config field names.
const (
	FieldCorpID         = "corp_id"
	FieldCorpSecret     = "corp_secret"
	FieldOpenPlatformID = "open_platform_id"
	FieldToken          = "token"
	FieldEncodingAESKey = "encoding_aes_key"
	FieldTagGroup       = "tag_group"
	FieldAPIBase        = "api_base"
	FieldTimeout        = "timeout"
	FieldPageSize       = "page_size"
)

// Stream and action names. The action names are the wechat connector's, so
// a hub tag change reaches both with one write config.
const (
	StreamCustomers = "customers"
	ActionTagAdd    = "tags.add"
	ActionTagRemove = "tags.remove"
)

// Action parameters.
const (
	// ParamTag is the corp tag's name.
	ParamTag = "tag"
	// ParamGroup optionally names the tag's group, when several groups have a
	// tag of that name.
	ParamGroup = "group"
)

// DefaultAPIBase is the real WeCom API host.
const DefaultAPIBase = "https://qyapi.weixin.qq.com"

// Spec describes the connector.
var Spec = sdk.Spec{
	Name:     "wecom",
	Version:  "0.1.0",
	Platform: "wecom_customer_contact",
	Description: "WeCom customer contact (企业微信客户联系): each staff member–customer relation with the customer's external_userid and unionid, remark, add way and corp tags; " +
		"corp tags written back; signed, encrypted change_external_contact callbacks turned into records at once.",
	Streams: []sdk.StreamSpec{{
		Name: StreamCustomers, Kind: sdk.KindMembers, Cursor: "token", Sorted: false, Incremental: false,
		Description: "One record per follow relation (staff member × customer), id `<external_userid>/<userid>`, from externalcontact/batch/get_by_user over the staff of get_follow_user_list, 100 staff a call. " +
			"Identities: wecom_external_userid (scope corp_id) and, when WeCom returns one and open_platform_id is set, wechat_unionid (scope open_platform_id). " +
			"The platform has no changed-since filter, so every read is a full read; callbacks bring changes in between, and a relation that ended arrives as a deleted record through its callback.",
	}},
	Actions: []sdk.ActionSpec{
		{Name: ActionTagAdd, MaxBatch: 200, Description: "Put a corp tag (param `tag`, optional `group`) on a customer, through externalcontact/mark_tag on every relation the customer has with the corp's staff. " +
			"A tag missing from the corp library is created in the group `tag_group`. Target: wecom_external_userid (scope corp_id). Tagging is a set operation, so a retried key changes nothing."},
		{Name: ActionTagRemove, MaxBatch: 200, Description: "Take a corp tag (param `tag`, optional `group`; every group's tag of that name without it) off a customer's relations. A tag the library lacks is removed already."},
	},
	Config: []sdk.Field{
		{Name: FieldCorpID, Type: sdk.TypeString, Required: true, Description: "Corp id (企业ID, ww…): the scope of external_userids and the receiver id of callbacks.", Example: "ww1234567890abcdef"},
		{Name: FieldCorpSecret, Type: sdk.TypeString, Required: true, Secret: true, Description: "Secret of the 客户联系 app, or of a self-built app configured under 可调用应用 with customer-contact permission."},
		{Name: FieldOpenPlatformID, Type: sdk.TypeString, Description: "Id of the WeChat Open Platform account the corp's developer id is bound to: the scope of the unionids WeCom returns. Use the same value as open_platform_id of the brand's wechat connections so unionids link them. Empty: unionids are not emitted.", Example: "open-brand"},
		{Name: FieldToken, Type: sdk.TypeString, Secret: true, Description: "Callback Token (接收事件服务器 Token) of the app; needed to take callbacks at the connection's webhook URL."},
		{Name: FieldEncodingAESKey, Type: sdk.TypeString, Secret: true, Description: "Callback EncodingAESKey (43 characters); needed with token. WeCom callbacks are always encrypted."},
		{Name: FieldTagGroup, Type: sdk.TypeString, Default: "channelhub", Description: "Corp tag group in which tags.add creates tags the library lacks."},
		{Name: FieldAPIBase, Type: sdk.TypeString, Default: DefaultAPIBase, Description: "API base URL; point it at a sandbox for tests."},
		{Name: FieldTimeout, Type: sdk.TypeDuration, Default: "30s", Description: "Timeout of one API call."},
		{Name: FieldPageSize, Type: sdk.TypeInt, Default: "100", Description: "limit of batch/get_by_user, 1 to 100."},
	},
	// WeCom allows 10 000 calls a minute per corp and API (fact sheet §3.4,
	// [M]); 50 requests/s stays well below.
	RateLimits: []sdk.RateLimit{{API: "*", PerSecond: 50, Burst: 50}},
	Webhook:    true,
}
