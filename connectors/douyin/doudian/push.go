package doudian

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/channelhub/channelhub/mapping"
)

// Headers of a push (message) request.
const (
	HeaderAppID      = "app-id"     // the app key
	HeaderEventSign  = "event-sign" // see EventSign
	HeaderSignMethod = "sign-method"
)

// Push tags (message types). Data payloads are hints: re-read the order.
const (
	TagVerify                = "0" // URL check message (L)
	TagOrderCreated          = "100"
	TagOrderPaid             = "101" // paid / confirmed
	TagOrderShipped          = "102"
	TagOrderCompleted        = "103"
	TagLogisticsChanged      = "104"
	TagAddressChanged        = "105"
	TagOrderCancelled        = "106"
	TagOrderPartlyShipped    = "108"
	TagOrderAmountChanged    = "109"
	TagOrderPaidPending      = "110" // paid, pending processing
	TagAddressChangeAsked    = "111"
	TagSellerRemark          = "113"
	TagShipTimeChanged       = "126"
	TagRefundCreated         = "200"
	TagRefundAgreed          = "201"
	TagReturnAgreed          = "202"
	TagBuyerReturned         = "203"
	TagRefundRefused         = "204"
	TagReturnRefused         = "205"
	TagRefundSucceeded       = "206"
	TagAfterSaleClosed       = "207"
	TagAfterSaleModified     = "208"
	TagProductChanged        = "400"
	TagProductContentChanged = "417"
)

// ErrBadSignature is returned when a push or SPI signature does not verify.
var ErrBadSignature = errors.New("doudian: signature does not verify")

// PushMessage is one element of a push body, a JSON array of messages. Data
// is itself a JSON document carried as a string.
type PushMessage struct {
	Tag   string `json:"tag"`
	MsgID string `json:"msg_id"`
	Data  string `json:"data"`
}

// ParsePush parses a push body. Verify it first (VerifyEventSign).
func ParsePush(body []byte) ([]PushMessage, error) {
	var msgs []PushMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		return nil, fmt.Errorf("doudian push: body is not a message array: %w", err)
	}
	return msgs, nil
}

// TradeEvent is the data of the order messages (tags 100–110): the parent
// order id (PID), its child ids and the new status, plus what the tag adds
// (pay fields on 101/110, CompleteTime on 103, cancel fields on 106).
type TradeEvent struct {
	PID          int64       `json:"p_id"`
	SIDs         []int64     `json:"s_ids"`
	ShopID       int64       `json:"shop_id"`
	OrderStatus  int         `json:"order_status"`
	OrderType    int         `json:"order_type"`
	Biz          int         `json:"biz"`
	CreateTime   int64       `json:"create_time,omitempty"`
	PayTime      int64       `json:"pay_time,omitempty"`
	PayAmount    mapping.Fen `json:"pay_amount,omitempty"`
	PayType      int         `json:"pay_type,omitempty"`
	UpdateTime   int64       `json:"update_time,omitempty"`
	CompleteTime int64       `json:"complete_time,omitempty"`
	CancelTime   int64       `json:"cancel_time,omitempty"`
	CancelReason string      `json:"cancel_reason,omitempty"`
}

// OrderID is the parent order id in the string form the order APIs use.
func (e *TradeEvent) OrderID() string { return strconv.FormatInt(e.PID, 10) }

// Trade decodes the data of an order message.
func (m PushMessage) Trade() (*TradeEvent, error) {
	var e TradeEvent
	if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
		return nil, fmt.Errorf("doudian push %s (tag %s): data: %w", m.MsgID, m.Tag, err)
	}
	return &e, nil
}

// EventSign is the event-sign header of a push body:
// lower-hex md5(app_key + body + app_secret).
func EventSign(appKey, appSecret string, body []byte) string {
	h := md5.New()
	h.Write([]byte(appKey))
	h.Write(body)
	h.Write([]byte(appSecret))
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyEventSign checks a push body against its event-sign header. The
// documented algorithm is md5 (EventSign); a 64-digit header is checked as
// HMAC-SHA256 keyed with the secret over the same string, the variant a
// "sign-method: hmac-sha256" header likely means (L: not confirmed). It
// returns nil or an error wrapping ErrBadSignature.
func VerifyEventSign(appKey, appSecret string, body []byte, header string) error {
	got := strings.ToLower(strings.TrimSpace(header))
	var want string
	switch len(got) {
	case md5.Size * 2:
		want = EventSign(appKey, appSecret, body)
	case sha256.Size * 2:
		m := hmac.New(sha256.New, []byte(appSecret))
		m.Write([]byte(appKey))
		m.Write(body)
		m.Write([]byte(appSecret))
		want = hex.EncodeToString(m.Sum(nil))
	case 0:
		return fmt.Errorf("%w: no %s header", ErrBadSignature, HeaderEventSign)
	default:
		return fmt.Errorf("%w: %s header has %d characters", ErrBadSignature, HeaderEventSign, len(got))
	}
	if !hmac.Equal([]byte(got), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

// PushReply is the body a push receiver answers with (HTTP 200). Code 0 is
// success; any other code makes the platform retry.
type PushReply struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// PushOK is the success reply body, {"code":0,"msg":"success"}.
func PushOK() []byte { return []byte(`{"code":0,"msg":"success"}`) }

// PushFail is a failure reply body with code 1: the platform retries.
func PushFail(msg string) []byte {
	b, _ := json.Marshal(PushReply{Code: 1, Msg: msg})
	return b
}

// SPIRequest is a call the platform makes to the app (SPI): query parameters
// app_key, timestamp, sign, sign_v2, sign_method, and param_json in the query
// or, when absent there, as the body.
type SPIRequest struct {
	AppKey     string
	Timestamp  string
	Sign       string
	SignV2     string
	SignMethod SignMethod
	ParamJSON  []byte
}

// ParseSPIRequest reads an SPI request (and its body).
func ParseSPIRequest(r *http.Request) (*SPIRequest, error) {
	q := r.URL.Query()
	s := &SPIRequest{
		AppKey:     q.Get("app_key"),
		Timestamp:  q.Get("timestamp"),
		Sign:       q.Get("sign"),
		SignV2:     q.Get("sign_v2"),
		SignMethod: SignMethod(q.Get("sign_method")),
		ParamJSON:  []byte(q.Get("param_json")),
	}
	if len(s.ParamJSON) == 0 && r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			return nil, fmt.Errorf("doudian spi: read body: %w", err)
		}
		s.ParamJSON = b
	}
	return s, nil
}

// Verify checks the request was signed by the platform for this app: the
// app key must match and sign or sign_v2 must equal SPISign over the
// sorted-key param_json, first in encoding/json's HTML-escaped form, then
// unescaped (what the official SDK accepts).
func (s *SPIRequest) Verify(appKey, appSecret string) error {
	if s.AppKey != appKey {
		return fmt.Errorf("%w: spi app_key %q is not this app's", ErrBadSignature, s.AppKey)
	}
	for _, escape := range []bool{true, false} {
		sorted, err := canonicalize(s.ParamJSON, escape)
		if err != nil {
			return fmt.Errorf("doudian spi: param_json: %w", err)
		}
		want := SPISign(s.SignMethod, appKey, appSecret, s.Timestamp, string(sorted))
		if hmac.Equal([]byte(want), []byte(strings.ToLower(s.Sign))) || hmac.Equal([]byte(want), []byte(strings.ToLower(s.SignV2))) {
			return nil
		}
	}
	return ErrBadSignature
}

// SPI reply codes (the reply's code field).
const (
	SPICodeOK      = 0
	SPICodeBadSign = 10001 // 验证签名失败
)

// Member join/leave SPI result codes (data.error_code).
const (
	MemberSPIOK       = 0   // handled
	MemberSPIRetry    = 100 // internal trouble: the platform retries
	MemberSPIRejected = 200 // business refusal: retrying will not help
)

// SPIReply is the body an app answers an SPI request with. Data carries a
// member SPI's business result.
type SPIReply struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Data    *MemberSPIResult `json:"data,omitempty"`
}

// MemberSPIResult is a member join/leave SPI's business result.
type MemberSPIResult struct {
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
}

// MemberSPIReply is the reply body to a member join/leave SPI request:
// {"code":0,"message":"success","data":{"error_code":…,"description":…}}
// with errorCode MemberSPIOK, MemberSPIRetry or MemberSPIRejected.
//
// Uncertain (L): the 抖店 SPI envelope (code/message, 10001 = bad signature)
// is from the official SDK; the 0/100/200 error_code meanings are documented
// for Douyin's member join/leave SPI on open.douyin.com, and the 抖店 member
// SPI payloads were not found. Check against the console before production.
func MemberSPIReply(errorCode int, description string) []byte {
	if description == "" {
		description = "success"
	}
	b, _ := json.Marshal(SPIReply{Code: SPICodeOK, Message: "success", Data: &MemberSPIResult{ErrorCode: errorCode, Description: description}})
	return b
}

// SPIBadSignReply is the reply body for an SPI request whose signature does
// not verify.
func SPIBadSignReply() []byte {
	b, _ := json.Marshal(SPIReply{Code: SPICodeBadSign, Message: "验证签名失败"})
	return b
}

// Member SPI events (MemberSPIEvent.Event).
const (
	MemberEventJoin  = "join"
	MemberEventLeave = "leave"
)

// MemberSPIEvent is the param_json of a member join/leave SPI request as the
// sandbox sends it (L: field names modelled on Douyin's member join SPI;
// the 抖店 payload is not published). Mobile is the plaintext number the
// member consented to share, without country code.
type MemberSPIEvent struct {
	Event     string `json:"event"`
	OpenID    string `json:"open_id"`
	UnionID   string `json:"union_id,omitempty"`
	Mobile    string `json:"mobile,omitempty"`
	ShopID    int64  `json:"shop_id"`
	EventTime int64  `json:"event_time"`
}

// MemberEvent decodes the request's param_json as a member SPI event.
func (s *SPIRequest) MemberEvent() (*MemberSPIEvent, error) {
	var e MemberSPIEvent
	if err := json.Unmarshal(s.ParamJSON, &e); err != nil {
		return nil, fmt.Errorf("doudian spi: member event: %w", err)
	}
	return &e, nil
}
