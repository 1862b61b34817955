package sms_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/sms"
	"github.com/channelhub/channelhub/connectors/sms/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Both Alibaba signatures and TC3, exactly as the official SDKs send them,
// are accepted by the emulators; a wrong secret is an auth error that does
// not echo it.
func TestOfficialSDKSignaturesAccepted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    sandbox.Provider
		over map[string]any
	}{
		{"aliyun-acs3", sandbox.Aliyun, map[string]any{"aliyun_signature": sms.SigningACS3}},
		{"aliyun-hmac-sha1", sandbox.Aliyun, map[string]any{"aliyun_signature": sms.SigningHMACSHA1}},
		{"tencent-tc3", sandbox.Tencent, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Config{Provider: tc.p})
			c := connect(t, e.with(tc.over))
			if err := c.Check(t.Context()); err != nil {
				t.Fatalf("check: %v", err)
			}
			params := map[string]string{sms.ParamTemplateParams: `{"name":"张 伟*~+/"}`}
			if tc.p == sandbox.Tencent {
				params[sms.ParamTemplateParams] = `["张 伟*~+/"]`
			}
			if r := write1(t, c, send("sig-1", "+86 138-0013-8001", params)); r.Status != sdk.StatusApplied || r.PlatformRef == "" {
				t.Fatalf("send: %s %v ref %q", r.Status, r.Err, r.PlatformRef)
			}
			msgs := e.sb.Messages()
			if len(msgs) != 1 || msgs[0].Phone != "+8613800138001" || msgs[0].Params["name"] != "张 伟*~+/" {
				t.Fatalf("sandbox log %+v", msgs)
			}
			bad := connect(t, e.with(mergeMap(tc.over, map[string]any{"access_key_secret": "wrong-secret-xyz"})))
			err := bad.Check(t.Context())
			if !errors.Is(err, sdk.ErrAuth) || strings.Contains(err.Error(), "wrong-secret-xyz") {
				t.Fatalf("check with a wrong secret: %v", err)
			}
			if r := write1(t, bad, send("sig-2", "+8613800138002", params)); r.Status != sdk.StatusFailed || !errors.Is(r.Err, sdk.ErrAuth) {
				t.Fatalf("send with a wrong secret: %s %v", r.Status, r.Err)
			}
		})
	}
}

func mergeMap(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// A retried action (same key) never sends twice: found by the dedupe lookup,
// or — with the lookup off — reported by the emulator; either way the
// message log holds one message.
func TestRetryWithSameKeySendsOnce(t *testing.T) {
	t.Parallel()
	for _, p := range []sandbox.Provider{sandbox.Aliyun, sandbox.Tencent} {
		for _, dedupe := range []bool{true, false} {
			t.Run(string(p)+map[bool]string{true: "/lookup", false: "/provider"}[dedupe], func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, sandbox.Config{Provider: p})
				c := connect(t, e.with(map[string]any{"dedupe_check": dedupe}))
				params := map[string]string{sms.ParamTemplateParams: `{"name":"a"}`}
				if p == sandbox.Tencent {
					params[sms.ParamTemplateParams] = `{"1":"a"}`
				}
				a := send("order-42-notice", "+8613800138003", params)
				first := write1(t, c, a)
				if first.Status != sdk.StatusApplied {
					t.Fatalf("first send: %s %v", first.Status, first.Err)
				}
				second := write1(t, c, a)
				if second.Status != sdk.StatusDuplicate {
					t.Fatalf("retry: %s %v, want duplicate", second.Status, second.Err)
				}
				// A key repeated within one batch is sent once too.
				res := c.Write(t.Context(), []sdk.Action{send("k-batch", "+8613800138004", params), send("k-batch", "+8613800138004", params)})
				if res[0].Status != sdk.StatusApplied || res[1].Status != sdk.StatusDuplicate {
					t.Fatalf("batch with a repeated key: %s, %s", res[0].Status, res[1].Status)
				}
				if n := len(e.sb.MessagesTo("+8613800138003")); n != 1 {
					t.Fatalf("the sandbox sent %d messages for one key, want 1", n)
				}
				if n := len(e.sb.MessagesTo("+8613800138004")); n != 1 {
					t.Fatalf("the sandbox sent %d messages for the batch key, want 1", n)
				}
			})
		}
	}
}

// Per-number frequency limits come back as refused, with the provider's code,
// the window in the reason and a wait; they are never sent.
func TestFrequencyLimitRefusedWithReason(t *testing.T) {
	t.Parallel()
	t.Run("aliyun-verification-minute", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, sandbox.Config{Provider: sandbox.Aliyun})
		c := connect(t, e.cfg)
		var refused *sdk.ActionResult
		for i := range 3 { // three sends cannot all fall in different minutes
			r := write1(t, c, send("otp-"+string(rune('a'+i)), "+8613800138005", map[string]string{sms.ParamTemplate: "SMS_100000002", sms.ParamTemplateParams: `{"code":"123456"}`}))
			if r.Status == sdk.StatusRefused {
				refused = &r
				break
			}
			if r.Status != sdk.StatusApplied {
				t.Fatalf("send %d: %s %v", i, r.Status, r.Err)
			}
		}
		if refused == nil {
			t.Fatal("no send was refused by the 1-a-minute limit")
		}
		var se *sdk.Error
		if !errors.As(refused.Err, &se) || se.PlatformCode != sandbox.AliyunBusinessLimitControl || !strings.Contains(se.Message, "minute") {
			t.Fatalf("refusal %v, want %s naming the minute window", refused.Err, sandbox.AliyunBusinessLimitControl)
		}
		if se.RetryAfter <= 0 || se.RetryAfter > time.Minute {
			t.Fatalf("retry after %s, want within the minute", se.RetryAfter)
		}
		if strings.Contains(refused.Err.Error(), "13800138005") {
			t.Fatalf("the refusal names the phone: %v", refused.Err)
		}
	})
	t.Run("tencent-daily-and-30s", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, sandbox.Config{Provider: sandbox.Tencent, TencentDailyLimit: 2})
		c := connect(t, e.cfg)
		phone := "+8613800138006"
		if r := write1(t, c, send("d1", phone, map[string]string{sms.ParamTemplateParams: `["x"]`})); r.Status != sdk.StatusApplied {
			t.Fatalf("first: %s %v", r.Status, r.Err)
		}
		r := write1(t, c, send("d2", phone, map[string]string{sms.ParamTemplateParams: `["x"]`}))
		assertRefused(t, r, sandbox.TencentThirtySecondLimit)
		if r := write1(t, c, send("d3", phone, map[string]string{sms.ParamTemplateParams: `["y"]`})); r.Status != sdk.StatusApplied {
			t.Fatalf("other content: %s %v", r.Status, r.Err)
		}
		r = write1(t, c, send("d4", phone, map[string]string{sms.ParamTemplateParams: `["z"]`}))
		assertRefused(t, r, sandbox.TencentDailyLimit)
		if n := len(e.sb.MessagesTo(phone)); n != 2 {
			t.Fatalf("%d messages sent, want 2", n)
		}
	})
}

func assertRefused(t *testing.T, r sdk.ActionResult, code string) {
	t.Helper()
	var se *sdk.Error
	if r.Status != sdk.StatusRefused || !errors.As(r.Err, &se) || se.PlatformCode != code || se.Message == "" {
		t.Fatalf("result %s %v, want refused with %s", r.Status, r.Err, code)
	}
}

// Provider errors map to per-recipient results with the right class.
func TestErrorMapping(t *testing.T) {
	t.Parallel()
	type want struct {
		status sdk.ActionStatus
		class  sdk.Class
	}
	for _, tc := range []struct {
		name  string
		p     sandbox.Provider
		fault sandbox.Fault
		want  want
	}{
		{"aliyun business illegal number", sandbox.Aliyun, sandbox.Fault{Code: "isv.MOBILE_NUMBER_ILLEGAL"}, want{sdk.StatusFailed, sdk.ClassPermanent}},
		{"aliyun balance", sandbox.Aliyun, sandbox.Fault{Code: "isv.AMOUNT_NOT_ENOUGH"}, want{sdk.StatusFailed, sdk.ClassPermanent}},
		{"aliyun unknown sign", sandbox.Aliyun, sandbox.Fault{Code: "isv.SMS_SIGNATURE_ILLEGAL"}, want{sdk.StatusFailed, sdk.ClassInvalidConfig}},
		{"aliyun system error", sandbox.Aliyun, sandbox.Fault{Code: "isp.SYSTEM_ERROR"}, want{sdk.StatusFailed, sdk.ClassUnavailable}},
		{"aliyun content control", sandbox.Aliyun, sandbox.Fault{Code: "isv.BLACK_KEY_CONTROL_LIMIT"}, want{sdk.StatusRefused, sdk.ClassPermanent}},
		{"aliyun 503", sandbox.Aliyun, sandbox.Fault{Status: 503, Code: "ServiceUnavailable"}, want{sdk.StatusFailed, sdk.ClassUnavailable}},
		{"aliyun bad signature", sandbox.Aliyun, sandbox.Fault{Status: 400, Code: "SignatureDoesNotMatch"}, want{sdk.StatusFailed, sdk.ClassAuth}},
		{"aliyun throttling", sandbox.Aliyun, sandbox.Fault{Status: 400, Code: "Throttling.User"}, want{sdk.StatusFailed, sdk.ClassThrottled}},
		{"tencent auth", sandbox.Tencent, sandbox.Fault{Code: "AuthFailure.SignatureFailure"}, want{sdk.StatusFailed, sdk.ClassAuth}},
		{"tencent internal", sandbox.Tencent, sandbox.Fault{Code: "InternalError.Timeout"}, want{sdk.StatusFailed, sdk.ClassUnavailable}},
		{"tencent 502", sandbox.Tencent, sandbox.Fault{Status: 502}, want{sdk.StatusFailed, sdk.ClassUnavailable}},
		{"tencent throttled", sandbox.Tencent, sandbox.Fault{Code: "RequestLimitExceeded"}, want{sdk.StatusFailed, sdk.ClassThrottled}},
		{"tencent app", sandbox.Tencent, sandbox.Fault{Code: "InvalidParameterValue.SdkAppIdNotExist"}, want{sdk.StatusFailed, sdk.ClassInvalidConfig}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Config{Provider: tc.p})
			c := connect(t, e.with(map[string]any{"dedupe_check": false}))
			tc.fault.Action = "SendSms"
			e.sb.InjectFault(tc.fault)
			params := map[string]string{sms.ParamTemplateParams: `{"name":"a"}`}
			if tc.p == sandbox.Tencent {
				params[sms.ParamTemplateParams] = `["a"]`
			}
			r := write1(t, c, send("e1", "+8613800138007", params))
			if r.Status != tc.want.status || sdk.ClassOf(r.Err) != tc.want.class || r.Consent != nil {
				t.Fatalf("got %s / %s (%v), consent %v; want %s / %s and no consent", r.Status, sdk.ClassOf(r.Err), r.Err, r.Consent, tc.want.status, tc.want.class)
			}
			if len(e.sb.Messages()) != 0 {
				t.Fatal("a failed send reached the message log")
			}
		})
	}
	t.Run("tencent do-not-disturb", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, sandbox.Config{Provider: sandbox.Tencent})
		c := connect(t, e.cfg)
		e.sb.InjectReply("+8613800138008", "R")
		r := write1(t, c, send("p1", "+8613800138008", map[string]string{sms.ParamTemplate: "2000003"}))
		assertRefused(t, r, sandbox.TencentBlacklist)
		// The refusal reports the recipient's opt-out for the hub to record.
		if c := r.Consent; c == nil || c.Channel != mapping.ConsentSMS || c.OptIn || c.Source != "sms:tencent:do-not-disturb" || c.At.IsZero() {
			t.Fatalf("do-not-disturb consent = %+v", c)
		}
	})
	t.Run("contract", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, sandbox.Config{Provider: sandbox.Aliyun})
		c := connect(t, e.cfg)
		two := send("c1", "+8613800138009", nil)
		two.Target = append(two.Target, mapping.Identity{Type: mapping.IDPhone, Value: "+8613800138010"})
		for _, a := range []sdk.Action{two, send("", "+8613800138009", nil), send("c3", "12345", nil), {Key: "c4", Type: "tags.add"}} {
			if r := write1(t, c, a); r.Status != sdk.StatusFailed || sdk.ClassOf(r.Err) != sdk.ClassPermanent {
				t.Fatalf("action %+v: %s %v, want failed permanent", a.Type, r.Status, r.Err)
			}
		}
	})
}

// Opt-out replies pulled from Tencent become consent records; other replies
// emit nothing; receipts are counted, not emitted.
func TestTencentRepliesBecomeConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Provider: sandbox.Tencent})
	c := connect(t, e.cfg)
	for i, text := range []string{" td ", "退订", "R", "n", "T", "好的", "TD please"} {
		e.sb.InjectReply("+861390013900"+string(rune('0'+i)), text)
	}
	var out collect
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: sms.StreamReplies, Mode: sdk.ModeFull}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.records) != 5 || len(out.cps) == 0 {
		t.Fatalf("%d records, %d checkpoints; want 5 opt-outs and a checkpoint", len(out.records), len(out.cps))
	}
	for _, r := range out.records {
		m := r.Member
		if m == nil || len(m.Identities) != 1 || m.Identities[0].Type != mapping.IDPhone || !strings.HasPrefix(m.Identities[0].Value, "+86139") {
			t.Fatalf("record %+v: want one phone identity", r)
		}
		if len(m.Consents) != 1 || m.Consents[0].Channel != mapping.ConsentSMS || m.Consents[0].OptIn || m.Consents[0].Source != "sms:tencent:reply" || m.Consents[0].At.IsZero() {
			t.Fatalf("consents %+v", m.Consents)
		}
		// The id is a digest: it must not carry the number (a bare "139"
		// can occur in any hex digest by chance).
		if strings.Contains(r.ID, "1390013900") {
			t.Fatalf("record id %q reveals the phone", r.ID)
		}
	}
	// The queue is drained: a second read returns nothing.
	var again collect
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: sms.StreamReplies, Mode: sdk.ModeIncremental}, &again); err != nil || len(again.records) != 0 {
		t.Fatalf("second read: %d records, %v", len(again.records), err)
	}
	// A send's delivery report comes back as a receipt naming its action
	// key (SessionContext) and the provider's SerialNo.
	sent := write1(t, c, send("r1", "+8613800138011", map[string]string{sms.ParamTemplateParams: `["a"]`}))
	if sent.Status != sdk.StatusApplied || sent.PlatformRef == "" {
		t.Fatal(sent.Err)
	}
	var rc collect
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: sms.StreamReceipts, Mode: sdk.ModeFull}, &rc); err != nil || len(rc.records) != 1 || len(rc.cps) == 0 {
		t.Fatalf("receipts read: %d records, %d checkpoints, %v", len(rc.records), len(rc.cps), err)
	}
	if got := rc.records[0]; got.Stream != sms.StreamReceipts || got.Receipt == nil || *got.Receipt != (sdk.Receipt{ActionKey: "r1", PlatformRef: sent.PlatformRef, Delivered: true, Code: "DELIVRD", At: got.Receipt.At}) || got.Receipt.At.IsZero() {
		t.Fatalf("receipt %+v %+v", got, got.Receipt)
	}
}

func TestIsOptOut(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{"R": true, "r": true, " TD\n": true, "td": true, "T": true, "n": true, "退订": true, " 退订 ": true, "TD退订": false, "好的": false, "": false, "RR": false, "no": false} {
		if got := sms.IsOptOut(text); got != want {
			t.Errorf("IsOptOut(%q) = %v, want %v", text, got, want)
		}
	}
}

// The hub's webhook intake, faked: a server that hands each callback to the
// connector and answers what it returns.
func webhookServer(t *testing.T, c *sms.Connector, query string, got *[]sdk.Record) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := c.HandleWebhook(r.Context(), sdk.WebhookRequest{Method: r.Method, Path: r.URL.Path, Query: query, Header: r.Header, Body: body})
		if err != nil {
			http.Error(w, sdk.ClassOf(err).String(), http.StatusUnauthorized)
			return
		}
		*got = append(*got, resp.Records...)
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Alibaba and Tencent pushes reach the webhook: opt-outs become consent
// records, receipts are acknowledged, and a push without the token is
// refused and stays pending for redelivery.
func TestWebhookPushes(t *testing.T) {
	t.Parallel()
	for _, p := range []sandbox.Provider{sandbox.Aliyun, sandbox.Tencent} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Config{Provider: p, Replies: 8, Unreachable: []string{"+8613800138013"}})
			c := connect(t, e.cfg)
			params := map[string]string{sms.ParamTemplateParams: map[sandbox.Provider]string{sandbox.Aliyun: `{"name":"a"}`, sandbox.Tencent: `["a"]`}[p]}
			reached := write1(t, c, send("w1", "+8613800138012", params))
			lost := write1(t, c, send("w2", "+8613800138013", params))
			if reached.Status != sdk.StatusApplied || lost.Status != sdk.StatusApplied {
				t.Fatal(reached.Err, lost.Err)
			}
			var got []sdk.Record
			wrong := webhookServer(t, c, "token=nope", &got)
			if _, err := e.sb.Push(t.Context(), wrong.Client(), wrong.URL); err == nil {
				t.Fatal("a push without the token was accepted")
			}
			if len(e.sb.PendingReplies()) != 8 {
				t.Fatal("a refused push was dropped, not kept for redelivery")
			}
			srv := webhookServer(t, c, "token=cb-token-1234", &got)
			n, err := e.sb.Push(t.Context(), srv.Client(), srv.URL)
			if err != nil || n != 10 {
				t.Fatalf("push delivered %d items, %v; want 8 replies and 2 receipts", n, err)
			}
			// Seeded texts: TD, 好的…, 退订, r, " n ", 收到, T, 什么活动？ → 5 opt-outs.
			var optOuts int
			receipts := map[string]sdk.Receipt{}
			for _, r := range got {
				switch {
				case r.Stream == sms.StreamReplies && r.Member != nil && len(r.Member.Consents) == 1 && !r.Member.Consents[0].OptIn:
					optOuts++
				case r.Stream == sms.StreamReceipts && r.Receipt != nil && !r.Receipt.At.IsZero():
					receipts[r.Receipt.PlatformRef] = *r.Receipt
				default:
					t.Fatalf("record %+v", r)
				}
			}
			if optOuts != 5 || len(receipts) != 2 {
				t.Fatalf("%d opt-outs and %d receipts from the push, want 5 and 2", optOuts, len(receipts))
			}
			// Alibaba echoes the action key (OutId); Tencent's status
			// callback names the message by its SerialNo only.
			ok, bad := receipts[reached.PlatformRef], receipts[lost.PlatformRef]
			wantKey := map[sandbox.Provider][2]string{sandbox.Aliyun: {"w1", "w2"}, sandbox.Tencent: {"", ""}}[p]
			if !ok.Delivered || ok.ActionKey != wantKey[0] || bad.Delivered || bad.ActionKey != wantKey[1] || bad.Code != "UNDELIV" || bad.Detail == "" {
				t.Fatalf("receipts: reached %+v, unreachable %+v", ok, bad)
			}
		})
	}
	t.Run("unreadable body", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, sandbox.Config{Provider: sandbox.Aliyun})
		c := connect(t, e.cfg)
		resp, err := c.HandleWebhook(t.Context(), sdk.WebhookRequest{Method: "POST", Query: "token=cb-token-1234", Body: []byte("{nope")})
		if err != nil || resp.Status != 200 || len(resp.Records) != 1 || resp.Records[0].Bad == nil || !bytes.Contains(resp.Body, []byte(`"code":0`)) {
			t.Fatalf("resp %+v, %v", resp, err)
		}
	})
}

// A read of a push-only stream says where the data comes from.
func TestAliyunStreamsArePushOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Provider: sandbox.Aliyun})
	c := connect(t, e.cfg)
	err := c.Read(t.Context(), sdk.ReadRequest{Stream: sms.StreamReplies, Mode: sdk.ModeFull}, &collect{})
	if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), "webhook") {
		t.Fatalf("read replies on aliyun: %v", err)
	}
}
