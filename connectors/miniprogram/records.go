package miniprogram

import (
	"context"
	"strconv"
	"strings"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Records are idempotent: every record id is derived from the event's
// content, never from its arrival, so an event delivered twice upserts the
// same records with the same values.
//
//	login              members  login:<openid>[:<unionid>]   openid (+ unionid)
//	phone_bound        members  phone:<openid>               openid + phone (+ unionid)
//	member_registered  members  member:<openid>              openid (+ unionid, phone, member_card) + profile
//	order_*            orders   <order_id>                   the order; its buyer is the openid (+ unionid)
//
// Each kind of member event has its own record, so a phone_bound never
// drops the unionid a login linked. A login that carries a unionid has a
// record apart from one that does not, for the same reason. Orders are keyed
// by the brand's order id alone, so the events of one order (and the
// reconciliation stream, when order_id is the WeChat Pay out_trade_no)
// converge on one order; the hub keeps the version with the latest
// UpdatedAt (the event's occurred_at), so an older event arriving late never
// rolls an order back.

// phoneCodeError is a phone code WeChat refused (40029: unknown, expired or
// already used). Retrying the event will not help.
type phoneCodeError struct{ err error }

func (e *phoneCodeError) Error() string { return "data.phone_code: " + e.err.Error() }
func (e *phoneCodeError) Unwrap() error { return e.err }

// records maps an accepted event to the records it makes.
func (k *Connector) records(ctx context.Context, ev *event) ([]sdk.Record, error) {
	switch ev.Type {
	case EventLogin:
		return k.loginRecord(ev)
	case EventPhoneBound:
		return k.phoneRecord(ctx, ev)
	case EventMemberRegistered:
		return k.memberRecord(ctx, ev)
	}
	return k.orderRecord(ev)
}

func (k *Connector) checkAppID(appid string) error {
	if appid != "" && appid != k.appID {
		return bad("data.appid", "is not this connection's mini-program %s", k.appID)
	}
	return nil
}

// identities returns the openid and, when the connection knows its open
// platform, the unionid.
func (k *Connector) identities(openid, unionid string) ([]mapping.Identity, error) {
	switch {
	case openid == "":
		return nil, bad("data.openid", "is required")
	case !idLike(openid):
		return nil, bad("data.openid", "want 1 to %d printable characters without spaces", maxIDLen)
	case unionid != "" && !idLike(unionid):
		return nil, bad("data.unionid", "want 1 to %d printable characters without spaces", maxIDLen)
	}
	ids := []mapping.Identity{{Type: mapping.IDMiniprogramOpenID, Scope: k.appID, Value: openid}}
	if unionid != "" && k.openPlatform != "" {
		ids = append(ids, mapping.Identity{Type: mapping.IDWechatUnionID, Scope: k.openPlatform, Value: unionid})
	}
	return ids, nil
}

func hasType(ids []mapping.Identity, t mapping.IdentityType) bool {
	for _, id := range ids {
		if id.Type == t {
			return true
		}
	}
	return false
}

func (k *Connector) loginRecord(ev *event) ([]sdk.Record, error) {
	var d loginData
	if err := decodeStrict(ev.Data, &d, "data"); err != nil {
		return nil, err
	}
	if err := k.checkAppID(d.AppID); err != nil {
		return nil, err
	}
	ids, err := k.identities(d.OpenID, d.UnionID)
	if err != nil {
		return nil, err
	}
	id := "login:" + d.OpenID
	if hasType(ids, mapping.IDWechatUnionID) {
		id += ":" + d.UnionID
	}
	m := &mapping.Member{Identities: ids, Subscribed: true, Attributes: map[string]string{"last_event": string(ev.Type)}}
	return []sdk.Record{{Stream: StreamMembers, ID: id, UpdatedAt: ev.OccurredAt, Member: m}}, nil
}

// phone returns the E.164 number an event carries, exchanging a phone code
// with WeChat when the backend forwarded one. required says the event is
// about the phone.
func (k *Connector) phone(ctx context.Context, d *phoneData, required bool) (string, error) {
	switch {
	case d.Phone != "" && d.PhoneCode != "":
		return "", bad("data.phone", "send phone or phone_code, not both")
	case d.PhoneCode != "":
		return k.exchangePhoneCode(ctx, d.PhoneCode, d.OpenID)
	case d.Phone == "":
		if required {
			return "", bad("data.phone", "is required (or send the getPhoneNumber button's code as phone_code)")
		}
		return "", nil
	}
	cc, err := rawText("data.country_code", d.CountryCode)
	if err != nil {
		return "", err
	}
	raw := strings.TrimSpace(d.Phone)
	if cc = strings.TrimPrefix(strings.TrimSpace(cc), "+"); cc != "" && cc != "86" && !strings.HasPrefix(raw, "+") && !strings.HasPrefix(raw, "00") {
		raw = "+" + cc + raw
	}
	e164, err := mapping.NormalizePhone(raw)
	if err != nil {
		// The number itself is never quoted back.
		return "", bad("data.phone", "is not a valid phone number (mainland mobiles have 11 digits starting with 1; others need country_code)")
	}
	return e164, nil
}

// exchangePhoneCode calls getuserphonenumber. The code is single use and
// expires after 5 minutes; neither it nor the number reaches a log.
func (k *Connector) exchangePhoneCode(ctx context.Context, code, openid string) (string, error) {
	if !printable(code, 512) {
		return "", bad("data.phone_code", "want the code from the getPhoneNumber button, as given")
	}
	info, err := k.c.phoneNumber(ctx, code, openid)
	if err != nil {
		if platformCode(err) == codeInvalidCode {
			return "", &phoneCodeError{err: err}
		}
		return "", err
	}
	if info.Watermark.AppID != "" && info.Watermark.AppID != k.appID {
		return "", &phoneCodeError{err: sdk.PermanentError("", "the code was issued to another mini-program")}
	}
	raw := info.PhoneNumber
	if info.PurePhoneNumber != "" && info.CountryCode != "" {
		raw = "+" + strings.TrimPrefix(info.CountryCode, "+") + info.PurePhoneNumber
	}
	e164, err := mapping.NormalizePhone(raw)
	if err != nil {
		return "", sdk.PermanentError("", "getuserphonenumber answered a number that does not normalise")
	}
	return e164, nil
}

func (k *Connector) phoneRecord(ctx context.Context, ev *event) ([]sdk.Record, error) {
	var d phoneData
	if err := decodeStrict(ev.Data, &d, "data"); err != nil {
		return nil, err
	}
	if err := k.checkAppID(d.AppID); err != nil {
		return nil, err
	}
	ids, err := k.identities(d.OpenID, d.UnionID)
	if err != nil {
		return nil, err
	}
	e164, err := k.phone(ctx, &d, true)
	if err != nil {
		return nil, err
	}
	ids = append(ids, mapping.Identity{Type: mapping.IDPhone, Value: e164})
	m := &mapping.Member{Identities: ids, Subscribed: true, Attributes: map[string]string{"last_event": string(ev.Type)}}
	return []sdk.Record{{Stream: StreamMembers, ID: "phone:" + d.OpenID, UpdatedAt: ev.OccurredAt, Member: m}}, nil
}

func (k *Connector) memberRecord(ctx context.Context, ev *event) ([]sdk.Record, error) {
	var d memberData
	if err := decodeStrict(ev.Data, &d, "data"); err != nil {
		return nil, err
	}
	if err := k.checkAppID(d.AppID); err != nil {
		return nil, err
	}
	ids, err := k.identities(d.OpenID, d.UnionID)
	if err != nil {
		return nil, err
	}
	gender, err := rawText("data.profile.gender", d.Profile.Gender)
	if err != nil {
		return nil, err
	}
	if _, err := mapping.ParseBirthday(d.Profile.Birthday); err != nil {
		return nil, bad("data.profile.birthday", "want YYYY-MM-DD")
	}
	registered, err := optionalTime("data.registered_at", d.RegisteredAt)
	if err != nil {
		return nil, err
	}
	if registered.IsZero() {
		registered = ev.OccurredAt
	}
	attrs := map[string]string{"last_event": string(ev.Type)}
	if d.MemberCardNo != "" {
		switch {
		case !idLike(d.MemberCardNo):
			return nil, bad("data.member_card_no", "want 1 to %d printable characters without spaces", maxIDLen)
		case k.brand != "":
			ids = append(ids, mapping.Identity{Type: mapping.IDMemberCard, Scope: k.brand, Value: d.MemberCardNo})
		default:
			attrs["member_card_no"] = d.MemberCardNo
		}
	}
	e164, err := k.phone(ctx, &d.phoneData, false)
	if err != nil {
		return nil, err
	}
	if e164 != "" {
		ids = append(ids, mapping.Identity{Type: mapping.IDPhone, Value: e164})
	}
	m := &mapping.Member{
		Identities: ids,
		Name:       strings.TrimSpace(d.Profile.Name),
		Gender:     mapping.NormalizeGender(gender),
		Birthday:   d.Profile.Birthday,
		City:       d.Profile.City, Province: d.Profile.Province, Country: d.Profile.Country,
		Level:        d.Level,
		Subscribed:   true,
		SubscribedAt: registered,
		Attributes:   attrs,
	}
	return []sdk.Record{{Stream: StreamMembers, ID: "member:" + d.OpenID, UpdatedAt: ev.OccurredAt, Member: m}}, nil
}

// orderStatus maps an order event to the canonical status.
func orderStatus(t EventType) mapping.OrderStatus {
	switch t {
	case EventOrderCreated:
		return mapping.OrderPendingPayment
	case EventOrderPaid:
		return mapping.OrderPaid
	case EventOrderShipped:
		return mapping.OrderShipped
	case EventOrderRefunded:
		return mapping.OrderRefunded
	}
	return mapping.OrderUnknown
}

func (k *Connector) orderRecord(ev *event) ([]sdk.Record, error) {
	var d orderData
	if err := decodeStrict(ev.Data, &d, "data"); err != nil {
		return nil, err
	}
	if err := k.checkAppID(d.AppID); err != nil {
		return nil, err
	}
	switch {
	case d.OrderID == "":
		return nil, bad("data.order_id", "is required")
	case !idLike(d.OrderID):
		return nil, bad("data.order_id", "want 1 to %d printable characters without spaces", maxIDLen)
	}
	buyer, err := k.identities(d.OpenID, d.UnionID)
	if err != nil {
		return nil, err
	}
	o := &mapping.Order{
		Platform: Platform, Shop: k.appID, OrderID: d.OrderID,
		Status: orderStatus(ev.Type), PlatformStatus: string(ev.Type),
		UpdatedAt: ev.OccurredAt, Buyer: buyer, Region: strings.TrimSpace(d.Region),
	}
	amounts := []struct {
		field    string
		raw      []byte
		required bool
		dst      *mapping.Fen
	}{
		{"data.total_fen", d.TotalFen, true, &o.TotalFen},
		{"data.paid_fen", d.PaidFen, ev.Type != EventOrderCreated, &o.PaidFen},
		{"data.discount_fen", d.DiscountFen, false, &o.DiscountFen},
		{"data.shipping_fen", d.ShippingFen, false, &o.ShippingFen},
		{"data.refund_fen", d.RefundFen, ev.Type == EventOrderRefunded, &o.RefundFen},
	}
	for _, a := range amounts {
		v, err := whole(a.field, a.raw, a.required)
		if err != nil {
			return nil, err
		}
		*a.dst = mapping.Fen(v)
	}
	if o.RefundFen > o.PaidFen && ev.Type != EventOrderCreated {
		return nil, bad("data.refund_fen", "is more than paid_fen")
	}
	if o.CreatedAt, err = optionalTime("data.created_at", d.CreatedAt); err != nil {
		return nil, err
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = ev.OccurredAt
	}
	if o.PaidAt, err = optionalTime("data.paid_at", d.PaidAt); err != nil {
		return nil, err
	}
	if o.PaidAt.IsZero() && ev.Type == EventOrderPaid {
		o.PaidAt = ev.OccurredAt
	}
	for i, it := range d.Items {
		prefix := "data.items[" + strconv.Itoa(i) + "]"
		qty, err := whole(prefix+".quantity", it.Quantity, true)
		if err != nil {
			return nil, err
		}
		if qty == 0 {
			return nil, bad(prefix+".quantity", "must be at least 1")
		}
		price, err := whole(prefix+".unit_price_fen", it.UnitPriceFen, true)
		if err != nil {
			return nil, err
		}
		if it.SKU == "" && it.ProductID == "" && it.Title == "" {
			return nil, bad(prefix, "needs a sku, product_id or title")
		}
		o.Items = append(o.Items, mapping.OrderItem{SKU: it.SKU, ProductID: it.ProductID, Title: it.Title, Quantity: qty, UnitPriceFen: mapping.Fen(price)})
	}
	return []sdk.Record{{Stream: StreamOrders, ID: d.OrderID, UpdatedAt: ev.OccurredAt, Order: o}}, nil
}
