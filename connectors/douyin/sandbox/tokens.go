package sandbox

import (
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/sandboxdata"
)

// codeTTL is how long an authorization code lives.
const codeTTL = 10 * time.Minute

// auth holds authorization codes and tokens with their expiry times.
type auth struct {
	codes   map[string]time.Time
	access  map[string]time.Time
	refresh map[string]time.Time
	seq     int
}

func (a *auth) init() {
	a.codes, a.access, a.refresh = map[string]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
}

func (s *Server) newSecret(kind string) string {
	s.auth.seq++
	return kind + "-" + sandboxdata.ID(s.cfg.Seed, "douyin-"+kind, s.auth.seq, 32)
}

// AuthorizationCode returns a code for token.create (grant
// authorization_code), as the merchant's authorization would give a tool
// app. It is valid for 10 minutes and once.
func (s *Server) AuthorizationCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newSecret("code")
	s.codes[c] = s.now().Add(codeTTL)
	return c
}

// IssueToken returns a fresh access and refresh token for the shop without a
// token.create call.
func (s *Server) IssueToken() (accessToken, refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.issue()
	return t.AccessToken, t.RefreshToken
}

// ExpireTokens makes every access token issued so far expired (refresh
// tokens stay valid), as if their 7 days had passed.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for t := range s.access {
		s.access[t] = now
	}
}

func (s *Server) issue() doudian.Token {
	now := s.now()
	t := doudian.Token{
		AccessToken:  s.newSecret("access"),
		ExpiresIn:    int64(s.cfg.AccessTokenTTL / time.Second),
		RefreshToken: s.newSecret("refresh"),
		Scope:        "SCOPE",
		ShopID:       strconv.FormatInt(s.cfg.ShopID, 10),
		ShopName:     s.cfg.ShopName,
		AuthorityID:  strconv.FormatInt(s.cfg.ShopID, 10),
	}
	s.access[t.AccessToken] = now.Add(s.cfg.AccessTokenTTL)
	s.refresh[t.RefreshToken] = now.Add(s.cfg.RefreshTokenTTL)
	return t
}

func (s *Server) checkAccessToken(tok string, now time.Time) *apiErr {
	exp, ok := s.access[tok]
	switch {
	case tok == "":
		return errf(doudian.CodeMissingParam, doudian.SubAccessTokenMissing, "认证失败，access_token不能为空")
	case !ok:
		return errf(doudian.CodeInvalidParam, doudian.SubAccessTokenNotExist, "access_token不存在，请使用最新的access_token访问")
	case !now.Before(exp):
		return errf(doudian.CodeInvalidParam, doudian.SubAccessTokenExpired, "access_token已过期")
	}
	return nil
}

func (s *Server) tokenCreate(p map[string]any) (any, *apiErr) {
	now := s.now()
	switch paramString(p, "grant_type") {
	case doudian.GrantAuthorizationSelf:
		shop, _, e := paramInt(p, "shop_id")
		if e != nil {
			return nil, e
		}
		if shop != s.cfg.ShopID {
			return nil, errf(doudian.CodeTokenFailed, doudian.SubTokenNoAuthorization, "生成token失败，店铺授权已失效，请重新引导商家完成店铺授权")
		}
	case doudian.GrantAuthorizationCode:
		code := paramString(p, "code")
		exp, ok := s.codes[code]
		if !ok {
			return nil, errf(doudian.CodeTokenFailed, doudian.SubTokenCodeInvalid, "生成token失败，code参数不正确，请引导商家重新授权获取code")
		}
		delete(s.codes, code)
		if !now.Before(exp) {
			return nil, errf(doudian.CodeTokenFailed, doudian.SubTokenCodeExpired, "生成token失败，code已经失效（code的有效期为10分钟）")
		}
	default:
		return nil, errf(doudian.CodeTokenFailed, doudian.SubTokenGrantTypeInvalid, "生成token失败，grant_type参数取值不正确，请参照文档根据应用类型填写不同的值")
	}
	return s.issue(), nil
}

func (s *Server) tokenRefresh(p map[string]any) (any, *apiErr) {
	if paramString(p, "grant_type") != doudian.GrantRefreshToken {
		return nil, errf(doudian.CodeTokenFailed, doudian.SubTokenGrantTypeInvalid, "生成token失败，grant_type参数取值不正确，请参照文档根据应用类型填写不同的值")
	}
	rt := paramString(p, "refresh_token")
	exp, ok := s.refresh[rt]
	if !ok {
		return nil, errf(doudian.CodeTokenFailed, doudian.SubTokenInvalid, "生成token失败，token不存在")
	}
	if !s.now().Before(exp) {
		return nil, errf(doudian.CodeTokenFailed, doudian.SubTokenExpired, "生成token失败，token已过期")
	}
	// Refreshing rotates the refresh token: the old one stops working. The
	// old access token lives out its own lifetime (L: not documented).
	delete(s.refresh, rt)
	return s.issue(), nil
}
