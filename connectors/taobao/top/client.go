package top

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/channelhub/channelhub/mapping"
)

// DefaultBaseURL is the production router (HTTPS). The platform's own
// sandbox is https://gw.api.tbsandbox.com/router/rest.
const DefaultBaseURL = "https://eco.taobao.com/router/rest"

// APIVersion is the v parameter.
const APIVersion = "2.0"

// TimeLayout is the layout of the timestamp parameter and of every time the
// platform sends: GMT+8 wall clock.
const TimeLayout = mapping.PlatformTimeLayout

// MaxSkew is how far the timestamp parameter may be from the router's clock.
const MaxSkew = 10 * time.Minute

// maxBody bounds a response body.
const maxBody = 16 << 20

// FormatTime formats t as the platform's GMT+8 wall clock, whatever the
// process time zone (the pitfall of popular SDKs, fact sheet §1.1).
func FormatTime(t time.Time) string { return mapping.FormatShanghai(t) }

// ParseTime parses a platform time (GMT+8) and returns it in UTC. An empty
// string gives the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return mapping.ParseShanghai(s)
}

// Config configures a Client. AppKey and AppSecret are required.
type Config struct {
	AppKey string
	// AppSecret signs every request. It never appears in errors.
	AppSecret string
	// BaseURL is the router URL; empty means DefaultBaseURL.
	BaseURL string
	// SignMethod is sent as sign_method; empty means SignHMACSHA256.
	SignMethod SignMethod
	// HTTPClient sends the requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for the timestamp parameter; nil means time.Now.
	Now func() time.Time
}

// Client calls the router with one app's credentials. It holds no session:
// the caller passes it to each call, so one token source (the hub's cache)
// serves every process. A Client is safe for concurrent use.
type Client struct {
	appKey, secret string
	base           string
	sign           SignMethod
	http           *http.Client
	now            func() time.Time
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.AppKey == "" || cfg.AppSecret == "" {
		return nil, errors.New("top: app key and app secret are required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("top: base URL %q is not an absolute URL", base)
	}
	c := &Client{appKey: cfg.AppKey, secret: cfg.AppSecret, base: base, sign: cfg.SignMethod, http: cfg.HTTPClient, now: cfg.Now}
	if c.sign == "" {
		c.sign = SignHMACSHA256
	}
	if !c.sign.Valid() {
		return nil, fmt.Errorf("top: sign method %q is not md5, hmac or hmac-sha256", c.sign)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Params returns the signed parameters of a call: the system parameters
// (method, app_key, session when not empty, timestamp in GMT+8, format=json,
// v, sign_method, simplify=true) merged with biz, and sign.
func (c *Client) Params(method, session string, biz map[string]string) (url.Values, error) {
	p := make(map[string]string, len(biz)+9)
	for k, v := range biz {
		p[k] = v
	}
	p["method"] = method
	p["app_key"] = c.appKey
	p["timestamp"] = FormatTime(c.now())
	p["format"] = "json"
	p["v"] = APIVersion
	p["sign_method"] = string(c.sign)
	p["simplify"] = "true"
	if session != "" {
		p["session"] = session
	}
	sign, err := Sign(c.sign, c.secret, p)
	if err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, v := range p {
		if v != "" {
			form.Set(k, v)
		}
	}
	form.Set("sign", sign)
	return form, nil
}

// Call calls method with the business parameters biz and decodes the answer
// into out (if not nil). The parameters go in a form POST body, so the
// session never appears in a URL or a transport error. An error_response
// returns an *APIError; a bad status or body an *HTTPError.
func (c *Client) Call(ctx context.Context, method, session string, biz map[string]string, out any) error {
	form, err := c.Params(method, session, biz)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("top %s: build request: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("top %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("top %s: read response: %w", method, err)
	}
	return ParseResponse(method, resp.StatusCode, raw, out)
}

// ErrorBody is the error_response object.
type ErrorBody struct {
	Code      int    `json:"code"`
	Msg       string `json:"msg"`
	SubCode   string `json:"sub_code,omitempty"`
	SubMsg    string `json:"sub_msg,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// ResponseName is the wrapper key of a non-simplified JSON answer: the method
// without a leading "taobao.", dots turned to underscores, plus "_response"
// (taobao.trades.sold.get → trades_sold_get_response).
func ResponseName(method string) string {
	return strings.ReplaceAll(strings.TrimPrefix(method, "taobao."), ".", "_") + "_response"
}

// ParseResponse checks an answer for method and decodes it into out (if not
// nil). It takes both shapes: flat (simplify=true) and wrapped in
// ResponseName(method). error_response is branched on in the body, whatever
// the HTTP status says.
func ParseResponse(method string, statusCode int, body []byte, out any) error {
	shown := body
	if strings.HasPrefix(method, "taobao.top.auth.") {
		shown = nil // token answers carry secrets
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		if statusCode != http.StatusOK {
			return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(shown)}
		}
		if err == nil {
			err = errors.New("not an object")
		}
		return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(shown), Err: fmt.Errorf("%w: %w", ErrMalformedResponse, err)}
	}
	if raw, ok := top["error_response"]; ok {
		var e ErrorBody
		if err := json.Unmarshal(raw, &e); err != nil || e.Code == 0 {
			return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(shown), Err: fmt.Errorf("%w: error_response without a code", ErrMalformedResponse)}
		}
		return &APIError{Method: method, Code: e.Code, Msg: e.Msg, SubCode: e.SubCode, SubMsg: e.SubMsg, RequestID: e.RequestID}
	}
	if statusCode != http.StatusOK {
		return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(shown)}
	}
	payload := body
	if raw, ok := top[ResponseName(method)]; ok && len(top) == 1 {
		payload = raw
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(payload, out); err != nil {
		return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(shown), Err: fmt.Errorf("%w: %w", ErrMalformedResponse, err)}
	}
	return nil
}

func snippet(b []byte) string {
	const n = 256
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(bytes.TrimSpace(b)), "")
}
