package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// flexString is a JSON string that may also be given as a number (ids exported
// from a database often are) or null.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (t *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = flexString(s)
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*t = flexString(b)
	default:
		return fmt.Errorf("want a string, got %s", b)
	}
	return nil
}

// memberLine is one line of a JSON Lines members file.
type memberLine struct {
	ID         flexString         `json:"id"`
	Identities []mapping.Identity `json:"identities"`
	Name       string             `json:"name"`
	Gender     flexString         `json:"gender"`
	Birthday   string             `json:"birthday"`
	City       string             `json:"city"`
	Province   string             `json:"province"`
	Country    string             `json:"country"`
	Level      flexString         `json:"level"`
	Points     int64              `json:"points"`
	Tags       []string           `json:"tags"`
	Attributes map[string]string  `json:"attributes"`
	Consents   []consentLine      `json:"consents"`
	UpdatedAt  string             `json:"updated_at"`
}

// consentLine is a marketing consent as exports record it.
type consentLine struct {
	Channel string `json:"channel"`
	OptIn   *bool  `json:"opt_in"`
	At      string `json:"at"`
}

// consents validates and maps a line's consents; the file is their source.
func consents(in []consentLine) ([]mapping.Consent, error) {
	var out []mapping.Consent
	for i, c := range in {
		ch := mapping.ConsentChannel(strings.TrimSpace(c.Channel))
		if ch != mapping.ConsentSMS && ch != mapping.ConsentWechat && ch != mapping.ConsentEmail {
			return nil, fmt.Errorf("consents[%d].channel: %q: want sms, wechat or email", i, c.Channel)
		}
		if c.OptIn == nil {
			return nil, fmt.Errorf("consents[%d].opt_in: required (true or false)", i)
		}
		at, err := time.Parse(time.RFC3339, strings.TrimSpace(c.At))
		if err != nil {
			return nil, fmt.Errorf("consents[%d].at: %q: want RFC 3339, e.g. 2024-05-01T10:00:00+08:00", i, c.At)
		}
		out = append(out, mapping.Consent{Channel: ch, OptIn: *c.OptIn, Source: "file", At: at.UTC()})
	}
	return out, nil
}

// orderLine is one line of a JSON Lines orders file.
type orderLine struct {
	ID             flexString         `json:"id"`
	Platform       string             `json:"platform"`
	Shop           flexString         `json:"shop"`
	OrderID        flexString         `json:"order_id"`
	Status         string             `json:"status"`
	PlatformStatus string             `json:"platform_status"`
	TotalFen       mapping.Fen        `json:"total_fen"`
	PaidFen        mapping.Fen        `json:"paid_fen"`
	DiscountFen    mapping.Fen        `json:"discount_fen"`
	ShippingFen    mapping.Fen        `json:"shipping_fen"`
	RefundFen      mapping.Fen        `json:"refund_fen"`
	CreatedAt      string             `json:"created_at"`
	PaidAt         string             `json:"paid_at"`
	UpdatedAt      string             `json:"updated_at"`
	Region         string             `json:"region"`
	Buyer          []mapping.Identity `json:"buyer"`
	Items          []itemLine         `json:"items"`
}

type itemLine struct {
	SKU          flexString  `json:"sku"`
	ProductID    flexString  `json:"product_id"`
	Title        string      `json:"title"`
	Quantity     *int64      `json:"quantity"`
	UnitPriceFen mapping.Fen `json:"unit_price_fen"`
}

// decodeStrict decodes one JSON object, refusing unknown fields (a typo
// would otherwise drop data silently) and anything after the object.
func decodeStrict(line string, v any) error {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("bad JSON: more after the object")
	}
	return nil
}

// jsonMember maps a JSON Lines member.
func jsonMember(line, loc string) (sdk.Record, error) {
	var l memberLine
	if err := decodeStrict(line, &l); err != nil {
		return sdk.Record{}, err
	}
	ids, err := identities(l.Identities, "identities")
	if err != nil {
		return sdk.Record{}, err
	}
	m := &mapping.Member{
		Identities: ids, Name: strings.TrimSpace(l.Name), Gender: mapping.NormalizeGender(string(l.Gender)),
		City: strings.TrimSpace(l.City), Province: strings.TrimSpace(l.Province), Country: strings.TrimSpace(l.Country),
		Level: strings.TrimSpace(string(l.Level)), Points: l.Points, Subscribed: true,
	}
	if len(l.Attributes) > 0 {
		m.Attributes = l.Attributes
	}
	if m.Consents, err = consents(l.Consents); err != nil {
		return sdk.Record{}, err
	}
	for _, t := range l.Tags {
		if t = strings.TrimSpace(t); t != "" {
			m.Tags = append(m.Tags, mapping.Tag{Name: t})
		}
	}
	return member(m, string(l.ID), l.Birthday, l.UpdatedAt, loc)
}

// csvMember maps a CSV member row.
func csvMember(r row, loc string) (sdk.Record, error) {
	m := &mapping.Member{
		Identities: r.identities(), Name: r.get("name"), Gender: mapping.NormalizeGender(r.get("gender")),
		City: r.get("city"), Province: r.get("province"), Country: r.get("country"), Level: r.get("level"),
		Subscribed: true,
	}
	if p := r.get("points"); p != "" {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return sdk.Record{}, fmt.Errorf("points %q: want a whole number", p)
		}
		m.Points = n
	}
	for _, t := range strings.FieldsFunc(r.get("tags"), isTagSeparator) {
		if t = strings.TrimSpace(t); t != "" {
			m.Tags = append(m.Tags, mapping.Tag{Name: t})
		}
	}
	return member(m, r.get("id"), r.get("birthday"), r.get("updated_at"), loc)
}

// isTagSeparator splits a CSV tags cell: "VIP|新客", "VIP,新客", "VIP；新客"…
func isTagSeparator(r rune) bool { return strings.ContainsRune("|,，;；、", r) }

// member finishes a member record: id, birthday, time, identities.
func member(m *mapping.Member, id, birthday, updated, loc string) (sdk.Record, error) {
	if len(m.Identities) == 0 {
		return sdk.Record{}, errors.New("member has no identity with a value")
	}
	b, err := parseBirthday(birthday)
	if err != nil {
		return sdk.Record{}, err
	}
	m.Birthday = b
	at, err := parseTime("updated_at", updated)
	if err != nil {
		return sdk.Record{}, err
	}
	if id = strings.TrimSpace(id); id == "" {
		id = loc
	}
	return sdk.Record{Stream: StreamMembers, ID: id, UpdatedAt: at, Member: m}, nil
}

// identities validates identities given in a file. An identity whose value
// is empty or blank is left out, as an empty CSV cell gives no identity: it
// would link nothing (the hub drops empty values from every record), and it
// must not cost the row its other identities. Its type and scope are still
// checked: an unknown type or a missing scope is a mapping mistake.
func identities(in []mapping.Identity, what string) ([]mapping.Identity, error) {
	out := make([]mapping.Identity, 0, len(in))
	for i, id := range in {
		id.Value = strings.TrimSpace(id.Value)
		id.Scope = strings.TrimSpace(id.Scope)
		check := id
		if check.Value == "" {
			check.Value = "-" // judge type and scope alone
		}
		if err := check.Validate(); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		if id.Value != "" {
			out = append(out, id)
		}
	}
	return out, nil
}

// jsonOrder maps a JSON Lines order.
func jsonOrder(line string) (sdk.Record, error) {
	var l orderLine
	if err := decodeStrict(line, &l); err != nil {
		return sdk.Record{}, err
	}
	buyer, err := identities(l.Buyer, "buyer")
	if err != nil {
		return sdk.Record{}, err
	}
	o := &mapping.Order{
		Platform: strings.TrimSpace(l.Platform), Shop: strings.TrimSpace(string(l.Shop)), OrderID: strings.TrimSpace(string(l.OrderID)),
		PlatformStatus: l.PlatformStatus, TotalFen: l.TotalFen, PaidFen: l.PaidFen, DiscountFen: l.DiscountFen,
		ShippingFen: l.ShippingFen, RefundFen: l.RefundFen, Region: l.Region, Buyer: buyer,
	}
	if len(buyer) == 0 {
		o.Buyer = nil
	}
	for i, it := range l.Items {
		q := int64(1)
		if it.Quantity != nil {
			q = *it.Quantity
		}
		if q < 0 {
			return sdk.Record{}, fmt.Errorf("items[%d]: negative quantity %d", i, q)
		}
		o.Items = append(o.Items, mapping.OrderItem{SKU: string(it.SKU), ProductID: string(it.ProductID), Title: it.Title, Quantity: q, UnitPriceFen: it.UnitPriceFen})
	}
	return order(o, string(l.ID), l.Status, l.CreatedAt, l.PaidAt, l.UpdatedAt)
}

// csvOrder maps a CSV order row: one order, with at most one item.
func csvOrder(r row) (sdk.Record, error) {
	o := &mapping.Order{Platform: r.get("platform"), Shop: r.get("shop"), OrderID: r.get("order_id"), Region: r.get("region"), Buyer: r.identities()}
	for _, a := range []struct {
		field string
		to    *mapping.Fen
	}{{"total", &o.TotalFen}, {"paid", &o.PaidFen}, {"discount", &o.DiscountFen}} {
		if err := yuan(r.get(a.field), a.field, a.to); err != nil {
			return sdk.Record{}, err
		}
	}
	sku, title, qty, price := r.get("sku"), r.get("title"), r.get("quantity"), r.get("unit_price")
	if sku != "" || title != "" || qty != "" || price != "" {
		it := mapping.OrderItem{SKU: sku, Title: title, Quantity: 1}
		if qty != "" {
			n, err := strconv.ParseInt(qty, 10, 64)
			if err != nil || n < 0 {
				return sdk.Record{}, fmt.Errorf("quantity %q: want a whole number", qty)
			}
			it.Quantity = n
		}
		if err := yuan(price, "unit_price", &it.UnitPriceFen); err != nil {
			return sdk.Record{}, err
		}
		o.Items = []mapping.OrderItem{it}
	}
	return order(o, r.get("id"), r.get("status"), r.get("created_at"), r.get("paid_at"), r.get("updated_at"))
}

// yuan parses an amount in yuan, exactly; "" leaves 0.
func yuan(s, field string, to *mapping.Fen) error {
	if s == "" {
		return nil
	}
	f, err := mapping.ParseYuan(s)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	*to = f
	return nil
}

// order finishes an order record: key, status, times, id.
func order(o *mapping.Order, id, status, created, paid, updated string) (sdk.Record, error) {
	if o.Platform == "" {
		o.Platform = DefaultPlatform
	}
	if o.OrderID == "" {
		return sdk.Record{}, errors.New("order has no order_id")
	}
	status = strings.TrimSpace(status)
	if status == "" {
		return sdk.Record{}, errors.New("order has no status")
	}
	st, err := mapping.ParseOrderStatus(status)
	if err != nil {
		return sdk.Record{}, fmt.Errorf("%w (want pending_payment, paid, shipped, completed, cancelled, refunding, refunded or unknown)", err)
	}
	o.Status = st
	for _, t := range []struct {
		field, value string
		to           *time.Time
	}{{"created_at", created, &o.CreatedAt}, {"paid_at", paid, &o.PaidAt}, {"updated_at", updated, &o.UpdatedAt}} {
		if *t.to, err = parseTime(t.field, t.value); err != nil {
			return sdk.Record{}, err
		}
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
		if o.PaidAt.After(o.UpdatedAt) {
			o.UpdatedAt = o.PaidAt
		}
	}
	return sdk.Record{Stream: StreamOrders, ID: orderRecordID(id, o.Platform, o.Shop, o.OrderID), UpdatedAt: o.UpdatedAt, Order: o}, nil
}

// orderRecordID is an order's record id: its id, else its key
// platform/shop/order_id (platform offline when not given), stable across
// re-exports; "" when it has neither an id nor an order_id.
func orderRecordID(id, platform, shop, orderID string) string {
	id, orderID = strings.TrimSpace(id), strings.TrimSpace(orderID)
	if id != "" || orderID == "" {
		return id
	}
	if platform = strings.TrimSpace(platform); platform == "" {
		platform = DefaultPlatform
	}
	return platform + "/" + strings.TrimSpace(shop) + "/" + orderID
}

// timeLayouts are the wall-clock layouts accepted besides RFC 3339, read in
// Asia/Shanghai ("1" and "2" take one or two digits).
var timeLayouts = []string{
	"2006-1-2 15:04:05", "2006-1-2T15:04:05", "2006-1-2 15:04", "2006/1/2 15:04:05", "2006/1/2 15:04", "2006-1-2", "2006/1/2",
}

// parseTime parses RFC 3339, or a wall-clock time in Asia/Shanghai such as
// "2024-05-01 10:00:00" or "2024/5/1 10:00", and returns it in UTC. "" gives
// the zero time.
func parseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, mapping.Shanghai); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: want RFC 3339 or YYYY-MM-DD hh:mm:ss (Asia/Shanghai)", field, s)
}

// parseBirthday returns a birthday as YYYY-MM-DD. It takes YYYY-MM-DD,
// YYYY/M/D and YYYYMMDD; the placeholders exports use for "unknown"
// (0000-00-00, 00000000) give "".
func parseBirthday(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "0000-00-00", "0000/00/00", "00000000":
		return "", nil
	}
	if _, err := mapping.ParseBirthday(s); err == nil {
		return s, nil
	}
	for _, l := range []string{"2006-1-2", "2006/1/2", "20060102"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.Format(time.DateOnly), nil
		}
	}
	return "", fmt.Errorf("birthday %q: want YYYY-MM-DD", s)
}
