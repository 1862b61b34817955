package sandbox

import (
	"fmt"
	"net/http"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// token is one issued access token.
type token struct {
	expires time.Time
	revoked bool
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// credentials returns the errcode for bad grant_type/appid/secret, or 0.
func (s *Server) credentials(grantType, appid, secret string) int {
	switch {
	case grantType != "client_credential":
		return CodeInvalidGrantType
	case appid == "":
		return CodeAppIDMissing
	case appid != s.cfg.AppID:
		return CodeInvalidAppID
	case secret == "":
		return CodeSecretMissing
	case secret != s.cfg.AppSecret:
		return CodeInvalidSecret
	}
	return 0
}

// issue makes a new token. Guarded by mu.
func (s *Server) issue(now time.Time) string {
	s.tokenSeq++
	h := wxwire.Mix(s.cfg.Seed*0x51 + uint64(s.tokenSeq))
	tok := fmt.Sprintf("%d_MP%016x%016x", s.tokenSeq, h, wxwire.Mix(h))
	s.tokens[tok] = &token{expires: now.Add(s.cfg.TokenTTL)}
	return tok
}

// token serves GET /cgi-bin/token: a new token on every call (the old
// stable token is not affected).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if code := s.credentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != 0 {
		s.fail(w, code, "")
		return
	}
	s.mu.Lock()
	tok := s.issue(s.now())
	s.mu.Unlock()
	writeJSON(w, tokenAnswer{AccessToken: tok, ExpiresIn: int64(s.cfg.TokenTTL / time.Second)})
}

// stableToken serves POST /cgi-bin/stable_token: the same token while it is
// valid, with its remaining lifetime; a new one once it has expired or been
// revoked, or on force_refresh.
func (s *Server) stableToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	if code := s.credentials(req.GrantType, req.AppID, req.Secret); code != 0 {
		s.fail(w, code, "")
		return
	}
	s.mu.Lock()
	now := s.now()
	if req.ForceRefresh || s.tokenCode(s.stable, now) != 0 {
		if t := s.tokens[s.stable]; t != nil && req.ForceRefresh {
			t.revoked = true
		}
		s.stable = s.issue(now)
	}
	tok := s.stable
	left := s.tokens[tok].expires.Sub(now)
	s.mu.Unlock()
	writeJSON(w, tokenAnswer{AccessToken: tok, ExpiresIn: int64(left / time.Second)})
}

// tokenCode returns the errcode a call with tok gets at now, or 0. Guarded
// by mu.
func (s *Server) tokenCode(tok string, now time.Time) int {
	t := s.tokens[tok]
	switch {
	case tok == "":
		return CodeTokenMissing
	case t == nil:
		return CodeInvalidToken
	case t.revoked:
		return CodeInvalidCredential
	case !now.Before(t.expires):
		return CodeTokenExpired
	}
	return 0
}

func (s *Server) checkToken(tok string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCode(tok, s.now())
}

// ExpireTokens makes every token issued so far expire now (42001).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, t := range s.tokens {
		if now.Before(t.expires) {
			t.expires = now
		}
	}
}

// RevokeTokens makes every token issued so far invalid (40001), as another
// party's force_refresh would.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// TokensIssued returns how many access tokens the sandbox handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenSeq
}
