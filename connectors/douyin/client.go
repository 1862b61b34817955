package douyin

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/sdk"
)

// client calls the gateway for one connection: signed requests through
// doudian, access tokens from the hub's shared cache, rotated refresh tokens
// saved through the host, and errors classed for the hub.
type client struct {
	dd     *doudian.Client
	http   *http.Client
	host   *sdk.Host
	appKey string
	shopID int64

	mu      sync.Mutex
	refresh string // the latest refresh token (tool apps); empty for self-use apps
}

func newClient(cfg sdk.Config, host *sdk.Host) (*client, error) {
	hc := &http.Client{Timeout: cfg.Duration(FieldTimeout)}
	dd, err := doudian.New(doudian.Config{
		AppKey:     cfg.String(FieldAppKey),
		AppSecret:  cfg.Secret(FieldAppSecret).Reveal(),
		BaseURL:    cfg.String(FieldAPIBase),
		SignMethod: doudian.SignMethod(cfg.String(FieldSignMethod)),
		HTTPClient: hc,
		Now:        host.Now,
	})
	if err != nil {
		return nil, sdk.ConfigError(FieldAPIBase, "%v", err)
	}
	return &client{dd: dd, http: hc, host: host, appKey: cfg.String(FieldAppKey), shopID: cfg.Int(FieldShopID),
		refresh: cfg.Secret(FieldRefreshToken).Reveal()}, nil
}

// tokenKey names the shop's access token in the hub's shared cache: one
// token per (app, shop), whichever process fetched it.
func (c *client) tokenKey() string {
	return "douyin:access_token:" + c.appKey + ":" + strconv.FormatInt(c.shopID, 10)
}

// token returns the shop's access token from the shared cache, fetching one
// under the cache's lease when there is none.
func (c *client) token(ctx context.Context) (string, error) {
	return c.host.Token(ctx, c.tokenKey(), c.fetchToken)
}

// fetchToken gets a new access token: token.refresh with the latest refresh
// token for tool apps, token.create (authorization_self) for self-use apps.
// A refresh rotates the refresh token: the new one is saved through
// Host.UpdateConfig before the access token is used, since the old one no
// longer works.
func (c *client) fetchToken(ctx context.Context) (sdk.Token, error) {
	c.mu.Lock()
	rt := c.refresh
	c.mu.Unlock()
	var (
		tok *doudian.Token
		err error
	)
	if rt == "" {
		tok, err = c.dd.CreateToken(ctx, doudian.CreateTokenParams{ShopID: c.shopID})
	} else {
		tok, err = c.dd.RefreshToken(ctx, rt)
	}
	if err != nil {
		return sdk.Token{}, classify(ctx, err)
	}
	if rt != "" {
		c.mu.Lock()
		c.refresh = tok.RefreshToken
		c.mu.Unlock()
		patch, _ := json.Marshal(map[string]string{FieldRefreshToken: tok.RefreshToken})
		if err := c.host.UpdateConfig(ctx, patch); err != nil {
			// The old refresh token is dead already; this process keeps the new
			// one, but the stored connection needs it too.
			c.host.Log().Error().Err(err).Msg("saving the rotated refresh token failed")
			return sdk.Token{}, sdk.UnavailableError(err, "saving the rotated refresh token")
		}
		c.host.Log().Info().Msg("refresh token rotated and saved")
	}
	if tok.ShopID != "" && tok.ShopID != strconv.FormatInt(c.shopID, 10) {
		return sdk.Token{}, sdk.ConfigError(FieldShopID, "the token authorizes shop %s, not shop_id %d", tok.ShopID, c.shopID)
	}
	return sdk.Token{Value: tok.AccessToken, ExpiresAt: tok.ExpiresAt()}, nil
}

// call makes an authenticated API call. When the platform says the access
// token expired or no longer exists, the cached token is dropped and the call
// is made once more with a fresh one.
func (c *client) call(ctx context.Context, method string, params, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return classify(ctx, err)
		}
		if err := c.host.Wait(ctx, method); err != nil {
			return err
		}
		err = c.dd.Call(ctx, method, tok, params, out)
		if attempt == 0 && doudian.IsAuthExpired(err) {
			c.host.Log().Info().Str("method", method).Msg("access token rejected; refreshing")
			if ierr := c.host.InvalidateToken(ctx, c.tokenKey(), tok); ierr != nil {
				return classify(ctx, ierr)
			}
			continue
		}
		return classify(ctx, err)
	}
}

// searchOrders calls order.searchList.
func (c *client) searchOrders(ctx context.Context, req doudian.OrderSearchListRequest) (*doudian.OrderSearchListResult, error) {
	var res doudian.OrderSearchListResult
	if err := c.call(ctx, doudian.MethodOrderSearchList, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// orderDetail calls order.orderDetail.
func (c *client) orderDetail(ctx context.Context, orderID string) (*doudian.ShopOrder, error) {
	var res struct {
		ShopOrderDetail *doudian.ShopOrder `json:"shop_order_detail"`
	}
	if err := c.call(ctx, doudian.MethodOrderDetail, map[string]string{"shop_order_id": orderID}, &res); err != nil {
		return nil, err
	}
	if res.ShopOrderDetail == nil {
		return nil, sdk.UnavailableError(nil, "%s %s: answer without shop_order_detail", doudian.MethodOrderDetail, orderID)
	}
	return res.ShopOrderDetail, nil
}

// unionIDs maps shop member open_ids to their brand union_ids (members
// only).
func (c *client) unionIDs(ctx context.Context, appID int64, openIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(openIDs) == 0 {
		return out, nil
	}
	var res struct {
		UnionIDInfo map[string]string `json:"union_id_info"`
	}
	params := map[string]any{"app_id": appID, "open_id_list": openIDs}
	if err := c.call(ctx, doudian.MethodMemberBatchGetUnionIDByOpenIDs, params, &res); err != nil {
		return nil, err
	}
	for k, v := range res.UnionIDInfo {
		out[k] = v
	}
	return out, nil
}

// memberUpdate calls member.batchUpdate.
func (c *client) memberUpdate(ctx context.Context, req doudian.MemberBatchUpdateRequest) error {
	return c.call(ctx, doudian.MethodMemberBatchUpdate, req, nil)
}

// now is the host clock.
func (c *client) now() time.Time { return c.host.Now() }
