package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Brand plays the brand's mini-program backend: it builds the events of the
// intake contract (connectors/miniprogram/README.md) about the sandbox's
// users and signs them the way the README tells brand developers to, written
// here from the README rather than shared with the connector, so the two
// check each other.
type Brand struct {
	s      *Server
	secret string
	now    func() time.Time

	mu  sync.Mutex
	seq int
}

// Brand returns a brand backend signing with Config.EventSecret on the
// sandbox's clock.
func (s *Server) Brand() *Brand { return &Brand{s: s, secret: s.cfg.EventSecret, now: s.cfg.Now} }

// WithSecret returns a copy of b that signs with another secret (a forger).
func (b *Brand) WithSecret(secret string) *Brand {
	return &Brand{s: b.s, secret: secret, now: b.now, seq: b.nextSeq() * 1000}
}

func (b *Brand) nextSeq() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	return b.seq
}

// Event is one event of the intake contract.
type Event struct {
	EventID    string         `json:"event_id"`
	Type       string         `json:"type"`
	OccurredAt string         `json:"occurred_at"`
	Data       map[string]any `json:"data"`
}

// Event builds an event of type typ with data, a fresh event id, and the
// current time (GMT+8, as a backend in China writes it).
func (b *Brand) Event(typ string, data map[string]any) Event {
	n := b.nextSeq()
	return Event{EventID: fmt.Sprintf("evt_%s_%06d", typ, n), Type: typ, OccurredAt: b.now().In(shanghai).Format(time.RFC3339), Data: data}
}

// Login is a login event: the backend ran code2Session for u.
func (b *Brand) Login(u User) Event {
	return b.Event("login", map[string]any{"appid": b.s.cfg.AppID, "openid": u.OpenID, "unionid": u.UnionID})
}

// PhoneBound is a phone_bound event carrying u's number.
func (b *Brand) PhoneBound(u User) Event {
	national := u.Phone
	if len(national) > 3 && national[:3] == "+86" {
		national = national[3:]
	}
	return b.Event("phone_bound", map[string]any{"openid": u.OpenID, "phone": national, "country_code": "86"})
}

// PhoneBoundCode is a phone_bound event forwarding a getPhoneNumber code
// (from IssuePhoneCode) instead of the number.
func (b *Brand) PhoneBoundCode(u User, code string) Event {
	return b.Event("phone_bound", map[string]any{"openid": u.OpenID, "phone_code": code})
}

// MemberRegistered is a member_registered event with u's profile and a
// member card number.
func (b *Brand) MemberRegistered(u User) Event {
	return b.Event("member_registered", map[string]any{
		"openid": u.OpenID, "unionid": u.UnionID, "member_card_no": fmt.Sprintf("VIP%08d", u.Person),
		"profile": map[string]any{"name": u.Name, "gender": u.Gender, "birthday": u.Birthday, "province": u.Province, "city": u.City},
		"level":   "silver",
	})
}

// Line is one order line of an order event.
type Line struct {
	SKU          string
	Title        string
	Quantity     int64
	UnitPriceFen int64
}

// OrderEvent is an order_created/paid/shipped/refunded event for the brand
// order id with lines; total = Σ qty × price, paid = total − discount, and
// an order_refunded refunds it all.
func (b *Brand) OrderEvent(typ, orderID string, u User, discountFen int64, lines ...Line) Event {
	var total int64
	items := make([]map[string]any, 0, len(lines))
	for _, l := range lines {
		total += l.Quantity * l.UnitPriceFen
		items = append(items, map[string]any{"sku": l.SKU, "title": l.Title, "quantity": l.Quantity, "unit_price_fen": l.UnitPriceFen})
	}
	data := map[string]any{
		"order_id": orderID, "openid": u.OpenID, "unionid": u.UnionID,
		"total_fen": total, "discount_fen": discountFen, "shipping_fen": 0, "items": items,
		"created_at": b.now().Add(-time.Hour).In(shanghai).Format(time.RFC3339),
	}
	if typ != "order_created" {
		data["paid_fen"] = total - discountFen
		data["paid_at"] = b.now().Add(-30 * time.Minute).In(shanghai).Format(time.RFC3339)
	}
	if typ == "order_refunded" {
		data["refund_fen"] = total - discountFen
	}
	return b.Event(typ, data)
}

// Body encodes an event as the backend sends it.
func (b *Brand) Body(ev Event) []byte {
	body, err := json.Marshal(ev)
	if err != nil {
		panic("sandbox: encode event: " + err.Error()) // only maps of plain values reach here
	}
	return body
}

// Sign returns the X-Channelhub-Signature value for body signed at unix
// second ts: "sha256=" + hex(HMAC-SHA256(secret, "<ts>.<body>")).
func (b *Brand) Sign(ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(b.secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Request builds the signed POST of body to url, signed at the brand's
// current time.
func (b *Brand) Request(ctx context.Context, url string, body []byte) (*http.Request, error) {
	return b.RequestAt(ctx, url, body, b.now())
}

// RequestAt builds the POST of body to url signed at t (a stale or future
// timestamp for tests).
func (b *Brand) RequestAt(ctx context.Context, url string, body []byte, t time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build event request: %w", err)
	}
	ts := t.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Channelhub-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Channelhub-Signature", b.Sign(ts, body))
	return req, nil
}
