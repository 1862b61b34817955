// Package sandbox emulates the two SMS providers the sms connector speaks to:
// Alibaba Cloud dysmsapi (2017-05-25) and Tencent Cloud SMS (2021-01-11). One
// Server emulates one provider on its own listener, answering the requests the
// official Go SDKs send, byte for byte as the real services would:
//
//   - Alibaba: POST / routed on x-acs-action (ACS3-HMAC-SHA256) or the Action
//     parameter (legacy HMAC-SHA1 RPC signature), business errors as HTTP 200
//     with Code != "OK", signature and key errors as HTTP 4xx; SendSms,
//     QuerySendDetails and QuerySmsSign.
//   - Tencent: POST with X-TC-Action, TC3-HMAC-SHA256 over the raw body,
//     always HTTP 200, request failures in Response.Error and per-number
//     results in SendStatusSet; SendSms, PullSmsSendStatus,
//     PullSmsReplyStatus, PullSmsSendStatusByPhoneNumber and
//     DescribeSmsTemplateList.
//
// Both enforce registered signatures and templates, template parameters, the
// documented per-number frequency limits with the providers' own codes, the
// timestamp window and nonce reuse. Every accepted message is recorded
// (Messages) and produces a delivery receipt; uplink replies are seeded and
// can be injected (InjectReply). Tencent serves receipts and replies from
// destructive pull queues, as the real service does ("拉取过的内容不会再重复
// 返回"); Alibaba delivers them by HTTP batch push (Push), its MNS queues
// being out of scope.
//
// One extension the real services lack: a repeated OutId (Alibaba) or
// SessionContext (Tencent) is not sent again. The emulator answers it with
// CodeAliyunAlreadySent / CodeTencentAlreadySent and the first send's id, so
// the connector's idempotency can be proven against the message log. Facts
// follow shared/platforms/sms.md.
package sandbox
