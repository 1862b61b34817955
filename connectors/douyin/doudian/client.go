package doudian

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is the production gateway. The platform's own sandbox
// gateway is https://openapi-sandbox.jinritemai.com.
const DefaultBaseURL = "https://openapi-fxg.jinritemai.com"

// maxBody bounds a response body; a full order.searchList page is well under
// 1 MiB.
const maxBody = 16 << 20

// Config configures a Client. AppKey and AppSecret are required.
type Config struct {
	// AppKey is the app's key (19 digits).
	AppKey string
	// AppSecret signs every request. It never appears in errors.
	AppSecret string
	// BaseURL is the gateway; empty means DefaultBaseURL. Tests point it at a
	// sandbox.
	BaseURL string
	// SignMethod is sent as sign_method; empty means SignHMACSHA256, which the
	// platform recommends.
	SignMethod SignMethod
	// HTTPClient sends the requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for the timestamp parameter and token issue times; nil
	// means time.Now.
	Now func() time.Time
}

// Client calls the gateway with one app's credentials. It holds no token: the
// caller passes the access token to each call, so one token source (the hub's)
// can serve every process. A Client is safe for concurrent use.
type Client struct {
	appKey, secret string
	base           *url.URL
	sign           SignMethod
	http           *http.Client
	now            func() time.Time
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.AppKey == "" || cfg.AppSecret == "" {
		return nil, errors.New("doudian: app key and app secret are required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("doudian: base URL %q is not an absolute URL", base)
	}
	c := &Client{appKey: cfg.AppKey, secret: cfg.AppSecret, base: u, sign: cfg.SignMethod, http: cfg.HTTPClient, now: cfg.Now}
	if c.sign == "" {
		c.sign = SignHMACSHA256
	}
	if c.sign != SignMD5 && c.sign != SignHMACSHA256 {
		return nil, fmt.Errorf("doudian: sign method %q is not md5 or hmac-sha256", c.sign)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// MethodPath is the gateway path of an API method: "order.searchList" →
// "/order/searchList".
func MethodPath(method string) string { return "/" + strings.ReplaceAll(method, ".", "/") }

// NewRequest builds the signed POST for method with paramJSON as the body,
// sent as is (use CanonicalJSON to build it). accessToken is empty for the
// token APIs.
func (c *Client) NewRequest(ctx context.Context, method, accessToken string, paramJSON []byte) (*http.Request, error) {
	ts := strconv.FormatInt(c.now().Unix(), 10)
	q := url.Values{}
	q.Set("app_key", c.appKey)
	q.Set("method", method)
	q.Set("v", APIVersion)
	q.Set("timestamp", ts)
	q.Set("sign_method", string(c.sign))
	q.Set("sign", Sign(c.sign, c.secret, SignParams{AppKey: c.appKey, Method: method, ParamJSON: string(paramJSON), Timestamp: ts}))
	if accessToken != "" {
		q.Set("access_token", accessToken)
	}
	u := *c.base
	u.Path += MethodPath(method)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(paramJSON))
	if err != nil {
		return nil, fmt.Errorf("doudian %s: build request: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	// Opt into the code/sub_code envelope, as the official SDK does.
	req.Header.Set("x-open-no-old-err-code", "1")
	return req, nil
}

// Call calls method with params (marshalled by CanonicalJSON; nil sends "{}")
// and decodes the envelope's data into data (if not nil). A non-success code
// returns an *APIError; a bad status or body an *HTTPError.
func (c *Client) Call(ctx context.Context, method, accessToken string, params, data any) error {
	body, err := CanonicalJSON(params)
	if err != nil {
		return fmt.Errorf("doudian %s: %w", method, err)
	}
	req, err := c.NewRequest(ctx, method, accessToken, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("doudian %s: %w", method, redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("doudian %s: read response: %w", method, redact(err))
	}
	return ParseResponse(method, resp.StatusCode, raw, data)
}

// Response is the gateway's response envelope.
type Response struct {
	Code    int             `json:"code"`
	Msg     string          `json:"msg"`
	SubCode string          `json:"sub_code"`
	SubMsg  string          `json:"sub_msg"`
	LogID   string          `json:"log_id"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// ParseResponse checks a gateway response for method and decodes its data
// into data (if not nil and the call succeeded).
func ParseResponse(method string, statusCode int, body []byte, data any) error {
	shown := body
	if strings.HasPrefix(method, "token.") {
		shown = nil // token answers carry secrets
	}
	if statusCode != http.StatusOK {
		return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(shown)}
	}
	var env Response
	if err := json.Unmarshal(body, &env); err != nil || env.Code == 0 {
		if err == nil {
			err = errors.New("no code field")
		}
		return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(shown), Err: fmt.Errorf("%w: %w", ErrMalformedResponse, err)}
	}
	if env.Code != CodeSuccess {
		return &APIError{Method: method, Code: env.Code, Msg: env.Msg, SubCode: env.SubCode, SubMsg: env.SubMsg, LogID: env.LogID}
	}
	if data == nil || len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Data, data); err != nil {
		return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(shown), Err: fmt.Errorf("%w: data: %w", ErrMalformedResponse, err)}
	}
	return nil
}

func snippet(b []byte) string {
	const n = 256
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(b), "")
}

// redact drops the query string (which carries the access token) from the
// URL in a transport error.
func redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
		return &url.Error{Op: ue.Op, URL: "(redacted)", Err: ue.Err}
	}
	return err
}
