package wecom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxapi"
	"github.com/channelhub/channelhub/sdk"
)

// client calls the WeCom API with one connection's credentials: every call
// carries the caller's ctx, goes through a per-connection http.Client, waits
// for the hub's shared rate budget, and gets its access token from the hub's
// shared cache.
type client struct {
	http   *http.Client
	base   string
	corpID string
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
		http:   &http.Client{Timeout: cfg.Duration(FieldTimeout)},
		base:   base,
		corpID: cfg.String(FieldCorpID),
		secret: cfg.Secret(FieldCorpSecret),
		host:   host,
	}, nil
}

// status is the errcode/errmsg every answer carries.
type status struct {
	ErrCode int64  `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (s *status) result() *status { return s }

// answer is a response type: it embeds status.
type answer interface{ result() *status }

// tokenKey names the token in the hub's shared cache. Each secret of a corp
// has its own token (fact sheet §3.1), so the key carries a short digest of
// the secret, never the secret.
func (c *client) tokenKey() string {
	sum := sha256.Sum256([]byte(c.secret.Reveal()))
	return "wecom:access_token:" + c.corpID + ":" + hex.EncodeToString(sum[:6])
}

// token returns the access token from the shared cache.
func (c *client) token(ctx context.Context) (string, error) {
	return c.host.Token(ctx, c.tokenKey(), c.fetchToken)
}

type tokenAnswer struct {
	status
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetchToken calls gettoken. WeCom hands out the same token while it is
// valid, so concurrent fetches do not invalidate each other; the shared
// cache still saves the calls (gettoken is limited per IP).
func (c *client) fetchToken(ctx context.Context) (sdk.Token, error) {
	q := url.Values{"corpid": {c.corpID}, "corpsecret": {c.secret.Reveal()}}
	var res tokenAnswer
	if err := c.send(ctx, "gettoken", http.MethodGet, "/cgi-bin/gettoken", q, nil, &res); err != nil {
		return sdk.Token{}, err
	}
	if res.AccessToken == "" {
		return sdk.Token{}, sdk.UnavailableError(nil, "gettoken: no access_token in the answer")
	}
	return sdk.Token{Value: res.AccessToken, ExpiresAt: c.host.Now().Add(time.Duration(res.ExpiresIn) * time.Second)}, nil
}

// call makes an authenticated API call. On a token error (40014, 42001) it
// drops the cached token and tries once more with a fresh one.
func (c *client) call(ctx context.Context, api, method, path string, query url.Values, body any, out answer) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("access_token", tok)
		err = c.send(ctx, api, method, path, q, body, out)
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

// send does one HTTP exchange and decodes the answer into out.
func (c *client) send(ctx context.Context, api, method, path string, query url.Values, body any, out answer) error {
	if err := c.host.Wait(ctx, api); err != nil {
		return err
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	data, err := wxapi.Exchange(ctx, c.http, "WeCom", api, method, u, body, scrub)
	if err != nil {
		return err
	}
	// Zero out first: a retry must not keep fields of the answer before.
	reflect.ValueOf(out).Elem().SetZero()
	if err := json.Unmarshal(data, out); err != nil {
		return sdk.UnavailableError(nil, "%s: malformed answer from WeCom (%d bytes)", api, len(data))
	}
	if st := out.result(); st.ErrCode != 0 {
		return classify(api, st)
	}
	return nil
}
