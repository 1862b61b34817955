package miniprogram

import (
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/connectors/wechat/wxapi"
	"github.com/channelhub/channelhub/sdk"
)

// WeChat errcodes the connector acts on (fact sheet §2.2, §4.1).
const (
	codeSystemBusy  = -1
	codeInvalidCode = 40029
	codeDailyQuota  = 45009
	codeMinuteQuota = 45011
	codeConcurrency = 45033
)

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
	case wxapi.CodeTokenInvalid, wxapi.CodeTokenMalformed, wxapi.CodeTokenExpired:
		return sdk.AuthError(code, "%s: access token rejected again after a refresh", msg)
	}
	return sdk.PermanentError(code, "%s", msg)
}

// platformCode returns a WeChat errcode in err's chain, or 0.
func platformCode(err error) int64 { return wxapi.PlatformCode(err) }

// scrub removes access tokens from text that may reach a log.
func scrub(s string) string { return wxapi.Scrub(s) }
