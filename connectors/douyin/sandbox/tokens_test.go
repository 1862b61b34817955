package sandbox_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
)

func TestTokenCreateSelf(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{ShopID: 4242})
	tok, err := e.c.CreateToken(t.Context(), doudian.CreateTokenParams{ShopID: 4242})
	if err != nil {
		t.Fatal(err)
	}
	if tok.ShopID != "4242" || tok.ExpiresIn != int64(doudian.AccessTokenTTL/time.Second) || tok.AccessToken == "" || tok.RefreshToken == "" || tok.ShopName == "" {
		t.Fatalf("token = %+v", tok)
	}
	if !tok.ExpiresAt().Equal(start.Add(doudian.AccessTokenTTL)) {
		t.Fatalf("ExpiresAt = %v", tok.ExpiresAt())
	}
	if _, err := e.c.OrderDetail(t.Context(), tok.AccessToken, e.s.OrderID(0)); err != nil {
		t.Fatalf("new token rejected: %v", err)
	}
	_, err = e.c.CreateToken(t.Context(), doudian.CreateTokenParams{ShopID: 4243})
	if ae := apiErr(t, err); ae.Code != doudian.CodeTokenFailed || ae.SubCode != doudian.SubTokenNoAuthorization || !doudian.IsAuthInvalid(err) {
		t.Fatalf("other shop: %+v", ae)
	}
}

func TestTokenCreateWithCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	code := e.s.AuthorizationCode()
	if _, err := e.c.CreateToken(t.Context(), doudian.CreateTokenParams{Code: code}); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.CreateToken(t.Context(), doudian.CreateTokenParams{Code: code})
	if ae := apiErr(t, err); ae.SubCode != doudian.SubTokenCodeInvalid {
		t.Fatalf("reused code: %+v", ae)
	}
	late := e.s.AuthorizationCode()
	e.clk.Add(11 * time.Minute)
	_, err = e.c.CreateToken(t.Context(), doudian.CreateTokenParams{Code: late})
	if ae := apiErr(t, err); ae.SubCode != doudian.SubTokenCodeExpired {
		t.Fatalf("expired code: %+v", ae)
	}
	resp := e.raw(t, "POST", "/token/create", e.signedQuery("token.create", `{"grant_type":"password"}`, strconv.FormatInt(e.s.Now().Unix(), 10), doudian.SignMD5), `{"grant_type":"password"}`)
	if resp.SubCode != doudian.SubTokenGrantTypeInvalid {
		t.Fatalf("bad grant: %+v", resp)
	}
}

func TestTokenRefreshRotatesAndExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	first, err := e.c.CreateToken(t.Context(), doudian.CreateTokenParams{ShopID: e.s.Config().ShopID})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(doudian.AccessTokenTTL) // the access token has just expired
	_, err = e.c.OrderDetail(t.Context(), first.AccessToken, e.s.OrderID(0))
	if ae := apiErr(t, err); ae.Code != doudian.CodeInvalidParam || ae.SubCode != doudian.SubAccessTokenExpired || !doudian.IsAuthExpired(err) {
		t.Fatalf("expired token: %+v", ae)
	}

	second, err := e.c.RefreshToken(t.Context(), first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", second)
	}
	if _, err := e.c.OrderDetail(t.Context(), second.AccessToken, e.s.OrderID(0)); err != nil {
		t.Fatalf("refreshed token rejected: %v", err)
	}
	// The old refresh token is spent: a second process refreshing with it fails.
	_, err = e.c.RefreshToken(t.Context(), first.RefreshToken)
	if ae := apiErr(t, err); ae.SubCode != doudian.SubTokenInvalid || !doudian.IsAuthInvalid(err) {
		t.Fatalf("spent refresh token: %+v", ae)
	}
	// The new refresh token works until its 14 days are up.
	e.clk.Add(doudian.RefreshTokenTTL)
	_, err = e.c.RefreshToken(t.Context(), second.RefreshToken)
	if ae := apiErr(t, err); ae.SubCode != doudian.SubTokenExpired || !doudian.IsAuthInvalid(err) {
		t.Fatalf("expired refresh token: %+v", ae)
	}
}

func TestExpireTokensAndAdvance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{ChurnPerHour: -1})
	if _, err := e.c.OrderDetail(t.Context(), e.tok, e.s.OrderID(0)); err != nil {
		t.Fatal(err)
	}
	e.s.ExpireTokens()
	if _, err := e.c.OrderDetail(t.Context(), e.tok, e.s.OrderID(0)); !doudian.IsAuthExpired(err) {
		t.Fatalf("after ExpireTokens: %v", err)
	}
	tok, _ := e.s.IssueToken()
	e.s.Advance(doudian.AccessTokenTTL - time.Second)
	if _, err := e.c.OrderDetail(t.Context(), tok, e.s.OrderID(0)); err != nil {
		t.Fatalf("token expired early: %v", err)
	}
	e.s.Advance(time.Second)
	if _, err := e.c.OrderDetail(t.Context(), tok, e.s.OrderID(0)); !doudian.IsAuthExpired(err) {
		t.Fatalf("token outlived its TTL: %v", err)
	}
}
