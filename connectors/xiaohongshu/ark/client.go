package ark

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

// Gateway addresses (fact sheet §3.1). Every method, OAuth included, is a
// POST to EndpointPath under the base URL.
const (
	DefaultBaseURL = "https://ark.xiaohongshu.com"
	TestBaseURL    = "http://ark.sit.xiaohongshu.com"
	EndpointPath   = "/ark/open_api/v3/common_controller"
	// ContentType is what requests are sent as.
	ContentType = "application/json;charset=utf-8"
)

// System parameter names. Business parameters sit next to them at the top
// level of the request body and may not reuse these names.
const (
	ParamAppID       = "appId"
	ParamTimestamp   = "timestamp"
	ParamVersion     = "version"
	ParamMethod      = "method"
	ParamSign        = "sign"
	ParamAccessToken = "accessToken"
)

// maxBody bounds a response body; a full order list page is well under 1 MiB.
const maxBody = 16 << 20

// Config configures a Client. AppID and AppSecret are required.
type Config struct {
	// AppID is the app's appId.
	AppID string
	// AppSecret signs every request. It never appears in errors.
	AppSecret string
	// BaseURL is scheme and host of the gateway; empty means DefaultBaseURL.
	// EndpointPath is appended. Tests point it at a sandbox.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for the timestamp parameter; nil means time.Now.
	Now func() time.Time
}

// Client calls the gateway with one app's credentials. It holds no token:
// the caller passes the access token to each call, so one token source (the
// hub's) can serve every process. A Client is safe for concurrent use.
type Client struct {
	appID, secret string
	endpoint      string
	http          *http.Client
	now           func() time.Time
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return nil, errors.New("xiaohongshu: app id and app secret are required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("xiaohongshu: base URL %q is not an absolute URL", base)
	}
	u.Path += EndpointPath
	c := &Client{appID: cfg.AppID, secret: cfg.AppSecret, endpoint: u.String(), http: cfg.HTTPClient, now: cfg.Now}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// AppID returns the app's appId.
func (c *Client) AppID() string { return c.appID }

// NewRequest builds the signed POST for method. params are the business
// parameters: nil, or anything that marshals to a JSON object whose keys do
// not clash with the system parameters. accessToken is empty for the OAuth
// methods.
func (c *Client) NewRequest(ctx context.Context, method, accessToken string, params any) (*http.Request, error) {
	body := map[string]json.RawMessage{}
	if params != nil {
		raw, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("xiaohongshu %s: marshal params: %w", method, err)
		}
		if err := json.Unmarshal(raw, &body); err != nil || body == nil {
			return nil, fmt.Errorf("xiaohongshu %s: %w: params must be a JSON object", method, ErrInvalidRequest)
		}
	}
	ts := strconv.FormatInt(c.now().Unix(), 10)
	sys := map[string]string{
		ParamAppID:     c.appID,
		ParamTimestamp: ts,
		ParamVersion:   Version,
		ParamMethod:    method,
		ParamSign:      Sign(c.secret, SignParams{Method: method, AppID: c.appID, Timestamp: ts}),
	}
	if accessToken != "" {
		sys[ParamAccessToken] = accessToken
	}
	for k := range body {
		switch k {
		case ParamAppID, ParamTimestamp, ParamVersion, ParamMethod, ParamSign, ParamAccessToken:
			return nil, fmt.Errorf("xiaohongshu %s: %w: business parameter %q clashes with a system parameter", method, ErrInvalidRequest, k)
		}
	}
	for k, v := range sys {
		q, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("xiaohongshu %s: %w", method, err)
		}
		body[k] = q
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil { // keys come out sorted
		return nil, fmt.Errorf("xiaohongshu %s: encode body: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, &buf)
	if err != nil {
		return nil, fmt.Errorf("xiaohongshu %s: build request: %w", method, err)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// Call calls method with params (see NewRequest) and decodes the envelope's
// data into data (if not nil). A success:false envelope returns an *APIError;
// a bad status or body an *HTTPError; a transport failure the http.Client's
// error (which names the URL only: tokens travel in the body).
func (c *Client) Call(ctx context.Context, method, accessToken string, params, data any) error {
	req, err := c.NewRequest(ctx, method, accessToken, params)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("xiaohongshu %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("xiaohongshu %s: read response: %w", method, err)
	}
	return ParseResponse(method, resp.StatusCode, raw, data)
}

// Response is the gateway's envelope, as the sandbox writes it:
// {"success":…,"error_code":…,"error_msg":…,"data":…}.
type Response struct {
	Success   bool            `json:"success"`
	ErrorCode int             `json:"error_code"`
	ErrorMsg  string          `json:"error_msg"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// envelope is what ParseResponse reads: error_code or code, error_msg or msg,
// each a number or a string (fact sheet §3.3: some replies use code/msg).
type envelope struct {
	Success   *bool           `json:"success"`
	ErrorCode json.RawMessage `json:"error_code"`
	Code      json.RawMessage `json:"code"`
	ErrorMsg  json.RawMessage `json:"error_msg"`
	Msg       json.RawMessage `json:"msg"`
	Data      json.RawMessage `json:"data"`
}

// ParseResponse checks a gateway response to method and decodes its data
// into data (if not nil and the call succeeded). An envelope without a
// success field counts as successful when its code is 0.
func ParseResponse(method string, statusCode int, body []byte, data any) error {
	if statusCode != http.StatusOK {
		return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(body)}
	}
	malformed := func(err error) error {
		return &HTTPError{Method: method, StatusCode: statusCode, Body: snippet(body), Err: fmt.Errorf("%w: %w", ErrMalformedResponse, err)}
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return malformed(err)
	}
	rawCode := env.ErrorCode
	if isAbsent(rawCode) {
		rawCode = env.Code
	}
	code, ok := looseInt(rawCode)
	if !ok {
		return malformed(fmt.Errorf("error_code %s is not an integer", rawCode))
	}
	if env.Success == nil && isAbsent(rawCode) {
		return malformed(errors.New("neither success nor error_code"))
	}
	success := code == CodeSuccess
	if env.Success != nil {
		success = *env.Success
	}
	if !success {
		msg := looseString(env.ErrorMsg)
		if msg == "" {
			msg = looseString(env.Msg)
		}
		return &APIError{Method: method, Code: code, Msg: msg}
	}
	if data == nil || isAbsent(env.Data) {
		return nil
	}
	if err := json.Unmarshal(env.Data, data); err != nil {
		return malformed(fmt.Errorf("data: %w", err))
	}
	return nil
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// looseInt reads a JSON number or numeric string; absent is 0.
func looseInt(raw json.RawMessage) (int, bool) {
	if isAbsent(raw) {
		return 0, true
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, true
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// looseString reads a JSON string, or the literal text of anything else.
func looseString(raw json.RawMessage) string {
	if isAbsent(raw) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

func snippet(b []byte) string {
	const n = 256
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(b), "")
}
