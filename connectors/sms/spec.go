package sms

import "github.com/channelhub/channelhub/sdk"

// Config field names.
const (
	FieldProvider      = "provider"
	FieldAccessKeyID   = "access_key_id"
	FieldAccessSecret  = "access_key_secret"
	FieldSignName      = "sign_name"
	FieldTemplate      = "template"
	FieldSdkAppID      = "sdk_app_id"
	FieldRegion        = "region"
	FieldEndpoint      = "endpoint"
	FieldScheme        = "scheme"
	FieldAliyunSigning = "aliyun_signature"
	FieldTimeout       = "timeout"
	FieldDedupeCheck   = "dedupe_check"
	FieldCallbackToken = "callback_token"
)

// Providers (values of the provider field).
const (
	ProviderAliyun  = "aliyun"
	ProviderTencent = "tencent"
)

// Values of the aliyun_signature field.
const (
	SigningACS3     = "acs3"
	SigningHMACSHA1 = "hmac-sha1"
)

// Stream and action names.
const (
	// StreamReplies is uplink (inbound) messages; opt-out keywords become
	// consent records.
	StreamReplies = "replies"
	// StreamReceipts is delivery reports, as receipt records the hub files
	// with the outbox items of the sends.
	StreamReceipts = "receipts"
	// ActionSend sends one templated message to one phone.
	ActionSend = "sms.send"
)

// sms.send parameters.
const (
	// ParamTemplate is the template: Alibaba TemplateCode ("SMS_…") or Tencent
	// TemplateId (digits). Default: the connection's template.
	ParamTemplate = "template"
	// ParamTemplateParams is the template's values as JSON. Alibaba: an object
	// of strings ({"name":"王芳"}). Tencent: an array of strings in the
	// template's order (["王芳"]), or an object keyed "1", "2"….
	ParamTemplateParams = "template_params"
	// ParamSignName overrides the connection's signature.
	ParamSignName = "sign_name"
)

// Default endpoints and regions.
const (
	DefaultAliyunEndpoint  = "dysmsapi.aliyuncs.com"
	DefaultTencentEndpoint = "sms.tencentcloudapi.com"
	DefaultAliyunRegion    = "cn-hangzhou"
	DefaultTencentRegion   = "ap-guangzhou"
)

// Spec describes the connector.
var Spec = sdk.Spec{
	Name:     "sms",
	Version:  "0.1.0",
	Platform: "sms",
	Description: "SMS through Alibaba Cloud (dysmsapi 2017-05-25) or Tencent Cloud SMS (2021-01-11), with the official Go SDKs: " +
		"templated messages to one phone per action, idempotent by the action key (OutId / SessionContext), " +
		"uplink replies turned into SMS opt-out consents, delivery reports counted.",
	Streams: []sdk.StreamSpec{
		{
			Name: StreamReplies, Kind: sdk.KindMembers, Cursor: "none", Incremental: true,
			Description: "Uplink replies. A reply R, TD, T, N or 退订 (any case, trimmed) is an opt-out and becomes a member record with the phone identity " +
				"and an sms consent with opt_in false; other replies are counted and dropped. Tencent: pulled with PullSmsReplyStatus, a queue that returns each " +
				"reply once, so every read is incremental and the checkpoint only marks progress. Alibaba: HTTP push (SmsUp) to the connection's webhook only.",
		},
		{
			Name: StreamReceipts, Kind: sdk.KindReceipts, Cursor: "none", Incremental: true,
			Description: "Delivery reports, as receipts naming the send by its action key (OutId / SessionContext) or the provider's message id " +
				"(BizId / SerialNo): the hub files each with the send's outbox item (hub sms report). Tencent: pulled with PullSmsSendStatus, a queue " +
				"that returns each report once; its status callback names the message by SerialNo only. Alibaba: HTTP push (SmsReport) to the webhook only.",
		},
	},
	Actions: []sdk.ActionSpec{{
		Name: ActionSend, MaxBatch: 100,
		Description: "Send one templated SMS to one recipient. Target: exactly one identity of type phone (clear E.164). Params: template (default the " +
			"connection's), template_params (JSON; Alibaba an object of strings, Tencent an array of strings), sign_name (default the connection's). " +
			"The action key is sent as OutId / SessionContext; a key already sent is reported as duplicate and never sent again. Per-number frequency " +
			"limits, the do-not-disturb list and the marketing window come back as refused, with the reason.",
	}},
	Config: []sdk.Field{
		{Name: FieldProvider, Type: sdk.TypeString, Required: true, Enum: []string{ProviderAliyun, ProviderTencent}, Description: "SMS provider: aliyun (Alibaba Cloud dysmsapi) or tencent (Tencent Cloud SMS)."},
		{Name: FieldAccessKeyID, Type: sdk.TypeString, Required: true, Secret: true, Description: "Alibaba AccessKey ID or Tencent SecretId."},
		{Name: FieldAccessSecret, Type: sdk.TypeString, Required: true, Secret: true, Description: "Alibaba AccessKey secret or Tencent SecretKey: signs every request."},
		{Name: FieldSignName, Type: sdk.TypeString, Required: true, Description: "Approved signature (签名) text, without 【】; an action's sign_name param overrides it.", Example: "渠道中心"},
		{Name: FieldTemplate, Type: sdk.TypeString, Description: "Default template: Alibaba TemplateCode or Tencent TemplateId; an action's template param overrides it. Check verifies it when set.", Example: "SMS_100000001"},
		{Name: FieldSdkAppID, Type: sdk.TypeString, Description: "Tencent SmsSdkAppId (required for tencent).", Example: "1400006666"},
		{Name: FieldRegion, Type: sdk.TypeString, Description: "Region: Alibaba RegionId (default cn-hangzhou) or Tencent X-TC-Region (default ap-guangzhou)."},
		{Name: FieldEndpoint, Type: sdk.TypeString, Description: "API host[:port] without scheme or path; default dysmsapi.aliyuncs.com or sms.tencentcloudapi.com. Point it at a sandbox for tests."},
		{Name: FieldScheme, Type: sdk.TypeString, Default: "https", Enum: []string{"https", "http"}, Description: "Scheme of the endpoint; http only for a local sandbox."},
		{Name: FieldAliyunSigning, Type: sdk.TypeString, Default: SigningACS3, Enum: []string{SigningACS3, SigningHMACSHA1}, Description: "Alibaba request signature: acs3 (ACS3-HMAC-SHA256, the SDK default) or hmac-sha1 (the legacy RPC signature)."},
		{Name: FieldTimeout, Type: sdk.TypeDuration, Default: "10s", Description: "Timeout of one API call (Alibaba advises at least 1s)."},
		{Name: FieldDedupeCheck, Type: sdk.TypeBool, Default: "true", Description: "Before sending, look the action key up in the number's sent messages (Alibaba QuerySendDetails, Tencent PullSmsSendStatusByPhoneNumber) so a retry after a lost answer does not send twice. Neither provider deduplicates by itself."},
		{Name: FieldCallbackToken, Type: sdk.TypeString, Secret: true, Description: "Token the provider's callback URL carries as ?token=…; the providers do not sign callbacks, so webhooks without it are refused."},
	},
	// Alibaba allows 5,000 calls/s per user; Tencent's pull APIs 100/s. The
	// per-number limits are what bind; 50/s keeps clear of both.
	RateLimits: []sdk.RateLimit{{API: "*", PerSecond: 50, Burst: 50}},
	Webhook:    true,
}
