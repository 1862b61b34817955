package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/channelhub/channelhub/mapping"
)

// Alibaba wire constants.
const (
	AliyunVersion = "2017-05-25"
	// aliyunClockSkew is how far x-acs-date / Timestamp may be from the
	// server's clock, and how long a nonce is remembered.
	aliyunClockSkew = 15 * time.Minute
	aliyunHostID    = "dysmsapi.aliyuncs.com"
	aliyunTimeFmt   = "2006-01-02T15:04:05Z"
)

// Alibaba codes the emulator answers (fact sheet §1.5, §1.6).
const (
	AliyunOK                    = "OK"
	AliyunBusinessLimitControl  = "isv.BUSINESS_LIMIT_CONTROL"
	AliyunMobileNumberIllegal   = "isv.MOBILE_NUMBER_ILLEGAL"
	AliyunMobileCountOverLimit  = "isv.MOBILE_COUNT_OVER_LIMIT"
	AliyunTemplateMissingParams = "isv.TEMPLATE_MISSING_PARAMETERS"
	AliyunInvalidJSONParam      = "isv.INVALID_JSON_PARAM"
	AliyunInvalidParameters     = "isv.INVALID_PARAMETERS"
	AliyunSignatureIllegal      = "isv.SMS_SIGNATURE_ILLEGAL"
	AliyunTemplateIllegal       = "isv.SMS_TEMPLATE_ILLEGAL"
	AliyunSignatureDoesNotMatch = "SignatureDoesNotMatch"
	AliyunAccessKeyNotFound     = "InvalidAccessKeyId.NotFound"
	AliyunTimestampExpired      = "InvalidTimeStamp.Expired"
	AliyunNonceUsed             = "SignatureNonceUsed"
)

// aliyunError is a gateway-level rejection: an HTTP 4xx with a JSON body.
type aliyunError struct {
	status  int
	code    string
	message string
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%08X-5A5A-4000-8000-%012X", s.seq, s.seq*7919)
}

func (s *Server) aliyunGatewayError(w http.ResponseWriter, e *aliyunError) {
	id := s.requestID()
	writeJSON(w, e.status, map[string]string{
		"RequestId": id, "HostId": aliyunHostID, "Code": e.code, "Message": e.message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + e.code + "&product=Dysmsapi&requestId=" + id,
	})
}

func (s *Server) aliyunBusiness(w http.ResponseWriter, code, message string) {
	writeJSON(w, http.StatusOK, map[string]string{"Code": code, "Message": message, "RequestId": s.requestID()})
}

func (s *Server) serveAliyun(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.aliyunGatewayError(w, &aliyunError{http.StatusBadRequest, "InvalidParameter", "unreadable body"})
		return
	}
	params, action, aerr := s.aliyunAuthenticate(r, body)
	if aerr != nil {
		s.aliyunGatewayError(w, aerr)
		return
	}
	if f, ok := s.takeFault(action); ok {
		if f.Status == 0 || f.Status == http.StatusOK {
			s.aliyunBusiness(w, f.Code, "injected fault")
		} else {
			s.aliyunGatewayError(w, &aliyunError{f.Status, f.Code, "injected fault"})
		}
		return
	}
	switch action {
	case "SendSms":
		s.aliyunSendSms(w, params)
	case "QuerySendDetails":
		s.aliyunQuerySendDetails(w, params)
	case "QuerySmsSign":
		s.aliyunQuerySmsSign(w, params)
	default:
		s.aliyunGatewayError(w, &aliyunError{http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."})
	}
}

// aliyunAuthenticate verifies the ACS3 or legacy RPC signature and returns
// the request's parameters (query plus form body) and its action.
func (s *Server) aliyunAuthenticate(r *http.Request, body []byte) (url.Values, string, *aliyunError) {
	params := url.Values{}
	for k, v := range r.URL.Query() {
		params[k] = v
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" && len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, "", &aliyunError{http.StatusBadRequest, "InvalidParameter", "malformed form body"}
		}
		for k, v := range form {
			params[k] = v
		}
	}
	mismatch := &aliyunError{http.StatusBadRequest, AliyunSignatureDoesNotMatch, "Specified signature is not matched with our calculation."}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, AlgACS3) {
		a, err := ParseACS3Authorization(auth)
		if err != nil {
			return nil, "", &aliyunError{http.StatusBadRequest, "IncompleteSignature", "The request signature does not conform to Aliyun standards."}
		}
		if a.AccessKeyID != s.cfg.AccessKeyID {
			return nil, "", &aliyunError{http.StatusNotFound, AliyunAccessKeyNotFound, "Specified access key is not found."}
		}
		headers := map[string]string{}
		for _, n := range a.SignedHeaders {
			if n == "host" {
				headers[n] = r.Host
			} else {
				headers[n] = r.Header.Get(n)
			}
		}
		sum := sha256.Sum256(body)
		payload := hex.EncodeToString(sum[:])
		if r.Header.Get("x-acs-content-sha256") != payload {
			return nil, "", mismatch
		}
		if e := s.aliyunFresh(r.Header.Get("x-acs-date"), r.Header.Get("x-acs-signature-nonce")); e != nil {
			return nil, "", e
		}
		want := SignACS3(s.cfg.AccessKeySecret, ACS3Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Headers: headers, SignedHeaders: a.SignedHeaders, PayloadHash: payload})
		if !equalSig(want, a.Signature) || !contains(a.SignedHeaders, "host") || !contains(a.SignedHeaders, "x-acs-date") {
			return nil, "", mismatch
		}
		if v := r.Header.Get("x-acs-version"); v != AliyunVersion {
			return nil, "", &aliyunError{http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid."}
		}
		return params, r.Header.Get("x-acs-action"), nil
	}
	sig := params.Get("Signature")
	if sig == "" {
		return nil, "", &aliyunError{http.StatusBadRequest, "MissingSignature", "Signature is mandatory for this action."}
	}
	if params.Get("AccessKeyId") != s.cfg.AccessKeyID {
		return nil, "", &aliyunError{http.StatusNotFound, AliyunAccessKeyNotFound, "Specified access key is not found."}
	}
	if params.Get("SignatureMethod") != RPCSignatureMethod || params.Get("SignatureVersion") != "1.0" {
		return nil, "", &aliyunError{http.StatusBadRequest, "InvalidSignatureMethod", "Specified signature method is not supported."}
	}
	if e := s.aliyunFresh(params.Get("Timestamp"), params.Get("SignatureNonce")); e != nil {
		return nil, "", e
	}
	if !equalSig(SignRPC(r.Method, s.cfg.AccessKeySecret, params), sig) {
		return nil, "", mismatch
	}
	if params.Get("Version") != AliyunVersion {
		return nil, "", &aliyunError{http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid."}
	}
	return params, params.Get("Action"), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// aliyunFresh checks the timestamp window and nonce reuse.
func (s *Server) aliyunFresh(ts, nonce string) *aliyunError {
	t, err := time.Parse(aliyunTimeFmt, ts)
	if err != nil {
		return &aliyunError{http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."}
	}
	if d := s.cfg.Now().Sub(t); d > aliyunClockSkew || d < -aliyunClockSkew {
		return &aliyunError{http.StatusBadRequest, AliyunTimestampExpired, "Specified time stamp or date value is expired."}
	}
	if nonce == "" {
		return &aliyunError{http.StatusBadRequest, "MissingSignatureNonce", "SignatureNonce is mandatory for this action."}
	}
	if !s.useNonce("aliyun:"+nonce, aliyunClockSkew) {
		return &aliyunError{http.StatusBadRequest, AliyunNonceUsed, "Specified signature nonce was used already."}
	}
	return nil
}

func (s *Server) aliyunSendSms(w http.ResponseWriter, p url.Values) {
	raw := strings.Split(p.Get("PhoneNumbers"), ",")
	if p.Get("PhoneNumbers") == "" {
		s.aliyunBusiness(w, AliyunMobileNumberIllegal, "手机号码格式错误")
		return
	}
	if len(raw) > 1000 {
		s.aliyunBusiness(w, AliyunMobileCountOverLimit, "手机号码数量超过限制")
		return
	}
	phones := make([]string, 0, len(raw))
	for _, ph := range raw {
		e164, ok := normalizeMainland(ph)
		if !ok {
			s.aliyunBusiness(w, AliyunMobileNumberIllegal, "手机号码格式错误")
			return
		}
		phones = append(phones, e164)
	}
	sign := p.Get("SignName")
	if !contains(s.cfg.SignNames, sign) {
		s.aliyunBusiness(w, AliyunSignatureIllegal, "签名不合法(不存在或被拉黑)")
		return
	}
	t, ok := s.templates[p.Get("TemplateCode")]
	if !ok {
		s.aliyunBusiness(w, AliyunTemplateIllegal, "模板不合法(不存在或被拉黑)")
		return
	}
	values := map[string]string{}
	if tp := p.Get("TemplateParam"); tp != "" {
		var anyValues map[string]any
		if err := json.Unmarshal([]byte(tp), &anyValues); err != nil {
			s.aliyunBusiness(w, AliyunInvalidJSONParam, "JSON参数不合法，只接受字符串值")
			return
		}
		for k, v := range anyValues {
			str, ok := v.(string)
			if !ok {
				s.aliyunBusiness(w, AliyunInvalidJSONParam, "JSON参数不合法，只接受字符串值")
				return
			}
			values[k] = str
		}
	}
	for _, name := range t.Params {
		if values[name] == "" {
			s.aliyunBusiness(w, AliyunTemplateMissingParams, "模板缺少变量")
			return
		}
	}
	outID := p.Get("OutId")
	if len(outID) >= 256 {
		s.aliyunBusiness(w, AliyunInvalidParameters, "参数异常: OutId")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	reqID := fmt.Sprintf("%08X-5A5A-4000-8000-%012X", s.seq, s.seq*7919)
	if outID != "" {
		if i, ok := s.byKey[outID]; ok {
			writeJSON(w, http.StatusOK, map[string]string{"Code": CodeAliyunAlreadySent, "Message": "OutId was sent before; not sent again (emulator extension)", "BizId": s.messages[i].ID, "RequestId": reqID})
			return
		}
	}
	now := s.cfg.Now()
	for _, ph := range phones {
		if msg := s.aliyunLimited(t, sign, ph, now); msg != "" {
			writeJSON(w, http.StatusOK, map[string]string{"Code": AliyunBusinessLimitControl, "Message": msg, "RequestId": reqID})
			return
		}
	}
	bizID := fmt.Sprintf("9%017d^0", s.seq)
	for _, ph := range phones {
		m := Message{ID: bizID, Phone: ph, SignName: sign, Template: t.ID, Params: values, Key: outID, Content: render(sign, t, values), SentAt: now}
		if outID != "" {
			s.byKey[outID] = len(s.messages)
		}
		s.messages = append(s.messages, m)
		s.receipts = append(s.receipts, s.receiptOf(m, now))
	}
	writeJSON(w, http.StatusOK, map[string]string{"Code": AliyunOK, "Message": "OK", "BizId": bizID, "RequestId": reqID})
}

// aliyunLimited applies the per-number frequency control of fact sheet §1.7
// and returns the Message of isv.BUSINESS_LIMIT_CONTROL, or "". Verification
// codes: 1 a calendar minute and 5 a calendar hour (UTC+8), 10 a rolling
// 24 h, per signature and number. Other templates: 50 a rolling 24 h per
// signature, template and number. The caller holds s.mu.
func (s *Server) aliyunLimited(t Template, sign, phone string, now time.Time) string {
	local := now.In(mapping.Shanghai)
	var minute, hour, day int
	for _, m := range s.messages {
		if m.Phone != phone || m.SignName != sign {
			continue
		}
		if t.Kind != KindVerification && m.Template != t.ID {
			continue
		}
		if t.Kind == KindVerification && s.templates[m.Template].Kind != KindVerification {
			continue
		}
		at := m.SentAt.In(mapping.Shanghai)
		if now.Sub(m.SentAt) < 24*time.Hour {
			day++
		}
		if at.Truncate(time.Hour).Equal(local.Truncate(time.Hour)) && at.Day() == local.Day() {
			hour++
			if at.Truncate(time.Minute).Equal(local.Truncate(time.Minute)) {
				minute++
			}
		}
	}
	if t.Kind != KindVerification {
		if day >= 50 {
			return "触发天级流控Permits:50"
		}
		return ""
	}
	switch {
	case minute >= 1:
		return "触发分钟级流控Permits:1"
	case hour >= 5:
		return "触发小时级流控Permits:5"
	case day >= 10:
		return "触发天级流控Permits:10"
	}
	return ""
}

func (s *Server) aliyunQuerySendDetails(w http.ResponseWriter, p url.Values) {
	phone, ok := normalizeMainland(p.Get("PhoneNumber"))
	if !ok {
		s.aliyunBusiness(w, AliyunMobileNumberIllegal, "手机号码格式错误")
		return
	}
	day, err := time.ParseInLocation("20060102", p.Get("SendDate"), mapping.Shanghai)
	now := s.cfg.Now()
	if err != nil || now.Sub(day) > 31*24*time.Hour || day.After(now) {
		s.aliyunBusiness(w, AliyunInvalidParameters, "参数异常: SendDate 需为近30天内的 yyyyMMdd")
		return
	}
	size, err1 := strconv.Atoi(p.Get("PageSize"))
	page, err2 := strconv.Atoi(p.Get("CurrentPage"))
	if err1 != nil || err2 != nil || size < 1 || size > 50 || page < 1 {
		s.aliyunBusiness(w, AliyunInvalidParameters, "参数异常: PageSize 1-50, CurrentPage ≥ 1")
		return
	}
	biz := p.Get("BizId")
	var match []map[string]any
	for _, m := range s.Messages() {
		if m.Phone != phone || !sameDay(m.SentAt, day) || (biz != "" && m.ID != biz) {
			continue
		}
		match = append(match, map[string]any{
			"PhoneNum": nationalNumber(m.Phone), "SendStatus": 3, "ErrCode": "DELIVERED", "TemplateCode": m.Template,
			"Content": m.Content, "SendDate": mapping.FormatShanghai(m.SentAt), "ReceiveDate": mapping.FormatShanghai(m.SentAt.Add(time.Second)),
			"OutId": m.Key,
		})
	}
	total := len(match)
	from := min((page-1)*size, total)
	to := min(from+size, total)
	writeJSON(w, http.StatusOK, map[string]any{
		"Code": AliyunOK, "Message": "OK", "RequestId": s.requestID(), "TotalCount": total,
		"SmsSendDetailDTOs": map[string]any{"SmsSendDetailDTO": match[from:to]},
	})
}

func sameDay(t, day time.Time) bool {
	a := t.In(mapping.Shanghai)
	return a.Year() == day.Year() && a.YearDay() == day.YearDay()
}

func (s *Server) aliyunQuerySmsSign(w http.ResponseWriter, p url.Values) {
	sign := p.Get("SignName")
	if !contains(s.cfg.SignNames, sign) {
		s.aliyunBusiness(w, AliyunSignatureIllegal, "签名不合法(不存在或被拉黑)")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"Code": AliyunOK, "Message": "OK", "RequestId": s.requestID(), "SignName": sign,
		"SignStatus": 1, "CreateDate": "2024-01-01 10:00:00", "Reason": "",
	})
}

// aliyunReports renders receipts as the SmsReport HTTP push (a JSON array).
func aliyunReports(recs []receipt) []map[string]any {
	out := make([]map[string]any, 0, len(recs))
	for _, r := range recs {
		ok, code, text := true, "DELIVERED", "用户接收成功"
		if r.undelivered {
			ok, code, text = false, "UNDELIV", "用户接收失败"
		}
		out = append(out, map[string]any{
			"phone_number": nationalNumber(r.msg.Phone), "send_time": mapping.FormatShanghai(r.msg.SentAt),
			"report_time": mapping.FormatShanghai(r.at), "success": ok, "err_code": code, "err_msg": text,
			"sms_size": strconv.Itoa(parts(r.msg.Content)), "biz_id": r.msg.ID, "out_id": r.msg.Key,
		})
	}
	return out
}

// aliyunUps renders replies as the SmsUp HTTP push (a JSON array).
func aliyunUps(reps []Reply) []map[string]any {
	out := make([]map[string]any, 0, len(reps))
	for _, r := range reps {
		out = append(out, map[string]any{
			"phone_number": nationalNumber(r.Phone), "send_time": mapping.FormatShanghai(r.At), "content": r.Text,
			"sign_name": r.Sign, "dest_code": "", "sequence_id": r.Seq,
		})
	}
	return out
}
