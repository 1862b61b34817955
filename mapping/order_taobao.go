package mapping

import "fmt"

// TaobaoOrderStatus maps a Taobao/Tmall (TOP) trade status to the canonical
// status:
//
//	TRADE_NO_CREATE_PAY       no Alipay trade yet            → pending_payment
//	WAIT_BUYER_PAY            awaiting payment               → pending_payment
//	PAY_PENDING               card payment pending           → pending_payment
//	WAIT_PRE_AUTH_CONFIRM     0-yuan pre-auth contract       → pending_payment
//	WAIT_SELLER_SEND_GOODS    paid, awaiting shipment        → paid
//	PAID_FORBID_CONSIGN       paid, shipping blocked         → paid
//	SELLER_CONSIGNED_PART     partly shipped                 → shipped
//	WAIT_BUYER_CONFIRM_GOODS  shipped, awaiting receipt      → shipped
//	TRADE_BUYER_SIGNED        signed for (COD)               → completed
//	TRADE_FINISHED            success                        → completed
//	TRADE_CLOSED              closed after payment (refund)  → refunded
//	TRADE_CLOSED_BY_TAOBAO    closed before payment          → cancelled
//
// A COD buyer who signed has the goods and has paid the courier, so the
// trade is complete for the brand. Any other value is an error.
func TaobaoOrderStatus(status string) (OrderStatus, error) {
	switch status {
	case "TRADE_NO_CREATE_PAY", "WAIT_BUYER_PAY", "PAY_PENDING", "WAIT_PRE_AUTH_CONFIRM":
		return OrderPendingPayment, nil
	case "WAIT_SELLER_SEND_GOODS", "PAID_FORBID_CONSIGN":
		return OrderPaid, nil
	case "SELLER_CONSIGNED_PART", "WAIT_BUYER_CONFIRM_GOODS":
		return OrderShipped, nil
	case "TRADE_BUYER_SIGNED", "TRADE_FINISHED":
		return OrderCompleted, nil
	case "TRADE_CLOSED":
		return OrderRefunded, nil
	case "TRADE_CLOSED_BY_TAOBAO":
		return OrderCancelled, nil
	}
	return OrderUnknown, fmt.Errorf("taobao trade status %q is not known", status)
}
