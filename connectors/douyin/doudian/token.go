package doudian

import (
	"context"
	"errors"
	"time"
)

// Token API methods.
const (
	MethodTokenCreate  = "token.create"
	MethodTokenRefresh = "token.refresh"
)

// Token lifetimes the platform documents: the access token lives 7 days
// (expires_in says so in each answer), the refresh token 14 days.
const (
	AccessTokenTTL  = 7 * 24 * time.Hour
	RefreshTokenTTL = 14 * 24 * time.Hour
)

// Grant types of token.create and token.refresh.
const (
	GrantAuthorizationCode = "authorization_code" // tool apps: code from the merchant's authorization
	GrantAuthorizationSelf = "authorization_self" // self-use apps: shop_id, empty code
	GrantRefreshToken      = "refresh_token"
)

// Token is the data of a token.create or token.refresh answer.
type Token struct {
	AccessToken string `json:"access_token"`
	// ExpiresIn is the access token's lifetime in seconds (7 days by default).
	ExpiresIn int64 `json:"expires_in"`
	// RefreshToken replaces the one used to refresh: refreshing rotates it,
	// so the caller must persist this value (the old one stops working).
	RefreshToken    string `json:"refresh_token"`
	Scope           string `json:"scope"`
	ShopID          string `json:"shop_id"`
	ShopName        string `json:"shop_name"`
	AuthorityID     string `json:"authority_id"`
	AuthSubjectType string `json:"auth_subject_type"`
	// IssuedAt is the client's clock when the answer arrived (not sent by the
	// platform).
	IssuedAt time.Time `json:"-"`
}

// ExpiresAt is when the access token expires, by the client's clock.
func (t *Token) ExpiresAt() time.Time {
	return t.IssuedAt.Add(time.Duration(t.ExpiresIn) * time.Second)
}

// RefreshExpiresAt is when the refresh token expires: the platform does not
// send it; it is IssuedAt plus the documented 14 days.
func (t *Token) RefreshExpiresAt() time.Time { return t.IssuedAt.Add(RefreshTokenTTL) }

// CreateTokenParams selects how token.create authorizes.
type CreateTokenParams struct {
	// Code is the authorization code a tool app received (valid 10 minutes).
	// Empty means a self-use app's authorization_self grant with ShopID.
	Code string
	// ShopID is the shop of a self-use app (authorization_self only).
	ShopID int64
	// AuthID and AuthSubjectType select a non-shop authorization subject
	// (authorization_self only); usually empty.
	AuthID          string
	AuthSubjectType string
}

type createTokenWire struct {
	Code            string `json:"code"`
	GrantType       string `json:"grant_type"`
	ShopID          int64  `json:"shop_id,omitempty"`
	AuthID          string `json:"auth_id,omitempty"`
	AuthSubjectType string `json:"auth_subject_type,omitempty"`
}

// CreateToken calls token.create.
func (c *Client) CreateToken(ctx context.Context, p CreateTokenParams) (*Token, error) {
	w := createTokenWire{Code: p.Code, GrantType: GrantAuthorizationCode}
	if p.Code == "" {
		if p.ShopID == 0 {
			return nil, errors.New("doudian token.create: need an authorization code or a shop id")
		}
		w = createTokenWire{GrantType: GrantAuthorizationSelf, ShopID: p.ShopID, AuthID: p.AuthID, AuthSubjectType: p.AuthSubjectType}
	}
	return c.token(ctx, MethodTokenCreate, w)
}

// RefreshToken calls token.refresh. The answer carries a new access token and
// a new refresh token; the refresh token passed in stops working.
func (c *Client) RefreshToken(ctx context.Context, refreshToken string) (*Token, error) {
	if refreshToken == "" {
		return nil, errors.New("doudian token.refresh: empty refresh token")
	}
	return c.token(ctx, MethodTokenRefresh, map[string]string{"grant_type": GrantRefreshToken, "refresh_token": refreshToken})
}

func (c *Client) token(ctx context.Context, method string, params any) (*Token, error) {
	var t Token
	if err := c.Call(ctx, method, "", params, &t); err != nil {
		return nil, err
	}
	if t.AccessToken == "" || t.RefreshToken == "" {
		return nil, &HTTPError{Method: method, StatusCode: 200, Err: errors.Join(ErrMalformedResponse, errors.New("token answer without access_token or refresh_token"))}
	}
	t.IssuedAt = c.now()
	return &t, nil
}
