package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/mapping"

	"github.com/channelhub/channelhub/connectors/gatewayfault"
)

// Config configures a Server. Every zero value means the documented default.
type Config struct {
	// Seed makes the data reproducible. Default 1.
	Seed uint64
	// Members is how many sandboxdata persons are generated; those on
	// "douyin" (about 40%) are the shop's buyers, and about 60% of those are
	// shop members. Default 3000.
	Members int
	// Orders is how many orders are generated. Default 5000; negative means
	// none; 200,000 is fine.
	Orders int
	// AppKey is the one app the gateway knows (19 digits). Default
	// "7000000000000000001".
	AppKey string
	// AppSecret is that app's secret. Default "sandbox-app-secret".
	AppSecret string
	// ShopID is the shop every order belongs to and every token authorizes.
	// Default 10000001.
	ShopID int64
	// ShopName defaults to "渠道中心沙箱旗舰店".
	ShopName string
	// Brand owns the shop and scopes union_ids. Default "sandbox-brand".
	Brand string
	// MemberAppID is the app_id the member APIs expect. Default 10001.
	MemberAppID int64
	// AccessTokenTTL defaults to 7 days, RefreshTokenTTL to 14 days.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// MaxSkew is how far the timestamp parameter may be from the clock.
	// Default 10 minutes; negative turns the check off.
	MaxSkew time.Duration
	// QPS is how many API requests per clock second the gateway answers
	// before it answers code 60000. 0 means unlimited.
	QPS int
	// ChurnPerHour is how many order status changes Advance makes per
	// simulated hour. Default 60; negative means none.
	ChurnPerHour int
	// Now is the clock; nil means time.Now. Advance moves the sandbox's time
	// ahead of it. Generated data is placed relative to Now at New.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Members == 0 {
		c.Members = 3000
	}
	if c.Orders == 0 {
		c.Orders = 5000
	}
	c.Orders, c.Members = max(c.Orders, 0), max(c.Members, 0)
	if c.AppKey == "" {
		c.AppKey = "7000000000000000001"
	}
	if c.AppSecret == "" {
		c.AppSecret = "sandbox-app-secret"
	}
	if c.ShopID == 0 {
		c.ShopID = 10000001
	}
	if c.ShopName == "" {
		c.ShopName = "渠道中心沙箱旗舰店"
	}
	if c.Brand == "" {
		c.Brand = "sandbox-brand"
	}
	if c.MemberAppID == 0 {
		c.MemberAppID = 10001
	}
	if c.AccessTokenTTL == 0 {
		c.AccessTokenTTL = doudian.AccessTokenTTL
	}
	if c.RefreshTokenTTL == 0 {
		c.RefreshTokenTTL = doudian.RefreshTokenTTL
	}
	if c.MaxSkew == 0 {
		c.MaxSkew = 10 * time.Minute
	}
	if c.ChurnPerHour == 0 {
		c.ChurnPerHour = 60
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Server is the emulated gateway. It is safe for concurrent use.
type Server struct {
	cfg Config

	mu     sync.Mutex
	offset time.Duration // Advance's lead over cfg.Now
	data                 // people, members, orders and their indexes
	auth                 // codes and tokens
	faults gatewayfault.Queue
	// counters
	requests, throttled int64
	rateSecond          int64
	rateCount           int
	logSeq              uint64
	churnSeq            uint64
}

// New builds a server with its seeded data.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg}
	s.auth.init()
	s.data.generate(cfg, cfg.Now().Unix())
	return s
}

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Now is the sandbox's clock: Config.Now plus what Advance added.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return s.cfg.Now().Add(s.offset) }

// Requests is the number of API requests received (admin requests excluded).
func (s *Server) Requests() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Throttled is the number of API requests answered with code 60000 by the
// QPS limit (injected errors excluded).
func (s *Server) Throttled() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// apiErr is a platform error a handler answers with.
type apiErr struct {
	code            int
	subCode, subMsg string
}

func errf(code int, subCode, format string, args ...any) *apiErr {
	return &apiErr{code: code, subCode: subCode, subMsg: fmt.Sprintf(format, args...)}
}

// codeMsg is the msg the gateway puts next to each code.
func codeMsg(code int) string {
	switch code {
	case doudian.CodeSuccess:
		return "success"
	case doudian.CodePartialFailure:
		return "请求部分失败"
	case doudian.CodeServiceUnavailable:
		return "服务不可用"
	case doudian.CodeServiceTimeout:
		return "内部服务超时"
	case doudian.CodePermissionDenied:
		return "操作权限不足"
	case doudian.CodeIPNotAllowed:
		return "请求来源IP不可信，请检查IP白名单"
	case doudian.CodeMissingParam:
		return "缺少必选参数（平台校验）"
	case doudian.CodeMissingBizParam:
		return "缺少必选参数（业务校验）"
	case doudian.CodeInvalidParam:
		return "非法的参数（平台校验）"
	case doudian.CodeInvalidBizParam:
		return "非法的参数（业务校验）"
	case doudian.CodeTokenFailed:
		return "平台处理失败"
	case doudian.CodeBusinessFailed:
		return "业务处理失败"
	case doudian.CodeThrottled:
		return "触发限流，请稍后重试"
	case doudian.CodeAPIOffline:
		return "接口服务已下线"
	case doudian.CodeSecurity:
		return "安全错误"
	}
	return "其他异常"
}

// handler serves one API method with the request's param_json; the gateway
// checks are done. It runs with s.mu held.
type handler func(s *Server, params map[string]any) (any, *apiErr)

func handlers(method string) (h handler, tokenAPI bool) {
	switch method {
	case doudian.MethodTokenCreate:
		return (*Server).tokenCreate, true
	case doudian.MethodTokenRefresh:
		return (*Server).tokenRefresh, true
	case doudian.MethodOrderSearchList:
		return (*Server).orderSearchList, false
	case doudian.MethodOrderDetail:
		return (*Server).orderDetail, false
	case doudian.MethodMemberBatchUpdate:
		return (*Server).memberBatchUpdate, false
	case doudian.MethodMemberBatchGetUnionIDByOpenIDs:
		return (*Server).memberUnionIDs, false
	}
	return nil, false
}

// maxRequestBody bounds a request body.
const maxRequestBody = 1 << 20

// FaultsPath is the admin endpoint for fault injection: POST a Fault as JSON
// to queue it, DELETE to clear the queue.
const FaultsPath = "/sandbox/faults"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == FaultsPath {
		s.serveFaults(w, r)
		return
	}
	method := strings.ReplaceAll(strings.Trim(r.URL.Path, "/"), "/", ".")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}

	s.mu.Lock()
	s.requests++
	f := s.takeFault(method)
	s.mu.Unlock()
	if f != nil && !s.applyFault(w, r, f) {
		return
	}

	s.mu.Lock()
	env := s.serveAPI(method, r, body)
	s.mu.Unlock()
	writeJSON(w, env)
}

// marshal encodes v as the gateway does: compact, HTML and UTF-8 literal.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(b)
}

// serveAPI runs the gateway checks and the method's handler. s.mu is held.
func (s *Server) serveAPI(method string, r *http.Request, body []byte) doudian.Response {
	now := s.now()
	if sec := now.Unix(); sec != s.rateSecond {
		s.rateSecond, s.rateCount = sec, 0
	}
	s.rateCount++
	if s.cfg.QPS > 0 && s.rateCount > s.cfg.QPS {
		s.throttled++
		return s.reply(nil, &apiErr{code: doudian.CodeThrottled})
	}
	data, e := s.gateway(method, r, body, now)
	return s.reply(data, e)
}

// reply builds the response envelope: data on success, e's codes (and an
// empty data object) otherwise.
func (s *Server) reply(data any, e *apiErr) doudian.Response {
	s.logSeq++
	if e == nil && data != nil {
		raw, err := marshal(data)
		if err != nil {
			e = errf(doudian.CodeServiceUnavailable, doudian.SubServiceError+":1", "%v", err)
		} else {
			return doudian.Response{Code: doudian.CodeSuccess, Msg: codeMsg(doudian.CodeSuccess), LogID: s.logID(), Data: raw}
		}
	}
	resp := doudian.Response{Code: doudian.CodeSuccess, Msg: codeMsg(doudian.CodeSuccess), LogID: s.logID(), Data: json.RawMessage("{}")}
	if e != nil {
		resp.Code, resp.Msg, resp.SubCode, resp.SubMsg = e.code, codeMsg(e.code), e.subCode, e.subMsg
	}
	return resp
}

func (s *Server) logID() string {
	return s.now().In(mapping.Shanghai).Format("20060102150405") + fmt.Sprintf("%010d", s.logSeq)
}

// gateway checks the system parameters and signature, then calls the
// method's handler.
func (s *Server) gateway(method string, r *http.Request, body []byte, now time.Time) (any, *apiErr) {
	h, tokenAPI := handlers(method)
	if h == nil {
		return nil, errf(doudian.CodeAPIOffline, doudian.SubAPIServiceOff, "API不存在或API已下线")
	}
	q := r.URL.Query()
	paramJSON := string(body)
	if r.Method == http.MethodGet {
		paramJSON = q.Get("param_json")
	}
	appKey := q.Get("app_key")
	switch {
	case appKey == "":
		return nil, errf(doudian.CodeMissingParam, doudian.SubAppIDMissing, "认证失败，app_key不存在")
	case len(appKey) != 19 || strings.Trim(appKey, "0123456789") != "":
		return nil, errf(doudian.CodeInvalidParam, doudian.SubAppIDInvalid, "认证失败，app_key格式不正确，应为19位纯数字")
	case appKey != s.cfg.AppKey:
		return nil, errf(doudian.CodeMissingParam, doudian.SubAppIDMissing, "认证失败，app_key不存在")
	}
	if m := q.Get("method"); m != method {
		return nil, errf(doudian.CodeInvalidParam, doudian.SubParamFormatInvalid, "method参数%q与请求路径不一致", m)
	}
	if v := q.Get("v"); v != doudian.APIVersion {
		return nil, errf(doudian.CodeInvalidParam, doudian.SubParamFormatInvalid, "v参数须为%s", doudian.APIVersion)
	}
	ts := q.Get("timestamp")
	at, err := parseTimestamp(ts)
	if err != nil {
		return nil, errf(doudian.CodeInvalidParam, doudian.SubTimestampFormat, "时间戳格式错误")
	}
	if skew := now.Sub(at).Abs(); s.cfg.MaxSkew > 0 && skew > s.cfg.MaxSkew {
		return nil, errf(doudian.CodeInvalidParam, doudian.SubTimestampInvalid, "时间戳不合法")
	}
	sign := q.Get("sign")
	if sign == "" {
		return nil, errf(doudian.CodeMissingParam, doudian.SubSignatureMissing, "获取签名失败，请根据文档确保参数拼装正确")
	}
	sm := doudian.SignMethod(q.Get("sign_method"))
	if sm == "" {
		sm = doudian.SignMD5
	}
	want := doudian.Sign(sm, s.cfg.AppSecret, doudian.SignParams{AppKey: appKey, Method: method, ParamJSON: paramJSON, Timestamp: ts, V: doudian.APIVersion})
	if (sm != doudian.SignMD5 && sm != doudian.SignHMACSHA256) || sign != want {
		return nil, errf(doudian.CodeInvalidParam, doudian.SubSignatureInvalid, "签名校验失败")
	}
	var params map[string]any
	dec := json.NewDecoder(strings.NewReader(paramJSON))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil || params == nil {
		return nil, errf(doudian.CodeInvalidParam, doudian.SubParamFormatInvalid, "业务参数json解析失败")
	}
	if !tokenAPI {
		if e := s.checkAccessToken(q.Get("access_token"), now); e != nil {
			return nil, e
		}
	}
	return h(s, params)
}

// parseTimestamp accepts Unix seconds (the official SDK) or
// "2006-01-02 15:04:05" in GMT+8 (the API guide).
func parseTimestamp(ts string) (time.Time, error) {
	if n, err := strconv.ParseInt(ts, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return mapping.ParseShanghai(ts)
}

// Parameter readers over a param_json decoded with UseNumber.

func paramInt(p map[string]any, key string) (v int64, present bool, e *apiErr) {
	raw, ok := p[key]
	if !ok || raw == nil {
		return 0, false, nil
	}
	var s string
	switch x := raw.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x // numbers sent as strings pass too (the old gateway wanted strings)
	default:
		return 0, true, errf(doudian.CodeInvalidBizParam, doudian.SubParamInvalid, "%s须为整数", key)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, true, errf(doudian.CodeInvalidBizParam, doudian.SubParamInvalid, "%s须为整数", key)
	}
	return n, true, nil
}

func paramString(p map[string]any, key string) string {
	switch x := p[key].(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

func paramBool(p map[string]any, key string) bool {
	switch x := p[key].(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}
