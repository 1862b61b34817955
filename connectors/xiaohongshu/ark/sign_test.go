package ark_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
)

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret string
		p      ark.SignParams
		want   string
	}{
		// Fact sheet §5 C6 (derived from the doc 039 algorithm; the official
		// worked example's value is masked).
		{"C6", "xhs-secret", ark.SignParams{Method: "order.getOrderList", AppID: "xhs-app-1", Timestamp: "1700000000"}, "163a6c1993844c6054de38bf9915265c"},
		{"C6 explicit version", "xhs-secret", ark.SignParams{Method: "order.getOrderList", AppID: "xhs-app-1", Timestamp: "1700000000", Version: "2.0"}, "163a6c1993844c6054de38bf9915265c"},
		// Doc 039's layout, with its masked values filled in.
		{"doc 039 layout", "429aa3aee9ef9e4a858210", ark.SignParams{Method: "product.createItem", AppID: "21d6748be8de0", Timestamp: "1612518379"},
			md5Hex("product.createItem?appId=21d6748be8de0&timestamp=1612518379&version=2.0429aa3aee9ef9e4a858210")},
		{"oauth", "s", ark.SignParams{Method: "oauth.getAccessToken", AppID: "a", Timestamp: "1"}, md5Hex("oauth.getAccessToken?appId=a&timestamp=1&version=2.0s")},
	}
	for _, tt := range tests {
		if got := ark.Sign(tt.secret, tt.p); got != tt.want {
			t.Errorf("%s: Sign = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestPushSignOfficialVectors(t *testing.T) {
	t.Parallel()
	const secret = "9a539709cafc1efc9ef05838be468a28"
	tests := []struct {
		name string
		p    ark.PushSignParams
		want string
	}{
		// §5 T3: doc 041's push example (its prose garbles the input; the
		// value matches this one).
		{"T3 push", ark.PushSignParams{Path: "/open_api/msg", Query: url.Values{"canshu": {"test"}}, AppKey: "xhs", Timestamp: "1625475843"}, "a7b7430de338783293443133ab9b9357"},
		// §5 T4: the legacy v1 API used the same rule.
		{"T4 legacy", ark.PushSignParams{Path: "/ark/open_api/v1/items", Query: url.Values{"page_no": {"1"}, "page_size": {"50"}, "status": {"0"}}, AppKey: "xhs", Timestamp: "1469902537"}, "72be6fad4dd0e5104dbdebbcdadb2a06"},
		{"sign in query ignored", ark.PushSignParams{Path: "/open_api/msg", Query: url.Values{"canshu": {"test"}, "sign": {"x"}}, AppKey: "xhs", Timestamp: "1625475843"}, "a7b7430de338783293443133ab9b9357"},
	}
	for _, tt := range tests {
		if got := ark.PushSign(secret, tt.p); got != tt.want {
			t.Errorf("%s: PushSign = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestVerifyPushSign(t *testing.T) {
	t.Parallel()
	const secret = "9a539709cafc1efc9ef05838be468a28"
	valid := func() http.Header {
		h := http.Header{}
		h.Set("app-key", "xhs")
		h.Set("timestamp", "1625475843")
		h.Set("sign", "a7b7430de338783293443133ab9b9357")
		return h
	}
	with := func(k, v string) http.Header {
		h := valid()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	tests := []struct {
		name   string
		appKey string
		uri    string
		h      http.Header
		ok     bool
	}{
		{"valid", "xhs", "/open_api/msg?canshu=test", valid(), true},
		{"valid without app check", "", "/open_api/msg?canshu=test", valid(), true},
		{"upper-case sign", "xhs", "/open_api/msg?canshu=test", with("sign", "A7B7430DE338783293443133AB9B9357"), true},
		{"tampered sign", "xhs", "/open_api/msg?canshu=test", with("sign", "a7b7430de338783293443133ab9b9358"), false},
		{"tampered timestamp", "xhs", "/open_api/msg?canshu=test", with("timestamp", "1625475844"), false},
		{"tampered query", "xhs", "/open_api/msg?canshu=test2", valid(), false},
		{"extra query", "xhs", "/open_api/msg?canshu=test&x=1", valid(), false},
		{"other path", "xhs", "/open_api/msg2?canshu=test", valid(), false},
		{"other app", "other", "/open_api/msg?canshu=test", valid(), false},
		{"no sign", "xhs", "/open_api/msg?canshu=test", with("sign", ""), false},
		{"no timestamp", "xhs", "/open_api/msg?canshu=test", with("timestamp", ""), false},
		{"no app-key", "xhs", "/open_api/msg?canshu=test", with("app-key", ""), false},
		{"bad query", "xhs", "/open_api/msg?canshu=%zz", valid(), false},
	}
	for _, tt := range tests {
		err := ark.VerifyPushSign(tt.appKey, secret, tt.uri, tt.h)
		if tt.ok != (err == nil) {
			t.Errorf("%s: VerifyPushSign = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ark.ErrPushSign) {
			t.Errorf("%s: error %v does not wrap ErrPushSign", tt.name, err)
		}
	}
}

func TestPushSignChineseQueryUnescaped(t *testing.T) {
	t.Parallel()
	// Doc 041: Chinese values are signed as is, not percent-encoded.
	h := http.Header{}
	h.Set("app-key", "k")
	h.Set("timestamp", "1")
	h.Set("sign", md5Hex("/hook?app-key=k&shop=小店&timestamp=1s"))
	if err := ark.VerifyPushSign("k", "s", "/hook?shop=%E5%B0%8F%E5%BA%97", h); err != nil {
		t.Fatal(err)
	}
}
