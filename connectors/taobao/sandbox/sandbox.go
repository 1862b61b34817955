package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"

	"github.com/channelhub/channelhub/connectors/gatewayfault"
)

// Config configures a Server. Every zero value means the documented default.
type Config struct {
	// Seed makes the data reproducible. Default 1.
	Seed uint64
	// Members is how many sandboxdata persons are generated; those on
	// "taobao" (about 60%) are the shop's buyers. Default 3000.
	Members int
	// Orders is how many trades are generated. Default 3000; negative: none.
	Orders int
	// AppKey and AppSecret are the one app the router knows. Defaults
	// "12345678" and "sandbox-top-secret".
	AppKey    string
	AppSecret string
	// Session is the seller's session the app holds; RefreshToken refreshes
	// it. Defaults "6100sandboxsession" and "6101sandboxrefresh".
	Session      string
	RefreshToken string
	// SessionTTL is how long a session lives. Default 365 days.
	SessionTTL time.Duration
	// SellerID and SellerNick name the shop. Defaults "2200000000001" and
	// "渠道中心沙箱旗舰店".
	SellerID   string
	SellerNick string
	// Brand scopes omids (会员通). Default "sandbox-brand".
	Brand string
	// MaxSkew is how far the timestamp may be from the clock. Default 10
	// minutes; negative turns the check off.
	MaxSkew time.Duration
	// QPS is how many calls per clock second the router answers before code
	// 7 (accesscontrol.limited-by-api-access-count, ban 1 s). 0: unlimited.
	QPS int
	// Redeliver is how long a consumed TMC message waits for its confirm
	// before it is delivered again. Default 1 minute.
	Redeliver time.Duration
	// Now is the clock; nil means time.Now.
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
		c.Orders = 3000
	}
	c.Orders, c.Members = max(c.Orders, 0), max(c.Members, 0)
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.AppKey, "12345678")
	def(&c.AppSecret, "sandbox-top-secret")
	def(&c.Session, "6100sandboxsession")
	def(&c.RefreshToken, "6101sandboxrefresh")
	def(&c.SellerID, "2200000000001")
	def(&c.SellerNick, "渠道中心沙箱旗舰店")
	def(&c.Brand, "sandbox-brand")
	if c.SessionTTL == 0 {
		c.SessionTTL = 365 * 24 * time.Hour
	}
	if c.MaxSkew == 0 {
		c.MaxSkew = top.MaxSkew
	}
	if c.Redeliver == 0 {
		c.Redeliver = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Server is the emulated router. It is safe for concurrent use.
type Server struct {
	cfg Config

	mu       sync.Mutex
	data                          // buyers, members, trades
	sessions map[string]time.Time // session → expiry
	refresh  string
	tokenSeq int
	faults   gatewayfault.Queue
	tmc      queue
	banUntil time.Time
	// counters
	requests, throttled int64
	rateSecond          int64
	rateCount           int
	reqSeq              uint64
	stepSeq             uint64
}

// New builds a server with its seeded data.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, sessions: map[string]time.Time{}, refresh: cfg.RefreshToken}
	now := cfg.Now()
	s.sessions[cfg.Session] = now.Add(cfg.SessionTTL)
	s.data.generate(cfg, now.Unix())
	return s
}

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) now() time.Time { return s.cfg.Now() }

// Requests is the number of API calls received (admin requests excluded).
func (s *Server) Requests() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Throttled is the number of calls answered with code 7 by the QPS limit or
// a ban (injected errors excluded).
func (s *Server) Throttled() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// Ban makes every call for d answer code 7
// (accesscontrol.limited-by-app-access-count) with the ban's remaining
// seconds in sub_msg.
func (s *Server) Ban(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.banUntil = s.now().Add(d)
}

// ExpireSession makes the current session (and any refreshed one) invalid:
// calls answer 27 invalid-sessionkey until a refresh.
func (s *Server) ExpireSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.sessions {
		s.sessions[k] = time.Time{}
	}
}

// apiErr is an error_response a handler answers with.
type apiErr struct {
	code            int
	msg             string
	subCode, subMsg string
}

func errf(code int, subCode, format string, args ...any) *apiErr {
	return &apiErr{code: code, msg: codeMsg(code), subCode: subCode, subMsg: fmt.Sprintf(format, args...)}
}

func codeMsg(code int) string {
	switch code {
	case top.CodeAppCallLimited:
		return "App Call Limited"
	case top.CodeRemoteServiceError:
		return "Remote service error"
	case top.CodeMissingMethod:
		return "Missing Method"
	case top.CodeInvalidMethod:
		return "Invalid Method"
	case top.CodeInvalidFormat:
		return "Invalid Format"
	case top.CodeMissingSignature:
		return "Missing Signature"
	case top.CodeInvalidSignature:
		return "Invalid signature"
	case top.CodeMissingSession:
		return "Missing Session"
	case top.CodeInvalidSession:
		return "Invalid session"
	case top.CodeMissingAppKey:
		return "Missing App Key"
	case top.CodeInvalidAppKey:
		return "Invalid App Key"
	case top.CodeMissingTimestamp:
		return "Missing Timestamp"
	case top.CodeInvalidTimestamp:
		return "Invalid Timestamp"
	case top.CodeMissingVersion:
		return "Missing Version"
	case top.CodeUnsupportedVersion:
		return "Unsupported Version"
	case top.CodeMissingRequired:
		return "Missing required arguments"
	case top.CodeInvalidArguments:
		return "Invalid arguments"
	}
	return "Remote service error"
}

// handler serves one API method; the router checks are done. s.mu is held.
type handler func(s *Server, p params) (any, *apiErr)

// apis lists the methods served and whether they need a session.
func apis(method string) (h handler, needSession bool) {
	switch method {
	case top.MethodTradesSoldGet:
		return (*Server).soldGet, true
	case top.MethodTradesSoldIncrementGet:
		return (*Server).incrementGet, true
	case top.MethodTradeFullinfoGet:
		return (*Server).fullinfoGet, true
	case top.MethodCRMMembersGet:
		return (*Server).membersGet, true
	case top.MethodCRMMembersIncrementGet:
		return (*Server).membersIncrementGet, true
	case top.MethodMeiMemberSync:
		return (*Server).memberSync, true
	case top.MethodMeiPointChangeCallback:
		return (*Server).pointChangeCallback, true
	case top.MethodTMCMessagesConsume:
		return (*Server).tmcConsume, false
	case top.MethodTMCMessagesConfirm:
		return (*Server).tmcConfirm, false
	case top.MethodTokenRefresh:
		return (*Server).tokenRefresh, false
	}
	return nil, false
}

// params are a request's merged query and form fields.
type params map[string]string

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
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	p := params{}
	for k := range r.Form {
		p[k] = r.Form.Get(k)
	}
	method := p["method"]

	s.mu.Lock()
	s.requests++
	f := s.takeFault(method)
	s.mu.Unlock()
	if f != nil && !s.applyFault(w, r, f, method) {
		return
	}

	s.mu.Lock()
	data, e := s.serveAPI(method, p)
	body := s.reply(method, p["simplify"] == "true", data, e)
	s.mu.Unlock()
	writeJSON(w, body)
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(b)
}

// reply renders an answer: error_response, or data flat (simplify) or
// wrapped in <name>_response, with a request_id. s.mu is held.
func (s *Server) reply(method string, simplify bool, data any, e *apiErr) []byte {
	s.reqSeq++
	rid := fmt.Sprintf("sb%x%06d", s.cfg.Seed, s.reqSeq)
	if e != nil {
		b, _ := json.Marshal(map[string]top.ErrorBody{"error_response": {Code: e.code, Msg: e.msg, SubCode: e.subCode, SubMsg: e.subMsg, RequestID: rid}})
		return b
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return s.reply(method, simplify, nil, errf(top.CodeRemoteServiceError, "isp.unknown-error", "%v", err))
	}
	var obj map[string]any
	_ = json.Unmarshal(raw, &obj)
	if obj == nil {
		obj = map[string]any{}
	}
	obj["request_id"] = rid
	if !simplify {
		b, _ := json.Marshal(map[string]any{top.ResponseName(method): obj})
		return b
	}
	b, _ := json.Marshal(obj)
	return b
}

func banErr(sub string, left time.Duration) *apiErr {
	secs := int64((left + time.Second - 1) / time.Second)
	return errf(top.CodeAppCallLimited, sub, "This ban will last for %d more seconds", max(secs, 1))
}

// serveAPI runs the router checks and the method's handler. s.mu is held.
func (s *Server) serveAPI(method string, p params) (any, *apiErr) {
	now := s.now()
	if now.Before(s.banUntil) {
		s.throttled++
		return nil, banErr(top.SubLimitedByAppAccessCount, s.banUntil.Sub(now))
	}
	if sec := now.Unix(); sec != s.rateSecond {
		s.rateSecond, s.rateCount = sec, 0
	}
	s.rateCount++
	if s.cfg.QPS > 0 && s.rateCount > s.cfg.QPS {
		s.throttled++
		return nil, banErr(top.SubLimitedByAPIAccessCount, time.Second)
	}
	if method == "" {
		return nil, errf(top.CodeMissingMethod, "", "")
	}
	h, needSession := apis(method)
	if h == nil {
		return nil, errf(top.CodeInvalidMethod, "", "")
	}
	switch key := p["app_key"]; {
	case key == "":
		return nil, errf(top.CodeMissingAppKey, "", "")
	case key != s.cfg.AppKey:
		return nil, errf(top.CodeInvalidAppKey, "", "")
	}
	ts := p["timestamp"]
	if ts == "" {
		return nil, errf(top.CodeMissingTimestamp, "", "")
	}
	at, err := top.ParseTime(ts)
	if err != nil || (s.cfg.MaxSkew > 0 && now.Sub(at).Abs() > s.cfg.MaxSkew) {
		return nil, errf(top.CodeInvalidTimestamp, "", "timestamp must be GMT+8 within %s of the server clock", s.cfg.MaxSkew)
	}
	switch v := p["v"]; {
	case v == "":
		return nil, errf(top.CodeMissingVersion, "", "")
	case v != top.APIVersion:
		return nil, errf(top.CodeUnsupportedVersion, "", "")
	}
	if f := p["format"]; f != "json" {
		return nil, errf(top.CodeInvalidFormat, "", "the sandbox answers format=json only")
	}
	if p["sign"] == "" {
		return nil, errf(top.CodeMissingSignature, "", "")
	}
	sm := top.SignMethod(p["sign_method"])
	if sm == "" {
		sm = top.SignMD5
	}
	want, err := top.Sign(sm, s.cfg.AppSecret, p)
	if err != nil || want != p["sign"] { // upper case only, as the platform emits
		return nil, errf(top.CodeInvalidSignature, "", "")
	}
	if needSession {
		sess := p["session"]
		if sess == "" {
			return nil, errf(top.CodeMissingSession, "", "")
		}
		if exp, ok := s.sessions[sess]; !ok || !now.Before(exp) {
			return nil, errf(top.CodeInvalidSession, top.SubInvalidSessionKey, "")
		}
	}
	return h(s, p)
}

// Parameter helpers.

func (p params) required(names ...string) *apiErr {
	for _, n := range names {
		if strings.TrimSpace(p[n]) == "" {
			return &apiErr{code: top.CodeMissingRequired, msg: "Missing required arguments:" + n}
		}
	}
	return nil
}

func (p params) int(name string, def, lo, hi int64) (int64, *apiErr) {
	v := p[name]
	if v == "" {
		return def, nil
	}
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil || n < lo || n > hi {
		return 0, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

func (p params) time(name string) (int64, bool, *apiErr) {
	v := p[name]
	if v == "" {
		return 0, false, nil
	}
	t, err := mapping.ParseShanghai(v)
	if err != nil {
		return 0, true, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "%s must be yyyy-MM-dd HH:mm:ss", name)
	}
	return t.Unix(), true, nil
}
