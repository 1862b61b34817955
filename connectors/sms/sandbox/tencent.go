package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/mapping"
)

// Tencent wire constants.
const (
	TencentVersion = "2021-01-11"
	TencentService = "sms"
	// tencentClockSkew is how far X-TC-Timestamp may be from the server's
	// clock (fact sheet §2.1).
	tencentClockSkew = 5 * time.Minute
)

// Tencent codes the emulator answers (fact sheet §2.3, §2.4).
const (
	TencentOk                                  = "Ok"
	TencentSignatureFailure                    = "AuthFailure.SignatureFailure"
	TencentSignatureExpire                     = "AuthFailure.SignatureExpire"
	TencentSecretIDNotFound                    = "AuthFailure.SecretIdNotFound"
	TencentThirtySecondLimit                   = "LimitExceeded.PhoneNumberThirtySecondLimit"
	TencentDailyLimit                          = "LimitExceeded.PhoneNumberDailyLimit"
	TencentPhoneCountLimit                     = "LimitExceeded.PhoneNumberCountLimit"
	TencentMarketingTime                       = "FailedOperation.MarketingSendTimeConstraint"
	TencentBlacklist                           = "FailedOperation.PhoneNumberInBlacklist"
	TencentSignatureUnapproved                 = "FailedOperation.SignatureIncorrectOrUnapproved"
	TencentTemplateUnapproved                  = "FailedOperation.TemplateIncorrectOrUnapproved"
	TencentTemplateParamMismatch               = "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
	TencentIncorrectPhoneNumber                = "InvalidParameterValue.IncorrectPhoneNumber"
	TencentSdkAppIDNotExist                    = "InvalidParameterValue.SdkAppIdNotExist"
	TencentInvalidParameter                    = "InvalidParameter"
	TencentInvalidAction                       = "InvalidAction"
	TencentUnsupportedProtocol                 = "UnsupportedProtocol"
	TencentMissingAuthorization                = "AuthFailure.MissingAuthorization"
	TencentInvalidAuthorization                = "AuthFailure.InvalidAuthorization"
	TencentRequestLimitExceeded                = "RequestLimitExceeded"
	TencentInternalError                       = "InternalError"
	tencentMaxPhonesPerSend                    = 200
	tencentMaxPull                             = 100
	tencentMarketingStart, tencentMarketingEnd = 8, 22
)

func (s *Server) tencentReply(w http.ResponseWriter, resp map[string]any) {
	resp["RequestId"] = s.requestID()
	writeJSON(w, http.StatusOK, map[string]any{"Response": resp})
}

func (s *Server) tencentError(w http.ResponseWriter, code, message string) {
	s.tencentReply(w, map[string]any{"Error": map[string]string{"Code": code, "Message": message}})
}

func (s *Server) serveTencent(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.tencentError(w, TencentUnsupportedProtocol, "the Go SDK posts JSON; other methods are not emulated")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.tencentError(w, TencentInvalidParameter, "unreadable body")
		return
	}
	if code, msg := s.tencentAuthenticate(r, body); code != "" {
		s.tencentError(w, code, msg)
		return
	}
	action := r.Header.Get("X-TC-Action")
	if f, ok := s.takeFault(action); ok {
		if f.Code == "" {
			w.WriteHeader(f.Status)
			return
		}
		s.tencentError(w, f.Code, "injected fault")
		return
	}
	if v := r.Header.Get("X-TC-Version"); v != TencentVersion {
		s.tencentError(w, "InvalidParameterValue", "version "+v+" is not emulated")
		return
	}
	switch action {
	case "SendSms":
		s.tencentSendSms(w, body)
	case "PullSmsSendStatus":
		s.tencentPull(w, body, false)
	case "PullSmsReplyStatus":
		s.tencentPull(w, body, true)
	case "PullSmsSendStatusByPhoneNumber":
		s.tencentSendStatusByPhone(w, body)
	case "DescribeSmsTemplateList":
		s.tencentTemplates(w, body)
	default:
		s.tencentError(w, TencentInvalidAction, "the action "+action+" is not emulated")
	}
}

// tencentAuthenticate verifies TC3-HMAC-SHA256 over the raw body and returns
// an error code and message, or "".
func (s *Server) tencentAuthenticate(r *http.Request, body []byte) (string, string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return TencentMissingAuthorization, "the Authorization header is missing"
	}
	a, err := ParseTC3Authorization(auth)
	if err != nil {
		return TencentInvalidAuthorization, "the Authorization header is not TC3-HMAC-SHA256"
	}
	if a.SecretID != s.cfg.AccessKeyID {
		return TencentSecretIDNotFound, "the SecretId is not found"
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return TencentInvalidParameter, "X-TC-Timestamp is not a unix time"
	}
	if d := s.cfg.Now().Sub(time.Unix(ts, 0)); d > tencentClockSkew || d < -tencentClockSkew {
		return TencentSignatureExpire, "the signature expired: the timestamp is more than 5 minutes from server time"
	}
	req := TC3Request{Method: r.Method, ContentType: r.Header.Get("Content-Type"), Host: r.Host, Query: r.URL.RawQuery, Body: body, Service: TencentService, Timestamp: ts}
	if r.Method == http.MethodPost {
		req.Query = ""
	}
	if a.Date != req.Date() || a.Service != TencentService || a.SignedHeaders != "content-type;host" || !equalSig(SignTC3(s.cfg.AccessKeySecret, req), a.Signature) {
		return TencentSignatureFailure, "the signature does not match"
	}
	return "", ""
}

type tencentSendRequest struct {
	PhoneNumberSet   []string
	SmsSdkAppID      string `json:"SmsSdkAppId"`
	TemplateID       string `json:"TemplateId"`
	SignName         string
	TemplateParamSet []string
	ExtendCode       string
	SessionContext   string
}

func (s *Server) tencentSendSms(w http.ResponseWriter, body []byte) {
	var req tencentSendRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.tencentError(w, TencentInvalidParameter, "the body is not a SendSms request")
		return
	}
	if req.SmsSdkAppID != s.cfg.SdkAppID {
		s.tencentError(w, TencentSdkAppIDNotExist, "SmsSdkAppId does not exist or does not belong to this account")
		return
	}
	if len(req.PhoneNumberSet) == 0 || len(req.PhoneNumberSet) > tencentMaxPhonesPerSend {
		s.tencentError(w, TencentPhoneCountLimit, "1 to 200 numbers a call")
		return
	}
	if !contains(s.cfg.SignNames, req.SignName) {
		s.tencentError(w, TencentSignatureUnapproved, "the signature is unknown or unapproved")
		return
	}
	t, ok := s.templates[req.TemplateID]
	if !ok {
		s.tencentError(w, TencentTemplateUnapproved, "the template is unknown or unapproved")
		return
	}
	if len(req.TemplateParamSet) != len(t.Params) {
		s.tencentError(w, TencentTemplateParamMismatch, fmt.Sprintf("the template takes %d parameters", len(t.Params)))
		return
	}
	values := map[string]string{}
	for i, name := range t.Params {
		values[name] = req.TemplateParamSet[i]
	}
	content := render(req.SignName, t, values)
	now := s.cfg.Now()
	local := now.In(mapping.Shanghai)

	s.mu.Lock()
	defer s.mu.Unlock()
	set := make([]map[string]any, 0, len(req.PhoneNumberSet))
	for _, raw := range req.PhoneNumberSet {
		st := map[string]any{"PhoneNumber": raw, "SessionContext": req.SessionContext, "Fee": 0, "IsoCode": "CN", "SerialNo": ""}
		fail := func(code, msg string) { st["Code"], st["Message"] = code, msg; set = append(set, st) }
		phone, ok := normalizeMainland(raw)
		if !ok {
			fail(TencentIncorrectPhoneNumber, "incorrect phone number")
			continue
		}
		st["PhoneNumber"] = phone
		key := "tencent:" + req.SessionContext + "|" + phone
		if i, ok := s.byKey[key]; ok && req.SessionContext != "" {
			st["SerialNo"] = s.messages[i].ID
			fail(CodeTencentAlreadySent, "SessionContext was sent to this number before; not sent again (emulator extension)")
			continue
		}
		if t.Kind == KindPromotion && s.optedOut[phone] {
			fail(TencentBlacklist, "the number is on the do-not-disturb list")
			continue
		}
		if t.Kind == KindPromotion && (local.Hour() < tencentMarketingStart || local.Hour() >= tencentMarketingEnd) {
			fail(TencentMarketingTime, "marketing SMS may only be sent between 08:00 and 22:00")
			continue
		}
		if code, msg := s.tencentLimited(phone, content, now); code != "" {
			fail(code, msg)
			continue
		}
		s.seq++
		m := Message{ID: fmt.Sprintf("2645:%019d", s.seq), Phone: phone, SignName: req.SignName, Template: t.ID, Params: values, Key: req.SessionContext, Content: content, SentAt: now}
		if req.SessionContext != "" {
			s.byKey[key] = len(s.messages)
		}
		s.messages = append(s.messages, m)
		s.receipts = append(s.receipts, s.receiptOf(m, now))
		st["SerialNo"], st["Fee"], st["Code"], st["Message"] = m.ID, parts(content), TencentOk, "send success"
		set = append(set, st)
	}
	resp := map[string]any{"SendStatusSet": set}
	resp["RequestId"] = fmt.Sprintf("%08x-5a5a-4000-8000-%012x", s.seq, s.seq*7919)
	writeJSON(w, http.StatusOK, map[string]any{"Response": resp})
}

// tencentLimited applies the default frequency policy (fact sheet §2.5): one
// message of the same content to a number per 30 s, and TencentDailyLimit
// messages to a number per natural day (UTC+8). The caller holds s.mu.
func (s *Server) tencentLimited(phone, content string, now time.Time) (string, string) {
	day := 0
	local := now.In(mapping.Shanghai)
	for _, m := range s.messages {
		if m.Phone != phone {
			continue
		}
		if m.Content == content && now.Sub(m.SentAt) < 30*time.Second {
			return TencentThirtySecondLimit, "the same content was sent to this number within 30 seconds"
		}
		if sameDay(m.SentAt, local) {
			day++
		}
	}
	if day >= s.cfg.TencentDailyLimit {
		return TencentDailyLimit, fmt.Sprintf("the number reached its daily limit of %d messages", s.cfg.TencentDailyLimit)
	}
	return "", ""
}

type tencentPullRequest struct {
	Limit       uint64
	SmsSdkAppID string `json:"SmsSdkAppId"`
	BeginTime   uint64
	EndTime     uint64
	Offset      uint64
	PhoneNumber string
}

func (s *Server) parsePull(w http.ResponseWriter, body []byte) (tencentPullRequest, bool) {
	var req tencentPullRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.tencentError(w, TencentInvalidParameter, "the body is not a pull request")
		return req, false
	}
	if req.SmsSdkAppID != s.cfg.SdkAppID {
		s.tencentError(w, TencentSdkAppIDNotExist, "SmsSdkAppId does not exist or does not belong to this account")
		return req, false
	}
	if req.Limit < 1 || req.Limit > tencentMaxPull {
		s.tencentError(w, TencentInvalidParameter, "Limit must be 1 to 100")
		return req, false
	}
	return req, true
}

// tencentPull serves PullSmsSendStatus / PullSmsReplyStatus: destructive
// queues, each item is returned once.
func (s *Server) tencentPull(w http.ResponseWriter, body []byte, replies bool) {
	req, ok := s.parsePull(w, body)
	if !ok {
		return
	}
	s.mu.Lock()
	var out []map[string]any
	if replies {
		n := min(int(req.Limit), len(s.replies))
		for _, r := range s.replies[:n] {
			out = append(out, s.tencentReplyItem(r))
		}
		s.replies = s.replies[n:]
	} else {
		n := min(int(req.Limit), len(s.receipts))
		for _, r := range s.receipts[:n] {
			out = append(out, tencentStatusItem(r))
		}
		s.receipts = s.receipts[n:]
	}
	s.mu.Unlock()
	if out == nil {
		out = []map[string]any{}
	}
	if replies {
		s.tencentReply(w, map[string]any{"PullSmsReplyStatusSet": out})
	} else {
		s.tencentReply(w, map[string]any{"PullSmsSendStatusSet": out})
	}
}

// tencentSendStatusByPhone serves PullSmsSendStatusByPhoneNumber: the
// receipts of one number since BeginTime (at most 7 days back); it does not
// consume the pull queue.
func (s *Server) tencentSendStatusByPhone(w http.ResponseWriter, body []byte) {
	req, ok := s.parsePull(w, body)
	if !ok {
		return
	}
	phone, ok := normalizeMainland(req.PhoneNumber)
	if !ok {
		s.tencentError(w, TencentIncorrectPhoneNumber, "incorrect phone number")
		return
	}
	now := s.cfg.Now()
	if req.BeginTime == 0 || now.Sub(time.Unix(int64(req.BeginTime), 0)) > 7*24*time.Hour {
		s.tencentError(w, TencentInvalidParameter, "BeginTime must be within the last 7 days")
		return
	}
	out := []map[string]any{}
	for _, m := range s.Messages() {
		if m.Phone != phone || m.SentAt.Unix() < int64(req.BeginTime) || (req.EndTime != 0 && m.SentAt.Unix() > int64(req.EndTime)) {
			continue
		}
		if len(out) == int(req.Limit) {
			break
		}
		out = append(out, tencentStatusItem(receipt{msg: m, at: m.SentAt.Add(time.Second)}))
	}
	s.tencentReply(w, map[string]any{"PullSmsSendStatusSet": out})
}

func (s *Server) tencentTemplates(w http.ResponseWriter, body []byte) {
	var req struct {
		International uint64
		TemplateIDSet []uint64 `json:"TemplateIdSet"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.tencentError(w, TencentInvalidParameter, "the body is not a DescribeSmsTemplateList request")
		return
	}
	out := []map[string]any{}
	for _, id := range req.TemplateIDSet {
		if t, ok := s.templates[strconv.FormatUint(id, 10)]; ok {
			out = append(out, map[string]any{"TemplateId": id, "International": 0, "StatusCode": 0, "ReviewReply": "", "TemplateName": string(t.Kind), "CreateTime": 1704074400, "TemplateContent": t.Text})
		}
	}
	s.tencentReply(w, map[string]any{"DescribeTemplateStatusSet": out})
}

func tencentStatusItem(r receipt) map[string]any {
	status, code := "SUCCESS", "DELIVRD"
	if r.undelivered {
		status, code = "FAIL", "UNDELIV"
	}
	return map[string]any{
		"UserReceiveTime": r.at.Unix(), "CountryCode": "86", "SubscriberNumber": nationalNumber(r.msg.Phone),
		"PhoneNumber": r.msg.Phone, "SerialNo": r.msg.ID, "ReportStatus": status, "Description": code,
		"SessionContext": r.msg.Key,
	}
}

func (s *Server) tencentReplyItem(r Reply) map[string]any {
	return map[string]any{
		"ExtendCode": "", "CountryCode": "86", "PhoneNumber": r.Phone, "SignName": r.Sign,
		"ReplyContent": r.Text, "ReplyTime": r.At.Unix(), "SubscriberNumber": nationalNumber(r.Phone),
	}
}

// tencentStatusCallbacks renders receipts as the delivery status callback (a
// JSON array).
func tencentStatusCallbacks(recs []receipt) []map[string]any {
	out := make([]map[string]any, 0, len(recs))
	for _, r := range recs {
		status, code, text := "SUCCESS", "DELIVRD", "用户短信送达成功"
		if r.undelivered {
			status, code, text = "FAIL", "UNDELIV", "用户短信未送达"
		}
		out = append(out, map[string]any{
			"user_receive_time": mapping.FormatShanghai(r.at), "nationcode": "86", "mobile": nationalNumber(r.msg.Phone),
			"report_status": status, "errmsg": code, "description": text, "sid": r.msg.ID,
		})
	}
	return out
}

// tencentReplyCallback renders one reply as the reply callback (an object).
func (s *Server) tencentReplyCallback(r Reply) map[string]any {
	return map[string]any{"extend": "", "mobile": nationalNumber(r.Phone), "nationcode": "86", "sign": r.Sign, "text": r.Text, "time": r.At.Unix()}
}
