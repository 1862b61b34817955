package taobao

import (
	"context"
	"errors"
	"strconv"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/sdk"
)

// platformCode renders an APIError's codes, e.g. "7:accesscontrol.limited-by-api-access-count".
func platformCode(e *top.APIError) string {
	if e.SubCode == "" {
		return strconv.Itoa(e.Code)
	}
	return strconv.Itoa(e.Code) + ":" + e.SubCode
}

// classify maps an error of the top client to an sdk error class. A
// cancelled ctx wins. The top errors never carry the session or the secret,
// so their text is kept.
//
//	code 7 accesscontrol.* (and 4, 5, 6, 8), HTTP 429 → throttled, waiting the announced ban + 1 s
//	27 / 26 invalid-sessionkey (after one refresh)     → auth
//	25, 24, 28, 29, 11, 12, refused refresh token       → auth
//	isp.*, 15 without sub_code, HTTP 5xx, bad bodies, network → unavailable
//	anything else                                      → permanent
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if _, ok := errors.AsType[*sdk.Error](err); ok {
		return err
	}
	ae, isAPI := errors.AsType[*top.APIError](err)
	code := ""
	if isAPI {
		code = platformCode(ae)
	}
	switch {
	case top.IsThrottled(err):
		if code == "" {
			code = "429"
		}
		return &sdk.Error{Class: sdk.ClassThrottled, RetryAfter: top.BanWaitOf(err), PlatformCode: code, Message: "taobao asked to slow down", Err: err}
	case top.IsSessionExpired(err):
		return &sdk.Error{Class: sdk.ClassAuth, PlatformCode: code, Message: "the session was rejected: have the seller authorize the app again and update session (or set refresh_token for service-market apps)", Err: err}
	case top.IsAuthInvalid(err):
		return &sdk.Error{Class: sdk.ClassAuth, PlatformCode: code, Message: authHint(ae), Err: err}
	case top.IsUnavailable(err):
		return &sdk.Error{Class: sdk.ClassUnavailable, PlatformCode: code, Message: "taobao router", Err: err}
	}
	return &sdk.Error{Class: sdk.ClassPermanent, PlatformCode: code, Err: err}
}

func authHint(e *top.APIError) string {
	switch e.Code {
	case top.CodeISVPermission, top.CodeUserPermission:
		return "the app or the seller lacks permission for this API: check the app's API packages and the authorization"
	}
	if e.SubCode == top.SubInvalidRefreshToken {
		return "the refresh token was refused: have the seller authorize the app again and update session and refresh_token"
	}
	return "check app_key and app_secret"
}
