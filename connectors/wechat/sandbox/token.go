package sandbox

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// issued is one access token.
type issued struct {
	expires time.Time // 42001 from then on
	// dies is when a superseded token stops working (40001 from then on);
	// zero while the token is current.
	dies time.Time
}

// tokenStore holds every token handed out. Guarded by Server.mu.
type tokenStore struct {
	rng     *rand.Rand
	seq     int
	all     map[string]*issued
	current string // the latest /cgi-bin/token token
	stable  string // the current stable_token token
	// Force refreshes of stable_token: when the last one was, and how many
	// happened on day.
	lastForce time.Time
	forceDay  int
	forces    int
}

// Token bookkeeping limits.
const (
	// forgetAfter: a token dead this long may be forgotten (then 40014).
	forgetAfter = 24 * time.Hour
	// pruneAbove: prune only when this many tokens are remembered.
	pruneAbove = 1024
	// Force refreshes of stable_token: at most maxForces a day, at least
	// forceInterval apart (getStableAccessToken doc).
	maxForces     = 20
	forceInterval = 30 * time.Second
)

func (ts *tokenStore) init(seed uint64) {
	ts.rng = rand.New(rand.NewPCG(seed, 0x70c3e5))
	ts.all = map[string]*issued{}
}

// tokenChars are the characters of a generated token.
const tokenChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// issue makes a new token valid for ttl from now. Real tokens are ~136
// characters with a numeric prefix ("86_…"); these look alike.
func (ts *tokenStore) issue(now time.Time, ttl time.Duration) string {
	ts.seq++
	b := make([]byte, 0, 140)
	b = strconv.AppendInt(b, int64(ts.seq), 10)
	b = append(b, '_')
	for range 132 {
		b = append(b, tokenChars[ts.rng.IntN(len(tokenChars))])
	}
	tok := string(b)
	ts.all[tok] = &issued{expires: now.Add(ttl)}
	if len(ts.all) > pruneAbove {
		ts.prune(now)
	}
	return tok
}

// prune forgets tokens that died more than forgetAfter ago.
func (ts *tokenStore) prune(now time.Time) {
	for tok, t := range ts.all {
		death := t.expires
		if !t.dies.IsZero() && t.dies.Before(death) {
			death = t.dies
		}
		if now.Sub(death) > forgetAfter {
			delete(ts.all, tok)
		}
	}
}

// check returns the errcode a business call with token gets at now, or 0.
func (ts *tokenStore) check(token string, now time.Time) int {
	if token == "" {
		return codeTokenMissing
	}
	t := ts.all[token]
	switch {
	case t == nil:
		return codeInvalidToken
	case !now.Before(t.expires):
		return codeTokenExpired
	case !t.dies.IsZero() && !now.Before(t.dies):
		return codeInvalidCredential
	}
	return 0
}

// supersede makes token die at most grace after now.
func (ts *tokenStore) supersede(token string, now time.Time, grace time.Duration) {
	t := ts.all[token]
	if t == nil || !t.dies.IsZero() {
		return
	}
	t.dies = now.Add(grace)
	if t.expires.Before(t.dies) {
		t.dies = t.expires
	}
}

func (ts *tokenStore) expireAll(now time.Time) {
	for _, t := range ts.all {
		if now.Before(t.expires) {
			t.expires = now
		}
	}
}

// tokenAnswer is the success body of both token endpoints.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// credentials checks grant_type, appid and secret, in that order, and
// returns the errcode for the first bad one, or 0.
//
// A wrong secret gets 40125 on both endpoints. The older getAccessToken doc
// table lists 40001 ("AppSecret错误") for /cgi-bin/token, but live answers
// quoted in public issues since 2019 (bottenderjs/messaging-apis#502,
// ghwmx/WeiXinPost#2: "40125 invalid appsecret rid: …") show 40125 there
// too, as the stable_token doc says; which one the live /cgi-bin/token sends
// today is not verified here [M].
func (s *Server) credentials(grantType, appid, secret string) int {
	switch {
	case grantType != "client_credential":
		return codeInvalidGrantType
	case appid == "":
		return codeAppIDMissing
	case appid != s.cfg.AppID:
		return codeInvalidAppID
	case secret == "":
		return codeSecretMissing
	case secret != s.cfg.AppSecret:
		return codeInvalidSecret
	}
	return 0
}

// token serves GET /cgi-bin/token: a new token on every call; the previous
// one keeps working for TokenGrace (fact sheet §2.1).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if code := s.credentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != 0 {
		s.fail(w, code, "")
		return
	}
	s.mu.Lock()
	now := s.now()
	s.tokens.supersede(s.tokens.current, now, s.cfg.TokenGrace)
	tok := s.tokens.issue(now, s.cfg.TokenTTL)
	s.tokens.current = tok
	s.mu.Unlock()
	writeJSON(w, tokenAnswer{AccessToken: tok, ExpiresIn: int64(s.cfg.TokenTTL / time.Second)})
}

// stableTokenRequest is the body of POST /cgi-bin/stable_token.
type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// stableToken serves POST /cgi-bin/stable_token (fact sheet §2.1): the same
// token while it has more than the rotation window (TokenGrace, at most
// TokenTTL/2) to live, with the remaining lifetime in expires_in; then a new
// one, the old staying valid until it expires. force_refresh=true replaces
// the token at once (the old one answers 40001), at most 20 times a day and
// 30 s apart. The sheet gives those limits but not the errcodes for breaking
// them; the sandbox answers 45011 (too soon) and 45009 (too many today) [L].
// Tokens from here and from /cgi-bin/token do not affect each other.
func (s *Server) stableToken(w http.ResponseWriter, r *http.Request) {
	var req stableTokenRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if code := s.credentials(req.GrantType, req.AppID, req.Secret); code != 0 {
		s.fail(w, code, "")
		return
	}
	s.mu.Lock()
	now := s.now()
	ts := &s.tokens
	window := min(s.cfg.TokenGrace, s.cfg.TokenTTL/2)
	cur := ts.all[ts.stable]
	switch {
	case req.ForceRefresh:
		day := beijingDay(now)
		if day != ts.forceDay {
			ts.forceDay, ts.forces = day, 0
		}
		if !ts.lastForce.IsZero() && now.Sub(ts.lastForce) < forceInterval {
			s.mu.Unlock()
			s.fail(w, codeMinuteQuota, "")
			return
		}
		if ts.forces >= maxForces {
			s.mu.Unlock()
			s.fail(w, codeDailyQuota, "")
			return
		}
		ts.forces++
		ts.lastForce = now
		ts.supersede(ts.stable, now, 0)
		ts.stable = ts.issue(now, s.cfg.TokenTTL)
	case cur == nil || ts.check(ts.stable, now) != 0 || cur.expires.Sub(now) <= window:
		ts.stable = ts.issue(now, s.cfg.TokenTTL)
	}
	tok := ts.stable
	left := ts.all[tok].expires.Sub(now)
	s.mu.Unlock()
	writeJSON(w, tokenAnswer{AccessToken: tok, ExpiresIn: int64(left / time.Second)})
}

// beijingDay numbers the day now falls on in Beijing (UTC+8, no DST), where
// WeChat's daily quotas reset.
func beijingDay(now time.Time) int {
	y, m, d := now.UTC().Add(8 * time.Hour).Date()
	return y*10000 + int(m)*100 + d
}

// limiter enforces Config.QPS and Config.DailyQuota. Guarded by Server.mu.
type limiter struct {
	bucket   float64
	bucketAt time.Time
	day      int
	used     map[string]int // calls per path on day
}

// admit returns 45011 when the QPS limit is exceeded, 45009 when path's daily
// quota is used up, else 0 (and counts the call).
func (l *limiter) admit(path string, now time.Time, qps float64, quota int) int {
	if qps > 0 {
		burst := max(1, qps)
		if l.bucketAt.IsZero() {
			l.bucket = burst
		} else if dt := now.Sub(l.bucketAt).Seconds(); dt > 0 {
			l.bucket = min(burst, l.bucket+dt*qps)
		}
		if now.After(l.bucketAt) {
			l.bucketAt = now
		}
		if l.bucket < 1 {
			return codeMinuteQuota
		}
	}
	if quota > 0 {
		if day := beijingDay(now); day != l.day || l.used == nil {
			l.day, l.used = day, map[string]int{}
		}
		if l.used[path] >= quota {
			return codeDailyQuota
		}
		l.used[path]++
	}
	if qps > 0 {
		l.bucket--
	}
	return 0
}
