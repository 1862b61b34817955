package miniprogram

import (
	"errors"
	"regexp"
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/sdk"
)

// WeChat errcodes the connector acts on (fact sheet §2.2, §4.1).
const (
	codeSystemBusy     = -1
	codeTokenInvalid   = 40001
	codeTokenMalformed = 40014
	codeTokenExpired   = 42001
	codeInvalidCode    = 40029
	codeDailyQuota     = 45009
	codeMinuteQuota    = 45011
	codeConcurrency    = 45033
)

// tokenError reports an errcode after which the cached token is dropped and
// the call retried once.
func tokenError(code int64) bool {
	return code == codeTokenInvalid || code == codeTokenMalformed || code == codeTokenExpired
}

// classify maps a WeChat errcode to an sdk error class.
func classify(api string, e *util.CommonError) error {
	code := strconv.FormatInt(e.ErrCode, 10)
	msg := api + ": " + scrub(e.ErrMsg)
	switch e.ErrCode {
	case codeSystemBusy:
		return &sdk.Error{Class: sdk.ClassUnavailable, PlatformCode: code, Message: msg + " (WeChat system busy)"}
	case codeDailyQuota:
		return sdk.ThrottledError(time.Hour, code, "%s (daily API quota reached; it resets at midnight Beijing time)", msg)
	case codeMinuteQuota, codeConcurrency:
		return sdk.ThrottledError(time.Minute, code, "%s (minute quota reached)", msg)
	case 40013, 40125, 41002, 41004:
		return sdk.AuthError(code, "%s: check app_id and app_secret", msg)
	case 40164, 89503:
		return sdk.AuthError(code, "%s: add the hub's outbound IP to the mini-program's IP allow-list", msg)
	case 48001:
		return sdk.AuthError(code, "%s: the mini-program lacks this API's permission (verified non-individual account, shipping management enabled)", msg)
	case codeTokenInvalid, codeTokenMalformed, codeTokenExpired:
		return sdk.AuthError(code, "%s: access token rejected again after a refresh", msg)
	}
	return sdk.PermanentError(code, "%s", msg)
}

// platformCode returns the WeChat errcode in err's chain, or 0.
func platformCode(err error) int64 {
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		n, _ := strconv.ParseInt(se.PlatformCode, 10, 64)
		return n
	}
	return 0
}

var tokenInURL = regexp.MustCompile(`access_token=[^&\s"]*`)

// scrub removes access tokens from text that may reach a log.
func scrub(s string) string { return tokenInURL.ReplaceAllString(s, "access_token=REDACTED") }
