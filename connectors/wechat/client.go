package wechat

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
	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/sdk"
)

// client calls the Official Account API with one connection's credentials.
//
// It decodes into silenceper/wechat's response types with its decoders, but
// sends requests itself: silenceper sends through a process-wide
// http.Client, takes no context, and puts the access token into its error
// strings. Here every call has the caller's ctx, a per-connection client, and
// a transport that sends the real API URLs to the configured base.
type client struct {
	http   *http.Client
	appID  string
	secret sdk.Secret
	host   *sdk.Host
}

// maxBody bounds a response body; a full user/get page is ~300 KB.
const maxBody = 32 << 20

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

// rewrite sends requests for the platform's hosts to another base URL.
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

func (c *client) tokenKey() string { return "wechat:stable_token:" + c.appID }

// token returns the app's access token from the hub's shared cache. The
// token comes from /cgi-bin/stable_token, which does not invalidate the
// brand's own backend's tokens the way /cgi-bin/token does.
func (c *client) token(ctx context.Context) (string, error) {
	return c.host.Token(ctx, c.tokenKey(), c.fetchToken)
}

func (c *client) fetchToken(ctx context.Context) (sdk.Token, error) {
	body := map[string]any{"grant_type": "client_credential", "appid": c.appID, "secret": c.secret.Reveal(), "force_refresh": false}
	var res credential.ResAccessToken
	if err := c.send(ctx, "stable_token", http.MethodPost, "/cgi-bin/stable_token", nil, body, &res); err != nil {
		return sdk.Token{}, err
	}
	if res.AccessToken == "" {
		return sdk.Token{}, sdk.UnavailableError(nil, "stable_token: no access_token in the answer")
	}
	return sdk.Token{Value: res.AccessToken, ExpiresAt: c.host.Now().Add(time.Duration(res.ExpiresIn) * time.Second)}, nil
}

// call makes an authenticated API call. On a token error (40001, 40014,
// 42001) it drops the cached token and tries once more with a fresh one.
func (c *client) call(ctx context.Context, api, method, path string, query url.Values, body, out any) error {
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

// send does one HTTP exchange and decodes the answer into out, which must
// embed util.CommonError.
func (c *client) send(ctx context.Context, api, method, path string, query url.Values, body, out any) error {
	if err := c.host.Wait(ctx, api); err != nil {
		return err
	}
	u := DefaultAPIBase + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return sdk.PermanentError("", "%s: encode request: %v", api, err)
		}
		rd = &buf
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return sdk.PermanentError("", "%s: %v", api, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
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
