package ark

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Platform error codes (the envelope's error_code).
//
// The first group comes from the platform's legacy SDK error list (fact sheet
// §3.3, confidence M). The second group is NOT documented anywhere the sheet
// found (§3.7, §7): the codes are this package's choice, answered by the
// sandbox and recognised by the client. A live gateway may use other codes
// for the same events, so a connector should refresh tokens ahead of expiry
// ([Token.NeedsRefresh]) rather than rely on [APIError.AuthExpired], and
// treat an unexpected failure under load as retryable.
const (
	CodeSuccess       = 0
	CodeBadParams     = -1000400 // 请求参数错误: missing or invalid parameters
	CodeNoPermission  = -1000401 // 没有权限: also what the sandbox answers for a bad sign or unknown appId
	CodeServerError   = -1000500 // Inter Server Error: retry
	CodeOrderNotFound = -2000101 // 包裹不存在或不属于此商家
	CodeSystemError   = -2000500 // 系统调用异常: retry
	// CodeDecryptQuota and CodeDecryptQuotaAlt both report the data-decrypt
	// quota used up (which one is which is not documented).
	CodeDecryptQuota    = -2000701
	CodeDecryptQuotaAlt = -2000702

	// CodeAccessTokenInvalid: accessToken missing, unknown, expired, or
	// superseded past its grace period. Refresh and retry once. [L: choice]
	CodeAccessTokenInvalid = -1000402
	// CodeGrantInvalid: the authorization code or refresh token is unknown,
	// used up or expired; the merchant must authorize again. [L: choice]
	CodeGrantInvalid = -1000403
	// CodeThrottled: the app or method went over its QPS limit. [L: choice]
	CodeThrottled = -1000429
)

// APIError is a well-formed envelope with success false.
type APIError struct {
	// Method is the API method called, e.g. "order.getOrderList".
	Method string
	// Code is error_code (or code); 0 when the platform sent none.
	Code int
	// Msg is error_msg (or msg).
	Msg string
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "xiaohongshu %s: error_code %d", e.Method, e.Code)
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	return b.String()
}

// Throttled reports a rate-limit answer (CodeThrottled, or the decrypt quota
// used up). Back off and retry later.
func (e *APIError) Throttled() bool {
	switch e.Code {
	case CodeThrottled, CodeDecryptQuota, CodeDecryptQuotaAlt:
		return true
	}
	return false
}

// AuthExpired reports an access token the gateway no longer takes: refresh
// it and retry once.
func (e *APIError) AuthExpired() bool { return e.Code == CodeAccessTokenInvalid }

// AuthInvalid reports credentials a refresh cannot fix: a wrong appId or
// secret (bad sign), no permission for the shop, or an authorization code or
// refresh token that is used up or expired. The merchant must authorize
// again or the config must be fixed.
func (e *APIError) AuthInvalid() bool {
	return e.Code == CodeNoPermission || e.Code == CodeGrantInvalid
}

// Unavailable reports a platform-side failure worth retrying with backoff:
// the server-error codes, and a failure without any code (the platform's
// throttling answer is undocumented, so an unexplained failure is treated as
// transient).
func (e *APIError) Unavailable() bool {
	switch e.Code {
	case CodeServerError, CodeSystemError, 0:
		return true
	}
	return false
}

// ErrMalformedResponse is wrapped by an HTTPError whose body is not a
// response envelope.
var ErrMalformedResponse = errors.New("malformed response body")

// ErrInvalidRequest is wrapped by every error a helper returns before
// sending, because the request breaks a platform rule (window too long, page
// out of range…). Retrying the same request cannot succeed.
var ErrInvalidRequest = errors.New("invalid request")

// HTTPError is a response that is not a well-formed envelope: a status other
// than 200, or a body that does not parse.
type HTTPError struct {
	Method     string
	StatusCode int
	// Body is the start of the response body (at most 256 bytes).
	Body string
	// Err wraps ErrMalformedResponse for unparsable bodies; else nil.
	Err error
}

// Error implements error.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("xiaohongshu %s: HTTP %d", e.Method, e.StatusCode)
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
func (e *HTTPError) Throttled() bool { return e.StatusCode == http.StatusTooManyRequests }

// Unavailable reports a 5xx, a 429 or a malformed body: the gateway is having
// trouble, so retry with backoff.
func (e *HTTPError) Unavailable() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests || e.Err != nil
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

// IsAuthExpired reports whether err says the access token is no longer
// accepted: refresh it and retry once.
func IsAuthExpired(err error) bool {
	ae, ok := errors.AsType[*APIError](err)
	return ok && ae.AuthExpired()
}

// IsAuthInvalid reports whether err says the credentials or the
// authorization are bad beyond a refresh.
func IsAuthInvalid(err error) bool {
	ae, ok := errors.AsType[*APIError](err)
	return ok && ae.AuthInvalid()
}

// IsUnavailable reports whether err is a transient failure of the platform
// or the network: an APIError or HTTPError that says so, or a transport
// error (refused, reset, timeout). A cancelled context is not.
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
