package top

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Platform error codes (error_response.code), fact sheet §1.8.
const (
	CodeUserCallLimited     = 4
	CodeSessionCallLimited  = 5
	CodePartnerCallLimited  = 6
	CodeAppCallLimited      = 7 // with accesscontrol.* sub_codes
	CodeAppCallFrequency    = 8
	CodeISVPermission       = 11
	CodeUserPermission      = 12
	CodeRemoteServiceError  = 15 // business error: isv.* caller's fault, isp.* server's
	CodeMissingMethod       = 21
	CodeInvalidMethod       = 22
	CodeInvalidFormat       = 23
	CodeMissingSignature    = 24
	CodeInvalidSignature    = 25
	CodeMissingSession      = 26
	CodeInvalidSession      = 27
	CodeMissingAppKey       = 28
	CodeInvalidAppKey       = 29
	CodeMissingTimestamp    = 30
	CodeInvalidTimestamp    = 31
	CodeMissingVersion      = 32
	CodeInvalidVersion      = 33
	CodeUnsupportedVersion  = 34
	CodeMissingRequired     = 40
	CodeInvalidArguments    = 41
	CodeForbiddenRequest    = 42
	CodeParameterError      = 43
	CodeRemoteServiceError2 = 50 // newer examples use 50 for remote service errors
)

// Sub-codes the client and the sandbox both use.
const (
	SubLimitedByAppAccessCount    = "accesscontrol.limited-by-app-access-count"     // daily app quota
	SubLimitedByAPIAccessCount    = "accesscontrol.limited-by-api-access-count"     // platform per-API rate
	SubLimitedByAppAPIAccessCount = "accesscontrol.limited-by-app-api-access-count" // unlaunched app, per API
	SubInvalidSessionKey          = "invalid-sessionkey"
	SubSessionExpired             = "isv.session-expired" // seen in older answers; treated like invalid-sessionkey
	SubInvalidRefreshToken        = "isv.refresh-token-invalid"
	SubServiceUnavailable         = "isp.top-remote-connection-timeout"
	SubInvalidParameter           = "isv.invalid-parameter"
	SubMemberNotFound             = "isv.member-not-exist"
)

// APIError is an error_response from the router.
type APIError struct {
	// Method is the API called, e.g. "taobao.trades.sold.get".
	Method    string
	Code      int
	Msg       string
	SubCode   string
	SubMsg    string
	RequestID string
}

// Error implements error. It carries the platform's words only: the router
// never echoes the session, and neither does this text.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "top %s: code %d", e.Method, e.Code)
	if e.Msg != "" {
		b.WriteString(" " + e.Msg)
	}
	if e.SubCode != "" {
		b.WriteString(": " + e.SubCode)
	}
	if e.SubMsg != "" {
		b.WriteString(" " + e.SubMsg)
	}
	if e.RequestID != "" {
		b.WriteString(" (request_id " + e.RequestID + ")")
	}
	return b.String()
}

// Throttled reports a rate or quota answer: code 7 (App Call Limited, with
// an accesscontrol.* sub_code), the older call-limit codes 4, 5, 6 and 8, or
// any accesscontrol.* sub_code.
func (e *APIError) Throttled() bool {
	switch e.Code {
	case CodeAppCallLimited, CodeUserCallLimited, CodeSessionCallLimited, CodePartnerCallLimited, CodeAppCallFrequency:
		return true
	}
	return strings.HasPrefix(e.SubCode, "accesscontrol.")
}

// banRE finds the ban hint: "This ban will last for 12 more seconds".
var banRE = regexp.MustCompile(`(?i)ban will last (?:for )?(\d+) more seconds?`)

// DefaultBanWait is the wait of a throttling answer without a hint.
const DefaultBanWait = time.Second

// BanWait is how long to wait after a throttling answer: the N of the
// sub_msg's "This ban will last for N more seconds" plus one second, as the
// platform advises; DefaultBanWait when there is no hint.
func (e *APIError) BanWait() time.Duration {
	return ParseBanWait(e.SubMsg + " " + e.Msg)
}

// ParseBanWait reads the "ban will last for N more seconds" hint in s and
// returns N+1 seconds, or DefaultBanWait when s has none.
func ParseBanWait(s string) time.Duration {
	m := banRE.FindStringSubmatch(s)
	if m == nil {
		return DefaultBanWait
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n < 0 || n > 7*24*3600 {
		return DefaultBanWait
	}
	return time.Duration(n+1) * time.Second
}

// SessionExpired reports a session the platform no longer accepts (code 27
// invalid-sessionkey: expired, revoked, shop frozen, or of another app).
// A refresh (service-market apps) or a new authorization fixes it.
func (e *APIError) SessionExpired() bool {
	return e.Code == CodeInvalidSession || e.Code == CodeMissingSession ||
		e.SubCode == SubInvalidSessionKey || e.SubCode == SubSessionExpired
}

// AuthInvalid reports credentials no retry fixes: a wrong app key or
// signature, missing permissions, or a refresh token the platform refused.
func (e *APIError) AuthInvalid() bool {
	switch e.Code {
	case CodeMissingAppKey, CodeInvalidAppKey, CodeMissingSignature, CodeInvalidSignature,
		CodeISVPermission, CodeUserPermission:
		return true
	}
	return e.SubCode == SubInvalidRefreshToken
}

// Unavailable reports a platform-side failure worth retrying later: an isp.*
// sub_code (the server's fault), or a remote service error without an isv.*
// sub_code.
func (e *APIError) Unavailable() bool {
	if strings.HasPrefix(e.SubCode, "isp.") {
		return true
	}
	return (e.Code == CodeRemoteServiceError || e.Code == CodeRemoteServiceError2) && e.SubCode == ""
}

// ErrMalformedResponse is wrapped by an HTTPError whose body is not a TOP
// response.
var ErrMalformedResponse = errors.New("malformed response body")

// HTTPError is a response that is not a well-formed envelope: a status other
// than 200, or a body that does not parse.
type HTTPError struct {
	Method     string
	StatusCode int
	// Body is the start of the response body (at most 256 bytes).
	Body string
	Err  error
}

// Error implements error.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("top %s: HTTP %d", e.Method, e.StatusCode)
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

// IsThrottled reports a throttling answer (APIError.Throttled or HTTP 429).
func IsThrottled(err error) bool {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Throttled()
	}
	if he, ok := errors.AsType[*HTTPError](err); ok {
		return he.StatusCode == 429
	}
	return false
}

// BanWaitOf is the wait a throttling error asks for (see APIError.BanWait).
func BanWaitOf(err error) time.Duration {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.BanWait()
	}
	return DefaultBanWait
}

// IsSessionExpired reports an expired or revoked session.
func IsSessionExpired(err error) bool {
	ae, ok := errors.AsType[*APIError](err)
	return ok && ae.SessionExpired()
}

// IsAuthInvalid reports credentials that are wrong beyond a refresh.
func IsAuthInvalid(err error) bool {
	ae, ok := errors.AsType[*APIError](err)
	return ok && ae.AuthInvalid()
}

// IsUnavailable reports a transient failure: an isp.* answer, a 5xx, a
// malformed body, or a transport error. A cancelled context is not.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Unavailable()
	}
	if he, ok := errors.AsType[*HTTPError](err); ok {
		return he.StatusCode >= 500 || he.StatusCode == 429 || he.Err != nil
	}
	if _, ok := errors.AsType[*url.Error](err); ok {
		return true
	}
	_, ok := errors.AsType[net.Error](err)
	return ok
}
