package top

import (
	"encoding/json"
	"fmt"
	"time"
)

// TokenResult is the token JSON of OAuth and of
// taobao.top.auth.token.refresh (inside its token_result string).
type TokenResult struct {
	AccessToken    string `json:"access_token"`
	TokenType      string `json:"token_type,omitempty"`
	ExpiresIn      int64  `json:"expires_in"`
	RefreshToken   string `json:"refresh_token,omitempty"`
	ReExpiresIn    int64  `json:"re_expires_in,omitempty"`
	TaobaoUserID   string `json:"taobao_user_id,omitempty"`
	TaobaoUserNick string `json:"taobao_user_nick,omitempty"`
}

// ExpiresAt is when the access token expires, counted from issued.
func (t *TokenResult) ExpiresAt(issued time.Time) time.Time {
	return issued.Add(time.Duration(t.ExpiresIn) * time.Second)
}

// TokenRefreshResult is the answer of taobao.top.auth.token.refresh.
type TokenRefreshResult struct {
	TokenResult string `json:"token_result"`
}

// Token decodes token_result. Its errors never carry the token text.
func (r *TokenRefreshResult) Token() (*TokenResult, error) {
	var t TokenResult
	if err := json.Unmarshal([]byte(r.TokenResult), &t); err != nil || t.AccessToken == "" {
		return nil, fmt.Errorf("top %s: token_result is not a token", MethodTokenRefresh)
	}
	return &t, nil
}
