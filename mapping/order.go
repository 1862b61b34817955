package mapping

import (
	"fmt"
	"time"
)

// OrderStatus is the canonical order status every platform code maps to.
type OrderStatus int

// Canonical order statuses.
const (
	OrderUnknown OrderStatus = iota
	OrderPendingPayment
	OrderPaid
	OrderShipped
	OrderCompleted
	OrderCancelled
	OrderRefunding
	OrderRefunded
)

var orderStatusNames = [...]string{"unknown", "pending_payment", "paid", "shipped", "completed", "cancelled", "refunding", "refunded"}

// String returns the status's canonical name, e.g. "pending_payment".
func (s OrderStatus) String() string {
	if s < 0 || int(s) >= len(orderStatusNames) {
		return fmt.Sprintf("OrderStatus(%d)", int(s))
	}
	return orderStatusNames[s]
}

// ParseOrderStatus is the inverse of String.
func ParseOrderStatus(name string) (OrderStatus, error) {
	for i, n := range orderStatusNames {
		if n == name {
			return OrderStatus(i), nil
		}
	}
	return OrderUnknown, fmt.Errorf("order status %q is not known", name)
}

// MarshalText implements encoding.TextMarshaler.
func (s OrderStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *OrderStatus) UnmarshalText(b []byte) error {
	v, err := ParseOrderStatus(string(b))
	*s = v
	return err
}

// Order is one platform order in canonical form, keyed by (platform, shop,
// order id). Amounts are in fen; times are UTC.
type Order struct {
	Platform       string      `json:"platform"`
	Shop           string      `json:"shop"`
	OrderID        string      `json:"order_id"`
	Status         OrderStatus `json:"status"`
	PlatformStatus string      `json:"platform_status,omitempty"`
	TotalFen       Fen         `json:"total_fen"`
	PaidFen        Fen         `json:"paid_fen"`
	DiscountFen    Fen         `json:"discount_fen"`
	ShippingFen    Fen         `json:"shipping_fen"`
	RefundFen      Fen         `json:"refund_fen"`
	CreatedAt      time.Time   `json:"created_at"`
	PaidAt         time.Time   `json:"paid_at,omitzero"`
	UpdatedAt      time.Time   `json:"updated_at"`
	Items          []OrderItem `json:"items,omitempty"`
	// Buyer are the buyer's identifiers as the platform reveals them.
	Buyer []Identity `json:"buyer,omitempty"`
	// Region is the receiver's province/city only; full addresses are not kept.
	Region string `json:"region,omitempty"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	SKU          string `json:"sku,omitempty"`
	ProductID    string `json:"product_id,omitempty"`
	Title        string `json:"title,omitempty"`
	Quantity     int64  `json:"quantity"`
	UnitPriceFen Fen    `json:"unit_price_fen"`
}
