package doudian_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
)

// vecPushBody is vector C5's raw body.
const vecPushBody = `[{"tag":"101","msg_id":"7012345678901234567:101:1700000000","data":"{\"p_id\":6900000000000000001,\"shop_id\":12345,\"order_status\":2}"}]`

func TestVerifyEventSign(t *testing.T) {
	t.Parallel()
	body := []byte(vecPushBody)
	tests := []struct {
		name        string
		key, secret string
		body        []byte
		header      string
		wantErr     bool
	}{
		{name: "C5 valid", key: vecAppKey, secret: vecSecret, body: body, header: "0670154f0e7b9ee2fdd4960e603f91ff"},
		{name: "upper-case hex accepted", key: vecAppKey, secret: vecSecret, body: body, header: "0670154F0E7B9EE2FDD4960E603F91FF"},
		{name: "hmac-sha256 variant", key: vecAppKey, secret: vecSecret, body: body, header: "d2e20e6dbe3200740664e0c0868b472eea3d87f4d3da2c1fb94fbaab220424d0"},
		{name: "tampered body", key: vecAppKey, secret: vecSecret, body: []byte(strings.Replace(vecPushBody, `\"order_status\":2`, `\"order_status\":5`, 1)), header: "0670154f0e7b9ee2fdd4960e603f91ff", wantErr: true},
		{name: "body with trailing newline", key: vecAppKey, secret: vecSecret, body: append([]byte(vecPushBody), '\n'), header: "0670154f0e7b9ee2fdd4960e603f91ff", wantErr: true},
		{name: "wrong secret", key: vecAppKey, secret: "other", body: body, header: "0670154f0e7b9ee2fdd4960e603f91ff", wantErr: true},
		{name: "wrong app key", key: "7000000000000000002", secret: vecSecret, body: body, header: "0670154f0e7b9ee2fdd4960e603f91ff", wantErr: true},
		{name: "missing header", key: vecAppKey, secret: vecSecret, body: body, header: "", wantErr: true},
		{name: "truncated header", key: vecAppKey, secret: vecSecret, body: body, header: "0670154f0e7b9ee2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := doudian.VerifyEventSign(tt.key, tt.secret, tt.body, tt.header)
			if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, doudian.ErrBadSignature)) {
				t.Fatalf("VerifyEventSign error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	if got := doudian.EventSign(vecAppKey, vecSecret, body); got != "0670154f0e7b9ee2fdd4960e603f91ff" {
		t.Fatalf("EventSign = %s", got)
	}
}

func TestParsePush(t *testing.T) {
	t.Parallel()
	msgs, err := doudian.ParsePush([]byte(vecPushBody))
	if err != nil || len(msgs) != 1 {
		t.Fatalf("ParsePush = %v, %v", msgs, err)
	}
	m := msgs[0]
	if m.Tag != doudian.TagOrderPaid || m.MsgID != "7012345678901234567:101:1700000000" {
		t.Fatalf("message = %+v", m)
	}
	ev, err := m.Trade()
	if err != nil {
		t.Fatal(err)
	}
	if ev.PID != 6900000000000000001 || ev.OrderID() != "6900000000000000001" || ev.ShopID != 12345 || ev.OrderStatus != doudian.OrderStatusAwaitingShipment {
		t.Fatalf("trade event = %+v", ev)
	}
	if _, err := doudian.ParsePush([]byte(`{"tag":"101"}`)); err == nil {
		t.Fatal("ParsePush accepted an object")
	}
	if _, err := (doudian.PushMessage{Tag: "101", Data: "not json"}).Trade(); err == nil {
		t.Fatal("Trade accepted bad data")
	}
}

func TestPushReplies(t *testing.T) {
	t.Parallel()
	var r doudian.PushReply
	if err := json.Unmarshal(doudian.PushOK(), &r); err != nil || r.Code != 0 || r.Msg != "success" {
		t.Fatalf("PushOK = %s", doudian.PushOK())
	}
	if err := json.Unmarshal(doudian.PushFail("db down"), &r); err != nil || r.Code == 0 || r.Msg != "db down" {
		t.Fatalf("PushFail = %s", doudian.PushFail("db down"))
	}
}

func TestMemberSPIReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		desc string
		want string
	}{
		{doudian.MemberSPIOK, "", `{"code":0,"message":"success","data":{"error_code":0,"description":"success"}}`},
		{doudian.MemberSPIRetry, "store busy", `{"code":0,"message":"success","data":{"error_code":100,"description":"store busy"}}`},
		{doudian.MemberSPIRejected, "blocked member", `{"code":0,"message":"success","data":{"error_code":200,"description":"blocked member"}}`},
	}
	for _, tt := range tests {
		if got := string(doudian.MemberSPIReply(tt.code, tt.desc)); got != tt.want {
			t.Errorf("MemberSPIReply(%d) = %s, want %s", tt.code, got, tt.want)
		}
	}
	if got := string(doudian.SPIBadSignReply()); got != `{"code":10001,"message":"验证签名失败"}` {
		t.Errorf("SPIBadSignReply = %s", got)
	}
}

func TestSPIRequestVerify(t *testing.T) {
	t.Parallel()
	const ts = "1700000000"
	canonical := `{"event":"join","mobile":"13800138000","name":"A<B>","open_id":"o1","shop_id":12345}`
	escaped := `{"event":"join","mobile":"13800138000","name":"A\u003cB\u003e","open_id":"o1","shop_id":12345}`
	// The body as the platform might send it: unsorted, spaced.
	body := `{"open_id":"o1", "shop_id":12345, "event":"join", "mobile":"13800138000", "name":"A<B>"}`
	tests := []struct {
		name    string
		query   url.Values
		body    string
		wantErr bool
	}{
		{name: "md5 over unescaped sorted json", query: url.Values{"sign": {doudian.SPISign(doudian.SignMD5, vecAppKey, vecSecret, ts, canonical)}}, body: body},
		{name: "md5 over escaped sorted json", query: url.Values{"sign": {doudian.SPISign(doudian.SignMD5, vecAppKey, vecSecret, ts, escaped)}}, body: body},
		{name: "hmac in sign_v2", query: url.Values{"sign": {"00"}, "sign_v2": {doudian.SPISign(doudian.SignHMACSHA256, vecAppKey, vecSecret, ts, canonical)}, "sign_method": {"hmac-sha256"}}, body: body},
		{name: "param_json in query", query: url.Values{"param_json": {body}, "sign": {doudian.SPISign(doudian.SignMD5, vecAppKey, vecSecret, ts, canonical)}}},
		{name: "tampered", query: url.Values{"sign": {doudian.SPISign(doudian.SignMD5, vecAppKey, vecSecret, ts, canonical)}}, body: strings.Replace(body, "o1", "o2", 1), wantErr: true},
		{name: "signed with another method", query: url.Values{"sign": {doudian.SPISign(doudian.SignHMACSHA256, vecAppKey, vecSecret, ts, canonical)}}, body: body, wantErr: true},
		{name: "other app", query: url.Values{"app_key": {"7000000000000000009"}, "sign": {doudian.SPISign(doudian.SignMD5, vecAppKey, vecSecret, ts, canonical)}}, body: body, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := tt.query
			if q.Get("app_key") == "" {
				q.Set("app_key", vecAppKey)
			}
			q.Set("timestamp", ts)
			r := httptest.NewRequest("POST", "/spi/member?"+q.Encode(), strings.NewReader(tt.body))
			s, err := doudian.ParseSPIRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Verify(vecAppKey, vecSecret)
			if tt.wantErr != (err != nil) {
				t.Fatalf("Verify error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			ev, err := s.MemberEvent()
			if err != nil || ev.OpenID != "o1" || ev.Event != doudian.MemberEventJoin || ev.ShopID != 12345 || ev.Mobile != "13800138000" {
				t.Fatalf("MemberEvent = %+v, %v", ev, err)
			}
		})
	}
}
