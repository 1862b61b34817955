package sms

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/alibabacloud-go/tea/tea"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Emulator extensions (see connectors/sms/sandbox): a send whose key was sent
// before. The real services never answer them; when they do not, the
// dedupe_check lookup is what finds an earlier send.
const (
	codeAliyunAlreadySent  = "sandbox.OUT_ID_ALREADY_SENT"
	codeTencentAlreadySent = "sandbox.SessionContextAlreadySent"
	// codeTencentDoNotDisturb is Tencent's refusal of a number on its
	// do-not-disturb list: the recipient unsubscribed.
	codeTencentDoNotDisturb = "FailedOperation.PhoneNumberInBlacklist"
)

// redacted is an SDK error whose text may carry request URLs, bodies or
// server strings-to-sign (and so phone numbers); it keeps the chain for
// errors.Is / errors.As but prints only what we say.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// transportError classes an error that is not a provider answer: a
// cancellation, a timeout or a network failure.
func transportError(ctx context.Context, api string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return sdk.UnavailableError(&redacted{msg: "timeout", err: err}, "%s timed out", api)
	}
	return sdk.UnavailableError(&redacted{msg: "network error", err: err}, "%s failed on the network", api)
}

// aliyunCallError classes an error the Alibaba SDK returned (gateway,
// signature, throttling, transport). Business errors arrive as HTTP 200 with
// a Code and are classed by aliyunBusiness instead.
func aliyunCallError(ctx context.Context, api string, err error) error {
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return transportError(ctx, api, err)
	}
	code, status := tea.StringValue(se.Code), tea.IntValue(se.StatusCode)
	wrapped := &redacted{msg: "alibaba " + api + ": HTTP " + strconv.Itoa(status) + " " + code, err: err}
	switch {
	case strings.Contains(code, "Throttling"):
		return &sdk.Error{Class: sdk.ClassThrottled, PlatformCode: code, Message: api + " throttled by Alibaba", Err: wrapped}
	case status >= 500 || status == 0:
		return sdk.UnavailableError(wrapped, "%s: Alibaba answered %d", api, status)
	case code == "SignatureDoesNotMatch" || code == "IncompleteSignature" || strings.HasPrefix(code, "InvalidAccessKeyId") ||
		strings.HasPrefix(code, "Forbidden") || code == "isp.RAM_PERMISSION_DENY" || strings.HasPrefix(code, "InvalidTimeStamp") || code == "SignatureNonceUsed":
		return &sdk.Error{Class: sdk.ClassAuth, PlatformCode: code, Message: "Alibaba rejected the access key or signature (check access_key_id, access_key_secret and the clock)", Err: wrapped}
	}
	return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, Message: api + ": Alibaba rejected the request", Err: wrapped}
}

// aliyunBusiness classes a Code != "OK" of an HTTP-200 answer (fact sheet
// §1.6). refused reports a per-recipient policy refusal: not applied, not to
// be retried as is.
func aliyunBusiness(code, message string, now time.Time) (err error, refused bool) {
	switch code {
	case "isv.BUSINESS_LIMIT_CONTROL":
		window, wait := aliyunWindow(message, now)
		return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, RetryAfter: wait,
			Message: "per-number frequency limit reached (" + window + " window); the number can receive again later"}, true
	case "isv.BLACK_KEY_CONTROL_LIMIT", "isv.PARAM_NOT_SUPPORT_URL":
		return sdk.PermanentError(code, "content refused by the provider's content control"), true
	case "isv.DAY_LIMIT_CONTROL":
		return sdk.ThrottledError(untilMidnight(now), code, "the account's daily sending cap is reached"), false
	case "isv.MONTH_LIMIT_CONTROL":
		return sdk.ThrottledError(0, code, "the account's monthly sending cap is reached"), false
	case "isv.MOBILE_NUMBER_ILLEGAL", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED":
		return sdk.PermanentError(code, "the recipient's number is not accepted"), false
	case "isv.SMS_SIGNATURE_ILLEGAL", "isv.SIGN_STATE_ILLEGAL", "isv.SMS_SIGNATURE_SCENE_ILLEGAL":
		return sdk.ConfigError(FieldSignName, "the signature is unknown, unapproved or unfit for the template (%s)", code), false
	case "isv.SMS_TEMPLATE_ILLEGAL":
		return sdk.ConfigError(FieldTemplate, "the template is unknown or unapproved (%s)", code), false
	case "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE":
		return sdk.PermanentError(code, "the Alibaba account cannot send (balance or arrears)"), false
	case "isp.RAM_PERMISSION_DENY", "isv.DENY_IP_RANGE":
		return sdk.AuthError(code, "the access key may not send SMS from here"), false
	case "isp.SYSTEM_ERROR":
		return sdk.UnavailableError(nil, "Alibaba reported a system error (%s)", code), false
	}
	// isv.TEMPLATE_MISSING_PARAMETERS, isv.INVALID_JSON_PARAM,
	// isv.INVALID_PARAMETERS, isv.PARAM_LENGTH_LIMIT…: the action is wrong.
	return sdk.PermanentError(code, "Alibaba refused the message's parameters"), false
}

// aliyunWindow names the window of a BUSINESS_LIMIT_CONTROL message
// ("触发分钟级流控Permits:1") and how long until it reopens. The Message is
// the only place the window is named; an unknown text means the daily one.
func aliyunWindow(message string, now time.Time) (string, time.Duration) {
	local := now.In(mapping.Shanghai)
	switch {
	case strings.Contains(message, "分钟级"):
		return "minute", local.Truncate(time.Minute).Add(time.Minute).Sub(local)
	case strings.Contains(message, "小时级"):
		return "hour", local.Truncate(time.Hour).Add(time.Hour).Sub(local)
	}
	return "24 h", 24 * time.Hour
}

// tencentCallError classes an error of the Tencent SDK: a request-level
// Response.Error, or a transport failure.
func tencentCallError(ctx context.Context, now time.Time, api string, err error) error {
	var te *tcerr.TencentCloudSDKError
	if !errors.As(err, &te) {
		return transportError(ctx, api, err)
	}
	code := te.GetCode()
	wrapped := &redacted{msg: "tencent " + api + ": " + code, err: err}
	switch {
	case code == "ClientError.NetworkError" || code == "ClientError.IOError" || code == "ClientError.HttpStatusCodeError" || code == "ClientError.ParseJsonError" ||
		strings.HasPrefix(code, "InternalError") || code == "FailedOperation.JsonParseFail":
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return sdk.UnavailableError(wrapped, "%s: Tencent is unavailable (%s)", api, code)
	case strings.HasPrefix(code, "RequestLimitExceeded"):
		return &sdk.Error{Class: sdk.ClassThrottled, PlatformCode: code, Message: api + " throttled by Tencent", Err: wrapped}
	case strings.HasPrefix(code, "AuthFailure") || code == "UnauthorizedOperation.SmsSdkAppIdVerifyFail" || code == "UnauthorizedOperation.RequestPermissionDeny":
		return &sdk.Error{Class: sdk.ClassAuth, PlatformCode: code, Message: "Tencent rejected the SecretId/SecretKey or signature (check access_key_id, access_key_secret, sdk_app_id and the clock)", Err: wrapped}
	case code == "InvalidParameterValue.SdkAppIdNotExist":
		return sdk.ConfigError(FieldSdkAppID, "the SmsSdkAppId does not exist or belongs to another account (%s)", code)
	case code == "FailedOperation.SignatureIncorrectOrUnapproved" || code == "FailedOperation.MissingSignature":
		return sdk.ConfigError(FieldSignName, "the signature is unknown or unapproved (%s)", code)
	case strings.HasPrefix(code, "FailedOperation.Template") && code != "FailedOperation.TemplateParamSetNotMatchApprovedTemplate":
		return sdk.ConfigError(FieldTemplate, "the template is unknown or unapproved (%s)", code)
	case code == "LimitExceeded.AppDailyLimit" || code == "LimitExceeded.AppMainlandChinaDailyLimit" || code == "LimitExceeded.DailyLimit" ||
		code == "LimitExceeded.AppGlobalDailyLimit":
		return &sdk.Error{Class: sdk.ClassThrottled, PlatformCode: code, RetryAfter: untilMidnight(now), Message: "the app's daily sending cap is reached", Err: wrapped}
	}
	return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, Message: api + ": Tencent rejected the request", Err: wrapped}
}

// tencentNumber classes a per-number Code of SendStatusSet (fact sheet
// §2.4); refused reports a policy refusal.
func tencentNumber(code string, now time.Time) (err error, refused bool) {
	local := now.In(mapping.Shanghai)
	switch code {
	case "LimitExceeded.PhoneNumberThirtySecondLimit":
		return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, RetryAfter: 30 * time.Second, Message: "per-number frequency limit reached (same content within 30 s)"}, true
	case "LimitExceeded.PhoneNumberOneHourLimit":
		return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, RetryAfter: local.Truncate(time.Hour).Add(time.Hour).Sub(local), Message: "per-number frequency limit reached (hour window)"}, true
	case "LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit":
		return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, RetryAfter: untilMidnight(now), Message: "per-number frequency limit reached (natural day)"}, true
	case "LimitExceeded.DeliveryFrequencyLimit":
		return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, Message: "per-number frequency limit reached (provider policy)"}, true
	case codeTencentDoNotDisturb:
		return sdk.PermanentError(code, "the number is on the provider's do-not-disturb list (the recipient unsubscribed or the carrier blocks it)"), true
	case "FailedOperation.MarketingSendTimeConstraint":
		return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, RetryAfter: untilHour(now, 8), Message: "marketing SMS may only be sent 08:00–22:00 China time"}, true
	case "FailedOperation.ContainSensitiveWord", "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter":
		return sdk.PermanentError(code, "content refused by the provider's content control"), true
	case "InvalidParameterValue.IncorrectPhoneNumber":
		return sdk.PermanentError(code, "the recipient's number is not accepted"), false
	}
	if strings.HasPrefix(code, "LimitExceeded.PhoneNumber") {
		return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, Message: "per-number frequency limit reached"}, true
	}
	return sdk.PermanentError(code, "Tencent did not send to this number"), false
}

// untilMidnight is the time to the next 00:00 China time.
func untilMidnight(now time.Time) time.Duration { return untilHour(now, 0) }

// untilHour is the time to the next hh:00 China time.
func untilHour(now time.Time, hour int) time.Duration {
	local := now.In(mapping.Shanghai)
	next := time.Date(local.Year(), local.Month(), local.Day(), hour, 0, 0, 0, mapping.Shanghai)
	if !next.After(local) {
		next = next.AddDate(0, 0, 1)
	}
	return next.Sub(local)
}
