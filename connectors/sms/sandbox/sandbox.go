package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
)

// Provider names an emulated SMS provider.
type Provider string

// Providers.
const (
	Aliyun  Provider = "aliyun"
	Tencent Provider = "tencent"
)

// Emulator extensions: the code answered for a send whose OutId (Alibaba) or
// SessionContext (Tencent) was sent before. The real services never send
// them; the connector treats them as "already applied".
const (
	CodeAliyunAlreadySent  = "sandbox.OUT_ID_ALREADY_SENT"
	CodeTencentAlreadySent = "sandbox.SessionContextAlreadySent"
)

// TemplateKind is the type of an approved template; it decides the
// frequency limits and whether the marketing window applies.
type TemplateKind string

// Template kinds.
const (
	KindVerification TemplateKind = "verification" // 验证码
	KindNotification TemplateKind = "notification" // 短信通知
	KindPromotion    TemplateKind = "promotion"    // 推广短信
)

// Template is an approved template.
type Template struct {
	// ID is the Alibaba TemplateCode ("SMS_…") or the Tencent TemplateId
	// (digits).
	ID   string
	Kind TemplateKind
	// Params are the variable names (Alibaba: keys of TemplateParam) in the
	// order Tencent's TemplateParamSet fills them.
	Params []string
	// Text is the body with ${name} (Alibaba) or {1}… (Tencent) variables.
	Text string
}

// Config configures a Server. Zero values are the documented defaults.
type Config struct {
	// Provider is the emulated provider; default Aliyun.
	Provider Provider
	// Seed derives the credentials and the seeded replies; default 1.
	Seed uint64
	// AccessKeyID and AccessKeySecret are the one valid key pair (Tencent:
	// SecretId / SecretKey); default derived from Seed.
	AccessKeyID     string
	AccessKeySecret string
	// SdkAppID is the Tencent SmsSdkAppId; default derived from Seed.
	SdkAppID string
	// SignNames are the approved signatures; default {"渠道中心"}.
	SignNames []string
	// Templates are the approved templates; default DefaultTemplates.
	Templates []Template
	// Replies is how many uplink replies are waiting at start, from the seeded
	// people (sandboxdata), a mix of opt-outs and other text; default 0.
	Replies int
	// Unreachable are numbers (E.164) whose messages the provider accepts
	// but that never reach the handset: their delivery reports say so, with
	// the carrier status UNDELIV (the fact sheet lists no failure codes).
	Unreachable []string
	// TencentDailyLimit is the per-number, per-natural-day cap (UTC+8) of
	// Tencent's default policy; default 10 (fact sheet §2.5 reports a newer
	// default of 2, which the console can change; 10 keeps demos usable).
	TencentDailyLimit int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultSignName is the approved signature of a default config.
const DefaultSignName = "渠道中心"

// DefaultTemplates returns the templates of a default config for provider p:
// a notification with one variable, a verification code and a promotion.
func DefaultTemplates(p Provider) []Template {
	if p == Tencent {
		return []Template{
			{ID: "2000001", Kind: KindNotification, Params: []string{"name"}, Text: "尊敬的会员{1}，您的积分已更新，请登录查看。"},
			{ID: "2000002", Kind: KindVerification, Params: []string{"code"}, Text: "您的验证码为{1}，5分钟内有效。"},
			{ID: "2000003", Kind: KindPromotion, Text: "会员日全场8折，拒收请回复R"},
		}
	}
	return []Template{
		{ID: "SMS_100000001", Kind: KindNotification, Params: []string{"name"}, Text: "尊敬的会员${name}，您的积分已更新，请登录查看。"},
		{ID: "SMS_100000002", Kind: KindVerification, Params: []string{"code"}, Text: "您的验证码为${code}，5分钟内有效。"},
		{ID: "SMS_100000003", Kind: KindPromotion, Text: "会员日全场8折，拒收请回复R"},
	}
}

// Message is one accepted message as the emulator recorded it.
type Message struct {
	// ID is the provider's id: the BizId (Alibaba) or SerialNo (Tencent).
	ID string
	// Phone is the recipient in E.164.
	Phone    string
	SignName string
	Template string
	// Params are the template values by variable name.
	Params map[string]string
	// Key is the OutId (Alibaba) or SessionContext (Tencent).
	Key     string
	Content string
	SentAt  time.Time
}

// Reply is one uplink (inbound) message.
type Reply struct {
	// Seq is its sequence id, unique within the server.
	Seq   int64
	Phone string // E.164
	Text  string
	Sign  string
	At    time.Time
}

// receipt is one delivery report.
type receipt struct {
	msg         Message
	at          time.Time
	undelivered bool
}

// receiptOf is the delivery report of an accepted message.
func (s *Server) receiptOf(m Message, now time.Time) receipt {
	return receipt{msg: m, at: now.Add(time.Second), undelivered: slices.Contains(s.cfg.Unreachable, m.Phone)}
}

// Fault makes the next Count requests for Action fail. Alibaba answers
// Status with {"Code": Code} (Status 200 gives a business error); Tencent
// answers Code in Response.Error, or a bare HTTP Status when Code is empty.
type Fault struct {
	Action string
	Status int
	Code   string
	Count  int
}

// Server is one emulated provider. It is an http.Handler.
type Server struct {
	cfg       Config
	templates map[string]Template

	mu       sync.Mutex
	seq      int64
	messages []Message
	byKey    map[string]int // key (OutId / SessionContext) + phone → message index
	nonces   map[string]time.Time
	receipts []receipt // not yet pulled (Tencent) or pushed (Alibaba)
	replies  []Reply   // idem
	optedOut map[string]bool
	faults   []Fault
}

// New builds a server.
func New(cfg Config) *Server {
	if cfg.Provider == "" {
		cfg.Provider = Aliyun
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5a5))
	if cfg.AccessKeyID == "" {
		if cfg.Provider == Tencent {
			cfg.AccessKeyID = "AKIDsandbox" + sandboxdata.ID(cfg.Seed, "sms-tencent-id", 0, 20)
		} else {
			cfg.AccessKeyID = "LTAIsandbox" + sandboxdata.ID(cfg.Seed, "sms-aliyun-id", 0, 13)
		}
	}
	if cfg.AccessKeySecret == "" {
		cfg.AccessKeySecret = sandboxdata.ID(cfg.Seed, "sms-"+string(cfg.Provider)+"-secret", 0, 30)
	}
	if cfg.SdkAppID == "" {
		cfg.SdkAppID = fmt.Sprintf("14%08d", r.IntN(100000000))
	}
	if len(cfg.SignNames) == 0 {
		cfg.SignNames = []string{DefaultSignName}
	}
	if len(cfg.Templates) == 0 {
		cfg.Templates = DefaultTemplates(cfg.Provider)
	}
	if cfg.TencentDailyLimit == 0 {
		cfg.TencentDailyLimit = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, templates: map[string]Template{}, byKey: map[string]int{}, nonces: map[string]time.Time{}, optedOut: map[string]bool{}}
	for _, t := range cfg.Templates {
		s.templates[t.ID] = t
	}
	s.seedReplies()
	return s
}

// seedTexts are the seeded replies: opt-outs in every accepted spelling, and
// replies that are not opt-outs.
var seedTexts = []string{"TD", "好的，谢谢", "退订", "r", " n ", "收到", "T", "什么活动？"}

func (s *Server) seedReplies() {
	if s.cfg.Replies <= 0 {
		return
	}
	people := sandboxdata.Persons(s.cfg.Seed, 7*s.cfg.Replies+1)
	at := s.cfg.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range s.cfg.Replies {
		s.seq++
		r := Reply{Seq: s.seq, Phone: people[7*i+3].Phone, Text: seedTexts[i%len(seedTexts)], Sign: s.cfg.SignNames[0], At: at.Add(time.Duration(i) * time.Second)}
		s.replies = append(s.replies, r)
		if IsOptOut(r.Text) {
			s.optedOut[r.Phone] = true
		}
	}
}

// Config returns the server's config with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Now returns the server's clock.
func (s *Server) Now() time.Time { return s.cfg.Now() }

// Messages returns every accepted message, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// MessagesTo returns the accepted messages to one E.164 number.
func (s *Server) MessagesTo(phone string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		if m.Phone == phone {
			out = append(out, m)
		}
	}
	return out
}

// InjectReply makes phone (E.164) send text to the first signature's
// number now, and returns the reply as the provider will report it. An
// opt-out keyword puts the number on the do-not-disturb list (Tencent answers
// FailedOperation.PhoneNumberInBlacklist for it afterwards).
func (s *Server) InjectReply(phone, text string) Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	r := Reply{Seq: s.seq, Phone: phone, Text: text, Sign: s.cfg.SignNames[0], At: s.cfg.Now().Truncate(time.Second)}
	s.replies = append(s.replies, r)
	if IsOptOut(text) {
		s.optedOut[phone] = true
	}
	return r
}

// PendingReplies returns the replies not yet pulled or pushed.
func (s *Server) PendingReplies() []Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.replies)
}

// IsOptOut reports whether a reply text is one of the opt-out keywords the
// providers honour (fact sheet §6): such a reply puts its number on the
// do-not-disturb list.
func IsOptOut(text string) bool {
	switch strings.ToUpper(strings.TrimSpace(text)) {
	case "R", "TD", "T", "N", "退订":
		return true
	}
	return false
}

// InjectFault queues a fault.
func (s *Server) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// takeFault returns and consumes a fault queued for action.
func (s *Server) takeFault(action string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Action == action || f.Action == "*" {
			s.faults[i].Count--
			if s.faults[i].Count <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f, true
		}
	}
	return Fault{}, false
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Provider == Tencent {
		s.serveTencent(w, r)
		return
	}
	s.serveAliyun(w, r)
}

// useNonce records a nonce and reports whether it was fresh (unused within
// window).
func (s *Server) useNonce(nonce string, window time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	for n, at := range s.nonces {
		if now.Sub(at) > window {
			delete(s.nonces, n)
		}
	}
	if _, used := s.nonces[nonce]; used {
		return false
	}
	s.nonces[nonce] = now
	return true
}

// render fills a template's variables.
func render(sign string, t Template, params map[string]string) string {
	text := t.Text
	for i, name := range t.Params {
		text = strings.ReplaceAll(text, "${"+name+"}", params[name])
		text = strings.ReplaceAll(text, fmt.Sprintf("{%d}", i+1), params[name])
	}
	return "【" + sign + "】" + text
}

// parts is how many billed parts a domestic message takes: 70 characters in
// one, 67 a part beyond.
func parts(content string) int {
	n := utf8.RuneCountInString(content)
	if n <= 70 {
		return 1
	}
	return (n + 66) / 67
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Push delivers the pending receipts and replies to url as the provider's
// HTTP callbacks: Alibaba posts a JSON array of SmsReport items, then one of
// SmsUp items; Tencent posts one JSON array of status reports, then each
// reply as its own object. Items whose post fails (any non-200 status) stay
// pending for the next Push, as the providers redeliver. It returns how many
// items were delivered.
func (s *Server) Push(ctx context.Context, hc *http.Client, url string) (int, error) {
	s.mu.Lock()
	recs, reps := slices.Clone(s.receipts), slices.Clone(s.replies)
	s.mu.Unlock()
	type post struct {
		body              []byte
		receipts, replies int
	}
	var posts []post
	if len(recs) > 0 {
		if s.cfg.Provider == Tencent {
			posts = append(posts, post{body: mustJSON(tencentStatusCallbacks(recs)), receipts: len(recs)})
		} else {
			posts = append(posts, post{body: mustJSON(aliyunReports(recs)), receipts: len(recs)})
		}
	}
	if s.cfg.Provider == Tencent {
		for _, r := range reps {
			posts = append(posts, post{body: mustJSON(s.tencentReplyCallback(r)), replies: 1})
		}
	} else if len(reps) > 0 {
		posts = append(posts, post{body: mustJSON(aliyunUps(reps)), replies: len(reps)})
	}
	var doneRecs, doneReps int
	defer func() { s.dropPushed(doneRecs, doneReps) }()
	for _, p := range posts {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(p.body))
		if err != nil {
			return doneRecs + doneReps, fmt.Errorf("push to the callback URL: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return doneRecs + doneReps, fmt.Errorf("push to the callback URL: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return doneRecs + doneReps, fmt.Errorf("push to the callback URL: status %d", resp.StatusCode)
		}
		doneRecs += p.receipts
		doneReps += p.replies
	}
	return doneRecs + doneReps, nil
}

// dropPushed removes the first n receipts and m replies (the ones pushed).
func (s *Server) dropPushed(n, m int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.receipts = s.receipts[min(n, len(s.receipts)):]
	s.replies = s.replies[min(m, len(s.replies)):]
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are marshalled
	}
	return b
}

// nationalNumber is the 11-digit mainland number of an E.164 +86 number.
func nationalNumber(e164 string) string { return strings.TrimPrefix(e164, "+86") }

// normalizeMainland accepts 11 digits starting with 1 with an optional +,
// +86, 0086 or 86 prefix, and returns the E.164 form.
func normalizeMainland(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, p := range []string{"+86", "0086", "86"} {
		if len(s) == len(p)+11 && strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	if len(s) != 11 || s[0] != '1' {
		return "", false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return "+86" + s, true
}
