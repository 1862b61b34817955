// Package sandbox emulates the WeChat Official Account (公众号) server API at
// https://api.weixin.qq.com closely enough for the wechat connector, the
// silenceper/wechat library and the hub's benchmarks to run against it.
//
// A Server is an http.Handler. It serves:
//
//   - GET /cgi-bin/token and POST /cgi-bin/stable_token (access tokens);
//   - GET /cgi-bin/user/get (follower list, paged), GET /cgi-bin/user/info and
//     POST /cgi-bin/user/info/batchget (user info);
//   - GET /cgi-bin/tags/get, POST /cgi-bin/tags/create, /cgi-bin/tags/update,
//     /cgi-bin/tags/delete, /cgi-bin/tags/members/batchtagging,
//     /cgi-bin/tags/members/batchuntagging, /cgi-bin/tags/getidlist and
//     /cgi-bin/user/tag/get (user tags);
//   - admin endpoints under /sandbox/ (faults, token expiry, followers; see
//     ServeHTTP) so that a sandbox started from a CLI can be driven too.
//
// Behaviour follows shared/platforms/wechat.md §2 and the emulator checklist in
// §7: errors are HTTP 200 with {"errcode","errmsg"} and a " rid: …" suffix,
// /cgi-bin/token rotates tokens with a grace period, stable_token hands out
// the same token while it is valid, follower paging ends with an empty page
// that has no "data" key, and the tag limits (100 tags, 30-byte names, 20
// tags per user, 50 openids per call, system tags 0/1/2) are enforced.
//
// The followers are the people of sandboxdata.Persons that are on "wechat",
// in follow order. The account is bound to sandboxdata.OpenPlatformID, so
// every follower has the person's unionid.
//
// All state is per Server, guarded by one mutex; there is no package state,
// and the sandbox writes nothing to stdout or stderr.
package sandbox

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxfault"
)

// Defaults of Config's zero values.
const (
	DefaultSeed       = 1
	DefaultMembers    = 3000
	DefaultAppID      = "wxsandbox0000001"
	DefaultAppSecret  = "e1b5a9db0c5ec2e7c0ffee0000000001"
	DefaultPageSize   = 10000
	DefaultTokenTTL   = 7200 * time.Second
	DefaultTokenGrace = 5 * time.Minute
	// DefaultPushToken and DefaultEncodingAESKey are the server-config
	// (服务器配置) Token and EncodingAESKey pushes are signed and encrypted
	// with.
	DefaultPushToken      = "wechatsandboxtoken"
	DefaultEncodingAESKey = "c2FuZGJveC13ZWNoYXQtZW5jb2RpbmctYWVzLWtleTE"
)

// Config configures a Server. The zero value is a usable sandbox.
type Config struct {
	// Seed selects the generated people (sandboxdata.Persons). 0 means
	// DefaultSeed (1).
	Seed uint64
	// Members is how many people to generate; about 85% of them follow the
	// account. 0 means DefaultMembers (3000); a negative value means nobody
	// (an account without followers).
	Members int
	// AppID and AppSecret are the credentials the token endpoints accept.
	// Empty means DefaultAppID / DefaultAppSecret.
	AppID, AppSecret string
	// PageSize is the most openids one /cgi-bin/user/get or /cgi-bin/user/tag/get
	// page holds. 0 means DefaultPageSize (10000, the real limit).
	PageSize int
	// TokenTTL is the lifetime of an access token (expires_in). 0 means
	// DefaultTokenTTL (7200 s).
	TokenTTL time.Duration
	// TokenGrace is how long a token superseded by a later /cgi-bin/token call
	// keeps working; stable_token also hands out a fresh token once the
	// current one has this long (at most TokenTTL/2) left to live. 0 means
	// DefaultTokenGrace (5 min); a negative value means no grace at all.
	TokenGrace time.Duration
	// QPS limits business calls (everything but the token endpoints) to this
	// many per second, with a burst of max(1, QPS); calls over it get 45011.
	// 0 means unlimited.
	QPS float64
	// DailyQuota is how many calls each business endpoint takes per day
	// (Beijing time) before it answers 45009, like WeChat's per-API daily
	// quotas. 0 means unlimited.
	DailyQuota int
	// LegacyProfile makes user info include nickname, sex, city, province,
	// country and headimgurl filled from the person, as the API did before
	// 2021-12-27. Off (the default), those fields are absent, as in the
	// current documentation's user-info example (fact sheet §2.4; whether the
	// live API still sends them empty is unconfirmed [L]).
	LegacyProfile bool
	// PushToken and EncodingAESKey are the account's server config: they sign
	// (and, in safe and compatible mode, encrypt) the pushes EventRequest
	// builds. Empty means DefaultPushToken / DefaultEncodingAESKey.
	PushToken, EncodingAESKey string
	// Now is the clock for token lifetimes, quotas and follow times. It must
	// be safe for concurrent use. nil means time.Now.
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
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if c.AppSecret == "" {
		c.AppSecret = DefaultAppSecret
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	switch {
	case c.TokenGrace == 0:
		c.TokenGrace = DefaultTokenGrace
	case c.TokenGrace < 0:
		c.TokenGrace = 0
	}
	if c.QPS < 0 {
		c.QPS = 0
	}
	if c.DailyQuota < 0 {
		c.DailyQuota = 0
	}
	if c.PushToken == "" {
		c.PushToken = DefaultPushToken
	}
	if c.EncodingAESKey == "" {
		c.EncodingAESKey = DefaultEncodingAESKey
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
	// pushSeq numbers pushes: their random bytes and nonces derive from it.
	pushSeq atomic.Uint64

	mu         sync.Mutex
	followers  []follower       // in follow order, unfollowed ones kept in place
	index      map[string]int32 // openid → position in followers
	subscribed int              // followers with subscribed set
	nextPerson int              // person index of the next AddFollowers follower
	tags       map[int32]*tag
	nextTagID  int32
	tokens     tokenStore
	limits     limiter
	faults     wxfault.Queue
	requests   map[string]int
}

// route is one emulated API.
type route struct {
	method   string // GET or POST
	business bool   // needs an access token; counts against QPS and DailyQuota
	handle   func(http.ResponseWriter, *http.Request)
}

// New builds a sandbox from cfg (see Config for the defaults). Measured for
// 1.2 M people (about 1 M followers): ~4 s, ~220 bytes kept per follower,
// with a transient peak near 1 GB while sandboxdata generates the people.
func New(cfg Config) *Server {
	s := &Server{
		cfg:      cfg.withDefaults(),
		requests: map[string]int{},
	}
	s.tokens.init(s.cfg.Seed)
	s.seed()
	s.routes = map[string]route{
		"/cgi-bin/token":                       {http.MethodGet, false, s.token},
		"/cgi-bin/stable_token":                {http.MethodPost, false, s.stableToken},
		"/cgi-bin/user/get":                    {http.MethodGet, true, s.userGet},
		"/cgi-bin/user/info":                   {http.MethodGet, true, s.userInfo},
		"/cgi-bin/user/info/batchget":          {http.MethodPost, true, s.userBatchGet},
		"/cgi-bin/tags/get":                    {http.MethodGet, true, s.tagsGet},
		"/cgi-bin/tags/create":                 {http.MethodPost, true, s.tagsCreate},
		"/cgi-bin/tags/update":                 {http.MethodPost, true, s.tagsUpdate},
		"/cgi-bin/tags/delete":                 {http.MethodPost, true, s.tagsDelete},
		"/cgi-bin/tags/members/batchtagging":   {http.MethodPost, true, s.batchTagging},
		"/cgi-bin/tags/members/batchuntagging": {http.MethodPost, true, s.batchUntagging},
		"/cgi-bin/tags/getidlist":              {http.MethodPost, true, s.tagIDList},
		"/cgi-bin/user/tag/get":                {http.MethodPost, true, s.tagFans},
	}
	return s
}

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) now() time.Time { return s.cfg.Now() }

// ServeHTTP answers like api.weixin.qq.com. Paths under /sandbox/ are the
// admin API:
//
//	POST   /sandbox/faults             {"path": "/cgi-bin/user/get", <Fault JSON>}: Inject
//	DELETE /sandbox/faults             ClearFaults
//	POST   /sandbox/tokens/expire      ExpireTokens
//	POST   /sandbox/followers/add      {"n": 5} → {"openids": [...]}: AddFollowers
//	POST   /sandbox/followers/unfollow {"openid": "o…"}: Unfollow
//	GET    /sandbox/stats              {"followers": N, "requests": {path: count}}
//
// Every request to an API path is counted (Requests), then a pending fault
// for the path is applied, then the method, the access token, the QPS limit
// and the daily quota are checked, in that order.
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
		if rt.method == http.MethodGet {
			s.fail(w, codeRequireGET, "")
		} else {
			s.fail(w, codeRequirePOST, "")
		}
		return
	}
	if rt.business {
		if code := s.admit(path, r.URL.Query().Get("access_token")); code != 0 {
			s.fail(w, code, "")
			return
		}
	}
	rt.handle(w, r)
}

// admit checks the token, the QPS limit and the daily quota of a business
// call, and returns the errcode to answer with, or 0.
func (s *Server) admit(path, token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if code := s.tokens.check(token, now); code != 0 {
		return code
	}
	return s.limits.admit(path, now, s.cfg.QPS, s.cfg.DailyQuota)
}

// Requests returns how many requests reached path (e.g. "/cgi-bin/user/get"),
// whatever their outcome.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// Followers returns how many users follow the account now (user/get's total).
func (s *Server) Followers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribed
}

// OpenIDs returns the followers' openids in follow order, as paging through
// /cgi-bin/user/get would.
func (s *Server) OpenIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, s.subscribed)
	for i := range s.followers {
		if f := &s.followers[i]; f.subscribed {
			out = append(out, f.openid)
		}
	}
	return out
}

// AddFollowers makes n new people follow the account now (per Config.Now),
// at the end of the follower list, and returns their openids. Their ids
// continue sandboxdata's person numbering after Config.Members, so the
// unionid is the one sandboxdata gives that person index.
func (s *Server) AddFollowers(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]string, 0, max(n, 0))
	for range n {
		f := s.newFollower(s.nextPerson, now)
		s.nextPerson++
		s.followers = append(s.followers, f)
		s.index[f.openid] = int32(len(s.followers) - 1)
		s.subscribed++
		out = append(out, f.openid)
	}
	return out
}

// Unfollow makes the follower with openid unfollow the account: it leaves
// the follower list, loses its tags, and user info shows subscribe 0. It
// reports whether openid was following.
func (s *Server) Unfollow(openid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := s.index[openid]
	if !found || !s.followers[i].subscribed {
		return false
	}
	f := &s.followers[i]
	for _, id := range f.tags {
		if t := s.tags[id]; t != nil {
			t.count--
		}
	}
	f.tags = nil
	f.subscribed = false
	s.subscribed--
	return true
}

// TagIDsOf returns the ids of the tags on openid, in the order they were
// put on (as /cgi-bin/tags/getidlist answers), or nil for an unknown openid.
func (s *Server) TagIDsOf(openid string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := s.index[openid]
	if !found {
		return nil
	}
	out := make([]int, len(s.followers[i].tags))
	for j, id := range s.followers[i].tags {
		out[j] = int(id)
	}
	return out
}

// TagByName returns the id of the tag named name.
func (s *Server) TagByName(name string) (id int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tags {
		if t.name == name {
			return int(t.id), true
		}
	}
	return 0, false
}

// TagCount returns how many followers carry tag id (the "count" of
// /cgi-bin/tags/get), or -1 when there is no such tag.
func (s *Server) TagCount(id int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tags[int32(id)]; t != nil {
		return t.count
	}
	return -1
}

// ExpireTokens makes every access token issued so far expire now: business
// calls with them get 42001, and stable_token hands out a new one.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens.expireAll(s.now())
}

// sortedTags returns the tags by id.
func (s *Server) sortedTags() []*tag {
	out := make([]*tag, 0, len(s.tags))
	for _, t := range s.tags {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *tag) int { return cmp.Compare(a.id, b.id) })
	return out
}
