// Package sandbox emulates the WeChat mini-program server API that the
// miniprogram connector calls, and plays the brand's mini-program backend
// that sends it events.
//
// A Server is an http.Handler serving, at the paths of api.weixin.qq.com:
//
//   - POST /cgi-bin/stable_token and GET /cgi-bin/token: access tokens. A
//     business call with no token answers 41001, an unknown one 40014, an
//     expired one 42001 (ExpireTokens), a revoked one 40001 (RevokeTokens);
//   - POST /wxa/business/getuserphonenumber: exchanges phone codes the
//     sandbox issued (IssuePhoneCode), each usable once within 5 minutes;
//     anything else answers 40029 invalid code;
//   - POST /wxa/sec/order/get_order_list: the seeded WeChat-Pay orders by
//     pay_time_range (inclusive both ends), order_state and openid, at most
//     50 a page, paged with last_index while has_more;
//   - admin endpoints under /sandbox/ (see ServeHTTP).
//
// Users are the people of sandboxdata.Persons that are on "miniprogram":
// openid "o" + sandboxdata.ID(seed, "miniprogram", i, 27), unionid the
// person's (the app is bound to sandboxdata.OpenPlatformID), phone the
// person's. Each gets 0 to 3 paid orders over Config.Span before the
// sandbox started. Brand (brand.go) builds and signs the events a brand's
// backend would send about them.
//
// Faults (Inject) make any path answer an errcode (-1, 40001, 42001, 45009,
// 45011…), HTTP 500, truncated JSON, or a delay. All state is per Server,
// guarded by one mutex; the sandbox writes nothing to stdout or stderr.
package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat/wxfault"
)

// Defaults of Config's zero values.
const (
	DefaultSeed        = 1
	DefaultMembers     = 3000
	DefaultAppID       = "wxminisandbox0001"
	DefaultAppSecret   = "5f0c8a0d2c1e4b7aa9e3d1c2b4f6a801"
	DefaultEventSecret = "whsec_sandbox_7c1f0e9a4b2d48e6a3f5c9d1e8b7a6f0"
	DefaultBrand       = "sandbox-brand"
	DefaultTokenTTL    = 7200 * time.Second
	DefaultSpan        = 60 * 24 * time.Hour
	// PhoneCodeTTL is how long a phone code can be exchanged.
	PhoneCodeTTL = 5 * time.Minute
	// MaxPageSize is get_order_list's largest page.
	MaxPageSize = 50
)

// API paths.
const (
	PathToken       = "/cgi-bin/token"
	PathStableToken = "/cgi-bin/stable_token"
	PathPhoneNumber = "/wxa/business/getuserphonenumber"
	PathOrderList   = "/wxa/sec/order/get_order_list"
)

// Config configures a Server. The zero value is a usable sandbox.
type Config struct {
	// Seed selects the generated people; 0 means DefaultSeed.
	Seed uint64
	// Members is how many people to generate (about half use the
	// mini-program); 0 means DefaultMembers, negative means none.
	Members int
	// AppID, AppSecret: the credentials the token endpoints accept.
	AppID, AppSecret string
	// EventSecret is what Brand signs events with.
	EventSecret string
	// Brand is the brand id of the connection config (scope of member cards).
	Brand string
	// TokenTTL is an access token's lifetime; 0 means 7200 s.
	TokenTTL time.Duration
	// Span is how far back before the sandbox's start the seeded orders
	// were paid; 0 means DefaultSpan (60 days).
	Span time.Duration
	// Now is the clock; nil means time.Now. It must be safe for concurrent
	// use.
	Now func() time.Time
}

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
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if c.AppSecret == "" {
		c.AppSecret = DefaultAppSecret
	}
	if c.EventSecret == "" {
		c.EventSecret = DefaultEventSecret
	}
	if c.Brand == "" {
		c.Brand = DefaultBrand
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.Span <= 0 {
		c.Span = DefaultSpan
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Server is the emulated API. Build it with New; it is safe for concurrent
// use.
type Server struct {
	cfg    Config
	ridSeq atomic.Uint64

	mu       sync.Mutex
	users    []User
	byOpenID map[string]int
	orders   []Order // sorted by (PayTime, TransactionID)
	orderSeq int
	tokens   map[string]*token
	stable   string
	tokenSeq int
	codes    map[string]*phoneCode
	codeSeq  int
	faults   wxfault.Queue
	requests map[string]int
}

// New builds a sandbox from cfg (see Config for the defaults).
func New(cfg Config) *Server {
	s := &Server{
		cfg:      cfg.withDefaults(),
		byOpenID: map[string]int{},
		tokens:   map[string]*token{},
		codes:    map[string]*phoneCode{},
		requests: map[string]int{},
	}
	s.seed()
	return s
}

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) now() time.Time { return s.cfg.Now() }

// ConnectionConfig returns a miniprogram connection config for this sandbox
// with api_base set to base.
func (s *Server) ConnectionConfig(base string) map[string]any {
	return map[string]any{
		"app_id": s.cfg.AppID, "app_secret": s.cfg.AppSecret, "event_secret": s.cfg.EventSecret,
		"open_platform_id": sandboxdata.OpenPlatformID, "brand": s.cfg.Brand, "api_base": base,
	}
}

// ServeHTTP answers like api.weixin.qq.com. Paths under /sandbox/ are the
// admin API:
//
//	POST   /sandbox/faults          {"path": "/wxa/sec/order/get_order_list", <Fault JSON>}: Inject
//	DELETE /sandbox/faults          ClearFaults
//	POST   /sandbox/tokens/expire   ExpireTokens (42001 from now on)
//	POST   /sandbox/tokens/revoke   RevokeTokens (40001 from now on)
//	POST   /sandbox/phone_codes     {"openid": "o…"} → {"code": "…"}: IssuePhoneCode
//	POST   /sandbox/orders/add      {"n": 5} → {"ids": [...]}: AddPaidOrders
//
// Every API request is counted (Requests), then a pending fault for its path
// is applied, then the method and the access token are checked.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/sandbox/") {
		s.admin(w, r)
		return
	}
	s.mu.Lock()
	s.requests[path]++
	f, faulted := s.takeFault(path)
	s.mu.Unlock()
	if faulted && !s.applyFault(w, r, f) {
		return
	}
	switch path {
	case PathToken:
		s.token(w, r)
		return
	case PathStableToken, PathPhoneNumber, PathOrderList:
	default:
		http.Error(w, "sandbox: "+path+" is not emulated", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		s.fail(w, CodeRequirePOST, "")
		return
	}
	if path == PathStableToken {
		s.stableToken(w, r)
		return
	}
	if code := s.checkToken(r.URL.Query().Get("access_token")); code != 0 {
		s.fail(w, code, "")
		return
	}
	if path == PathPhoneNumber {
		s.phoneNumber(w, r)
		return
	}
	s.orderList(w, r)
}

// Requests returns how many requests reached path, whatever their outcome.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/sandbox/faults" && r.Method == http.MethodPost {
		path, f, err := wxfault.DecodeInjection(r, maxBody)
		if err != nil {
			http.Error(w, "sandbox: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.Inject(path, f)
		writeJSON(w, map[string]bool{"ok": true})
		return
	}
	var body struct {
		Path   string `json:"path"`
		OpenID string `json:"openid"`
		N      int    `json:"n"`
	}
	if r.Method == http.MethodPost && r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "sandbox: bad JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	switch {
	case r.URL.Path == "/sandbox/faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		writeJSON(w, map[string]bool{"ok": true})
	case r.URL.Path == "/sandbox/tokens/expire" && r.Method == http.MethodPost:
		s.ExpireTokens()
		writeJSON(w, map[string]bool{"ok": true})
	case r.URL.Path == "/sandbox/tokens/revoke" && r.Method == http.MethodPost:
		s.RevokeTokens()
		writeJSON(w, map[string]bool{"ok": true})
	case r.URL.Path == "/sandbox/phone_codes" && r.Method == http.MethodPost:
		code, ok := s.IssuePhoneCode(body.OpenID)
		if !ok {
			http.Error(w, "sandbox: no such openid", http.StatusNotFound)
			return
		}
		writeJSON(w, map[string]string{"code": code})
	case r.URL.Path == "/sandbox/orders/add" && r.Method == http.MethodPost:
		writeJSON(w, map[string][]string{"ids": s.AddPaidOrders(body.N)})
	default:
		http.Error(w, "sandbox: no admin endpoint "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}
