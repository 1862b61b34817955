package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// HandleWebhook takes the providers' HTTP callbacks at the connection's
// webhook URL:
//
//   - Alibaba: the SmsReport and SmsUp batch pushes, each a JSON array; the
//     reply is {"code":0,"msg":"接收成功"}.
//   - Tencent: the delivery status callback (a JSON array) and the reply
//     callback (one JSON object); the reply is {"result":0,"errmsg":"OK"}.
//
// Neither provider signs its callbacks, so the URL configured in the console
// must carry ?token=<callback_token>; the token is checked in constant time
// before the body is parsed, and a request without it is refused as auth.
// Replies that are opt-out keywords come back as records on the replies
// stream, delivery reports as receipt records on the receipts stream. An unreadable body is
// acknowledged (redelivery would not help) and returned as a bad record.
func (k *Connector) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if req.Method != http.MethodPost {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "sms callbacks are POSTs, got %s", req.Method)
	}
	want := k.token.Reveal()
	if want == "" {
		return sdk.WebhookResponse{}, sdk.ConfigError(FieldCallbackToken, "set a callback token and add ?token=… to the callback URL: the providers do not sign callbacks")
	}
	q, _ := url.ParseQuery(req.Query)
	if !hmac.Equal([]byte(q.Get("token")), []byte(want)) {
		return sdk.WebhookResponse{}, sdk.AuthError("", "callback without the connection's token")
	}
	body := bytes.TrimSpace(req.Body)
	var (
		ins     []inbound
		reports []report
		err     error
	)
	if k.provider == ProviderTencent {
		ins, reports, err = parseTencentCallback(body)
	} else {
		ins, reports, err = parseAliyunPush(body)
	}
	if err != nil {
		bad := sdk.Record{Stream: StreamReplies, Bad: &sdk.BadRecord{Reason: err.Error(), Raw: req.Body, Location: "callback body"}}
		return k.ack([]sdk.Record{bad}), nil
	}
	var records []sdk.Record
	for _, in := range ins {
		if rec, ok := k.replyRecord(in); ok {
			records = append(records, rec)
		}
	}
	for _, r := range reports {
		records = append(records, r.receipt())
	}
	return k.ack(records), nil
}

// ack is the reply each provider expects.
func (k *Connector) ack(records []sdk.Record) sdk.WebhookResponse {
	body := []byte(`{"code":0,"msg":"接收成功"}`)
	if k.provider == ProviderTencent {
		body = []byte(`{"result":0,"errmsg":"OK"}`)
	}
	return sdk.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body, Records: records}
}

// aliyunPushItem is one item of an SmsReport or SmsUp push.
type aliyunPushItem struct {
	PhoneNumber string `json:"phone_number"`
	SendTime    string `json:"send_time"`
	Content     string `json:"content"`
	SignName    string `json:"sign_name"`
	// SmsReport only.
	ReportTime string `json:"report_time"`
	BizID      string `json:"biz_id"`
	OutID      string `json:"out_id"`
	Success    bool   `json:"success"`
	ErrCode    string `json:"err_code"`
	ErrMsg     string `json:"err_msg"`
}

// parseAliyunPush reads a push: items with content are SmsUp replies,
// the others SmsReport receipts.
func parseAliyunPush(body []byte) ([]inbound, []report, error) {
	var items []aliyunPushItem
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, nil, errBody("an Alibaba push is a JSON array of SmsReport or SmsUp items")
	}
	var ins []inbound
	var reports []report
	for _, it := range items {
		if it.ReportTime != "" || it.BizID != "" {
			at, err := mapping.ParseShanghai(it.ReportTime)
			if err != nil || (it.OutID == "" && it.BizID == "") {
				return nil, nil, errBody("an SmsReport item needs a valid report_time and an out_id or biz_id")
			}
			reports = append(reports, report{key: it.OutID, ref: it.BizID, delivered: it.Success, code: it.ErrCode, detail: it.ErrMsg, at: at})
			continue
		}
		at, err := mapping.ParseShanghai(it.SendTime)
		if err != nil {
			return nil, nil, errBody("an SmsUp item has no valid send_time")
		}
		ins = append(ins, inbound{phone: it.PhoneNumber, text: it.Content, sign: it.SignName, at: at})
	}
	return ins, reports, nil
}

// tencentReply is Tencent's reply callback.
type tencentReply struct {
	Mobile     string      `json:"mobile"`
	NationCode string      `json:"nationcode"`
	Sign       string      `json:"sign"`
	Text       string      `json:"text"`
	Time       json.Number `json:"time"`
}

// tencentStatus is one item of Tencent's delivery status callback. It does
// not echo the SessionContext: the send's SerialNo comes back as sid.
type tencentStatus struct {
	UserReceiveTime string `json:"user_receive_time"`
	ReportStatus    string `json:"report_status"`
	ErrMsg          string `json:"errmsg"`
	Description     string `json:"description"`
	SID             string `json:"sid"`
}

// parseTencentCallback reads a status callback (an array) or a reply
// callback (an object).
func parseTencentCallback(body []byte) ([]inbound, []report, error) {
	if len(body) > 0 && body[0] == '[' {
		var items []tencentStatus
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, nil, errBody("a Tencent status callback is a JSON array of status objects")
		}
		reports := make([]report, 0, len(items))
		for _, it := range items {
			at, err := mapping.ParseShanghai(it.UserReceiveTime)
			if err != nil || it.SID == "" {
				return nil, nil, errBody("a Tencent status item needs a sid and a valid user_receive_time")
			}
			reports = append(reports, report{ref: it.SID, delivered: it.ReportStatus == "SUCCESS", code: it.ErrMsg, detail: it.Description, at: at})
		}
		return nil, reports, nil
	}
	var r tencentReply
	if err := json.Unmarshal(body, &r); err != nil || r.Mobile == "" {
		return nil, nil, errBody("a Tencent reply callback is a JSON object with mobile and text")
	}
	sec, err := strconv.ParseInt(r.Time.String(), 10, 64)
	if err != nil {
		return nil, nil, errBody("a Tencent reply callback has no unix time")
	}
	phone, err := tencentE164(r.NationCode, r.Mobile)
	if err != nil {
		phone = r.Mobile // replyRecord turns it into a bad record
	}
	return []inbound{{phone: phone, text: r.Text, sign: r.Sign, at: time.Unix(sec, 0).UTC()}}, nil, nil
}

type errBody string

func (e errBody) Error() string { return string(e) }
