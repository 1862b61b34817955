package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err   error
		class sdk.Class
		is    error
	}{
		{sdk.AuthError("40125", "bad secret"), sdk.ClassAuth, sdk.ErrAuth},
		{fmt.Errorf("read: %w", sdk.ThrottledError(time.Minute, "45011", "slow down")), sdk.ClassThrottled, sdk.ErrThrottled},
		{sdk.UnavailableError(errors.New("EOF"), "user.get"), sdk.ClassUnavailable, sdk.ErrUnavailable},
		{sdk.ConfigError("app_id", "empty"), sdk.ClassInvalidConfig, sdk.ErrInvalidConfig},
		{context.DeadlineExceeded, sdk.ClassUnavailable, nil},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, sdk.ClassUnavailable, nil},
		{errors.New("something"), sdk.ClassPermanent, nil},
	}
	for _, tt := range tests {
		if got := sdk.ClassOf(tt.err); got != tt.class {
			t.Errorf("ClassOf(%v) = %s, want %s", tt.err, got, tt.class)
		}
		if tt.is != nil && !errors.Is(tt.err, tt.is) {
			t.Errorf("errors.Is(%v, %s sentinel) = false", tt.err, tt.class)
		}
	}
	if errors.Is(sdk.AuthError("", "x"), sdk.ErrThrottled) {
		t.Error("an auth error matched the throttled sentinel")
	}
	if sdk.RetryAfter(tests[1].err) != time.Minute {
		t.Error("RetryAfter lost through wrapping")
	}
}

var spec = sdk.Spec{
	Name: "demo", Version: "1.0.0",
	Streams: []sdk.StreamSpec{{Name: "people", Kind: sdk.KindMembers, Cursor: "offset"}},
	Config: []sdk.Field{
		{Name: "app_id", Type: sdk.TypeString, Required: true},
		{Name: "app_secret", Type: sdk.TypeString, Required: true, Secret: true},
		{Name: "page_size", Type: sdk.TypeInt, Default: "100"},
		{Name: "timeout", Type: sdk.TypeDuration, Default: "30s"},
		{Name: "region", Type: sdk.TypeString, Enum: []string{"cn", "hk"}},
	},
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	cfg, err := spec.ParseConfig(map[string]any{"app_id": "wx1", "app_secret": "s3cret", "page_size": float64(50)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.String("app_id") != "wx1" || cfg.Int("page_size") != 50 || cfg.Duration("timeout") != 30*time.Second || cfg.Secret("app_secret").Reveal() != "s3cret" {
		t.Fatalf("config = %+v", cfg)
	}
	if s := fmt.Sprintf("%v %s %#v", cfg.Secret("app_secret"), cfg.Secret("app_secret"), cfg.Secret("app_secret")); strings.Contains(s, "s3cret") {
		t.Fatalf("secret printed: %s", s)
	}
	if b, _ := json.Marshal(cfg.Secret("app_secret")); strings.Contains(string(b), "s3cret") {
		t.Fatal("secret in JSON")
	}
	_, err = spec.ParseConfig(map[string]any{"app_id": 7, "page_size": "many", "region": "us", "pagesize": 1})
	for _, want := range []string{"app_id: want a string", "app_secret: is required", "page_size: want a whole number", `region: "us" is not one of`, "pagesize: is not a demo config field"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestSpecCheck(t *testing.T) {
	t.Parallel()
	field := func(name string) func(*sdk.Spec) {
		return func(s *sdk.Spec) { s.Config = append(s.Config, sdk.Field{Name: name, Type: sdk.TypeString}) }
	}
	actions := func(names ...string) func(*sdk.Spec) {
		return func(s *sdk.Spec) {
			for _, n := range names {
				s.Actions = append(s.Actions, sdk.ActionSpec{Name: n})
			}
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*sdk.Spec)
		want   string // "" when the spec is valid
	}{
		{"access token", field("access_token"), `"access_token" looks like a credential`},
		{"api key", field("api_key"), `"api_key" looks like a credential`},
		{"apikey", field("apikey"), `"apikey" looks like a credential`},
		{"sign key", field("sign_key"), `"sign_key" looks like a credential`},
		{"signing key", field("signing_key"), `"signing_key" looks like a credential`},
		{"client credential", field("client_credential"), `"client_credential" looks like a credential`},
		{"aes key", field("encoding_aes_key"), `"encoding_aes_key" looks like a credential`},
		// An app key is the app's public id (Taobao, Douyin): not a secret.
		{"app key", field("app_key"), ""},
		{"actions", actions("tags.add", "tags.remove", "member.level", "sms.send"), ""},
		{"action with a capital", actions("Tags.add"), `action name "Tags.add" is invalid`},
		{"action with a space", actions("tags add"), `action name "tags add" is invalid`},
		{"action with an empty word", actions("tags..add"), `action name "tags..add" is invalid`},
		{"action ending in a dot", actions("tags."), `action name "tags." is invalid`},
		{"empty action", actions(""), `action name "" is invalid`},
		{"repeated action", actions("tags.add", "tags.add"), `action name "tags.add" is invalid or repeated`},
		{"negative batch", func(s *sdk.Spec) { s.Actions = []sdk.ActionSpec{{Name: "points.set", MaxBatch: -1}} }, "max_batch -1 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := spec
			s.Config = slices.Clone(spec.Config)
			tc.change(&s)
			err := s.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Check = %v, want %q", err, tc.want)
			}
		})
	}
}

// echo is a connector that emits what it was built with.
type echo struct {
	records []sdk.Record
	panicOn string
}

func (e *echo) Check(ctx context.Context) error {
	return sdk.ThrottledError(1500*time.Millisecond, "45009", "daily quota")
}
func (e *echo) Close(context.Context) error { return nil }
func (e *echo) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	if req.Stream == e.panicOn {
		panic("boom")
	}
	for i, r := range e.records {
		if err := out.Emit(ctx, r); err != nil {
			return err
		}
		if (i+1)%700 == 0 {
			if err := out.Checkpoint(ctx, []byte(fmt.Sprint(i+1))); err != nil {
				return err
			}
		}
	}
	return out.Checkpoint(ctx, []byte("end"))
}
func (e *echo) Write(_ context.Context, actions []sdk.Action) []sdk.ActionResult {
	out := make([]sdk.ActionResult, len(actions))
	for i, a := range actions {
		out[i] = sdk.ActionResult{Key: a.Key, Status: sdk.StatusApplied, PlatformRef: a.Params["x"]}
		if a.Type == "fail" {
			out[i] = sdk.ActionResult{Key: a.Key, Status: sdk.StatusFailed, Err: sdk.ConfigError("tag", "too long")}
		}
		if a.Type == "unsubscribed" {
			out[i] = sdk.ActionResult{Key: a.Key, Status: sdk.StatusRefused, Err: sdk.PermanentError("DND", "unsubscribed"),
				Consent: &mapping.Consent{Channel: mapping.ConsentSMS, Source: "sms:x:do-not-disturb", At: time.Date(2024, 5, 1, 2, 3, 4, 0, time.UTC)}}
		}
	}
	return out
}
func (e *echo) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if req.Header.Get("X-Sign") != "ok" {
		return sdk.WebhookResponse{}, sdk.AuthError("", "bad signature")
	}
	return sdk.WebhookResponse{Status: 200, Body: []byte("success"), Records: e.records[:1]}, nil
}

func TestRoundTripOverGRPC(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 2, 3, 4, 0, time.UTC)
	member := sdk.Record{ID: "m1", UpdatedAt: at, Member: &mapping.Member{
		Identities: []mapping.Identity{{Type: mapping.IDWechatOpenID, Scope: "wx1", Value: "o1"}, {Type: mapping.IDPhone, Value: "+8613800138000"}},
		Name:       "王芳", Gender: mapping.GenderFemale, Birthday: "1990-01-02", City: "杭州", Level: "gold", Points: 120,
		Tags: []mapping.Tag{{Name: "VIP", Group: "g"}}, Consents: []mapping.Consent{{Channel: mapping.ConsentSMS, OptIn: true, Source: "pos", At: at}},
		Subscribed: true, SubscribedAt: at, Attributes: map[string]string{"remark": "x"}}}
	order := sdk.Record{ID: "T1", UpdatedAt: at, Order: &mapping.Order{Platform: "taobao", Shop: "s", OrderID: "T1", Status: mapping.OrderRefunding, PlatformStatus: "WAIT",
		TotalFen: 1999, PaidFen: 1899, DiscountFen: 100, CreatedAt: at, PaidAt: at, UpdatedAt: at, Region: "浙江 杭州",
		Items: []mapping.OrderItem{{SKU: "k", Title: "t", Quantity: 2, UnitPriceFen: 999}}, Buyer: []mapping.Identity{{Type: mapping.IDTaobaoOUID, Scope: "s", Value: "ou"}}}}
	points := sdk.Record{ID: "p1", Points: &mapping.PointsEntry{EntryID: "p1", Member: mapping.Identity{Type: mapping.IDMemberCard, Scope: "b", Value: "C1"}, Kind: mapping.PointsClawback, Delta: -30, OccurredAt: at}}
	bad := sdk.Record{Bad: &sdk.BadRecord{Reason: "no id", Raw: []byte("{}"), Location: "page 2"}}
	receipt := sdk.Record{ID: "r1", UpdatedAt: at, Receipt: &sdk.Receipt{ActionKey: "act_1", PlatformRef: "biz-9", Code: "UNDELIV", Detail: "关机", At: at}}
	recs := []sdk.Record{member, order, points, bad, receipt}
	for i := 0; i < 2500; i++ {
		recs = append(recs, sdk.Record{ID: fmt.Sprint("x", i), Member: &mapping.Member{}})
	}
	conn := &echo{records: recs, panicOn: "explode"}
	p := sdk.Plugin{Spec: spec, New: func(context.Context, sdk.Config, *sdk.Host) (sdk.Connector, error) { return conn, nil }}
	r := sdk.NewTestRemote(t, p, nil, "t", "c")
	ctx := t.Context()
	cfg := []byte(`{"app_id":"wx","app_secret":"s"}`)

	rs, err := r.Read(ctx, cfg, sdk.ReadRequest{Stream: "people", Mode: sdk.ModeFull})
	if err != nil {
		t.Fatal(err)
	}
	var got []sdk.Record
	var cps []string
	for {
		msg, err := rs.Next()
		if err != nil {
			t.Fatal(err)
		}
		if msg.Done {
			break
		}
		if len(msg.Records) > 1000 {
			t.Fatalf("a batch of %d records: batches are capped at 1000", len(msg.Records))
		}
		got = append(got, msg.Records...)
		if msg.Checkpoint != nil {
			cps = append(cps, fmt.Sprintf("%s@%d", msg.Checkpoint, len(got)))
		}
	}
	for i := range 5 {
		want := recs[i]
		want.Stream = "people"
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("record %d changed on the wire:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
	if len(got) != len(recs) || strings.Join(cps, " ") != "700@700 1400@1400 2100@2100 end@2505" {
		t.Fatalf("%d records, checkpoints %v: each checkpoint must follow exactly its records", len(got), cps)
	}

	err = r.Check(ctx, cfg)
	if !errors.Is(err, sdk.ErrThrottled) || sdk.RetryAfter(err) != 1500*time.Millisecond || !strings.Contains(err.Error(), "45009") {
		t.Fatalf("classed error lost on the wire: %v", err)
	}
	if err := r.Check(ctx, []byte(`{"app_id":"wx"}`)); !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), "app_secret") {
		t.Fatalf("config error = %v", err)
	}

	res, err := r.Write(ctx, cfg, []sdk.Action{{Key: "a", Type: "ok", Params: map[string]string{"x": "ref"}}, {Key: "b", Type: "fail"}, {Key: "c", Type: "unsubscribed"}})
	if err != nil || len(res) != 3 || res[0].Status != sdk.StatusApplied || res[0].PlatformRef != "ref" || res[0].Consent != nil || res[1].Status != sdk.StatusFailed || !errors.Is(res[1].Err, sdk.ErrInvalidConfig) {
		t.Fatalf("write results = %+v, %v", res, err)
	}
	if c := res[2].Consent; res[2].Status != sdk.StatusRefused || c == nil || *c != (mapping.Consent{Channel: mapping.ConsentSMS, Source: "sms:x:do-not-disturb", At: time.Date(2024, 5, 1, 2, 3, 4, 0, time.UTC)}) {
		t.Fatalf("consent lost on the wire: %+v", res[2])
	}

	wr, err := r.HandleWebhook(ctx, cfg, sdk.WebhookRequest{Method: "POST", Header: http.Header{"X-Sign": {"ok"}}, Body: []byte("<xml/>")})
	if err != nil || string(wr.Body) != "success" || len(wr.Records) != 1 || wr.Records[0].ID != "m1" {
		t.Fatalf("webhook = %+v, %v", wr, err)
	}
	if _, err := r.HandleWebhook(ctx, cfg, sdk.WebhookRequest{Method: "POST"}); !errors.Is(err, sdk.ErrAuth) {
		t.Fatalf("forged webhook = %v", err)
	}

	rs, err = r.Read(ctx, cfg, sdk.ReadRequest{Stream: "explode"})
	if err == nil {
		_, err = rs.Next()
	}
	if err == nil || !strings.Contains(err.Error(), "no stream") {
		// An unknown stream is refused before any connector code runs.
		t.Fatalf("unknown stream = %v", err)
	}
}

func TestPanicBecomesAnError(t *testing.T) {
	t.Parallel()
	pspec := spec
	pspec.Streams = append(pspec.Streams, sdk.StreamSpec{Name: "explode", Kind: sdk.KindMembers})
	p := sdk.Plugin{Spec: pspec, New: func(context.Context, sdk.Config, *sdk.Host) (sdk.Connector, error) {
		return &echo{panicOn: "explode"}, nil
	}}
	r := sdk.NewTestRemote(t, p, nil, "t", "c")
	rs, err := r.Read(t.Context(), []byte(`{"app_id":"wx","app_secret":"s"}`), sdk.ReadRequest{Stream: "explode"})
	if err == nil {
		_, err = rs.Next()
	}
	if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "connector panicked: boom") {
		t.Fatalf("panic surfaced as %v", err)
	}
	// The plugin is still serving.
	if err := r.Check(t.Context(), []byte(`{"app_id":"wx","app_secret":"s"}`)); !errors.Is(err, sdk.ErrThrottled) {
		t.Fatalf("after a panic: %v", err)
	}
}
