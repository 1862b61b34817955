package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
)

// pair is one issued access/refresh token pair.
type pair struct {
	access, refresh       string
	accessExp, refreshExp time.Time
}

func (p *pair) token(cfg Config) ark.Token {
	return ark.Token{
		AccessToken: p.access, AccessTokenExpiresAt: ark.MillisOf(p.accessExp),
		RefreshToken: p.refresh, RefreshTokenExpiresAt: ark.MillisOf(p.refreshExp),
		SellerID: cfg.SellerID, SellerName: cfg.SellerName,
	}
}

// authCode is an authorization code and the pair it was exchanged for.
type authCode struct {
	exp  time.Time
	pair *pair // nil until first exchanged
}

// tokenStore holds every token and code issued. Guarded by Server.mu.
type tokenStore struct {
	seed    uint64
	seq     uint64
	access  map[string]*pair // by access token; rotated-away pairs stay, with a short accessExp
	refresh map[string]*pair // by refresh token; rotated-away refresh tokens are removed
	codes   map[string]*authCode
}

func (t *tokenStore) init(seed uint64) {
	t.seed = seed
	t.access = map[string]*pair{}
	t.refresh = map[string]*pair{}
	t.codes = map[string]*authCode{}
}

// secret makes a token-like value: prefix, then two 32-hex words.
func (t *tokenStore) secret(prefix string) string {
	t.seq++
	var b [17]byte
	binary.BigEndian.PutUint64(b[:8], t.seed)
	binary.BigEndian.PutUint64(b[8:16], t.seq)
	b[16] = prefix[0]
	sum := sha256.Sum256(b[:])
	h := hex.EncodeToString(sum[:])
	return prefix + "-" + h[:32] + "-" + h[32:]
}

func (t *tokenStore) issue(now time.Time, cfg Config) *pair {
	p := &pair{
		access: t.secret("token"), refresh: t.secret("refresh"),
		accessExp: now.Add(cfg.AccessTokenTTL), refreshExp: now.Add(cfg.RefreshTokenTTL),
	}
	t.access[p.access] = p
	t.refresh[p.refresh] = p
	t.prune(now)
	return p
}

// prune drops pairs whose refresh token has expired: they can no longer do
// anything.
func (t *tokenStore) prune(now time.Time) {
	for k, p := range t.access {
		if !now.Before(p.refreshExp) && !now.Before(p.accessExp) {
			delete(t.access, k)
			delete(t.refresh, p.refresh)
		}
	}
}

// check returns 0 if access is a live access token, else the error code.
func (t *tokenStore) check(access string, now time.Time) int {
	p := t.access[access]
	if access == "" || p == nil || !now.Before(p.accessExp) {
		return ark.CodeAccessTokenInvalid
	}
	return 0
}

// rotate answers oauth.refreshToken for refresh at now.
func (t *tokenStore) rotate(refresh string, now time.Time, cfg Config) (*pair, int) {
	p := t.refresh[refresh]
	if refresh == "" || p == nil || !now.Before(p.refreshExp) {
		return nil, ark.CodeGrantInvalid
	}
	if p.accessExp.Sub(now) > cfg.RefreshWindow {
		return p, 0
	}
	delete(t.refresh, p.refresh)
	if grace := now.Add(cfg.SupersededGrace); grace.Before(p.accessExp) {
		p.accessExp = grace
	}
	return t.issue(now, cfg), 0
}

// AuthCode issues an authorization code, as the platform redirects to the
// app after the merchant authorizes. It can be exchanged with
// oauth.getAccessToken for Config.AuthCodeTTL; exchanging it again within
// that time returns the same pair.
func (s *Server) AuthCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := s.tokens.secret("code")
	s.tokens.codes[code] = &authCode{exp: s.now().Add(s.cfg.AuthCodeTTL)}
	return code
}

// IssueToken issues a token pair directly, as if the merchant had authorized
// and the code been exchanged now.
func (s *Server) IssueToken() ark.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens.issue(s.now(), s.cfg).token(s.cfg)
}

// ExpireTokens makes every access token issued so far expire now: merchant
// calls with them get ark.CodeAccessTokenInvalid, and oauth.refreshToken
// issues new pairs.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, p := range s.tokens.access {
		if now.Before(p.accessExp) {
			p.accessExp = now
		}
	}
}

func (s *Server) getAccessToken(w http.ResponseWriter, body []byte) {
	var req struct {
		Code string `json:"code"`
	}
	if !s.decodeParams(w, body, &req) {
		return
	}
	if req.Code == "" {
		s.fail(w, ark.CodeBadParams, "缺少参数code")
		return
	}
	s.mu.Lock()
	now := s.now()
	c := s.tokens.codes[req.Code]
	if c == nil || !now.Before(c.exp) {
		s.mu.Unlock()
		s.fail(w, ark.CodeGrantInvalid, "授权码无效或已过期")
		return
	}
	if c.pair == nil {
		c.pair = s.tokens.issue(now, s.cfg)
	}
	tok := c.pair.token(s.cfg)
	s.mu.Unlock()
	reply(w, tok)
}

func (s *Server) refreshToken(w http.ResponseWriter, body []byte) {
	var req struct {
		RefreshToken string `json:"refreshToken"`
	}
	if !s.decodeParams(w, body, &req) {
		return
	}
	if req.RefreshToken == "" {
		s.fail(w, ark.CodeBadParams, "缺少参数refreshToken")
		return
	}
	s.mu.Lock()
	p, code := s.tokens.rotate(req.RefreshToken, s.now(), s.cfg)
	var tok ark.Token
	if p != nil {
		tok = p.token(s.cfg)
	}
	s.mu.Unlock()
	if code != 0 {
		s.fail(w, code, "refreshToken无效或已过期，请商家重新授权")
		return
	}
	reply(w, tok)
}

// limiter is a token bucket over the injected clock. Guarded by Server.mu.
type limiter struct {
	tokens float64
	last   time.Time
	primed bool
}

// allow takes one call from the bucket at now, refilled at qps per second up
// to max(1, qps); qps 0 always allows.
func (l *limiter) allow(now time.Time, qps float64) bool {
	if qps <= 0 {
		return true
	}
	burst := max(1, qps)
	if !l.primed {
		l.tokens, l.last, l.primed = burst, now, true
	}
	if now.After(l.last) {
		l.tokens = min(burst, l.tokens+now.Sub(l.last).Seconds()*qps)
		l.last = now
	}
	if l.tokens >= 1 {
		l.tokens--
		return true
	}
	return false
}
