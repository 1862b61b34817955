package wechat

import (
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/connectors/wechat/wxapi"
	"github.com/channelhub/channelhub/sdk"
)

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
	case wxapi.CodeTokenInvalid, wxapi.CodeTokenMalformed, wxapi.CodeTokenExpired:
		return sdk.AuthError(code, "%s: access token rejected again after a refresh", msg)
	}
	return sdk.PermanentError(code, "%s", msg)
}
