package wechat

import (
	"errors"
	"regexp"
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/sdk"
)

// Token errors: the cached token is dropped and the call retried once.
const (
	codeTokenInvalid   = 40001
	codeTokenMalformed = 40014
	codeTokenExpired   = 42001
)

func tokenError(code int64) bool {
	return code == codeTokenInvalid || code == codeTokenMalformed || code == codeTokenExpired
}

// classify maps a WeChat errcode to an sdk error class.
func classify(api string, e *util.CommonError) error {
	code := strconv.FormatInt(e.ErrCode, 10)
	msg := api + ": " + e.ErrMsg
	switch e.ErrCode {
	case -1:
		return &sdk.Error{Class: sdk.ClassUnavailable, PlatformCode: code, Message: msg + " (WeChat system busy)"}
	case 45009:
		return sdk.ThrottledError(time.Hour, code, "%s (daily API quota reached; it resets at midnight Beijing time)", msg)
	case 45011, 45033:
		return sdk.ThrottledError(time.Minute, code, "%s (minute quota reached)", msg)
	case 40013, 40125, 41002, 41004:
		return sdk.AuthError(code, "%s: check app_id and app_secret", msg)
	case 40164, 89503:
		return sdk.AuthError(code, "%s: add the hub's outbound IP to the account's IP allow-list", msg)
	case codeTokenInvalid, codeTokenMalformed, codeTokenExpired:
		return sdk.AuthError(code, "%s: access token rejected again after a refresh", msg)
	}
	return sdk.PermanentError(code, "%s", msg)
}

// platformCode returns a WeChat errcode in err's chain, or 0.
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
