package ark

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// OAuth methods (fact sheet §3.4). Both go to the same endpoint as every
// other method and carry no accessToken.
const (
	MethodGetAccessToken = "oauth.getAccessToken"
	MethodRefreshToken   = "oauth.refreshToken"
)

// Token lifetimes and refresh rules (fact sheet §3.4, doc 036/038).
const (
	// AccessTokenTTL is how long an access token lives.
	AccessTokenTTL = 7 * 24 * time.Hour
	// RefreshTokenTTL is how long a refresh token lives; after that the
	// merchant must authorize again.
	RefreshTokenTTL = 14 * 24 * time.Hour
	// RefreshWindow: oauth.refreshToken issues a new pair only once the
	// access token has less than this left (or has expired); earlier it
	// returns the current pair unchanged.
	RefreshWindow = 30 * time.Minute
	// SupersededGrace is how long an access token replaced by a refresh keeps
	// working.
	SupersededGrace = 5 * time.Minute
	// AuthCodeTTL is how long an authorization code can be exchanged;
	// exchanging it again within that time returns the same token.
	AuthCodeTTL = 10 * time.Minute
)

// Millis is an instant as the platform sends it: milliseconds since the Unix
// epoch; 0 means unset.
type Millis int64

// MillisOf returns t as Millis; the zero time gives 0.
func MillisOf(t time.Time) Millis {
	if t.IsZero() {
		return 0
	}
	return Millis(t.UnixMilli())
}

// Time returns m in UTC; 0 gives the zero time.
func (m Millis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}

// Token is the data of oauth.getAccessToken and oauth.refreshToken: a token
// pair for one shop (seller). Store both tokens: a refresh near expiry
// rotates the refresh token too.
type Token struct {
	AccessToken           string `json:"accessToken"`
	AccessTokenExpiresAt  Millis `json:"accessTokenExpiresAt"`
	RefreshToken          string `json:"refreshToken"`
	RefreshTokenExpiresAt Millis `json:"refreshTokenExpiresAt"`
	// SellerID is the shop's id: the scope of its buyers' userIds.
	SellerID   string `json:"sellerId"`
	SellerName string `json:"sellerName"`
}

// UnmarshalJSON decodes the token data, taking sellerId as a string or a
// number (the documentation's example prints it unquoted).
func (t *Token) UnmarshalJSON(b []byte) error {
	type plain Token
	var w struct {
		plain
		SellerID json.RawMessage `json:"sellerId"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = Token(w.plain)
	t.SellerID = looseString(w.SellerID)
	return nil
}

// NeedsRefresh reports whether the access token is within RefreshWindow of
// expiring (or expired) at now: the point from which oauth.refreshToken
// actually issues a new pair. Refresh on this rather than waiting for an
// error; the gateway's token-expired code is not documented.
func (t Token) NeedsRefresh(now time.Time) bool {
	return !now.Before(t.AccessTokenExpiresAt.Time().Add(-RefreshWindow))
}

// Reauthorize reports whether the refresh token has expired at now, so only
// a new authorization by the merchant can produce tokens.
func (t Token) Reauthorize(now time.Time) bool {
	return !now.Before(t.RefreshTokenExpiresAt.Time())
}

// GetAccessToken exchanges an authorization code (valid AuthCodeTTL after the
// merchant authorized) for a token pair.
func (c *Client) GetAccessToken(ctx context.Context, code string) (Token, error) {
	if code == "" {
		return Token{}, fmt.Errorf("xiaohongshu %s: %w: empty code", MethodGetAccessToken, ErrInvalidRequest)
	}
	var t Token
	err := c.Call(ctx, MethodGetAccessToken, "", struct {
		Code string `json:"code"`
	}{code}, &t)
	return t, err
}

// RefreshToken calls oauth.refreshToken. With more than RefreshWindow left on
// the access token the platform returns the current pair unchanged;
// otherwise a new pair, the old access token working SupersededGrace more
// and the old refresh token retired. Persist what it returns.
func (c *Client) RefreshToken(ctx context.Context, refreshToken string) (Token, error) {
	if refreshToken == "" {
		return Token{}, fmt.Errorf("xiaohongshu %s: %w: empty refresh token", MethodRefreshToken, ErrInvalidRequest)
	}
	var t Token
	err := c.Call(ctx, MethodRefreshToken, "", struct {
		RefreshToken string `json:"refreshToken"`
	}{refreshToken}, &t)
	return t, err
}
