package wecom_test

import (
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wecom"
	"github.com/channelhub/channelhub/connectors/wecom/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

func TestConformance(t *testing.T) {
	// 130 staff: two batch/get_by_user batches; page_size 40: several pages
	// and checkpoints in each.
	sb := sandbox.New(sandbox.Config{Members: 1500, Staff: 130})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	cfg := sb.Config()
	target := sb.Relations()[3].ExternalUserID
	conformance.Run(t, conformance.Harness{
		Plugin: wecom.Plugin,
		Config: map[string]any{"corp_id": cfg.CorpID, "corp_secret": cfg.CorpSecret, "open_platform_id": sandboxdata.OpenPlatformID,
			"token": cfg.Token, "encoding_aes_key": cfg.EncodingAESKey, "api_base": srv.URL, "page_size": 40},
		BadCredentials: map[string]any{"corp_secret": "not-the-secret"},
		// One record per live follow relation (staff member × customer).
		Seeded: map[string]int{wecom.StreamCustomers: len(sb.Relations())},
		Throttle: func(*testing.T) {
			sb.Inject("/cgi-bin/externalcontact/batch/get_by_user", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 45009, Times: 3})
		},
		WriteAction: &sdk.Action{Key: "conf-1", Type: wecom.ActionTagAdd, Params: map[string]string{"tag": "conformance"},
			Target: []mapping.Identity{{Type: mapping.IDWecomExternalUserID, Scope: cfg.CorpID, Value: target}}},
		VerifyWrite: func(t *testing.T) {
			for _, u := range sb.FollowUsers(target) {
				r, _ := sb.RelationOf(u, target)
				n := 0
				for _, tag := range r.Tags {
					if tag == "conformance" {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("relation %s/%s has tags %v", target, u, r.Tags)
				}
			}
			if !slices.Contains(sb.Staff(), sb.FollowUsers(target)[0]) {
				t.Fatal("no follow user")
			}
		},
	})
}
