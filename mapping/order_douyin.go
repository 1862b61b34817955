package mapping

import "fmt"

// DouyinOrderStatus maps a Douyin Shop (抖店) order_status — of a shop order
// or of a child (SKU) order — to the canonical status:
//
//	1   created, awaiting payment      → pending_payment
//	105 paid                           → paid
//	2   paid, being prepared (备货中)   → paid
//	101 partly shipped                 → shipped
//	3   shipped                        → shipped
//	4   cancelled                      → cancelled
//	5   completed (received)           → completed
//
// A partly shipped order counts as shipped: goods are on their way and the
// order no longer waits on the seller alone. Refunds are not order statuses on
// Douyin (they live in after-sale info), so refunding/refunded never come
// from here. Any other code returns OrderUnknown and an error.
func DouyinOrderStatus(code int) (OrderStatus, error) {
	switch code {
	case 1:
		return OrderPendingPayment, nil
	case 105, 2:
		return OrderPaid, nil
	case 101, 3:
		return OrderShipped, nil
	case 4:
		return OrderCancelled, nil
	case 5:
		return OrderCompleted, nil
	}
	return OrderUnknown, fmt.Errorf("douyin order_status %d is not known (want 1, 105, 2, 101, 3, 4 or 5)", code)
}
