package miniprogram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram/business"
	"github.com/silenceper/wechat/v2/miniprogram/order"
	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/sdk"
)

// API paths.
const (
	pathStableToken = "/cgi-bin/stable_token"
	pathPhoneNumber = "/wxa/business/getuserphonenumber"
	pathOrderList   = "/wxa/sec/order/get_order_list"
)

// maxBody bounds a response body; a full order-list page is a few tens of KB.
const maxBody = 8 << 20

// client calls the mini-program server API with one connection's
// credentials. It decodes into silenceper/wechat's response types but sends
// the requests itself: silenceper sends through a process-wide http.Client,
// takes no context and puts the access token into its error strings.
type client struct {
	http   *http.Client
	appID  string
	secret sdk.Secret
	host   *sdk.Host
}

func newClient(cfg sdk.Config, host *sdk.Host) (*client, error) {
	base := strings.TrimRight(cfg.String(FieldAPIBase), "/")
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, sdk.ConfigError(FieldAPIBase, "%q is not an absolute URL", base)
	}
	return &client{
		http:   &http.Client{Timeout: cfg.Duration(FieldTimeout), Transport: &rewrite{to: u, next: http.DefaultTransport}},
		appID:  cfg.String(FieldAppID),
		secret: cfg.Secret(FieldAppSecret),
		host:   host,
	}, nil
}

// rewrite sends requests for the platform's host to another base URL.
type rewrite struct {
	to   *url.URL
	next http.RoundTripper
}

func (r *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == r.to.Host && req.URL.Scheme == r.to.Scheme {
		return r.next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = r.to.Scheme, r.to.Host, r.to.Host
	out.URL.Path = strings.TrimRight(r.to.Path, "/") + req.URL.Path
	return r.next.RoundTrip(out)
}

// tokenKey names the app's token in the hub's shared cache. The wechat
// connector uses the same scheme: a stable token belongs to an appid,
// whichever connector asks.
func (c *client) tokenKey() string { return "wechat:stable_token:" + c.appID }

// token returns the app's access token from the hub's shared cache. Tokens
// come from /cgi-bin/stable_token, which does not invalidate the tokens the
// brand's own backend gets from /cgi-bin/token.
func (c *client) token(ctx context.Context) (string, error) {
	if c.secret.Reveal() == "" {
		return "", sdk.ConfigError(FieldAppSecret, "is needed for WeChat API calls (the orders stream and phone codes); this connection only takes events")
	}
	return c.host.Token(ctx, c.tokenKey(), c.fetchToken)
}

func (c *client) fetchToken(ctx context.Context) (sdk.Token, error) {
	body := map[string]any{"grant_type": "client_credential", "appid": c.appID, "secret": c.secret.Reveal(), "force_refresh": false}
	var res credential.ResAccessToken
	if err := c.send(ctx, "stable_token", pathStableToken, nil, body, &res); err != nil {
		return sdk.Token{}, err
	}
	if res.AccessToken == "" {
		return sdk.Token{}, sdk.UnavailableError(nil, "stable_token: no access_token in the answer")
	}
	return sdk.Token{Value: res.AccessToken, ExpiresAt: c.host.Now().Add(time.Duration(res.ExpiresIn) * time.Second)}, nil
}

// call makes an authenticated POST. On a token error (40001, 40014, 42001)
// it drops the cached token and tries once more with a fresh one.
func (c *client) call(ctx context.Context, api, path string, body, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		err = c.send(ctx, api, path, url.Values{"access_token": {tok}}, body, out)
		if code := platformCode(err); tokenError(code) && attempt == 0 {
			c.host.Log().Info().Str("api", api).Int64("errcode", code).Msg("access token rejected; refreshing")
			if ierr := c.host.InvalidateToken(ctx, c.tokenKey(), tok); ierr != nil {
				return ierr
			}
			continue
		}
		return err
	}
}

// send does one POST exchange and decodes the answer into out, which must
// embed util.CommonError.
func (c *client) send(ctx context.Context, api, path string, query url.Values, body, out any) error {
	if err := c.host.Wait(ctx, api); err != nil {
		return err
	}
	u := DefaultAPIBase + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return sdk.PermanentError("", "%s: encode request: %v", api, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &buf)
	if err != nil {
		return sdk.PermanentError("", "%s: %s", api, scrub(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return sdk.UnavailableError(errors.New(scrub(err.Error())), "%s", api)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return sdk.UnavailableError(errors.New(scrub(err.Error())), "%s: reading the answer", api)
	}
	if resp.StatusCode != http.StatusOK {
		// WeChat answers business errors with 200; anything else is transport.
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return sdk.UnavailableError(nil, "%s: HTTP %d from WeChat", api, resp.StatusCode)
		}
		return sdk.PermanentError(strconv.Itoa(resp.StatusCode), "%s: HTTP %d from WeChat", api, resp.StatusCode)
	}
	// A success body has no errcode: zero out first, or a retry would keep
	// the errcode of the answer before it.
	reflect.ValueOf(out).Elem().SetZero()
	if err := util.DecodeWithError(data, out, api); err != nil {
		var ce *util.CommonError
		if errors.As(err, &ce) {
			return classify(api, ce)
		}
		return sdk.UnavailableError(nil, "%s: malformed answer from WeChat (%d bytes)", api, len(data))
	}
	return nil
}

// phoneAnswer is the answer of getuserphonenumber.
type phoneAnswer struct {
	util.CommonError
	PhoneInfo business.PhoneInfo `json:"phone_info"`
}

// phoneNumber exchanges a getPhoneNumber button code for the number. The
// code is single use: a retried exchange answers 40029.
func (c *client) phoneNumber(ctx context.Context, code, openid string) (business.PhoneInfo, error) {
	body := map[string]string{"code": code}
	if openid != "" {
		body["openid"] = openid
	}
	var res phoneAnswer
	if err := c.call(ctx, "getuserphonenumber", pathPhoneNumber, body, &res); err != nil {
		return business.PhoneInfo{}, err
	}
	return res.PhoneInfo, nil
}

// orderListAnswer is the answer of get_order_list.
type orderListAnswer = order.GetShippingOrderListResponse

// orderList reads one get_order_list page.
func (c *client) orderList(ctx context.Context, req *order.GetShippingOrderListRequest) (*orderListAnswer, error) {
	var res orderListAnswer
	if err := c.call(ctx, "get_order_list", pathOrderList, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
