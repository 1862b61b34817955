// Package sandbox emulates the WeCom (企业微信) customer-contact (客户联系)
// server API at https://qyapi.weixin.qq.com closely enough for the wecom
// connector and the hub's demo to run against it, and sends the signed,
// encrypted change_external_contact callbacks WeCom sends.
//
// A Server is an http.Handler. It serves:
//
//   - GET /cgi-bin/gettoken (access token for corpid + corpsecret);
//   - GET /cgi-bin/externalcontact/get_follow_user_list (staff with customer
//     contact), GET /cgi-bin/externalcontact/list (a staff member's
//     customers; 84061 when none), GET /cgi-bin/externalcontact/get (one
//     customer with every follow user), POST
//     /cgi-bin/externalcontact/batch/get_by_user (customers of up to 100
//     staff, cursor paging, limit ≤ 100, default 50);
//   - POST /cgi-bin/externalcontact/get_corp_tag_list, add_corp_tag and
//     mark_tag (corp tag library and tagging);
//   - admin endpoints under /sandbox/ (see ServeHTTP).
//
// Behaviour follows shared/platforms/wechat.md §3 and the emulator checklist
// in §7: errors are HTTP 200 with {"errcode","errmsg"} where errmsg carries
// WeCom's ", hint: [...], from ip: ..., more info at ..." suffix; gettoken
// returns the same token while it is valid; business calls check the token
// (41001 missing, 40014 unknown, 42001 expired); a per-API per-minute budget
// answers 45009; faults can be injected per path.
//
// The customers are the people of sandboxdata.Persons that are on "wecom".
// Each is followed by one to three staff members; the last two staff
// members have customer contact enabled but no customers. A customer also on
// "wechat" carries the person's unionid (the corp is bound to
// sandboxdata.OpenPlatformID).
//
// All state is per Server, guarded by one mutex; the sandbox writes nothing
// to stdout or stderr.
package sandbox

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxfault"
)

// Defaults of Config's zero values.
const (
	DefaultSeed           = 1
	DefaultMembers        = 3000
	DefaultStaff          = 12
	DefaultCorpID         = "wwsandbox00000001"
	DefaultCorpSecret     = "sandbox-customer-contact-secret-0001"
	DefaultToken          = "wecomsandboxtoken"
	DefaultEncodingAESKey = "c2FuZGJveC13ZWNvbS1lbmNvZGluZy1hZXMta2V5MDE"
	DefaultTokenTTL       = 7200 * time.Second
	DefaultAgentID        = "1000001"
)

// Config configures a Server. The zero value is a usable sandbox.
type Config struct {
	// Seed selects the generated people (sandboxdata.Persons). 0 means 1.
	Seed uint64
	// Members is how many people to generate; about 30% of them are
	// customers. 0 means DefaultMembers; negative means nobody.
	Members int
	// Staff is how many staff members have customer contact enabled. 0 means
	// DefaultStaff; at least 3. The last two have no customers.
	Staff int
	// CorpID and CorpSecret are what gettoken accepts.
	CorpID, CorpSecret string
	// Token and EncodingAESKey sign and encrypt callbacks (the app's
	// "接收事件服务器" settings). EncodingAESKey must be 43 characters.
	Token, EncodingAESKey string
	// TokenTTL is the access token lifetime. 0 means DefaultTokenTTL.
	TokenTTL time.Duration
	// PerMinute is how many calls each business API takes per clock minute
	// before it answers 45009. 0 means unlimited.
	PerMinute int
	// FollowUserPage is how many follow users externalcontact/get returns per
	// page (the real API pages above 500). 0 means 500.
	FollowUserPage int
	// CallbackTimeout is how long Push waits for the receiver before trying
	// again (WeCom: 5 s, 3 attempts). 0 means 5 s.
	CallbackTimeout time.Duration
	// Now is the clock; nil means time.Now.
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
	if c.Staff == 0 {
		c.Staff = DefaultStaff
	}
	c.Staff = max(c.Staff, 3)
	if c.CorpID == "" {
		c.CorpID = DefaultCorpID
	}
	if c.CorpSecret == "" {
		c.CorpSecret = DefaultCorpSecret
	}
	if c.Token == "" {
		c.Token = DefaultToken
	}
	if c.EncodingAESKey == "" {
		c.EncodingAESKey = DefaultEncodingAESKey
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.PerMinute < 0 {
		c.PerMinute = 0
	}
	if c.FollowUserPage <= 0 {
		c.FollowUserPage = 500
	}
	if c.CallbackTimeout <= 0 {
		c.CallbackTimeout = 5 * time.Second
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
	routes map[string]route
	ridSeq atomic.Uint64

	mu         sync.Mutex
	staff      []string // userids with customer contact, sorted
	customers  []*customer
	byExt      map[string]*customer
	byStaff    map[string][]*relation // live relations per staff userid, oldest first
	groups     []*tagGroup
	nextPerson int
	tagSeq     int
	tokens     map[string]time.Time // token → expiry
	current    string
	tokenSeq   int
	rng        *rand.Rand // callback randoms and nonces
	minute     int64
	used       map[string]int // calls per path in minute
	faults     wxfault.Queue
	requests   map[string]int
}

type route struct {
	method   string
	business bool
	handle   func(http.ResponseWriter, *http.Request)
}

// New builds a sandbox from cfg (see Config for the defaults).
func New(cfg Config) *Server {
	s := &Server{
		cfg:      cfg.withDefaults(),
		tokens:   map[string]time.Time{},
		requests: map[string]int{},
		used:     map[string]int{},
	}
	s.rng = rand.New(rand.NewPCG(s.cfg.Seed, 0x3ec0))
	s.seed()
	s.routes = map[string]route{
		"/cgi-bin/gettoken":                             {http.MethodGet, false, s.getToken},
		"/cgi-bin/externalcontact/get_follow_user_list": {http.MethodGet, true, s.followUserList},
		"/cgi-bin/externalcontact/list":                 {http.MethodGet, true, s.list},
		"/cgi-bin/externalcontact/get":                  {http.MethodGet, true, s.get},
		"/cgi-bin/externalcontact/batch/get_by_user":    {http.MethodPost, true, s.batchGetByUser},
		"/cgi-bin/externalcontact/get_corp_tag_list":    {http.MethodPost, true, s.corpTagList},
		"/cgi-bin/externalcontact/add_corp_tag":         {http.MethodPost, true, s.addCorpTag},
		"/cgi-bin/externalcontact/mark_tag":             {http.MethodPost, true, s.markTag},
	}
	return s
}

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) now() time.Time { return s.cfg.Now() }

// ServeHTTP answers like qyapi.weixin.qq.com. Paths under /sandbox/ are the
// admin API:
//
//	POST   /sandbox/faults          {"path": "/cgi-bin/...", <Fault JSON>}: Inject
//	DELETE /sandbox/faults          ClearFaults
//	POST   /sandbox/tokens/expire   ExpireTokens
//	POST   /sandbox/customers/add   {"userid": "..."} → {"external_userid": "..."}: AddCustomer
//	GET    /sandbox/stats           {"customers": N, "relations": N, "requests": {path: count}}
//
// Every request to an API path is counted (Requests), then a pending fault
// for the path is applied, then the method, the access token and the
// per-minute budget are checked, in that order.
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
	rt, found := s.routes[path]
	if !found {
		http.Error(w, "sandbox: "+path+" is not emulated", http.StatusNotFound)
		return
	}
	if r.Method != rt.method {
		code := codeRequirePOST
		if rt.method == http.MethodGet {
			code = codeRequireGET
		}
		s.fail(w, code)
		return
	}
	if rt.business {
		if code := s.admit(path, r.URL.Query().Get("access_token")); code != 0 {
			s.fail(w, code)
			return
		}
	}
	rt.handle(w, r)
}

// admit checks the token and the per-minute budget of a business call and
// returns the errcode to answer with, or 0.
func (s *Server) admit(path, token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch exp, ok := s.tokens[token]; {
	case token == "":
		return codeTokenMissing
	case !ok:
		return codeInvalidToken
	case !now.Before(exp):
		return codeTokenExpired
	}
	if s.cfg.PerMinute > 0 {
		if m := now.Unix() / 60; m != s.minute {
			s.minute = m
			clear(s.used)
		}
		if s.used[path] >= s.cfg.PerMinute {
			return codeFreqLimit
		}
		s.used[path]++
	}
	return 0
}

// Requests returns how many requests reached path, whatever their outcome.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// ExpireTokens makes every access token issued so far expire now: business
// calls with them get 42001 and gettoken issues a new one.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for tok, exp := range s.tokens {
		if now.Before(exp) {
			s.tokens[tok] = now
		}
	}
}
