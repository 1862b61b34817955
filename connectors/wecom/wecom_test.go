package wecom_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wecom"
	"github.com/channelhub/channelhub/connectors/wecom/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
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

// env is a sandbox, its server and a clock shared by sandbox and connector.
type env struct {
	sb  *sandbox.Server
	url string
	now time.Time
}

func newEnv(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	e := &env{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	cfg.Now = func() time.Time { return e.now }
	e.sb = sandbox.New(cfg)
	srv := httptest.NewServer(e.sb)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// connector builds a connector whose host clock is the env clock plus skew.
func (e *env) connector(t *testing.T, override map[string]any, skew time.Duration) *wecom.Connector {
	t.Helper()
	cfg := e.sb.Config()
	raw := map[string]any{"corp_id": cfg.CorpID, "corp_secret": cfg.CorpSecret, "open_platform_id": sandboxdata.OpenPlatformID,
		"token": cfg.Token, "encoding_aes_key": cfg.EncodingAESKey, "api_base": e.url}
	for k, v := range override {
		if v == nil {
			delete(raw, k)
			continue
		}
		raw[k] = v
	}
	c, err := wecom.Spec.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	host := sdk.NewHost(zerolog.Nop(), conformance.NewFakeHost(), func() time.Time { return e.now.Add(skew) })
	conn, err := wecom.New(t.Context(), c, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.(*wecom.Connector)
}

func read(t *testing.T, c *wecom.Connector) *recorder {
	t.Helper()
	var rec recorder
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: wecom.StreamCustomers, Mode: sdk.ModeFull}, &rec); err != nil {
		t.Fatal(err)
	}
	return &rec
}

func TestReadMapsEveryRelation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 800, Staff: 120})
	c := e.connector(t, map[string]any{"page_size": 30}, 0)
	rec := read(t, c)
	want := e.sb.Relations()
	if len(rec.records) != len(want) {
		t.Fatalf("read %d records, sandbox has %d relations", len(rec.records), len(want))
	}
	byID := map[string]sdk.Record{}
	for _, r := range rec.records {
		if _, dup := byID[r.ID]; dup {
			t.Fatalf("duplicate %s", r.ID)
		}
		byID[r.ID] = r
	}
	corp := e.sb.Config().CorpID
	withUnion, withTags := 0, 0
	for _, rel := range want {
		r, ok := byID[wecom.RecordID(rel.ExternalUserID, rel.UserID)]
		if !ok {
			t.Fatalf("relation %s/%s not read", rel.ExternalUserID, rel.UserID)
		}
		m := r.Member
		if r.Stream != wecom.StreamCustomers || m == nil || !m.Subscribed || m.SubscribedAt.IsZero() || m.Name == "" || m.Attributes["staff_userid"] != rel.UserID || m.Attributes["add_way"] == "" {
			t.Fatalf("record %s not mapped: %+v", r.ID, m)
		}
		if m.Identities[0] != (mapping.Identity{Type: mapping.IDWecomExternalUserID, Scope: corp, Value: rel.ExternalUserID}) {
			t.Fatalf("identities of %s = %v", r.ID, m.Identities)
		}
		switch {
		case rel.UnionID == "" && len(m.Identities) != 1:
			t.Fatalf("%s has identities %v but no unionid on the platform", r.ID, m.Identities)
		case rel.UnionID != "":
			withUnion++
			if len(m.Identities) != 2 || m.Identities[1] != (mapping.Identity{Type: mapping.IDWechatUnionID, Scope: sandboxdata.OpenPlatformID, Value: rel.UnionID}) {
				t.Fatalf("unionid of %s = %v", r.ID, m.Identities)
			}
		}
		var names []string
		for _, tag := range m.Tags {
			names = append(names, tag.Name)
			if tag.Group == "" {
				t.Fatalf("tag %v without group", tag)
			}
		}
		if !slices.Equal(names, rel.Tags) {
			t.Fatalf("tags of %s = %v, want %v", r.ID, names, rel.Tags)
		}
		if len(names) > 0 {
			withTags++
		}
	}
	if withUnion == 0 || withUnion == len(want) || withTags == 0 {
		t.Fatalf("%d with unionid, %d with tags of %d: seed does not exercise the mapping", withUnion, withTags, len(want))
	}
	if len(rec.checkpoints) < 4 {
		t.Fatalf("%d checkpoints", len(rec.checkpoints))
	}
}

func TestStaffWithoutCustomersIsNotAnError(t *testing.T) {
	t.Parallel()
	// Only the last two staff members (no customers) in a batch: 84061.
	e := newEnv(t, sandbox.Config{Members: 300, Staff: 102})
	c := e.connector(t, nil, 0)
	rec := read(t, c)
	if len(rec.records) != len(e.sb.Relations()) {
		t.Fatalf("read %d of %d", len(rec.records), len(e.sb.Relations()))
	}
	e2 := newEnv(t, sandbox.Config{Members: -1})
	if rec := read(t, e2.connector(t, nil, 0)); len(rec.records) != 0 {
		t.Fatalf("empty corp gave %d records", len(rec.records))
	}
}

func TestWrongSecretNamesThePlatformError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 10})
	err := e.connector(t, map[string]any{"corp_secret": "wrong-secret"}, 0).Check(t.Context())
	if !errors.Is(err, sdk.ErrAuth) || !strings.Contains(err.Error(), "40001") || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("check = %v; want an auth error naming 40001 without the secret", err)
	}
}

func TestTokenErrorsRefreshAndRetryOnce(t *testing.T) {
	t.Parallel()
	for _, code := range []int{40014, 42001} {
		e := newEnv(t, sandbox.Config{Members: 200})
		c := e.connector(t, nil, 0)
		path := "/cgi-bin/externalcontact/batch/get_by_user"
		e.sb.Inject(path, sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: code})
		if rec := read(t, c); len(rec.records) != len(e.sb.Relations()) {
			t.Fatalf("errcode %d: read %d", code, len(rec.records))
		}
		e.sb.Inject(path, sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: code, Times: 2})
		err := c.Read(t.Context(), sdk.ReadRequest{Stream: wecom.StreamCustomers, Mode: sdk.ModeFull}, &recorder{})
		if !errors.Is(err, sdk.ErrAuth) {
			t.Fatalf("errcode %d twice: %v", code, err)
		}
	}
	// A token that really expired is replaced.
	e := newEnv(t, sandbox.Config{Members: 100})
	c := e.connector(t, nil, 0)
	read(t, c)
	e.sb.ExpireTokens()
	read(t, c)
	if n := e.sb.Requests("/cgi-bin/gettoken"); n != 2 {
		t.Fatalf("%d gettoken calls, want 2", n)
	}
}

func TestThrottleAndOutageClasses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100})
	c := e.connector(t, nil, 0)
	for code, want := range map[int]error{45009: sdk.ErrThrottled, 45033: sdk.ErrThrottled, -1: sdk.ErrUnavailable, 60020: sdk.ErrAuth, 48002: sdk.ErrAuth} {
		e.sb.Inject("/cgi-bin/externalcontact/get_follow_user_list", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: code})
		err := c.Read(t.Context(), sdk.ReadRequest{Stream: wecom.StreamCustomers, Mode: sdk.ModeFull}, &recorder{})
		if !errors.Is(err, want) {
			t.Errorf("errcode %d: %v", code, err)
		}
		if code == 45009 && sdk.RetryAfter(err) != time.Minute {
			t.Errorf("45009 asks to wait %s", sdk.RetryAfter(err))
		}
	}
	for _, kind := range []sandbox.FaultKind{sandbox.FaultHTTP502, sandbox.FaultMalformed} {
		e.sb.Inject("/cgi-bin/externalcontact/batch/get_by_user", sandbox.Fault{Kind: kind})
		if err := c.Read(t.Context(), sdk.ReadRequest{Stream: wecom.StreamCustomers, Mode: sdk.ModeFull}, &recorder{}); !errors.Is(err, sdk.ErrUnavailable) {
			t.Errorf("%s: %v", kind, err)
		}
	}
}

func TestTagWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 600})
	c := e.connector(t, nil, 0)
	corp := e.sb.Config().CorpID
	// A customer with two staff members, and one with one.
	var two, one string
	for _, r := range e.sb.Relations() {
		switch n := len(e.sb.FollowUsers(r.ExternalUserID)); {
		case n >= 2 && two == "":
			two = r.ExternalUserID
		case n == 1 && one == "":
			one = r.ExternalUserID
		}
	}
	target := func(ext string) []mapping.Identity {
		return []mapping.Identity{{Type: mapping.IDWecomExternalUserID, Scope: corp, Value: ext}}
	}
	actions := []sdk.Action{
		{Key: "a1", Type: wecom.ActionTagAdd, Params: map[string]string{"tag": "VIP"}, Target: target(two)},
		{Key: "a2", Type: wecom.ActionTagAdd, Params: map[string]string{"tag": "hub-new"}, Target: target(two)},
		{Key: "a3", Type: wecom.ActionTagAdd, Params: map[string]string{"tag": "hub-new"}, Target: target(one)},
		{Key: "a4", Type: wecom.ActionTagAdd, Params: map[string]string{"tag": "x"}},
		{Key: "a5", Type: "level.set", Params: map[string]string{"tag": "x"}, Target: target(one)},
		{Key: "a6", Type: wecom.ActionTagAdd, Params: map[string]string{"tag": "x"}, Target: target("wmnosuchcustomer")},
	}
	res := c.Write(t.Context(), actions)
	for i, r := range res[:3] {
		if r.Status != sdk.StatusApplied || r.Key != actions[i].Key {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	for i, r := range res[3:] {
		if r.Status != sdk.StatusFailed || r.Err == nil {
			t.Fatalf("result %d = %+v, want failed", i+3, r)
		}
	}
	for _, ext := range []string{two, one} {
		for _, u := range e.sb.FollowUsers(ext) {
			r, _ := e.sb.RelationOf(u, ext)
			if !slices.Contains(r.Tags, "hub-new") || (ext == two && !slices.Contains(r.Tags, "VIP")) {
				t.Fatalf("relation %s/%s tags %v", ext, u, r.Tags)
			}
		}
	}
	if _, ok := e.sb.TagID("hub-new"); !ok {
		t.Fatal("tag not created in the library")
	}
	// Retried keys change nothing and make no tagging calls.
	before := e.sb.Requests("/cgi-bin/externalcontact/mark_tag")
	c.Write(t.Context(), actions[:3])
	if after := e.sb.Requests("/cgi-bin/externalcontact/mark_tag"); after != before {
		t.Fatalf("a retried write made %d tagging calls", after-before)
	}
	// Remove; a tag the library lacks is removed already.
	res = c.Write(t.Context(), []sdk.Action{
		{Key: "r1", Type: wecom.ActionTagRemove, Params: map[string]string{"tag": "hub-new"}, Target: target(two)},
		{Key: "r2", Type: wecom.ActionTagRemove, Params: map[string]string{"tag": "never-made"}, Target: target(one)},
	})
	if res[0].Status != sdk.StatusApplied || res[1].Status != sdk.StatusApplied {
		t.Fatalf("remove results %+v", res)
	}
	for _, u := range e.sb.FollowUsers(two) {
		if r, _ := e.sb.RelationOf(u, two); slices.Contains(r.Tags, "hub-new") {
			t.Fatalf("tag still on %s/%s", two, u)
		}
	}
}
