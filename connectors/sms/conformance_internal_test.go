package sms

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/connectors/sms/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

const confPhone = "+8613800138000"

func confEnv(t *testing.T, p sandbox.Provider, replies int) (*sandbox.Server, map[string]any) {
	sb := sandbox.New(sandbox.Config{Provider: p, Seed: 7, Replies: replies})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := sb.Config()
	cfg := map[string]any{
		"provider": string(p), "access_key_id": c.AccessKeyID, "access_key_secret": c.AccessKeySecret,
		"sign_name": c.SignNames[0], "template": c.Templates[0].ID,
		"endpoint": strings.TrimPrefix(srv.URL, "http://"), "scheme": "http",
	}
	if p == sandbox.Tencent {
		cfg["sdk_app_id"] = c.SdkAppID
	}
	return sb, cfg
}

func verifyOnce(sb *sandbox.Server, key string) func(t *testing.T) {
	return func(t *testing.T) {
		n := 0
		for _, m := range sb.Messages() {
			if m.Key == key {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("the sandbox sent %d messages with key %s, want 1", n, key)
		}
	}
}

// TestConformanceAliyun runs the kit against the Alibaba emulator. Alibaba
// has no pull API for replies or receipts (they are HTTP pushes, tested in
// webhook_test.go), so the kit runs on a copy of the plugin whose spec lists
// no streams: a read of them is a config error by design.
func TestConformanceAliyun(t *testing.T) {
	sb, cfg := confEnv(t, sandbox.Aliyun, 0)
	p := Plugin
	p.Spec.Streams = nil
	conformance.Run(t, conformance.Harness{
		Plugin:         p,
		Config:         cfg,
		BadCredentials: map[string]any{"access_key_secret": "not-the-secret"},
		WriteAction: &sdk.Action{Key: "conf-aliyun-1", Type: ActionSend, Params: map[string]string{ParamTemplateParams: `{"name":"王芳"}`},
			Target: []mapping.Identity{{Type: mapping.IDPhone, Value: confPhone}}},
		VerifyWrite: verifyOnce(sb, "conf-aliyun-1"),
	})
}

// optOuts counts the opt-out replies among rs: each becomes one record of
// the replies stream, the others none.
func optOuts(rs []sandbox.Reply) int {
	n := 0
	for _, r := range rs {
		if sandbox.IsOptOut(r.Text) {
			n++
		}
	}
	return n
}

// TestConformanceTencent runs the kit against the Tencent emulator, reading
// the replies stream. Tencent's reply pull is a queue that returns each
// reply once, so the direct pass drains what the grpc pass would read:
// VerifyWrite, which runs between the passes, refills it with what the
// direct pass drained (the seeded replies and Mutate's, sent again), so the
// grpc pass's full read finds what the kit expects the sandbox to hold:
// Seeded plus the opt-outs Mutate added.
func TestConformanceTencent(t *testing.T) {
	sb, cfg := confEnv(t, sandbox.Tencent, 6)
	k := &Connector{provider: ProviderTencent, secret: sdk.NewSecret(cfg["access_key_secret"].(string))}
	seeded := sb.PendingReplies()
	var mutated []sandbox.Reply
	mutate := func(*testing.T, string) []string {
		var ids []string
		for i, text := range []string{"TD", "退订", "r"} {
			phone := "+86139001390" + string(rune('0'+i)) + "0"
			r := sb.InjectReply(phone, text)
			mutated = append(mutated, r)
			ids = append(ids, k.replyID(phone, inbound{phone: phone, text: text, at: r.At}))
		}
		mutated = append(mutated, sb.InjectReply("+8613900139099", "好的")) // not an opt-out: no record
		return ids
	}
	conformance.Run(t, conformance.Harness{
		Plugin:         Plugin,
		Config:         cfg,
		Streams:        []string{StreamReplies},
		BadCredentials: map[string]any{"access_key_secret": "not-the-secret"},
		Seeded:         map[string]int{StreamReplies: optOuts(seeded)},
		Mutate:         mutate,
		WriteAction: &sdk.Action{Key: "conf-tencent-1", Type: ActionSend, Params: map[string]string{ParamTemplateParams: `["王芳"]`},
			Target: []mapping.Identity{{Type: mapping.IDPhone, Value: confPhone}}},
		VerifyWrite: func(t *testing.T) {
			verifyOnce(sb, "conf-tencent-1")(t)
			for _, r := range slices.Concat(seeded, mutated) {
				sb.InjectReply(r.Phone, r.Text)
			}
			mutated = nil
		},
	})
}
