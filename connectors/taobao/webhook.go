package taobao

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// HandleWebhook takes the Tmall 会员通 SPI calls (bind.query, bind,
// register, activate). The signature (top.SPISign over the query, the
// headers named in top-sign-list and the raw body) and the timestamp are
// verified before the body is parsed; a call that fails is an auth error and
// nothing is emitted.
//
// The body carries the member's plaintext mobile, which the member agreed to
// share with the brand: the call is emitted on the members stream with a
// phone identity (so the member links to the same person elsewhere by
// phone) and the member's taobao_ouid / taobao_omid / taobao_buyer_open_uid.
// The reply is {"query_code": …}: SUC for bind, register and activate; E02
// (not bound) for bind.query, since the connector keeps no member state —
// Tmall then binds, and that call is recorded.
func (k *Connector) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if req.Method != http.MethodPost {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "taobao SPI calls are POSTs, got %s", req.Method)
	}
	spi, err := top.ParseSPI(req.Query, req.Header, req.Body)
	if err != nil {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "%v", err)
	}
	if err := spi.Verify(k.appKey, k.secret.Reveal(), k.c.now()); err != nil {
		return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassAuth, Message: "spi call rejected", Err: err}
	}
	method := spi.Method()
	switch method {
	case top.SPIBindQuery, top.SPIBind, top.SPIRegister, top.SPIActivate:
	default:
		return reply(top.SPIReply{QueryCode: top.SPICodeSystemError, Message: "method not served"}, nil), nil
	}
	m, err := spi.Member()
	if err != nil {
		bad := sdk.Record{Stream: StreamMembers, Bad: &sdk.BadRecord{Reason: err.Error(), Raw: nil, Location: "spi " + method}}
		return reply(top.SPIReply{QueryCode: top.SPICodeSystemError, Message: "unreadable body"}, []sdk.Record{bad}), nil
	}
	rec, ok := k.spiMemberRecord(m, method)
	if !ok {
		return reply(top.SPIReply{QueryCode: top.SPICodeSystemError, Message: "member without id"}, []sdk.Record{rec}), nil
	}
	code := top.SPICodeOK
	if method == top.SPIBindQuery {
		code = top.SPICodeNotBound
	}
	return reply(top.SPIReply{QueryCode: code}, []sdk.Record{rec}), nil
}

func reply(r top.SPIReply, records []sdk.Record) sdk.WebhookResponse {
	return sdk.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json;charset=utf-8"}}, Body: r.Marshal(), Records: records}
}

// spiMemberRecord maps an SPI member. The record id is the omid, else the
// ouid, else the open id — never the phone. A malformed mobile is left out.
func (k *Connector) spiMemberRecord(m *top.SPIMember, method string) (sdk.Record, bool) {
	mem := &mapping.Member{Subscribed: true, Attributes: map[string]string{"spi_method": method}}
	id := ""
	if m.OMID != "" && k.brand != "" {
		mem.Identities = append(mem.Identities, mapping.Identity{Type: mapping.IDTaobaoOMID, Scope: k.brand, Value: m.OMID})
		id = "omid:" + m.OMID
	}
	if m.OUID != "" {
		mem.Identities = append(mem.Identities, mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: k.shop, Value: m.OUID})
		if id == "" {
			id = m.OUID
		}
	}
	if m.OpenID != "" {
		mem.Identities = append(mem.Identities, mapping.Identity{Type: mapping.IDTaobaoBuyerOpenUID, Scope: k.appKey, Value: m.OpenID})
		if id == "" {
			id = "open:" + m.OpenID
		}
	}
	if m.Mobile != "" {
		if phone, err := mapping.NormalizePhone(m.Mobile); err == nil {
			mem.Identities = append(mem.Identities, mapping.Identity{Type: mapping.IDPhone, Value: phone})
		}
	}
	at := k.c.now().UTC().Truncate(time.Second)
	mem.SubscribedAt = at
	if id == "" {
		sum := sha256.Sum256([]byte(method + "\x00" + m.Nick))
		return sdk.Record{Stream: StreamMembers, Bad: &sdk.BadRecord{Reason: "spi member without omid, ouid or open_id", Location: "spi " + method + " " + hex.EncodeToString(sum[:4])}}, false
	}
	return sdk.Record{Stream: StreamMembers, ID: id, UpdatedAt: at, Member: mem}, true
}
