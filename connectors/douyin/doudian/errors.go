package doudian

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Platform codes (the envelope's code field), from the platform's
// 平台基础错误码汇总. Success is CodeSuccess.
const (
	CodeSuccess            = 10000
	CodePartialFailure     = 10001
	CodeServiceUnavailable = 20000 // retry
	CodeServiceTimeout     = 20001 // retry
	CodePermissionDenied   = 30001
	CodeIPNotAllowed       = 30002
	CodeMissingParam       = 40001 // platform parameter missing
	CodeMissingBizParam    = 40002
	CodeInvalidParam       = 40003 // platform parameter invalid (signature, token, timestamp…)
	CodeInvalidBizParam    = 40004
	CodeTokenFailed        = 50001 // token.create / token.refresh failed
	CodeBusinessFailed     = 50002
	CodeThrottled          = 60000 // 触发限流，请稍后重试; no sub_code is documented
	CodeAPIOffline         = 70000
	CodeSecurity           = 80000
	CodeOther              = 90000
)

// Platform sub_codes the client and the sandbox both use.
const (
	SubSignatureMissing      = "isv.signature-missing"
	SubAppIDMissing          = "isv.app-id-missing"
	SubAccessTokenMissing    = "isv.access-token-missing"
	SubSignatureInvalid      = "isv.signature-invalid"
	SubAccessTokenExpired    = "isv.access-token-expired"
	SubAccessTokenNotExist   = "isv.access-token-no-existed"
	SubAccessTokenInvalid    = "isv.access-token-invalid" // token belongs to another app
	SubAppIDInvalid          = "isv.app-id-invalid"       // app_key must be 19 digits
	SubTimestampInvalid      = "isv.timestamp-invalid"
	SubTimestampFormat       = "isv.timestamp-format-error"
	SubParamFormatInvalid    = "isv.parameter-format-invalid"
	SubAPIServiceOff         = "isp.api-service-off"
	SubAuthorizationGone     = "dop.authorization-no-existed"
	SubAuthorizationClosed   = "dop.authorization-closed"
	SubAppForbidden          = "dop.app-forbidden"
	SubTokenGenerateFailed   = "dop.token-generate-failed" // followed by ":code-expired", ":token-invalid"…
	SubTokenCodeExpired      = SubTokenGenerateFailed + ":code-expired"
	SubTokenCodeInvalid      = SubTokenGenerateFailed + ":code-invalid"
	SubTokenExpired          = SubTokenGenerateFailed + ":token-expired"
	SubTokenInvalid          = SubTokenGenerateFailed + ":token-invalid"
	SubTokenGrantTypeInvalid = SubTokenGenerateFailed + ":grant-type-invalid"
	SubTokenNoAuthorization  = SubTokenGenerateFailed + ":no-authorization"
	SubRefreshTokenNotFound  = "isv.business-failed:31009"
	SubServiceError          = "isp.service-error"     // followed by ":<n>"
	SubParamInvalid          = "isv.parameter-invalid" // business parameter; often followed by ":<n>"
	SubBusinessFailed        = "isv.business-failed"   // often followed by ":<n>"

	// order.searchList
	SubOrderPageSize       = "isv.parameter-invalid:20008" // size > 100
	SubOrderStartMissing   = "isv.parameter-invalid:20011" // no create or update start
	SubOrderStatusTooMany  = "isv.parameter-invalid:20012" // combine_status with > 1 element
	SubOrderTooDeep        = "isv.parameter-invalid:20013" // beyond 50,000 rows
	SubOrderHistory        = "isv.parameter-invalid:20022" // older than 90 days
	SubOrderStartAfterEnd  = "isv.parameter-invalid:20048"
	SubOrderPageNegative   = "isv.parameter-invalid:10035"
	SubOrderSystemBusy     = SubServiceError + ":20005"        // retry 3–5 times within 30 s
	SubMemberShopMissing   = "isv.business-failed:628002001"   // 会员通 not enabled
	SubMemberBadParam      = "isv.parameter-invalid:628002001" // member.batchUpdate: 参数非法
	SubMemberTooFrequent   = "isv.business-failed:628145015"
	SubMemberNeedsUnionID  = "isv.business-failed:628145036"
	SubMemberOpenIDInvalid = "isv.parameter-invalid:628145003"
	SubMemberNetwork       = "isv.business-failed:628145000"
	SubMemberTimeout       = "isv.business-failed:628004002"
)

// APIError is a response envelope whose code is not CodeSuccess.
type APIError struct {
	// Method is the API method called, e.g. "order.searchList".
	Method  string
	Code    int
	Msg     string
	SubCode string
	SubMsg  string
	LogID   string
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "doudian %s: code %d", e.Method, e.Code)
	if e.Msg != "" {
		b.WriteString(" " + e.Msg)
	}
	if e.SubCode != "" {
		b.WriteString(": " + e.SubCode)
	}
	if e.SubMsg != "" {
		b.WriteString(" " + e.SubMsg)
	}
	if e.LogID != "" {
		b.WriteString(" (log_id " + e.LogID + ")")
	}
	return b.String()
}

// Throttled reports a rate-limit answer: code 60000, or member.* calls
// rejected as too frequent. Back off and retry later.
func (e *APIError) Throttled() bool {
	return e.Code == CodeThrottled || e.SubCode == SubMemberTooFrequent
}

// AuthExpired reports an access token that is expired or no longer exists.
// The official SDK wrappers refresh the token once and retry on exactly these.
func (e *APIError) AuthExpired() bool {
	return e.Code == CodeInvalidParam && (e.SubCode == SubAccessTokenExpired || e.SubCode == SubAccessTokenNotExist)
}

// AuthInvalid reports credentials that a refresh cannot fix: a wrong app key
// or secret, a token of another app, a refresh token that is expired, unknown
// or already rotated, an authorization the merchant revoked or closed, or an
// IP not on the app's allow-list. The merchant must re-authorize or the
// config must be fixed.
func (e *APIError) AuthInvalid() bool {
	switch e.Code {
	case CodeIPNotAllowed, CodeTokenFailed:
		return true
	case CodePermissionDenied:
		return e.SubCode == SubAuthorizationGone || e.SubCode == SubAuthorizationClosed || e.SubCode == SubAppForbidden
	case CodeMissingParam:
		return e.SubCode == SubAppIDMissing
	case CodeInvalidParam:
		switch e.SubCode {
		case SubAccessTokenInvalid, SubAppIDInvalid, SubSignatureInvalid, "isv.app-id-expired":
			return true
		}
	case CodeBusinessFailed:
		return e.SubCode == SubRefreshTokenNotFound
	}
	return false
}

// Unavailable reports a platform-side failure worth retrying with backoff:
// codes 20000/20001, any isp.service-error sub_code, the order APIs'
// "system busy" (:20004, :20005) and the member APIs' network/timeout codes.
func (e *APIError) Unavailable() bool {
	switch {
	case e.Code == CodeServiceUnavailable || e.Code == CodeServiceTimeout:
		return true
	case strings.HasPrefix(e.SubCode, SubServiceError):
		return true
	case strings.HasSuffix(e.SubCode, ":20004") || strings.HasSuffix(e.SubCode, ":20005"):
		return true
	case e.SubCode == SubMemberNetwork || e.SubCode == SubMemberTimeout:
		return true
	}
	return false
}

// ErrMalformedResponse is wrapped by an HTTPError whose body is not a
// response envelope.
var ErrMalformedResponse = errors.New("malformed response body")

// HTTPError is a response that is not a well-formed envelope: a non-200
// status, or a body that does not parse.
type HTTPError struct {
	Method     string
	StatusCode int
	// Body is the start of the response body (at most 256 bytes).
	Body string
	// Err is ErrMalformedResponse (wrapped) for unparsable bodies, else nil.
	Err error
}

// Error implements error.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("doudian %s: HTTP %d", e.Method, e.StatusCode)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Body != "" {
		msg += fmt.Sprintf(" (body %q)", e.Body)
	}
	return msg
}

// Unwrap returns Err.
func (e *HTTPError) Unwrap() error { return e.Err }

// Throttled reports HTTP 429.
func (e *HTTPError) Throttled() bool { return e.StatusCode == 429 }

// Unavailable reports a 5xx, a 429 or a malformed body: the gateway is having
// trouble, so retry with backoff.
func (e *HTTPError) Unavailable() bool {
	return e.StatusCode >= 500 || e.StatusCode == 429 || e.Err != nil
}

// IsThrottled reports whether err (or an error it wraps) is a rate-limit
// answer.
func IsThrottled(err error) bool {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Throttled()
	}
	if he, ok := errors.AsType[*HTTPError](err); ok {
		return he.Throttled()
	}
	return false
}

// IsAuthExpired reports whether err says the access token expired: refresh it
// and retry once.
func IsAuthExpired(err error) bool {
	ae, ok := errors.AsType[*APIError](err)
	return ok && ae.AuthExpired()
}

// IsAuthInvalid reports whether err says the credentials or authorization are
// bad beyond a refresh.
func IsAuthInvalid(err error) bool {
	ae, ok := errors.AsType[*APIError](err)
	return ok && ae.AuthInvalid()
}

// IsUnavailable reports whether err is a transient failure of the platform or
// the network: an APIError or HTTPError that says so, or a transport error
// (connection refused, reset, timeout). A cancelled context is not.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Unavailable()
	}
	if he, ok := errors.AsType[*HTTPError](err); ok {
		return he.Unavailable()
	}
	if _, ok := errors.AsType[*url.Error](err); ok {
		return true
	}
	_, ok := errors.AsType[net.Error](err)
	return ok
}
