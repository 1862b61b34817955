package xiaohongshu

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/sdk"
)

// client is one connection's access to the gateway: the signing client of
// package ark, access tokens from the hub's shared cache, and the shop's
// refresh token, which the platform rotates.
type client struct {
	ark      *ark.Client
	http     *http.Client
	host     *sdk.Host
	appID    string
	sellerID string

	// mu serialises refreshes, so two calls of this process never spend
	// one refresh token twice (the second would find it retired), and guards
	// the fields below.
	mu sync.Mutex
	// refresh is the shop's current refresh token: the config's, or the one
	// the platform rotated it to.
	refresh sdk.Secret
	// persisted is the refresh token the hub has stored; when it differs
	// from refresh, the rotated token still has to be saved.
	persisted sdk.Secret
}

func newClient(cfg sdk.Config, host *sdk.Host) (*client, error) {
	hc := &http.Client{Timeout: cfg.Duration(FieldTimeout), Transport: &limited{host: host, next: http.DefaultTransport}}
	a, err := ark.New(ark.Config{
		AppID:      cfg.String(FieldAppID),
		AppSecret:  cfg.Secret(FieldAppSecret).Reveal(),
		BaseURL:    cfg.String(FieldAPIBase),
		HTTPClient: hc,
		Now:        host.Now,
	})
	if err != nil {
		return nil, sdk.ConfigError(FieldAPIBase, "%q is not an absolute URL", cfg.String(FieldAPIBase))
	}
	rt := cfg.Secret(FieldRefreshToken)
	return &client{ark: a, http: hc, host: host, appID: cfg.String(FieldAppID), sellerID: cfg.String(FieldSellerID), refresh: rt, persisted: rt}, nil
}

// apiKey is the context key naming the API a request is for, so the
// transport can wait under that API's budget.
type apiKey struct{}

func withAPI(ctx context.Context, api string) context.Context {
	return context.WithValue(ctx, apiKey{}, api)
}

// limited waits under the hub's shared rate budget before every request. It
// sits in the transport because ark.Client.ScanOrders makes several calls
// per invocation.
type limited struct {
	host *sdk.Host
	next http.RoundTripper
}

func (l *limited) RoundTrip(req *http.Request) (*http.Response, error) {
	api, _ := req.Context().Value(apiKey{}).(string)
	if api == "" {
		api = "*"
	}
	if err := l.host.Wait(req.Context(), api); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return l.next.RoundTrip(req)
}

// tokenKey names the shop's access token in the hub's credentials cache.
func (c *client) tokenKey() string { return "xiaohongshu:access_token:" + c.appID + ":" + c.sellerID }

// accessToken returns the shop's access token from the hub's shared cache,
// refreshing it (under the cache's lease) when there is none or it is due.
func (c *client) accessToken(ctx context.Context) (string, error) {
	return c.host.Token(ctx, c.tokenKey(), c.fetch)
}

// cacheMargin mirrors how long before its ExpiresAt the host cache stops
// handing out a token (sdk's tokenMargin).
const cacheMargin = 5 * time.Minute

// fetch is the cache's fetch function: a refresh.
func (c *client) fetch(ctx context.Context) (sdk.Token, error) {
	t, err := c.refreshPair(ctx)
	if err != nil {
		return sdk.Token{}, err
	}
	return sdk.Token{Value: t.AccessToken, ExpiresAt: useUntil(t)}, nil
}

// useUntil is when the cache should stop handing out t's access token: the
// moment oauth.refreshToken starts issuing a new pair (ark.RefreshWindow
// before expiry), so the token is renewed ahead of time rather than on an
// error (whose code the platform does not document). The host cache stops
// cacheMargin before the time given, hence the addition.
func useUntil(t ark.Token) time.Time {
	exp := t.AccessTokenExpiresAt.Time()
	if exp.IsZero() {
		return time.Time{}
	}
	return exp.Add(-ark.RefreshWindow + cacheMargin)
}

// refreshPair calls oauth.refreshToken with the shop's current refresh
// token. With more than ark.RefreshWindow left on the access token the
// platform returns the pair unchanged; later it rotates both tokens, and the
// new refresh token is saved in the hub's config (Host.UpdateConfig) before
// the pair is used. A refresh token that was rotated but could not be saved
// is saved on the next call.
func (c *client) refreshPair(ctx context.Context) (ark.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx = withAPI(ctx, ark.MethodRefreshToken)
	t, err := c.ark.RefreshToken(ctx, c.refresh.Reveal())
	if err != nil {
		return ark.Token{}, classify(ctx, ark.MethodRefreshToken, err)
	}
	if t.AccessToken == "" {
		return ark.Token{}, sdk.UnavailableError(nil, "%s: no accessToken in the answer", ark.MethodRefreshToken)
	}
	if t.SellerID != "" && t.SellerID != c.sellerID {
		return ark.Token{}, sdk.ConfigError(FieldSellerID, "the refresh token is for shop %s, not %s", t.SellerID, c.sellerID)
	}
	if t.RefreshToken != "" && t.RefreshToken != c.refresh.Reveal() {
		c.refresh = sdk.NewSecret(t.RefreshToken)
	}
	if c.refresh.Reveal() != c.persisted.Reveal() {
		patch, err := json.Marshal(map[string]string{FieldRefreshToken: c.refresh.Reveal()})
		if err != nil {
			return ark.Token{}, &sdk.Error{Class: sdk.ClassPermanent, Message: "encoding the rotated refresh token", Err: err}
		}
		if err := c.host.UpdateConfig(ctx, patch); err != nil {
			if ctx.Err() != nil {
				return ark.Token{}, ctx.Err()
			}
			return ark.Token{}, &sdk.Error{Class: sdk.ClassUnavailable, Message: "saving the rotated refresh token in the hub (kept in memory; retried on the next refresh)", Err: err}
		}
		c.persisted = c.refresh
		c.host.Log().Info().Str("seller_id", c.sellerID).Time("refresh_token_expires_at", t.RefreshTokenExpiresAt.Time()).Msg("refresh token rotated and saved")
	}
	if left := t.RefreshTokenExpiresAt.Time().Sub(c.host.Now()); !t.RefreshTokenExpiresAt.Time().IsZero() && left < 48*time.Hour {
		c.host.Log().Warn().Str("seller_id", c.sellerID).Dur("left", left).Msg("refresh token lapses soon: sync at least weekly, or the merchant must authorize again")
	}
	return t, nil
}

// do calls fn with the shop's access token. When the gateway says the token
// is no longer accepted, it drops the token from the shared cache (unless
// another process already replaced it), refreshes, and calls fn once more.
// fn's errors are classified for api.
func (c *client) do(ctx context.Context, api string, fn func(ctx context.Context, token string) error) error {
	ctx = withAPI(ctx, api)
	for attempt := 0; ; attempt++ {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		err = fn(ctx, tok)
		if ark.IsAuthExpired(err) && attempt == 0 {
			c.host.Log().Info().Str("api", api).Msg("access token rejected; refreshing")
			if ierr := c.host.InvalidateToken(ctx, c.tokenKey(), tok); ierr != nil {
				return ierr
			}
			continue
		}
		return classify(ctx, api, err)
	}
}

// detail fetches one order's detail.
func (c *client) detail(ctx context.Context, orderID string) (*ark.OrderDetail, error) {
	var d *ark.OrderDetail
	err := c.do(ctx, ark.MethodGetOrderDetail, func(ctx context.Context, tok string) error {
		var err error
		d, err = c.ark.GetOrderDetail(ctx, tok, orderID)
		return err
	})
	return d, err
}

// detailWorkers bounds the order details fetched at once.
const detailWorkers = 4

// details fetches the details of orderIDs, detailWorkers at a time, and
// returns them in the same order: each a detail or an error. It stops early
// (leaving the rest nil with ctx's error) when ctx ends.
func (c *client) details(ctx context.Context, orderIDs []string) ([]*ark.OrderDetail, []error) {
	out := make([]*ark.OrderDetail, len(orderIDs))
	errs := make([]error, len(orderIDs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, detailWorkers)
	var wg sync.WaitGroup
	for i, id := range orderIDs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = c.detail(ctx, id)
			if errs[i] != nil && !notFound(errs[i]) {
				cancel() // the page fails anyway: stop the other calls
			}
		})
	}
	wg.Wait()
	return out, errs
}
