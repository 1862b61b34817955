// Package sandbox emulates the Xiaohongshu (小红书) ark open-platform gateway
// closely enough for the Xiaohongshu connector, its client package
// (connectors/xiaohongshu/ark) and the hub's tests to run against it.
//
// A Server is an http.Handler. Like the real gateway it takes every call as a
// POST of one JSON object to ark.EndpointPath, with the system parameters
// appId, timestamp, version ("2.0"), method and sign next to the business
// parameters, and answers HTTP 200 with {"success","error_code","error_msg",
// "data"}. It serves:
//
//   - oauth.getAccessToken (codes from AuthCode) and oauth.refreshToken, with
//     the documented lifetimes and refresh rules (rotation only within 30 min
//     of expiry, 5 min grace for the replaced access token);
//   - order.getOrderList with its window limits (24 h by creation time,
//     30 min by update time), filters and paging (pageNo ≤ 100, pageSize ≤ 100,
//     total and maxPageNo), and order.getOrderDetail;
//   - admin endpoints under /sandbox/ (see ServeHTTP).
//
// Checks run in this order: body and system parameters (-1000400), appId and
// sign (-1000401), the app's QPS limit (ark.CodeThrottled), the method, the
// access token for merchant methods (ark.CodeAccessTokenInvalid). The codes
// for throttling and bad tokens are not documented by the platform; the
// sandbox answers the ones package ark defines (see its constants).
//
// The orders are bought by the people of sandboxdata.Persons that are on
// "xiaohongshu". A buyer's userId is shop-scoped (sandboxdata.ID over the
// seller id), as the connector stores it (mapping.IDXHSOpenID). Like the real
// order APIs, the sandbox reveals no receiver name, phone or address: there is
// no phone identity to join on.
//
// Orders are kept in indexes sorted by creation and by update time, per
// status, so a list call costs O(log n + page) however many orders there are;
// a 200,000-order sandbox builds in well under a second. TouchOrder, Advance
// and AddOrders change orders at the current time (Config.Now) for incremental
// tests; PushRequest and OrderStatusPush build the signed webhook calls the
// platform would make.
//
// All state is per Server, guarded by one mutex; there is no package state,
// and the sandbox writes nothing to stdout or stderr.
package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
)

// Defaults of Config's zero values.
const (
	DefaultSeed       = 1
	DefaultMembers    = 3000
	DefaultOrders     = 2000
	DefaultHistory    = 30 * 24 * time.Hour
	DefaultAppID      = "4b6e0a5d1c2f8a37"
	DefaultAppSecret  = "5e1f0c3a7b9d2e4f6a8c0b1d3f5e7a9c"
	DefaultSellerID   = "5f0e1d2c3b4a596877869500"
	DefaultSellerName = "小红书沙箱店"
)

// Config configures a Server. The zero value is a usable sandbox.
type Config struct {
	// Seed selects the generated people and orders. 0 means DefaultSeed (1).
	Seed uint64
	// Members is how many people to generate (sandboxdata.Persons); about a
	// quarter of them are on Xiaohongshu and buy the orders. 0 means
	// DefaultMembers (3000); negative means nobody (orders without userId).
	Members int
	// Orders is how many orders the shop has at start, in every status. 0
	// means DefaultOrders (2000); negative means none. 200,000 is fine.
	Orders int
	// History is the span before the clock's time at New over which the
	// orders were created. 0 means DefaultHistory (30 days).
	History time.Duration
	// AppID and AppSecret are the app's credentials. Empty means
	// DefaultAppID / DefaultAppSecret.
	AppID, AppSecret string
	// SellerID and SellerName name the one shop the app is authorized for.
	// Empty means DefaultSellerID / DefaultSellerName.
	SellerID, SellerName string
	// AccessTokenTTL and RefreshTokenTTL are the token lifetimes. 0 means
	// ark.AccessTokenTTL (7 days) / ark.RefreshTokenTTL (14 days).
	AccessTokenTTL, RefreshTokenTTL time.Duration
	// RefreshWindow: oauth.refreshToken rotates the pair only when the access
	// token has less than this left. 0 means ark.RefreshWindow (30 min).
	RefreshWindow time.Duration
	// SupersededGrace is how long a rotated-away access token keeps working.
	// 0 means ark.SupersededGrace (5 min); negative means none.
	SupersededGrace time.Duration
	// AuthCodeTTL is how long an AuthCode can be exchanged. 0 means
	// ark.AuthCodeTTL (10 min).
	AuthCodeTTL time.Duration
	// QPS limits the app's gateway calls to this many per second, with a
	// burst of max(1, QPS); calls over it get ark.CodeThrottled. 0 means
	// unlimited.
	QPS float64
	// Now is the clock for tokens, the QPS limit, order times and push
	// timestamps. It must be safe for concurrent use. nil means time.Now.
	Now func() time.Time
}

// withDefaults returns c with zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	switch {
	case c.Members == 0:
		c.Members = DefaultMembers
	case c.Members < 0:
		c.Members = 0
	}
	switch {
	case c.Orders == 0:
		c.Orders = DefaultOrders
	case c.Orders < 0:
		c.Orders = 0
	}
	if c.History <= 0 {
		c.History = DefaultHistory
	}
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if c.AppSecret == "" {
		c.AppSecret = DefaultAppSecret
	}
	if c.SellerID == "" {
		c.SellerID = DefaultSellerID
	}
	if c.SellerName == "" {
		c.SellerName = DefaultSellerName
	}
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = ark.AccessTokenTTL
	}
	if c.RefreshTokenTTL <= 0 {
		c.RefreshTokenTTL = ark.RefreshTokenTTL
	}
	if c.RefreshWindow <= 0 {
		c.RefreshWindow = ark.RefreshWindow
	}
	switch {
	case c.SupersededGrace == 0:
		c.SupersededGrace = ark.SupersededGrace
	case c.SupersededGrace < 0:
		c.SupersededGrace = 0
	}
	if c.AuthCodeTTL <= 0 {
		c.AuthCodeTTL = ark.AuthCodeTTL
	}
	if c.QPS < 0 {
		c.QPS = 0
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Server is the emulated gateway. Build it with New; it is safe for
// concurrent use.
type Server struct {
	cfg     Config
	methods map[string]method

	mu      sync.Mutex
	buyers  []buyer
	orders  []order
	byID    map[string]int32
	seq     int64                                      // next order.seq
	idx     [2][ark.StatusExchangeRequested + 1]*index // [timeType-1][status, 0 = all]
	rng     *rand.Rand                                 // Advance and AddOrders picks
	tokens  tokenStore
	limiter limiter
	faults  map[string][]Fault
	stats   Stats
}

// method is one emulated API method.
type method struct {
	// merchant methods need an accessToken.
	merchant bool
	handle   func(s *Server, w http.ResponseWriter, body []byte)
}

// New builds a sandbox from cfg (see Config for the defaults).
func New(cfg Config) *Server {
	s := &Server{
		cfg:    cfg.withDefaults(),
		faults: map[string][]Fault{},
		stats:  Stats{ByMethod: map[string]int{}},
	}
	s.rng = rand.New(rand.NewPCG(s.cfg.Seed, 0x616476616e6365)) // "advance"
	s.tokens.init(s.cfg.Seed)
	s.seed(s.cfg.Now())
	s.methods = map[string]method{
		ark.MethodGetAccessToken: {false, (*Server).getAccessToken},
		ark.MethodRefreshToken:   {false, (*Server).refreshToken},
		ark.MethodGetOrderList:   {true, (*Server).getOrderList},
		ark.MethodGetOrderDetail: {true, (*Server).getOrderDetail},
	}
	return s
}

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) now() time.Time { return s.cfg.Now() }

// Stats counts gateway calls.
type Stats struct {
	// Requests is every call that reached ark.EndpointPath.
	Requests int `json:"requests"`
	// Throttled is how many of them got ark.CodeThrottled from the QPS limit
	// (injected faults not counted).
	Throttled int `json:"throttled"`
	// ByMethod counts calls per method parameter ("" when absent).
	ByMethod map[string]int `json:"by_method"`
	// Orders is how many orders the shop has now.
	Orders int `json:"orders"`
}

// Stats returns a copy of the call counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.ByMethod = make(map[string]int, len(s.stats.ByMethod))
	for k, v := range s.stats.ByMethod {
		out.ByMethod[k] = v
	}
	out.Orders = len(s.orders)
	return out
}

// maxBody bounds a request body; real ones are a few hundred bytes.
const maxBody = 1 << 20

// ServeHTTP answers like the ark gateway at ark.EndpointPath. Paths under
// /sandbox/ are the admin API:
//
//	POST   /sandbox/faults          body: {"method": "order.getOrderList", <Fault JSON>}
//	DELETE /sandbox/faults          drop every pending fault
//	POST   /sandbox/tokens/code     → {"code": "…"} (AuthCode)
//	POST   /sandbox/tokens/issue    → token data (IssueToken)
//	POST   /sandbox/tokens/expire   ExpireTokens
//	POST   /sandbox/orders/touch    body: {"orderId": "P…", "orderStatus": 7} → order summary
//	POST   /sandbox/orders/advance  body: {"n": 5} → {"orderIds": [...]}
//	POST   /sandbox/orders/add      body: {"n": 5} → {"orderIds": [...]}
//	GET    /sandbox/stats           Stats
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/sandbox/") {
		s.admin(w, r)
		return
	}
	if r.URL.Path != ark.EndpointPath {
		http.Error(w, "sandbox: "+r.URL.Path+" is not the ark gateway (POST "+ark.EndpointPath+")", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		s.fail(w, ark.CodeBadParams, "请求体读取失败")
		return
	}
	sys, objErr := systemParams(body)
	name := sys[ark.ParamMethod]

	s.mu.Lock()
	s.stats.Requests++
	s.stats.ByMethod[name]++
	f, faulted := s.takeFault(name)
	s.mu.Unlock()
	if faulted && !s.applyFault(w, r, f) {
		return
	}

	ct := strings.ToLower(r.Header.Get("Content-Type"))
	switch {
	case len(body) > maxBody:
		s.fail(w, ark.CodeBadParams, "请求体过大")
		return
	case objErr != "":
		s.fail(w, ark.CodeBadParams, objErr)
		return
	case ct != "" && !strings.Contains(ct, "json"):
		s.fail(w, ark.CodeBadParams, "Content-Type须为application/json")
		return
	}
	for _, k := range []string{ark.ParamAppID, ark.ParamTimestamp, ark.ParamVersion, ark.ParamMethod, ark.ParamSign} {
		if sys[k] == "" {
			s.fail(w, ark.CodeBadParams, "缺少系统参数"+k)
			return
		}
	}
	if sys[ark.ParamVersion] != ark.Version {
		s.fail(w, ark.CodeBadParams, "version须为"+ark.Version)
		return
	}
	if !allDigits(sys[ark.ParamTimestamp]) {
		s.fail(w, ark.CodeBadParams, "timestamp须为Unix秒")
		return
	}
	if sys[ark.ParamAppID] != s.cfg.AppID {
		s.fail(w, ark.CodeNoPermission, "appId无效")
		return
	}
	want := ark.Sign(s.cfg.AppSecret, ark.SignParams{Method: name, AppID: sys[ark.ParamAppID], Timestamp: sys[ark.ParamTimestamp], Version: sys[ark.ParamVersion]})
	if !strings.EqualFold(sys[ark.ParamSign], want) {
		s.fail(w, ark.CodeNoPermission, "签名校验失败")
		return
	}
	m, known := s.methods[name]

	s.mu.Lock()
	now := s.now()
	if !s.limiter.allow(now, s.cfg.QPS) {
		s.stats.Throttled++
		s.mu.Unlock()
		s.fail(w, ark.CodeThrottled, "请求过于频繁，请稍后重试")
		return
	}
	code := 0
	if known && m.merchant {
		code = s.tokens.check(sys[ark.ParamAccessToken], now)
	}
	s.mu.Unlock()

	switch {
	case !known:
		s.fail(w, ark.CodeBadParams, "method "+name+" 不存在")
	case code != 0:
		s.fail(w, code, "accessToken无效或已过期")
	default:
		m.handle(s, w, body)
	}
}

// systemParams reads the system parameters of a request body (strings, or
// numbers as their literal text). A body that is not a JSON object gives a
// message to fail with.
func systemParams(body []byte) (map[string]string, string) {
	out := map[string]string{}
	if len(bytes.TrimSpace(body)) == 0 {
		return out, "请求体为空"
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return out, "请求体须为JSON对象"
	}
	for _, k := range []string{ark.ParamAppID, ark.ParamTimestamp, ark.ParamVersion, ark.ParamMethod, ark.ParamSign, ark.ParamAccessToken} {
		v, ok := raw[k]
		if !ok || len(v) == 0 || string(v) == "null" {
			continue
		}
		var str string
		if err := json.Unmarshal(v, &str); err == nil {
			out[k] = str
			continue
		}
		var num json.Number
		if err := json.Unmarshal(v, &num); err == nil {
			out[k] = num.String()
		}
	}
	return out, ""
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// buyer is one person on Xiaohongshu, as the shop sees them.
type buyer struct {
	person        int // sandboxdata person index
	userID        string
	openAddressID string
	province      string
	city          string
}

// UserID returns the userId the shop's orders carry for sandboxdata person
// index i: shop-scoped, stable across restarts.
func (s *Server) UserID(i int) string { return userID(s.cfg.Seed, s.cfg.SellerID, i) }

func userID(seed uint64, seller string, i int) string {
	return sandboxdata.ID(seed, "xiaohongshu/"+seller, i, 24)
}
