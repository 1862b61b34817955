package sms

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	tcsms "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/sms/v20210111"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// tencentPullMax is the pull APIs' largest Limit.
const tencentPullMax = 100

// tencent is Tencent Cloud SMS through the official SDK.
type tencent struct {
	c     *tcsms.Client
	host  *sdk.Host
	appID string
}

func newTencent(s settings, host *sdk.Host) (*tencent, error) {
	endpoint, region := s.endpoint, s.region
	if endpoint == "" {
		endpoint = DefaultTencentEndpoint
	}
	if region == "" {
		region = DefaultTencentRegion
	}
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = endpoint
	cpf.HttpProfile.Scheme = strings.ToUpper(s.scheme)
	cpf.HttpProfile.ReqTimeout = max(1, int(s.timeout/time.Second))
	c, err := tcsms.NewClient(common.NewCredential(s.keyID, s.secret), region, cpf)
	if err != nil {
		return nil, sdk.ConfigError(FieldEndpoint, "tencent client: %v", err)
	}
	return &tencent{c: c, host: host, appID: s.sdkAppID}, nil
}

func (t *tencent) check(ctx context.Context, _, template string) error {
	req := tcsms.NewDescribeSmsTemplateListRequest()
	req.International = common.Uint64Ptr(0)
	var id uint64
	if template != "" {
		n, err := strconv.ParseUint(template, 10, 64)
		if err != nil {
			return sdk.ConfigError(FieldTemplate, "a Tencent TemplateId is digits")
		}
		id = n
		req.TemplateIdSet = []*uint64{common.Uint64Ptr(id)}
	} else {
		req.Limit, req.Offset = common.Uint64Ptr(1), common.Uint64Ptr(0)
	}
	if err := t.host.Wait(ctx, "*"); err != nil {
		return err
	}
	resp, err := t.c.DescribeSmsTemplateListWithContext(ctx, req)
	if err != nil {
		return tencentCallError(ctx, t.host.Now(), "DescribeSmsTemplateList", err)
	}
	if template == "" {
		return nil
	}
	for _, st := range resp.Response.DescribeTemplateStatusSet {
		if st != nil && st.TemplateId != nil && *st.TemplateId == id {
			if st.StatusCode != nil && *st.StatusCode != 0 {
				return sdk.ConfigError(FieldTemplate, "the template is not approved (status %d)", *st.StatusCode)
			}
			return nil
		}
	}
	return sdk.ConfigError(FieldTemplate, "the template does not exist in this account")
}

// tencentParams turns template_params into TemplateParamSet: an array of
// strings, or an object keyed "1", "2"… in that order.
func tencentParams(raw string) ([]*string, error) {
	if raw == "" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(raw), &list); err == nil {
		return common.StringPtrs(list), nil
	}
	var obj map[string]string
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, sdk.PermanentError("", "param %s: Tencent wants a JSON array of strings (or an object keyed \"1\", \"2\"…)", ParamTemplateParams)
	}
	out := make([]string, len(obj))
	for k, v := range obj {
		i, err := strconv.Atoi(k)
		if err != nil || i < 1 || i > len(obj) {
			return nil, sdk.PermanentError("", "param %s: object keys must be \"1\" to \"%d\"", ParamTemplateParams, len(obj))
		}
		out[i-1] = v
	}
	return common.StringPtrs(out), nil
}

func (t *tencent) send(ctx context.Context, m outgoing) sdk.ActionResult {
	res := sdk.ActionResult{Key: m.key}
	params, err := tencentParams(m.params)
	if err != nil {
		res.Status, res.Err = sdk.StatusFailed, err
		return res
	}
	req := tcsms.NewSendSmsRequest()
	req.PhoneNumberSet = []*string{common.StringPtr(m.phone)}
	req.SmsSdkAppId = common.StringPtr(t.appID)
	req.TemplateId = common.StringPtr(m.template)
	req.SignName = common.StringPtr(m.sign)
	req.TemplateParamSet = params
	req.SessionContext = common.StringPtr(m.key)
	if err := t.host.Wait(ctx, "*"); err != nil {
		res.Status, res.Err = sdk.StatusFailed, err
		return res
	}
	resp, err := t.c.SendSmsWithContext(ctx, req)
	if err != nil {
		res.Status, res.Err = sdk.StatusFailed, tencentCallError(ctx, t.host.Now(), "SendSms", err)
		return res
	}
	var st *tcsms.SendStatus
	for _, s := range resp.Response.SendStatusSet {
		if s != nil && (s.PhoneNumber == nil || *s.PhoneNumber == m.phone || len(resp.Response.SendStatusSet) == 1) {
			st = s
			break
		}
	}
	if st == nil {
		res.Status, res.Err = sdk.StatusFailed, sdk.UnavailableError(nil, "SendSms answered without a status for the recipient")
		return res
	}
	code := str(st.Code)
	switch code {
	case "Ok":
		res.Status, res.PlatformRef = sdk.StatusApplied, str(st.SerialNo)
	case codeTencentAlreadySent:
		res.Status, res.PlatformRef = sdk.StatusDuplicate, str(st.SerialNo)
	default:
		err, refused := tencentNumber(code, t.host.Now())
		res.Status, res.Err = sdk.StatusFailed, err
		if refused {
			res.Status = sdk.StatusRefused
		}
		if code == codeTencentDoNotDisturb {
			// The recipient unsubscribed (an opt-out reply, or at the
			// carrier): the hub records the opt-out, so no connection
			// sends to the number again.
			res.Consent = &mapping.Consent{Channel: mapping.ConsentSMS, OptIn: false, Source: DoNotDisturbSource(ProviderTencent), At: t.host.Now().UTC().Truncate(time.Second)}
		}
	}
	return res
}

// sentBefore looks the key up as SessionContext in the number's delivery
// reports of the last 24 hours (PullSmsSendStatusByPhoneNumber, which does
// not consume the pull queue). A send whose report has not arrived yet is
// not found: Tencent reports only delivered or failed messages.
func (t *tencent) sentBefore(ctx context.Context, m outgoing) (string, bool, error) {
	req := tcsms.NewPullSmsSendStatusByPhoneNumberRequest()
	req.BeginTime = common.Uint64Ptr(uint64(t.host.Now().Add(-24 * time.Hour).Unix()))
	req.Offset = common.Uint64Ptr(0)
	req.Limit = common.Uint64Ptr(tencentPullMax)
	req.PhoneNumber = common.StringPtr(m.phone)
	req.SmsSdkAppId = common.StringPtr(t.appID)
	if err := t.host.Wait(ctx, "*"); err != nil {
		return "", false, err
	}
	resp, err := t.c.PullSmsSendStatusByPhoneNumberWithContext(ctx, req)
	if err != nil {
		return "", false, tencentCallError(ctx, t.host.Now(), "PullSmsSendStatusByPhoneNumber", err)
	}
	for _, st := range resp.Response.PullSmsSendStatusSet {
		if st != nil && str(st.SessionContext) == m.key {
			return str(st.SerialNo), true, nil
		}
	}
	return "", false, nil
}

func (t *tencent) pullReplies(ctx context.Context, limit int) ([]inbound, error) {
	req := tcsms.NewPullSmsReplyStatusRequest()
	req.Limit = common.Uint64Ptr(uint64(min(limit, tencentPullMax)))
	req.SmsSdkAppId = common.StringPtr(t.appID)
	if err := t.host.Wait(ctx, "*"); err != nil {
		return nil, err
	}
	resp, err := t.c.PullSmsReplyStatusWithContext(ctx, req)
	if err != nil {
		return nil, tencentCallError(ctx, t.host.Now(), "PullSmsReplyStatus", err)
	}
	out := make([]inbound, 0, len(resp.Response.PullSmsReplyStatusSet))
	for _, r := range resp.Response.PullSmsReplyStatusSet {
		if r == nil {
			continue
		}
		phone := str(r.PhoneNumber)
		if phone == "" && r.SubscriberNumber != nil {
			phone = "+" + str(r.CountryCode) + str(r.SubscriberNumber)
		}
		out = append(out, inbound{phone: phone, text: str(r.ReplyContent), sign: str(r.SignName),
			at: time.Unix(int64(u64(r.ReplyTime)), 0).UTC()})
	}
	return out, nil
}

func (t *tencent) pullReceipts(ctx context.Context, limit int) ([]report, error) {
	req := tcsms.NewPullSmsSendStatusRequest()
	req.Limit = common.Uint64Ptr(uint64(min(limit, tencentPullMax)))
	req.SmsSdkAppId = common.StringPtr(t.appID)
	if err := t.host.Wait(ctx, "*"); err != nil {
		return nil, err
	}
	resp, err := t.c.PullSmsSendStatusWithContext(ctx, req)
	if err != nil {
		return nil, tencentCallError(ctx, t.host.Now(), "PullSmsSendStatus", err)
	}
	out := make([]report, 0, len(resp.Response.PullSmsSendStatusSet))
	for _, r := range resp.Response.PullSmsSendStatusSet {
		if r != nil {
			out = append(out, report{key: str(r.SessionContext), ref: str(r.SerialNo), delivered: str(r.ReportStatus) == "SUCCESS",
				code: str(r.Description), at: time.Unix(int64(u64(r.UserReceiveTime)), 0).UTC()})
		}
	}
	return out, nil
}

// tencentE164 joins a callback's nationcode and mobile.
func tencentE164(nation, mobile string) (string, error) {
	if nation == "" {
		nation = "86"
	}
	return mapping.NormalizePhone("+" + nation + mobile)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func u64(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}
