package wechat_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat"
	"github.com/channelhub/channelhub/connectors/wechat/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// recorder is an sdk.Emitter that keeps what it is given.
type recorder struct {
	records     []sdk.Record
	checkpoints [][]byte
}

func (r *recorder) Emit(_ context.Context, rec sdk.Record) error {
	r.records = append(r.records, rec)
	return nil
}
func (r *recorder) Checkpoint(_ context.Context, c []byte) error {
	r.checkpoints = append(r.checkpoints, c)
	return nil
}
func (r *recorder) Progress(context.Context, int64, int64) error { return nil }

func newConnector(t *testing.T, sb *sandbox.Server, override map[string]any) sdk.Connector {
	t.Helper()
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	cfg := sb.Config()
	raw := map[string]any{"app_id": cfg.AppID, "app_secret": cfg.AppSecret, "open_platform_id": sandboxdata.OpenPlatformID, "api_base": srv.URL}
	for k, v := range override {
		raw[k] = v
	}
	c, err := wechat.Spec.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := wechat.New(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestReadMapsFollowers(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Config{Members: 400, PageSize: 150, LegacyProfile: true})
	c := newConnector(t, sb, nil)
	var rec recorder
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: "followers", Mode: sdk.ModeFull}, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.records) != sb.Followers() {
		t.Fatalf("read %d records, sandbox has %d followers", len(rec.records), sb.Followers())
	}
	seen := map[string]bool{}
	withTags := 0
	for _, r := range rec.records {
		if seen[r.ID] {
			t.Fatalf("duplicate %s", r.ID)
		}
		seen[r.ID] = true
		m := r.Member
		if m == nil || !m.Subscribed || m.SubscribedAt.IsZero() || m.City == "" {
			t.Fatalf("record %s not mapped: %+v", r.ID, m)
		}
		want := []mapping.Identity{{Type: mapping.IDWechatOpenID, Scope: sb.Config().AppID, Value: r.ID}}
		if len(m.Identities) != 2 || m.Identities[0] != want[0] || m.Identities[1].Type != mapping.IDWechatUnionID || m.Identities[1].Scope != sandboxdata.OpenPlatformID {
			t.Fatalf("identities of %s = %v", r.ID, m.Identities)
		}
		if len(m.Tags) > 0 {
			withTags++
		}
	}
	if withTags == 0 {
		t.Fatal("no seeded tag came through")
	}
	if len(rec.checkpoints) < 3 {
		t.Fatalf("%d checkpoints over 3 pages", len(rec.checkpoints))
	}
}

func TestWrongSecretNamesThePlatformError(t *testing.T) {
	t.Parallel()
	c := newConnector(t, sandbox.New(sandbox.Config{Members: 10}), map[string]any{"app_secret": "wrong"})
	err := c.Check(t.Context())
	if !errors.Is(err, sdk.ErrAuth) || !strings.Contains(err.Error(), "40125") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("check = %v; want an auth error naming 40125 and not echoing the secret", err)
	}
}

func TestTagWriteIsAppliedOncePerKey(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Config{Members: 300})
	c := newConnector(t, sb, nil)
	w := c.(sdk.Writer)
	ids := sb.OpenIDs()
	var actions []sdk.Action
	for i, id := range ids[:120] {
		actions = append(actions, sdk.Action{Key: "k" + id, Type: "tags.add", Params: map[string]string{"tag": "hub-new"},
			Target: []mapping.Identity{{Type: mapping.IDWechatOpenID, Scope: sb.Config().AppID, Value: ids[i]}}})
	}
	actions = append(actions, sdk.Action{Key: "orphan", Type: "tags.add", Params: map[string]string{"tag": "hub-new"}})
	res := w.Write(t.Context(), actions)
	for i, r := range res[:120] {
		if r.Status != sdk.StatusApplied || r.Key != actions[i].Key {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	if res[120].Status != sdk.StatusFailed || res[120].Err == nil {
		t.Fatalf("action without openid = %+v", res[120])
	}
	tagID, ok := sb.TagByName("hub-new")
	if !ok || sb.TagCount(tagID) != 120 {
		t.Fatalf("tag count = %d", sb.TagCount(tagID))
	}
	if n := sb.Requests("/cgi-bin/tags/members/batchtagging"); n != 3 {
		t.Fatalf("%d tagging calls for 120 openids, want 3 (50 per call)", n)
	}
	// Retrying the same keys leaves the platform as it was.
	w.Write(t.Context(), actions[:120])
	if sb.TagCount(tagID) != 120 {
		t.Fatal("a retried write changed the platform")
	}
	// Removing works and a tag the account lacks is removed already.
	res = w.Write(t.Context(), []sdk.Action{
		{Key: "r1", Type: "tags.remove", Params: map[string]string{"tag": "hub-new"}, Target: actions[0].Target},
		{Key: "r2", Type: "tags.remove", Params: map[string]string{"tag": "never-made"}, Target: actions[1].Target},
	})
	if res[0].Status != sdk.StatusApplied || res[1].Status != sdk.StatusApplied || sb.TagCount(tagID) != 119 {
		t.Fatalf("remove results %+v, count %d", res, sb.TagCount(tagID))
	}
}

func TestTokenErrorsRefreshAndRetryOnce(t *testing.T) {
	t.Parallel()
	for _, code := range []int{40001, 40014, 42001} {
		sb := sandbox.New(sandbox.Config{Members: 60})
		c := newConnector(t, sb, nil)
		sb.Inject("/cgi-bin/user/get", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: code})
		var rec recorder
		if err := c.Read(t.Context(), sdk.ReadRequest{Stream: "followers", Mode: sdk.ModeFull}, &rec); err != nil {
			t.Fatalf("errcode %d: %v", code, err)
		}
		if len(rec.records) != sb.Followers() {
			t.Fatalf("errcode %d: read %d of %d", code, len(rec.records), sb.Followers())
		}
		// Twice in a row is not a token problem a refresh can fix.
		sb.Inject("/cgi-bin/user/get", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: code, Times: 2})
		if err := c.Read(t.Context(), sdk.ReadRequest{Stream: "followers", Mode: sdk.ModeFull}, &recorder{}); !errors.Is(err, sdk.ErrAuth) {
			t.Fatalf("errcode %d twice: %v, want an auth error", code, err)
		}
	}
}
