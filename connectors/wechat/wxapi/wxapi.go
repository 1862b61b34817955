// Package wxapi is the client of WeChat's server API (api.weixin.qq.com)
// that the official-account and mini-program connectors share: one
// connection's credentials, stable tokens through the hub's shared cache, a
// retry with a fresh token after a token error, errcodes classed by the
// connector.
//
// It decodes into silenceper/wechat's response types with its decoders, but
// sends requests itself: silenceper sends through a process-wide
// http.Client, takes no context, and puts the access token into its error
// strings. Here every call has the caller's ctx, a per-connection client, and
// a transport that sends the real API URLs to the configured base.
package wxapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/sdk"
)

// DefaultBase is WeChat's API host.
const DefaultBase = "https://api.weixin.qq.com"

// Token errcodes: the cached token is dropped and the call retried once.
const (
	CodeTokenInvalid   = 40001
	CodeTokenMalformed = 40014
	CodeTokenExpired   = 42001
)

// TokenError reports an errcode after which the cached token is dropped and
// the call retried once.
func TokenError(code int64) bool {
	return code == CodeTokenInvalid || code == CodeTokenMalformed || code == CodeTokenExpired
}

// maxBody bounds a response body; a full user/get page is ~300 KB.
const maxBody = 32 << 20

// Client calls WeChat's server API for one app.
type Client struct {
	http     *http.Client
	appID    string
	secret   sdk.Secret
	host     *sdk.Host
	classify func(api string, e *util.CommonError) error
}

// New builds a client sending to base (a config error naming baseField
// when it is not an absolute URL); classify maps errcodes to sdk errors.
func New(base, baseField string, timeout time.Duration, appID string, secret sdk.Secret, host *sdk.Host, classify func(api string, e *util.CommonError) error) (*Client, error) {
	base = strings.TrimRight(base, "/")
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, sdk.ConfigError(baseField, "%q is not an absolute URL", base)
	}
	return &Client{
		http:     &http.Client{Timeout: timeout, Transport: &rewrite{to: u, next: http.DefaultTransport}},
		appID:    appID,
		secret:   secret,
		host:     host,
		classify: classify,
	}, nil
}

// CloseIdleConnections closes the client's idle connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

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

// TokenKey names an app's token in the hub's shared cache: a stable token
// belongs to an appid, whichever connector asks.
func TokenKey(appID string) string { return "wechat:stable_token:" + appID }

// Token returns the app's access token from the hub's shared cache. Tokens
// come from /cgi-bin/stable_token, which does not invalidate the tokens the
// brand's own backend gets from /cgi-bin/token.
func (c *Client) Token(ctx context.Context) (string, error) {
	return c.host.Token(ctx, TokenKey(c.appID), c.FetchToken)
}

// FetchToken asks stable_token for the app's token, not the cache: Check
// uses it, so a wrong secret shows even while a good token is cached
// (without force_refresh it invalidates nothing).
func (c *Client) FetchToken(ctx context.Context) (sdk.Token, error) {
	body := map[string]any{"grant_type": "client_credential", "appid": c.appID, "secret": c.secret.Reveal(), "force_refresh": false}
	var res credential.ResAccessToken
	if err := c.Send(ctx, "stable_token", http.MethodPost, "/cgi-bin/stable_token", nil, body, &res); err != nil {
		return sdk.Token{}, err
	}
	if res.AccessToken == "" {
		return sdk.Token{}, sdk.UnavailableError(nil, "stable_token: no access_token in the answer")
	}
	return sdk.Token{Value: res.AccessToken, ExpiresAt: c.host.Now().Add(time.Duration(res.ExpiresIn) * time.Second)}, nil
}

// Call makes an authenticated API call. On a token error (40001, 40014,
// 42001) it drops the cached token and tries once more with a fresh one.
func (c *Client) Call(ctx context.Context, api, method, path string, query url.Values, body, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.Token(ctx)
		if err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("access_token", tok)
		err = c.Send(ctx, api, method, path, q, body, out)
		if code := PlatformCode(err); TokenError(code) && attempt == 0 {
			c.host.Log().Info().Str("api", api).Int64("errcode", code).Msg("access token rejected; refreshing")
			if ierr := c.host.InvalidateToken(ctx, TokenKey(c.appID), tok); ierr != nil {
				return ierr
			}
			continue
		}
		return err
	}
}

// Send does one HTTP exchange (through the hub's rate limiter) and decodes
// the answer into out, which must embed util.CommonError.
func (c *Client) Send(ctx context.Context, api, method, path string, query url.Values, body, out any) error {
	if err := c.host.Wait(ctx, api); err != nil {
		return err
	}
	u := DefaultBase + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	data, err := Exchange(ctx, c.http, "WeChat", api, method, u, body, Scrub)
	if err != nil {
		return err
	}
	// A success body has no errcode: zero out first, or a retry would keep
	// the errcode of the answer before it.
	reflect.ValueOf(out).Elem().SetZero()
	if err := util.DecodeWithError(data, out, api); err != nil {
		var ce *util.CommonError
		if errors.As(err, &ce) {
			return c.classify(api, ce)
		}
		return sdk.UnavailableError(nil, "%s: malformed answer from WeChat (%d bytes)", api, len(data))
	}
	return nil
}

// Exchange sends one request to a WeChat-family API (body, when not nil,
// as JSON) and returns the body of its HTTP 200 answer. A transport failure,
// HTTP 5xx or 429 is unavailable; another status is permanent. platform
// names the API in errors; scrub takes secrets out of their texts.
func Exchange(ctx context.Context, hc *http.Client, platform, api, method, u string, body any, scrub func(string) string) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return nil, sdk.PermanentError("", "%s: encode request: %v", api, err)
		}
		rd = &buf
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, sdk.PermanentError("", "%s: %s", api, scrub(err.Error()))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, sdk.UnavailableError(errors.New(scrub(err.Error())), "%s", api)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, sdk.UnavailableError(errors.New(scrub(err.Error())), "%s: reading the answer", api)
	}
	if resp.StatusCode != http.StatusOK {
		// Business errors come with 200; anything else is transport.
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, sdk.UnavailableError(nil, "%s: HTTP %d from %s", api, resp.StatusCode, platform)
		}
		return nil, sdk.PermanentError(strconv.Itoa(resp.StatusCode), "%s: HTTP %d from %s", api, resp.StatusCode, platform)
	}
	return data, nil
}

// PlatformCode returns a WeChat errcode in err's chain, or 0.
func PlatformCode(err error) int64 {
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		n, _ := strconv.ParseInt(se.PlatformCode, 10, 64)
		return n
	}
	return 0
}

var tokenInURL = regexp.MustCompile(`access_token=[^&\s"]*`)

// Scrub removes access tokens from text that may reach a log.
func Scrub(s string) string { return tokenInURL.ReplaceAllString(s, "access_token=REDACTED") }
