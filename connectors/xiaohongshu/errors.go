package xiaohongshu

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/sdk"
)

// throttleWait is the wait a throttled call asks the hub for. The platform
// gives none (its throttling answer is not even documented, fact sheet §3.7);
// its quotas are per second.
const throttleWait = time.Second

// classify turns an error of package ark (or of the transport) into a
// classed sdk error for api that wraps it. Errors that are already classed,
// and the context's own cancellation, pass through unchanged. The messages
// carry the platform's method, code and message, never a credential: ark
// keeps tokens and the secret out of its errors.
func classify(ctx context.Context, api string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*sdk.Error](err); ok {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	wrap := func(class sdk.Class, code int, hint string) error {
		e := &sdk.Error{Class: class, Message: hint, Err: err}
		if code != 0 {
			e.PlatformCode = strconv.Itoa(code)
		}
		if class == sdk.ClassThrottled {
			e.RetryAfter = throttleWait
		}
		return e
	}
	if ae, ok := errors.AsType[*ark.APIError](err); ok {
		switch {
		case ae.Throttled():
			return wrap(sdk.ClassThrottled, ae.Code, "over the app's rate limit")
		case ae.AuthExpired():
			return wrap(sdk.ClassAuth, ae.Code, "access token rejected again right after a refresh")
		case ae.Code == ark.CodeNoPermission:
			return wrap(sdk.ClassAuth, ae.Code, "check app_id and app_secret, and that the shop authorized the app")
		case ae.Code == ark.CodeGrantInvalid:
			return wrap(sdk.ClassAuth, ae.Code, "the refresh token is unknown, used up or expired: have the merchant authorize the app again and set refresh_token")
		case ae.Unavailable():
			return wrap(sdk.ClassUnavailable, ae.Code, "platform error")
		}
		return wrap(sdk.ClassPermanent, ae.Code, api+" refused")
	}
	if he, ok := errors.AsType[*ark.HTTPError](err); ok {
		switch {
		case he.Throttled():
			return wrap(sdk.ClassThrottled, he.StatusCode, "gateway asks to slow down")
		case he.Unavailable():
			return wrap(sdk.ClassUnavailable, 0, "gateway trouble")
		}
		return wrap(sdk.ClassPermanent, he.StatusCode, api+" refused by the gateway")
	}
	if errors.Is(err, ark.ErrInvalidRequest) {
		return wrap(sdk.ClassPermanent, 0, api+": request breaks a platform rule")
	}
	if ark.IsUnavailable(err) {
		return wrap(sdk.ClassUnavailable, 0, api+": network")
	}
	return wrap(sdk.ClassPermanent, 0, api)
}

// notFound reports whether err says the order does not exist in the shop.
func notFound(err error) bool {
	ae, ok := errors.AsType[*ark.APIError](err)
	return ok && ae.Code == ark.CodeOrderNotFound
}
