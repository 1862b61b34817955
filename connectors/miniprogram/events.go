package miniprogram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// EventType is the type of an event the brand's backend sends.
type EventType string

// The event types (README.md lists each with an example).
const (
	EventLogin            EventType = "login"
	EventPhoneBound       EventType = "phone_bound"
	EventMemberRegistered EventType = "member_registered"
	EventOrderCreated     EventType = "order_created"
	EventOrderPaid        EventType = "order_paid"
	EventOrderShipped     EventType = "order_shipped"
	EventOrderRefunded    EventType = "order_refunded"
)

// EventTypes lists every event type, in README order.
func EventTypes() []EventType {
	return []EventType{EventLogin, EventPhoneBound, EventMemberRegistered, EventOrderCreated, EventOrderPaid, EventOrderShipped, EventOrderRefunded}
}

func (t EventType) known() bool {
	for _, k := range EventTypes() {
		if t == k {
			return true
		}
	}
	return false
}

// event is a decoded event envelope.
type event struct {
	ID         string
	Type       EventType
	OccurredAt time.Time
	Data       json.RawMessage
}

// fieldError is a malformed event: Field names the JSON field at fault
// ("event_id", "data.openid", "data.items[1].quantity"…).
type fieldError struct {
	Field  string
	Reason string
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Reason }

func bad(field, format string, args ...any) error {
	return &fieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// maxIDLen bounds event ids, openids, order ids and the like.
const maxIDLen = 128

// parseEvent decodes the envelope. Data is decoded later, by type.
func parseEvent(body []byte) (*event, error) {
	var env struct {
		EventID    *string         `json:"event_id"`
		Type       *string         `json:"type"`
		OccurredAt *string         `json:"occurred_at"`
		Data       json.RawMessage `json:"data"`
	}
	if err := decodeStrict(body, &env, ""); err != nil {
		return nil, err
	}
	ev := &event{}
	switch {
	case env.EventID == nil || *env.EventID == "":
		return nil, bad("event_id", "is required")
	case !idLike(*env.EventID):
		return nil, bad("event_id", "want 1 to %d printable characters without spaces", maxIDLen)
	}
	ev.ID = *env.EventID
	if env.Type == nil || *env.Type == "" {
		return nil, bad("type", "is required")
	}
	ev.Type = EventType(*env.Type)
	if !ev.Type.known() {
		return nil, bad("type", "%q is not one of login, phone_bound, member_registered, order_created, order_paid, order_shipped, order_refunded", truncate(*env.Type))
	}
	if env.OccurredAt == nil || *env.OccurredAt == "" {
		return nil, bad("occurred_at", "is required")
	}
	t, err := time.Parse(time.RFC3339Nano, *env.OccurredAt)
	if err != nil {
		return nil, bad("occurred_at", "want an RFC 3339 time such as 2024-05-01T10:00:00+08:00")
	}
	ev.OccurredAt = t.UTC()
	if len(bytes.TrimSpace(env.Data)) == 0 || bytes.Equal(bytes.TrimSpace(env.Data), []byte("null")) {
		return nil, bad("data", "is required")
	}
	ev.Data = env.Data
	return ev, nil
}

// decodeStrict decodes one JSON value into v, with numbers kept as
// json.Number, and turns decoding errors into fieldErrors under prefix.
func decodeStrict(b []byte, v any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return bad(join(prefix, te.Field), "want a JSON %s, got %s", jsonKind(te.Type.String()), te.Value)
		}
		where := prefix
		if where == "" {
			where = "body"
		}
		return bad(where, "not a JSON object: %s", jsonSyntax(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		where := prefix
		if where == "" {
			where = "body"
		}
		return bad(where, "unexpected data after the JSON object")
	}
	return nil
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "*"):
		return jsonKind(goType[1:])
	case goType == "string":
		return "string"
	case goType == "json.Number":
		return "number"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	}
	return "object"
}

// jsonSyntax describes a decoding error without quoting the body.
func jsonSyntax(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "want an object, got " + te.Value
	}
	return "unreadable"
}

// idLike reports whether s is 1 to maxIDLen printable ASCII characters
// without spaces.
func idLike(s string) bool { return printable(s, maxIDLen) }

// printable reports whether s is 1 to n printable ASCII characters without
// spaces.
func printable(s string, n int) bool {
	if s == "" || len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// truncate bounds a value quoted back in an error.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Event data, as the brand's backend sends it. Unknown fields are ignored,
// so the backend may send more than the connector reads.
type (
	loginData struct {
		AppID   string `json:"appid"`
		OpenID  string `json:"openid"`
		UnionID string `json:"unionid"`
	}
	phoneData struct {
		AppID       string          `json:"appid"`
		OpenID      string          `json:"openid"`
		UnionID     string          `json:"unionid"`
		Phone       string          `json:"phone"`
		CountryCode json.RawMessage `json:"country_code"`
		PhoneCode   string          `json:"phone_code"`
	}
	memberData struct {
		phoneData
		MemberCardNo string      `json:"member_card_no"`
		Level        string      `json:"level"`
		Profile      profileData `json:"profile"`
		RegisteredAt string      `json:"registered_at"`
	}
	profileData struct {
		Name     string          `json:"name"`
		Gender   json.RawMessage `json:"gender"`
		Birthday string          `json:"birthday"`
		City     string          `json:"city"`
		Province string          `json:"province"`
		Country  string          `json:"country"`
	}
	orderData struct {
		AppID         string          `json:"appid"`
		OrderID       string          `json:"order_id"`
		OpenID        string          `json:"openid"`
		UnionID       string          `json:"unionid"`
		TransactionID string          `json:"transaction_id"`
		TotalFen      json.RawMessage `json:"total_fen"`
		PaidFen       json.RawMessage `json:"paid_fen"`
		DiscountFen   json.RawMessage `json:"discount_fen"`
		ShippingFen   json.RawMessage `json:"shipping_fen"`
		RefundFen     json.RawMessage `json:"refund_fen"`
		CreatedAt     string          `json:"created_at"`
		PaidAt        string          `json:"paid_at"`
		Region        string          `json:"region"`
		Items         []itemData      `json:"items"`
	}
	itemData struct {
		SKU          string          `json:"sku"`
		ProductID    string          `json:"product_id"`
		Title        string          `json:"title"`
		Quantity     json.RawMessage `json:"quantity"`
		UnitPriceFen json.RawMessage `json:"unit_price_fen"`
	}
)

// whole reads a JSON integer ≥ 0 (an amount in fen, a quantity). Strings,
// fractions and exponents are refused: money is never rounded. An absent or
// null value is 0 unless required.
func whole(field string, raw json.RawMessage, required bool) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if required {
			return 0, bad(field, "is required")
		}
		return 0, nil
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, bad(field, "want a JSON integer (amounts are whole fen: 1 yuan = 100), got %s", truncate(string(raw)))
	}
	if v < 0 {
		return 0, bad(field, "must not be negative")
	}
	return v, nil
}

// optionalTime reads an optional RFC 3339 time.
func optionalTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, bad(field, "want an RFC 3339 time such as 2024-05-01T10:00:00+08:00")
	}
	return t.UTC(), nil
}

// rawText reads a JSON string or number as text ("" when absent or null).
func rawText(field string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", bad(field, "want a string or a number")
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", bad(field, "want a string or a number")
	}
	return n.String(), nil
}
