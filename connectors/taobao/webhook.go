package taobao

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
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
// The reply is {"query_code": …}: SUC for bind, register and activate;
// bind.query is answered from the hub's members (see bindQuery) and emits
// no record.
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
	if method == top.SPIBindQuery {
		return reply(k.bindQuery(ctx, m), nil), nil
	}
	rec, ok := k.spiMemberRecord(m, method)
	if !ok {
		return reply(top.SPIReply{QueryCode: top.SPICodeSystemError, Message: "member without id"}, []sdk.Record{rec}), nil
	}
	return reply(top.SPIReply{QueryCode: top.SPICodeOK}, []sdk.Record{rec}), nil
}

// bindQuery answers tmall.mei.crm.member.bind.query from what the hub knows
// of the mobile (sdk.Host.LookupMember):
//   - SUC, with the points balance and level, when a record of this
//     connection carries it with the asker's Taobao ids (this account bound
//     or registered through Tmall before);
//   - E02 when the brand knows the number from other channels or another
//     Taobao account only, or several members share it (Tmall then calls
//     bind, which is recorded with the mobile and links the Taobao ids to
//     the person);
//   - E01 when nobody holds it, or the mobile is missing or malformed (Tmall
//     then calls register);
//   - E04 (retry) when the hub cannot be asked.
//
// The shop's CRM members carry no mobile, so they are asked to bind: that
// is what brings their number in. A level that is not a whole number (a
// grade name) is sent as 0. The question itself stores nothing.
func (k *Connector) bindQuery(ctx context.Context, m *top.SPIMember) top.SPIReply {
	phone, err := mapping.NormalizePhone(m.Mobile)
	if err != nil {
		return top.SPIReply{QueryCode: top.SPICodeNoMember}
	}
	// Bound is per Taobao account: the record that carries the mobile
	// must carry the asker's ids too (a family's accounts share a number).
	got, err := k.host.LookupMember(ctx, mapping.Identity{Type: mapping.IDPhone, Value: phone}, k.spiAccount(m)...)
	switch {
	case err != nil:
		k.host.Log().Warn().Err(err).Msg("bind.query: member lookup failed")
		return top.SPIReply{QueryCode: top.SPICodeSystemError, Message: "member lookup failed, retry"}
	case got.Linked:
		level, _ := strconv.ParseInt(got.Level, 10, 64)
		return top.SPIReply{QueryCode: top.SPICodeOK, Member: &top.SPIReplyMember{
			Point: got.PointsBalance, Level: max(level, 0), Nick: m.Nick, Mobile: m.Mobile, Extend: m.Extend}}
	case got.Found:
		return top.SPIReply{QueryCode: top.SPICodeNotBound}
	}
	return top.SPIReply{QueryCode: top.SPICodeNoMember}
}

func reply(r top.SPIReply, records []sdk.Record) sdk.WebhookResponse {
	return sdk.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json;charset=utf-8"}}, Body: r.Marshal(), Records: records}
}

// spiAccount is the SPI member's Taobao account ids: taobao_omid (scope
// brand), taobao_ouid (scope shop), taobao_buyer_open_uid (scope app key),
// those the call carries.
func (k *Connector) spiAccount(m *top.SPIMember) []mapping.Identity {
	var ids []mapping.Identity
	if m.OMID != "" && k.brand != "" {
		ids = append(ids, mapping.Identity{Type: mapping.IDTaobaoOMID, Scope: k.brand, Value: m.OMID})
	}
	if m.OUID != "" {
		ids = append(ids, mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: k.shop, Value: m.OUID})
	}
	if m.OpenID != "" {
		ids = append(ids, mapping.Identity{Type: mapping.IDTaobaoBuyerOpenUID, Scope: k.appKey, Value: m.OpenID})
	}
	return ids
}

// spiMemberRecord maps an SPI member. The record id is the omid, else the
// ouid, else the open id — never the phone. A malformed mobile is left out.
func (k *Connector) spiMemberRecord(m *top.SPIMember, method string) (sdk.Record, bool) {
	mem := &mapping.Member{Subscribed: true, Attributes: map[string]string{"spi_method": method}, Identities: k.spiAccount(m)}
	id := ""
	switch {
	case m.OMID != "" && k.brand != "":
		id = "omid:" + m.OMID
	case m.OUID != "":
		id = m.OUID
	case m.OpenID != "":
		id = "open:" + m.OpenID
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
