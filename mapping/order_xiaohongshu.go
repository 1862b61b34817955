package mapping

import "fmt"

// XiaohongshuOrderStatus maps a Xiaohongshu (ark) orderStatus code to the
// canonical status (fact sheet §3.5):
//
//	1 已下单待付款 placed, awaiting payment → pending_payment
//	2 已支付处理中 paid, risk check         → paid
//	3 清关中 customs clearance              → paid
//	4 待发货 awaiting shipment              → paid
//	5 部分发货 partly shipped               → shipped
//	6 待收货 awaiting receipt               → shipped
//	7 已完成 completed                      → completed
//	8 已关闭 closed (after a refund)        → refunded
//	9 已取消 cancelled                      → cancelled
//	10 换货申请中 exchange requested        → refunding
//
// 8 is how an order ends once an after-sale refund completes (push doc:
// "售后完成，订单关闭"), while unpaid orders end as 9. 10 is an after-sale in
// progress; the canonical model has no exchange state, so it shares
// refunding. 0 ("all") is a list filter, not a status, and is an error like
// every other code.
func XiaohongshuOrderStatus(code int) (OrderStatus, error) {
	switch code {
	case 1:
		return OrderPendingPayment, nil
	case 2, 3, 4:
		return OrderPaid, nil
	case 5, 6:
		return OrderShipped, nil
	case 7:
		return OrderCompleted, nil
	case 8:
		return OrderRefunded, nil
	case 9:
		return OrderCancelled, nil
	case 10:
		return OrderRefunding, nil
	}
	return OrderUnknown, fmt.Errorf("xiaohongshu order status %d is not known (want 1..10)", code)
}
