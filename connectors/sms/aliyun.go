package sms

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	dysms "github.com/alibabacloud-go/dysmsapi-20170525/v5/client"
	"github.com/alibabacloud-go/tea/dara"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// aliyunPageSize is QuerySendDetails' largest page.
const aliyunPageSize = 50

// aliyun is Alibaba Cloud dysmsapi through the official v5 SDK.
type aliyun struct {
	c       *dysms.Client
	host    *sdk.Host
	timeout time.Duration
}

func newAliyun(s settings, host *sdk.Host) (*aliyun, error) {
	endpoint, region := s.endpoint, s.region
	if endpoint == "" {
		endpoint = DefaultAliyunEndpoint
	}
	if region == "" {
		region = DefaultAliyunRegion
	}
	ms := int(s.timeout.Milliseconds())
	cfg := &openapiutil.Config{
		AccessKeyId: dara.String(s.keyID), AccessKeySecret: dara.String(s.secret),
		Endpoint: dara.String(endpoint), Protocol: dara.String(s.scheme), RegionId: dara.String(region),
		ReadTimeout: dara.Int(ms), ConnectTimeout: dara.Int(ms),
	}
	if s.signing == SigningHMACSHA1 {
		cfg.SignatureAlgorithm = dara.String("v2")
	}
	c, err := dysms.NewClient(cfg)
	if err != nil {
		return nil, sdk.ConfigError(FieldEndpoint, "alibaba client: %v", err)
	}
	return &aliyun{c: c, host: host, timeout: s.timeout}, nil
}

func (a *aliyun) runtime() *dara.RuntimeOptions {
	ms := int(a.timeout.Milliseconds())
	return &dara.RuntimeOptions{ReadTimeout: dara.Int(ms), ConnectTimeout: dara.Int(ms), Autoretry: dara.Bool(false)}
}

func (a *aliyun) check(ctx context.Context, sign, _ string) error {
	if err := a.host.Wait(ctx, "*"); err != nil {
		return err
	}
	resp, err := a.c.QuerySmsSignWithContext(ctx, &dysms.QuerySmsSignRequest{SignName: dara.String(sign)}, a.runtime())
	if err != nil {
		return aliyunCallError(ctx, "QuerySmsSign", err)
	}
	code := dara.StringValue(resp.Body.Code)
	if code != "OK" {
		err, _ := aliyunBusiness(code, dara.StringValue(resp.Body.Message), a.host.Now())
		return err
	}
	if st := dara.Int32Value(resp.Body.SignStatus); st != 1 {
		return sdk.ConfigError(FieldSignName, "the signature is not approved (status %d: 0 under review, 2 rejected)", st)
	}
	return nil
}

// aliyunPhone is the PhoneNumbers form of an E.164 number: 11 digits for
// mainland numbers, country code and number otherwise.
func aliyunPhone(e164 string) string {
	if n, ok := strings.CutPrefix(e164, "+86"); ok {
		return n
	}
	return strings.TrimPrefix(e164, "+")
}

func (a *aliyun) send(ctx context.Context, m outgoing) sdk.ActionResult {
	res := sdk.ActionResult{Key: m.key}
	req := &dysms.SendSmsRequest{
		PhoneNumbers: dara.String(aliyunPhone(m.phone)), SignName: dara.String(m.sign),
		TemplateCode: dara.String(m.template), OutId: dara.String(m.key),
	}
	if m.params != "" {
		var obj map[string]string
		if err := json.Unmarshal([]byte(m.params), &obj); err != nil {
			res.Status, res.Err = sdk.StatusFailed, sdk.PermanentError("", "param %s: Alibaba wants a JSON object of strings", ParamTemplateParams)
			return res
		}
		req.TemplateParam = dara.String(m.params)
	}
	if err := a.host.Wait(ctx, "*"); err != nil {
		res.Status, res.Err = sdk.StatusFailed, err
		return res
	}
	resp, err := a.c.SendSmsWithContext(ctx, req, a.runtime())
	if err != nil {
		res.Status, res.Err = sdk.StatusFailed, aliyunCallError(ctx, "SendSms", err)
		return res
	}
	code, ref := dara.StringValue(resp.Body.Code), dara.StringValue(resp.Body.BizId)
	switch code {
	case "OK":
		res.Status, res.PlatformRef = sdk.StatusApplied, ref
	case codeAliyunAlreadySent:
		res.Status, res.PlatformRef = sdk.StatusDuplicate, ref
	default:
		err, refused := aliyunBusiness(code, dara.StringValue(resp.Body.Message), a.host.Now())
		res.Status, res.Err = sdk.StatusFailed, err
		if refused {
			res.Status = sdk.StatusRefused
		}
	}
	return res
}

// sentBefore pages QuerySendDetails for the number's messages of today
// (China time) — and yesterday in the first hour of the day — looking for
// the key as OutId.
func (a *aliyun) sentBefore(ctx context.Context, m outgoing) (string, bool, error) {
	now := a.host.Now().In(mapping.Shanghai)
	days := []time.Time{now}
	if now.Hour() == 0 {
		days = append(days, now.AddDate(0, 0, -1))
	}
	for _, day := range days {
		for page := 1; ; page++ {
			if err := a.host.Wait(ctx, "*"); err != nil {
				return "", false, err
			}
			resp, err := a.c.QuerySendDetailsWithContext(ctx, &dysms.QuerySendDetailsRequest{
				PhoneNumber: dara.String(aliyunPhone(m.phone)), SendDate: dara.String(day.Format("20060102")),
				PageSize: dara.Int64(aliyunPageSize), CurrentPage: dara.Int64(int64(page)),
			}, a.runtime())
			if err != nil {
				return "", false, aliyunCallError(ctx, "QuerySendDetails", err)
			}
			if code := dara.StringValue(resp.Body.Code); code != "OK" {
				err, _ := aliyunBusiness(code, dara.StringValue(resp.Body.Message), a.host.Now())
				return "", false, err
			}
			var dtos []*dysms.QuerySendDetailsResponseBodySmsSendDetailDTOsSmsSendDetailDTO
			if resp.Body.SmsSendDetailDTOs != nil {
				dtos = resp.Body.SmsSendDetailDTOs.SmsSendDetailDTO
			}
			for _, d := range dtos {
				if d != nil && dara.StringValue(d.OutId) == m.key {
					// The DTO has no BizId; the key names the send.
					return m.key, true, nil
				}
			}
			if len(dtos) < aliyunPageSize {
				break
			}
		}
	}
	return "", false, nil
}

func (a *aliyun) pullReplies(context.Context, int) ([]inbound, error) {
	return nil, errPushOnly(StreamReplies, "SmsUp")
}

func (a *aliyun) pullReceipts(context.Context, int) ([]report, error) {
	return nil, errPushOnly(StreamReceipts, "SmsReport")
}

// errPushOnly says a stream of the aliyun provider is fed by HTTP push only.
func errPushOnly(stream, push string) error {
	return sdk.ConfigError("stream", "provider aliyun has no pull API for %s: set the console's %s HTTP push URL to this connection's webhook "+
		"(…/webhooks/{tenant}/{connection}?token=<callback_token>) instead of scheduling a read", stream, push)
}
