package sandbox

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"
)

const day = 24 * 60 * 60 // seconds

// data is the sandbox's buyers and trades.
type data struct {
	seed    uint64
	people  []sandboxdata.Person
	buyers  []buyer
	byOUID  map[string]int
	catalog []product
	trades  []trade
	// byCreated lists trade indexes newest created first (ties: higher
	// index first), the order taobao.trades.sold.get pages in. Creation
	// times never change.
	byCreated []int
}

// buyer is a person on Taobao, a CRM member of the shop when grade > 0, and
// a 会员通 (brand) member when omid is set.
type buyer struct {
	person   int
	openUID  string // per app
	ouid     string // per shop
	omid     string // per brand; "" when not a brand member
	nick     string // masked
	mobile   string // national number
	grade    int64
	point    int64
	level    int64 // 会员通 level, set by member.sync
	version  int64
	modified int64
	trades   int64
	amount   mapping.Fen
	lastBuy  int64
}

type product struct {
	id    int64
	title string
	price mapping.Fen
}

// trade holds a trade's state; its items derive from the seed.
type trade struct {
	buyer    int
	status   string
	refund   string // sub-order 0's refund_status, "" for none
	created  int64
	paid     int64
	shipped  int64
	ended    int64
	modified int64
}

const (
	saltTrade  = 0x74726164650001
	saltItems  = 0x6974656d730002
	saltMember = 0x6d656d62650003
	saltStep   = 0x73746570000004
)

func newCatalog() []product {
	names := []struct {
		t string
		p mapping.Fen
	}{
		{"玻尿酸保湿精华 30ml", 29900}, {"氨基酸洗面奶 100g", 7990}, {"轻薄防晒霜 SPF50", 16800},
		{"雾面唇釉 #08", 13900}, {"修护面膜 5片装", 9900}, {"去屑洗发露 400ml", 5990},
		{"香氛沐浴露 500ml", 6900}, {"花香淡香水 30ml", 45900}, {"紧致眼霜 20g", 35800},
		{"卸妆油 200ml", 12900}, {"护手霜套装", 3990}, {"真丝眼罩", 10007},
	}
	out := make([]product, len(names))
	for i, n := range names {
		out[i] = product{id: 600000000001 + int64(i), title: n.t, price: n.p}
	}
	return out
}

func (d *data) generate(cfg Config, anchor int64) {
	d.seed = cfg.Seed
	d.people = sandboxdata.Persons(cfg.Seed, cfg.Members)
	d.catalog = newCatalog()
	d.byOUID = map[string]int{}
	for _, p := range d.people {
		if !p.On["taobao"] {
			continue
		}
		r := rand.New(rand.NewPCG(cfg.Seed^saltMember, uint64(p.Index)))
		b := buyer{
			person:   p.Index,
			openUID:  "AAH" + sandboxdata.ID(cfg.Seed, "taobao-openuid/"+cfg.AppKey, p.Index, 21),
			ouid:     "OU" + sandboxdata.ID(cfg.Seed, "taobao-ouid/"+cfg.SellerID, p.Index, 22),
			nick:     maskNick(p.Name),
			mobile:   strings.TrimPrefix(p.Phone, "+86"),
			modified: anchor - r.Int64N(200*day),
		}
		if r.IntN(100) < 70 {
			b.grade = 1 + r.Int64N(4)
		}
		if b.grade > 0 && r.IntN(100) < 60 {
			b.omid = "OM" + sandboxdata.ID(cfg.Seed, "taobao-omid/"+cfg.Brand, p.Index, 22)
			b.point = 10 * r.Int64N(1000)
			b.level = b.grade
		}
		d.byOUID[b.ouid] = len(d.buyers)
		d.buyers = append(d.buyers, b)
	}
	if len(d.buyers) == 0 {
		cfg.Orders = 0
	}
	d.trades = make([]trade, cfg.Orders)
	for i := range d.trades {
		d.trades[i] = d.newTrade(i, anchor)
		t := &d.trades[i]
		b := &d.buyers[t.buyer]
		if t.paid != 0 {
			b.trades++
			b.amount += d.payment(i)
			b.lastBuy = max(b.lastBuy, t.paid)
		}
	}
	d.byCreated = make([]int, len(d.trades))
	for i := range d.byCreated {
		d.byCreated[i] = i
	}
	slices.SortFunc(d.byCreated, func(a, b int) int {
		return cmp.Or(cmp.Compare(d.trades[b].created, d.trades[a].created), cmp.Compare(b, a))
	})
}

func maskNick(name string) string {
	r := []rune(name)
	if len(r) == 0 {
		return "t**"
	}
	return string(r[0]) + "**"
}

func (d *data) newTrade(i int, anchor int64) trade {
	r := rand.New(rand.NewPCG(d.seed^saltTrade, uint64(i)))
	t := trade{buyer: r.IntN(len(d.buyers))}
	all := top.TradeStatuses()
	if i < len(all) {
		t.status = all[i]
	} else {
		switch w := r.IntN(100); {
		case w < 5:
			t.status = top.TradeWaitBuyerPay
		case w < 15:
			t.status = top.TradeWaitSellerSendGoods
		case w < 27:
			t.status = top.TradeWaitBuyerConfirm
		case w < 37:
			t.status = top.TradeClosedByTaobao
		case w < 42:
			t.status = top.TradeClosed
		default:
			t.status = top.TradeFinished
		}
	}
	payLag := 5 + r.Int64N(900)
	shipLag := 3600 + r.Int64N(2*day)
	switch t.status {
	case top.TradeNoCreatePay, top.TradeWaitBuyerPay, top.TradePayPending, top.TradeWaitPreAuthConfirm:
		t.created = anchor - 60 - r.Int64N(2*day)
		t.modified = t.created
	case top.TradeWaitSellerSendGoods, top.TradePaidForbidConsign:
		t.created = anchor - 600 - r.Int64N(3*day)
		t.paid = t.created + payLag
		t.modified = t.paid
	case top.TradeSellerConsignedPart, top.TradeWaitBuyerConfirm, top.TradeBuyerSigned:
		t.created = anchor - 3*day - r.Int64N(10*day)
		t.paid = t.created + payLag
		t.shipped = t.paid + shipLag
		t.modified = t.shipped
	case top.TradeClosedByTaobao:
		t.created = anchor - 3600 - r.Int64N(80*day)
		t.ended = t.created + 60 + r.Int64N(3*day)
		t.modified = t.ended
	case top.TradeClosed:
		t.created = anchor - 5*day - r.Int64N(75*day)
		t.paid = t.created + payLag
		t.ended = t.paid + r.Int64N(3*day)
		t.modified = t.ended
		t.refund = top.RefundSuccess
	default: // finished
		t.created = anchor - 13*day - r.Int64N(70*day)
		t.paid = t.created + payLag
		t.shipped = t.paid + shipLag
		t.ended = t.shipped + 2*day + r.Int64N(8*day)
		t.modified = t.ended
		if r.IntN(100) < 4 {
			t.refund = top.RefundSuccess
		}
	}
	// Runs of equal modified times: every 25th trade shares its neighbour's
	// second, so readers must not checkpoint inside a run.
	if i%25 == 1 && i > 0 {
		prev := d.trades[i-1]
		if prev.modified >= t.created {
			t.modified = max(t.modified, prev.modified)
		}
	}
	return t
}

// item is one sub-order's goods.
type item struct {
	product product
	sku     int64
	num     int64
}

func (d *data) items(i int) []item {
	r := rand.New(rand.NewPCG(d.seed^saltItems, uint64(i)))
	out := make([]item, 1+r.IntN(3))
	for j := range out {
		p := d.catalog[r.IntN(len(d.catalog))]
		out[j] = item{product: p, sku: 5000000000000 + p.id%1000*10 + int64(r.IntN(3)), num: 1 + r.Int64N(3)}
	}
	return out
}

// amounts derives trade i's goods total, postage and discount.
func (d *data) amounts(i int) (goods, post, discount mapping.Fen) {
	for _, it := range d.items(i) {
		goods += it.product.price * mapping.Fen(it.num)
	}
	if goods < 9900 {
		post = 1000
	}
	r := rand.New(rand.NewPCG(d.seed^saltTrade^0xffff, uint64(i)))
	discount = goods * mapping.Fen(r.IntN(12)) / 100
	return goods, post, discount
}

func (d *data) payment(i int) mapping.Fen {
	g, p, dis := d.amounts(i)
	return g + p - dis
}

// tid of trade i: 16 digits.
func (d *data) tid(i int) int64 {
	return 4000000000000000 + int64(d.seed%1000)*1000000000 + int64(i) + 1
}

func (d *data) tradeIndex(tid string) (int, bool) {
	n, err := strconv.ParseInt(tid, 10, 64)
	base := 4000000000000000 + int64(d.seed%1000)*1000000000
	if err != nil || n <= base || n > base+int64(len(d.trades)) {
		return 0, false
	}
	return int(n - base - 1), true
}

func ts(sec int64) string {
	if sec == 0 {
		return ""
	}
	return top.FormatTime(unix(sec))
}

// render builds trade i as the trade APIs return it.
func (d *data) render(i int, sellerNick string) top.Trade {
	t := d.trades[i]
	b := d.buyers[t.buyer]
	p := d.people[b.person]
	goods, post, discount := d.amounts(i)
	payment := goods + post - discount
	tid := d.tid(i)
	out := top.Trade{
		Tid: tid, TidStr: strconv.FormatInt(tid, 10), Status: t.status, Type: "fixed",
		Created: ts(t.created), Modified: ts(t.modified), PayTime: ts(t.paid), ConsignTime: ts(t.shipped), EndTime: ts(t.ended),
		Payment: payment.String(), TotalFee: goods.String(), PostFee: post.String(), DiscountFee: discount.String(),
		AdjustFee: "0.00", ReceivedPayment: "0.00",
		BuyerNick: b.nick, BuyerOpenUID: b.openUID, ReceiverState: p.Province, ReceiverCity: p.City, SellerNick: sellerNick,
	}
	if t.status == top.TradeFinished {
		out.ReceivedPayment = payment.String()
	}
	left := discount
	items := d.items(i)
	for j, it := range items {
		sum := it.product.price * mapping.Fen(it.num)
		share := discount * sum / max(goods, 1)
		if j == len(items)-1 {
			share = left
		}
		left -= share
		o := top.Order{
			Oid: tid*10 + int64(j), NumIid: it.product.id, SkuID: strconv.FormatInt(it.sku, 10),
			OuterSkuID: fmt.Sprintf("SKU-%d", it.sku), Title: it.product.title, Num: it.num,
			Price: it.product.price.String(), TotalFee: sum.String(), Payment: (sum - share).String(), DiscountFee: share.String(),
			Status: t.status, RefundStatus: top.RefundNone,
		}
		o.OidStr = strconv.FormatInt(o.Oid, 10)
		if t.refund != "" && (j == 0 || t.status == top.TradeClosed) {
			o.RefundStatus = t.refund
		}
		out.Orders = append(out.Orders, o)
	}
	return out
}

// member renders buyer k as the CRM APIs return it.
func (d *data) member(k int) top.BasicMember {
	b := d.buyers[k]
	m := top.BasicMember{
		BuyerNick: b.nick, OUID: b.ouid, OpenUID: b.openUID, OMID: b.omid, Grade: b.grade,
		GradeName: gradeName(b.grade), Status: "normal", RelationSource: 1,
		TradeAmount: b.amount.String(), TradeCount: b.trades, ItemNum: b.trades, LastTradeTime: ts(b.lastBuy),
	}
	if b.trades == 0 {
		m.RelationSource = 2
	}
	return m
}

func gradeName(g int64) string {
	switch g {
	case 1:
		return "普通会员"
	case 2:
		return "高级会员"
	case 3:
		return "VIP会员"
	case 4:
		return "至尊VIP"
	}
	return ""
}
