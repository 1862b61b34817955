package douyin

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/sdk"
)

// throttleWait is the wait a code 60000 answer asks for. The platform gives
// no hint and its limits are per second, so one second is enough to let the
// budget refill (the hub backs off further when throttling repeats).
const throttleWait = time.Second

// platformCode renders an APIError's codes for sdk.Error.PlatformCode, e.g.
// "40003:isv.access-token-expired".
func platformCode(e *doudian.APIError) string {
	if e.SubCode == "" {
		return strconv.Itoa(e.Code)
	}
	return strconv.Itoa(e.Code) + ":" + e.SubCode
}

// classify maps an error of the doudian client to an sdk error class. A
// cancelled or expired ctx wins over whatever the call returned. The doudian
// errors carry no secrets (token answers and access tokens are scrubbed
// there), so their text can be kept.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		return err
	}
	ae, isAPI := errors.AsType[*doudian.APIError](err)
	switch {
	case doudian.IsThrottled(err):
		code := "429"
		if isAPI {
			code = platformCode(ae)
		}
		return sdk.ThrottledError(throttleWait, code, "%v", err)
	case isAPI && ae.SubCode == doudian.SubMemberShopMissing:
		return &sdk.Error{Class: sdk.ClassInvalidConfig, Field: FieldMemberAppID, PlatformCode: platformCode(ae), Message: "会员通 is not enabled for this app_id on the shop: check member_app_id", Err: err}
	case doudian.IsAuthExpired(err):
		return &sdk.Error{Class: sdk.ClassAuth, PlatformCode: platformCode(ae), Message: "access token rejected again after a refresh", Err: err}
	case doudian.IsAuthInvalid(err):
		return &sdk.Error{Class: sdk.ClassAuth, PlatformCode: platformCode(ae), Message: authHint(ae), Err: err}
	case doudian.IsUnavailable(err):
		return &sdk.Error{Class: sdk.ClassUnavailable, Message: "douyin gateway", Err: err}
	case isAPI:
		return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: platformCode(ae), Err: err}
	}
	return &sdk.Error{Class: sdk.ClassPermanent, Err: err}
}

// authHint says what to fix for a credential error.
func authHint(e *doudian.APIError) string {
	switch {
	case e.Code == doudian.CodeIPNotAllowed:
		return "add the hub's outbound IP to the app's IP allow-list"
	case e.Code == doudian.CodeTokenFailed || e.SubCode == doudian.SubRefreshTokenNotFound:
		return "the shop authorization or refresh token is no longer valid: have the merchant authorize the app again and set refresh_token (tool apps), or check shop_id (self-use apps)"
	case e.Code == doudian.CodePermissionDenied:
		return "the merchant revoked or closed the app's authorization, or the app is forbidden"
	}
	return "check app_key and app_secret"
}
