package wechat_test

import (
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat"
	"github.com/channelhub/channelhub/connectors/wechat/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

func TestConformance(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Members: 1500, PageSize: 400})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	cfg := sb.Config()
	target := sb.OpenIDs()[3]
	conformance.Run(t, conformance.Harness{
		Plugin:         wechat.Plugin,
		Config:         map[string]any{"app_id": cfg.AppID, "app_secret": cfg.AppSecret, "open_platform_id": sandboxdata.OpenPlatformID, "api_base": srv.URL},
		BadCredentials: map[string]any{"app_secret": "not-the-secret"},
		Seeded:         map[string]int{wechat.StreamFollowers: sb.Followers()},
		Mutate:         func(*testing.T, string) []string { return sb.AddFollowers(6) },
		Throttle: func(*testing.T) {
			sb.Inject("/cgi-bin/user/info/batchget", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 45011, Times: 3})
		},
		WriteAction: &sdk.Action{Key: "conf-1", Type: wechat.ActionTagAdd, Params: map[string]string{"tag": "conformance"},
			Target: []mapping.Identity{{Type: mapping.IDWechatOpenID, Scope: cfg.AppID, Value: target}}},
		VerifyWrite: func(t *testing.T) {
			id, ok := sb.TagByName("conformance")
			if !ok || !slices.Contains(sb.TagIDsOf(target), id) || sb.TagCount(id) != 1 {
				t.Fatalf("tag applied %d times", sb.TagCount(id))
			}
		},
	})
}
