package taobao

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/sdk"
)

// configSessionTTL is how long a session taken from the config stays in the
// shared cache before it is read from the config again (the platform does
// not say when it expires; code 27 does).
const configSessionTTL = 24 * time.Hour

// client calls the router for one connection: signed requests through top,
// the session from the hub's shared cache, a refresh (service-market apps)
// when the platform rejects it, and errors classed for the hub.
type client struct {
	top    *top.Client
	http   *http.Client
	host   *sdk.Host
	appKey string
	shop   string

	mu       sync.Mutex
	session  string // the latest session known
	refresh  string // the latest refresh token; "" when the app cannot refresh
	rejected string // a session the platform rejected
}

func newClient(cfg sdk.Config, host *sdk.Host) (*client, error) {
	hc := &http.Client{Timeout: cfg.Duration(FieldTimeout)}
	tc, err := top.New(top.Config{
		AppKey: cfg.String(FieldAppKey), AppSecret: cfg.Secret(FieldAppSecret).Reveal(),
		BaseURL: cfg.String(FieldAPIBase), SignMethod: top.SignMethod(cfg.String(FieldSignMethod)),
		HTTPClient: hc, Now: host.Now,
	})
	if err != nil {
		return nil, sdk.ConfigError(FieldAPIBase, "%v", err)
	}
	return &client{top: tc, http: hc, host: host, appKey: cfg.String(FieldAppKey), shop: cfg.String(FieldShop),
		session: cfg.Secret(FieldSession).Reveal(), refresh: cfg.Secret(FieldRefreshToken).Reveal()}, nil
}

// tokenKey names the seller's session in the hub's shared cache.
func (c *client) tokenKey() string { return "taobao:session:" + c.appKey + ":" + c.shop }

// fetchSession returns the session to use: the configured (or last
// refreshed) one, unless the platform rejected it and a refresh token is
// configured, in which case it is refreshed and both new tokens are saved
// into the connection before the new session is used.
func (c *client) fetchSession(ctx context.Context) (sdk.Token, error) {
	c.mu.Lock()
	sess, rt, rejected := c.session, c.refresh, c.rejected
	c.mu.Unlock()
	if sess != rejected || rt == "" {
		return sdk.Token{Value: sess, ExpiresAt: c.host.Now().Add(configSessionTTL)}, nil
	}
	var res top.TokenRefreshResult
	if err := c.host.Wait(ctx, top.MethodTokenRefresh); err != nil {
		return sdk.Token{}, err
	}
	if err := c.top.Call(ctx, top.MethodTokenRefresh, "", map[string]string{"refresh_token": rt}, &res); err != nil {
		return sdk.Token{}, classify(ctx, err)
	}
	tok, err := res.Token()
	if err != nil {
		return sdk.Token{}, sdk.UnavailableError(err, "refreshing the session")
	}
	patch, _ := json.Marshal(map[string]string{FieldSession: tok.AccessToken, FieldRefreshToken: tok.RefreshToken})
	if err := c.host.UpdateConfig(ctx, patch); err != nil {
		c.host.Log().Error().Err(err).Msg("saving the refreshed session failed")
		return sdk.Token{}, sdk.UnavailableError(err, "saving the refreshed session")
	}
	c.mu.Lock()
	c.session, c.refresh = tok.AccessToken, tok.RefreshToken
	c.mu.Unlock()
	c.host.Log().Info().Msg("session refreshed and saved")
	exp := tok.ExpiresAt(c.host.Now())
	if tok.ExpiresIn <= 0 {
		exp = c.host.Now().Add(configSessionTTL)
	}
	return sdk.Token{Value: tok.AccessToken, ExpiresAt: exp}, nil
}

// call makes an authorized call. When the platform rejects the session, the
// cached one is dropped and the call made once more (with a refreshed
// session when the app can refresh).
func (c *client) call(ctx context.Context, method string, params map[string]string, out any) error {
	for attempt := 0; ; attempt++ {
		sess, err := c.host.Token(ctx, c.tokenKey(), c.fetchSession)
		if err != nil {
			return classify(ctx, err)
		}
		if err := c.host.Wait(ctx, method); err != nil {
			return err
		}
		err = c.top.Call(ctx, method, sess, params, out)
		if attempt == 0 && top.IsSessionExpired(err) {
			c.host.Log().Info().Str("method", method).Msg("session rejected; dropping it from the cache")
			c.mu.Lock()
			c.rejected = sess
			c.mu.Unlock()
			if ierr := c.host.InvalidateToken(ctx, c.tokenKey(), sess); ierr != nil {
				return classify(ctx, ierr)
			}
			continue
		}
		return classify(ctx, err)
	}
}

// appCall makes a call that needs no session (TMC).
func (c *client) appCall(ctx context.Context, method string, params map[string]string, out any) error {
	if err := c.host.Wait(ctx, method); err != nil {
		return err
	}
	return classify(ctx, c.top.Call(ctx, method, "", params, out))
}

func (c *client) now() time.Time { return c.host.Now() }
