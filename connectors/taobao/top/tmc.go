package top

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// TMC limits: consume takes 10–200 messages a call, confirm ≤ 200 ids.
const (
	MinConsume    = 10
	MaxConsume    = 200
	MaxConfirmIDs = 200
)

// TMC topics the connector acts on.
const (
	TopicPrefixTrade     = "taobao_trade_"
	TopicPrefixRefund    = "taobao_refund_"
	TopicPointChange     = "tmall_mei_PointChange"
	TopicTradeCreate     = "taobao_trade_TradeCreate"
	TopicTradeBuyerPay   = "taobao_trade_TradeBuyerPay"
	TopicTradeSellerShip = "taobao_trade_TradeSellerShip"
	TopicTradeSuccess    = "taobao_trade_TradeSuccess"
	TopicTradeClose      = "taobao_trade_TradeClose"
	TopicTradeChanged    = "taobao_trade_TradeChanged"
)

// Message is one TMC message. Content is a JSON string.
type Message struct {
	ID        int64  `json:"id"`
	Topic     string `json:"topic"`
	PubTime   string `json:"pub_time"`
	PubAppKey string `json:"pub_app_key,omitempty"`
	UserID    int64  `json:"user_id,omitempty"`
	UserNick  string `json:"user_nick,omitempty"`
	Content   string `json:"content"`
}

// IDString is the message id in decimal.
func (m *Message) IDString() string { return strconv.FormatInt(m.ID, 10) }

// ConsumeResult is the answer of taobao.tmc.messages.consume.
type ConsumeResult struct {
	Messages []Message `json:"messages"`
}

// ConfirmResult is the answer of taobao.tmc.messages.confirm.
type ConfirmResult struct {
	IsSuccess bool `json:"is_success"`
}

// ConsumeParams are the parameters of taobao.tmc.messages.consume.
func ConsumeParams(group string, quantity int) map[string]string {
	return map[string]string{"group_name": group, "quantity": strconv.Itoa(quantity)}
}

// ConfirmParams are the parameters of taobao.tmc.messages.confirm for ids
// (at most MaxConfirmIDs).
func ConfirmParams(group string, ids []int64) map[string]string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return map[string]string{"group_name": group, "s_message_ids": strings.Join(s, ",")}
}

// TradeContent is the content of a taobao_trade_* message: thin, so the
// trade is fetched with taobao.trade.fullinfo.get.
type TradeContent struct {
	Tid          json.Number `json:"tid"`
	Oid          json.Number `json:"oid,omitempty"`
	BuyerNick    string      `json:"buyer_nick,omitempty"`
	BuyerOpenUID string      `json:"buyer_open_uid,omitempty"`
	SellerNick   string      `json:"seller_nick,omitempty"`
	Payment      string      `json:"payment,omitempty"`
	Status       string      `json:"status,omitempty"`
	Type         string      `json:"type,omitempty"`
}

// PointChangeContent is the content of a tmall_mei_PointChange message (L:
// the fact sheet names the topic and the callback's fields, not the
// payload; these are the callback's fields plus the member's ids).
type PointChangeContent struct {
	RecordID  string `json:"record_id"`
	OUID      string `json:"ouid,omitempty"`
	OMID      string `json:"omid,omitempty"`
	MixMobile string `json:"mix_mobile,omitempty"`
	// Point is the change: positive earns, negative spends.
	Point     json.Number `json:"point"`
	BizType   string      `json:"biz_type,omitempty"`
	BizDetail string      `json:"biz_detail,omitempty"`
	GmtCreate string      `json:"gmt_create,omitempty"`
}

// ParseContent decodes a message's content into v.
func ParseContent(m *Message, v any) error {
	dec := json.NewDecoder(strings.NewReader(m.Content))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("tmc message %d (%s): content: %w", m.ID, m.Topic, err)
	}
	return nil
}
