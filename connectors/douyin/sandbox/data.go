package sandbox

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/mapping"
)

const day = 24 * 60 * 60 // seconds

// data is the sandbox's people, members and orders.
type data struct {
	seed    uint64
	shopID  int64
	people  []sandboxdata.Person
	buyers  []buyer        // people on douyin
	byOpen  map[string]int // open_id → buyer
	byIndex map[int]int    // person index → buyer
	catalog []product
	orders  []order
	upd     updateIndex
	byCr    createIndex
}

// buyer is a person on Douyin and, when member is set, a shop member.
type buyer struct {
	person    int // index in people
	openID    string
	unionID   string
	member    bool
	level     int64
	pointCent int64
	mobile    string // national number, as the member APIs carry it
	joined    int64
}

// order holds what changes; items and amounts derive from the seed and the
// order's index (orderItems), so 200,000 orders stay small.
type order struct {
	buyer    int32
	status   int16
	refunded bool
	cancel   uint8 // cancel reason, index into cancelReasons
	created  int64
	paid     int64
	shipped  int64
	finished int64
	updated  int64
}

type product struct {
	id    int64
	name  string
	price mapping.Fen
}

func newCatalog() []product {
	names := []struct {
		name  string
		price mapping.Fen
	}{
		{"水光保湿精华液 30ml", 26900}, {"氨基酸洁面乳 120g", 8900}, {"清透防晒乳 SPF50+", 15900},
		{"丝绒哑光口红 #316", 19900}, {"玻尿酸补水面膜 10片", 9900}, {"控油蓬松洗发水 500ml", 6990},
		{"烟酰胺身体乳 250ml", 7900}, {"木质调淡香水 50ml", 59900}, {"抗皱紧致眼霜 15g", 32900},
		{"温和卸妆水 400ml", 8990}, {"护手霜礼盒 3支", 4990}, {"天然乳胶枕", 29900},
	}
	out := make([]product, len(names))
	for i, n := range names {
		out[i] = product{id: 3500000000000000001 + int64(i), name: n.name, price: n.price}
	}
	return out
}

func cancelReasons(i uint8) string {
	switch i {
	case 1:
		return "买家取消订单"
	case 2:
		return "商家取消订单"
	}
	return "超时未支付"
}

// rng streams: people use PCG(seed, i) in sandboxdata; orders and items use
// their own salts so they do not correlate.
const (
	saltOrder  = 0x6f72646572000001
	saltItems  = 0x6974656d73000002
	saltMember = 0x6d656d6265720003
	saltChurn  = 0x636875726e000004
)

func (d *data) generate(cfg Config, anchor int64) {
	d.seed, d.shopID = cfg.Seed, cfg.ShopID
	d.people = sandboxdata.Persons(cfg.Seed, cfg.Members)
	d.catalog = newCatalog()
	d.byOpen, d.byIndex = map[string]int{}, map[int]int{}
	shopScope := "douyin-open/" + strconv.FormatInt(cfg.ShopID, 10)
	brandScope := "douyin-union/" + cfg.Brand
	for _, p := range d.people {
		if !p.On["douyin"] {
			continue
		}
		r := rand.New(rand.NewPCG(cfg.Seed^saltMember, uint64(p.Index)))
		b := buyer{
			person:  p.Index,
			openID:  sandboxdata.ID(cfg.Seed, shopScope, p.Index, 32),
			unionID: sandboxdata.ID(cfg.Seed, brandScope, p.Index, 32),
			mobile:  strings.TrimPrefix(p.Phone, "+86"),
		}
		if r.IntN(100) < 60 {
			b.member = true
			b.level = 1 + r.Int64N(5)
			b.pointCent = 100 * r.Int64N(5000)
			b.joined = anchor - r.Int64N(365*day)
		}
		d.byOpen[b.openID] = len(d.buyers)
		d.byIndex[p.Index] = len(d.buyers)
		d.buyers = append(d.buyers, b)
	}
	if len(d.buyers) == 0 {
		cfg.Orders = 0
	}
	d.orders = make([]order, cfg.Orders)
	updated := make([]int64, cfg.Orders)
	created := make([]int64, cfg.Orders)
	for i := range d.orders {
		d.orders[i] = d.newOrder(i, anchor)
		updated[i], created[i] = d.orders[i].updated, d.orders[i].created
	}
	d.upd.build(updated)
	d.byCr.build(created)
}

// allStatuses lists every order_status; the first orders take one each so a
// small set still has them all.
func allStatuses() [7]int16 {
	return [7]int16{doudian.OrderStatusCreated, doudian.OrderStatusPaid, doudian.OrderStatusAwaitingShipment,
		doudian.OrderStatusPartlyShipped, doudian.OrderStatusShipped, doudian.OrderStatusCancelled, doudian.OrderStatusCompleted}
}

func (d *data) newOrder(i int, anchor int64) order {
	r := rand.New(rand.NewPCG(d.seed^saltOrder, uint64(i)))
	o := order{buyer: int32(r.IntN(len(d.buyers)))}
	all := allStatuses()
	if i < len(all) {
		o.status = all[i]
	} else {
		switch w := r.IntN(100); {
		case w < 4:
			o.status = doudian.OrderStatusCreated
		case w < 7:
			o.status = doudian.OrderStatusPaid
		case w < 15:
			o.status = doudian.OrderStatusAwaitingShipment
		case w < 18:
			o.status = doudian.OrderStatusPartlyShipped
		case w < 28:
			o.status = doudian.OrderStatusShipped
		case w < 40:
			o.status = doudian.OrderStatusCancelled
		default:
			o.status = doudian.OrderStatusCompleted
		}
	}
	if o.status == doudian.OrderStatusPartlyShipped && len(d.items(i)) < 2 {
		o.status = doudian.OrderStatusShipped
	}
	payLag := 1 + r.Int64N(600)
	shipLag := 3600 + r.Int64N(2*day)
	switch o.status {
	case doudian.OrderStatusCreated:
		o.created = anchor - r.Int64N(25*60)
		o.updated = o.created
	case doudian.OrderStatusPaid, doudian.OrderStatusAwaitingShipment:
		o.created = anchor - 600 - r.Int64N(3*day)
		o.paid = o.created + payLag
		o.updated = o.paid
	case doudian.OrderStatusPartlyShipped, doudian.OrderStatusShipped:
		o.created = anchor - 3*day - r.Int64N(10*day)
		o.paid = o.created + payLag
		o.shipped = o.paid + shipLag
		o.updated = o.shipped
	case doudian.OrderStatusCancelled:
		o.created = anchor - 3600 - r.Int64N(88*day)
		o.cancel = uint8(r.IntN(3))
		o.updated = o.created + 60 + r.Int64N(30*60)
	case doudian.OrderStatusCompleted:
		o.created = anchor - 13*day - r.Int64N(75*day)
		o.paid = o.created + payLag
		o.shipped = o.paid + shipLag
		o.finished = o.shipped + 2*day + r.Int64N(8*day)
		o.updated = o.finished
		o.refunded = r.IntN(100) < 3
	}
	return o
}

// item is one child order's goods.
type item struct {
	product product
	sku     int64
	num     int64
}

// items derives order i's goods from the seed.
func (d *data) items(i int) []item {
	r := rand.New(rand.NewPCG(d.seed^saltItems, uint64(i)))
	n := 1 + r.IntN(3)
	out := make([]item, n)
	for j := range out {
		p := d.catalog[r.IntN(len(d.catalog))]
		out[j] = item{product: p, sku: 1700000000000 + (p.id%1000)*10 + int64(r.IntN(3)), num: 1 + r.Int64N(3)}
	}
	return out
}

// Order ids: "69", the seed mod 1000, then the child number (0 for the
// parent) and the order's 1-based index in 13 digits — 19 digits in all, as
// the platform's ids have.
func (d *data) orderID(i, child int) string {
	return fmt.Sprintf("69%03d%d%013d", d.seed%1000, child, i+1)
}

// orderIndex parses a parent order id.
func (d *data) orderIndex(id string) (int, bool) {
	if len(id) != 19 || !strings.HasPrefix(id, fmt.Sprintf("69%03d0", d.seed%1000)) {
		return 0, false
	}
	n, err := strconv.Atoi(id[6:])
	if err != nil || n < 1 || n > len(d.orders) {
		return 0, false
	}
	return n - 1, true
}

func statusDesc(status int) string {
	switch status {
	case doudian.OrderStatusCreated:
		return "待支付"
	case doudian.OrderStatusPaid:
		return "已支付"
	case doudian.OrderStatusAwaitingShipment:
		return "备货中"
	case doudian.OrderStatusPartlyShipped:
		return "部分发货"
	case doudian.OrderStatusShipped:
		return "已发货"
	case doudian.OrderStatusCancelled:
		return "已取消"
	case doudian.OrderStatusCompleted:
		return "已完成"
	}
	return ""
}

// render builds order i as the order APIs return it.
func (d *data) render(i int, shopName string) doudian.ShopOrder {
	o := d.orders[i]
	b := d.buyers[o.buyer]
	p := d.people[b.person]
	items := d.items(i)
	r := rand.New(rand.NewPCG(d.seed^saltOrder^0xffff, uint64(i)))

	var goods mapping.Fen
	for _, it := range items {
		goods += it.product.price * mapping.Fen(it.num)
	}
	var post mapping.Fen
	if goods < 9900 {
		post = 800
	}
	shopPromo := goods * mapping.Fen(r.IntN(16)) / 100
	var platformPromo mapping.Fen
	if r.IntN(4) == 0 {
		platformPromo = 500
	}
	promo := shopPromo + platformPromo
	status := int(o.status)
	so := doudian.ShopOrder{
		OrderID:                 d.orderID(i, 0),
		ShopID:                  d.shopID,
		ShopName:                shopName,
		DoudianOpenID:           b.openID,
		OrderStatus:             status,
		OrderStatusDesc:         statusDesc(status),
		BType:                   2,
		BTypeDesc:               "抖音",
		CreateTime:              o.created,
		UpdateTime:              o.updated,
		PayTime:                 o.paid,
		ShipTime:                o.shipped,
		FinishTime:              o.finished,
		OrderExpireTime:         o.created + 30*60,
		OrderAmount:             goods + post,
		PayAmount:               goods + post - promo,
		PostAmount:              post,
		PromotionAmount:         promo,
		PromotionShopAmount:     shopPromo,
		PromotionPlatformAmount: platformPromo,
		EncryptPostReceiver:     "~" + sandboxdata.ID(d.seed, "douyin-cipher-name", b.person, 24) + "~",
		EncryptPostTel:          "$" + sandboxdata.ID(d.seed, "douyin-cipher-tel", b.person, 24) + "$",
		MaskPostReceiver:        maskName(p.Name),
		MaskPostTel:             b.mobile[:3] + "****" + b.mobile[len(b.mobile)-4:],
		PostAddr: &doudian.Address{
			Province:      &doudian.Region{Name: p.Province},
			City:          &doudian.Region{Name: p.City},
			Detail:        "#" + sandboxdata.ID(d.seed, "douyin-cipher-addr", b.person, 24) + "#",
			EncryptDetail: "#" + sandboxdata.ID(d.seed, "douyin-cipher-addr", b.person, 24) + "#",
		},
		MaskPostAddr: &doudian.Address{Province: &doudian.Region{Name: p.Province}, City: &doudian.Region{Name: p.City}, Detail: "***"},
	}
	if o.paid != 0 {
		so.PayType = 1 + r.IntN(2)
	}
	if status == doudian.OrderStatusCancelled {
		so.CancelReason = cancelReasons(o.cancel)
	}
	left := promo
	for j, it := range items {
		sum := it.product.price * mapping.Fen(it.num)
		share := promo * sum / goods
		if j == len(items)-1 {
			share = left
		}
		left -= share
		childStatus := status
		if status == doudian.OrderStatusPartlyShipped {
			childStatus = doudian.OrderStatusAwaitingShipment
			if j == 0 {
				childStatus = doudian.OrderStatusShipped
			}
		}
		sku := doudian.SkuOrder{
			OrderID:         d.orderID(i, j),
			ParentOrderID:   so.OrderID,
			OrderStatus:     childStatus,
			OrderStatusDesc: statusDesc(childStatus),
			ProductID:       it.product.id,
			ProductIDStr:    strconv.FormatInt(it.product.id, 10),
			ProductName:     it.product.name,
			SkuID:           it.sku,
			OutSkuID:        "SKU-" + strconv.FormatInt(it.sku, 10),
			Code:            "P" + strconv.FormatInt(it.product.id%1000, 10),
			ItemNum:         it.num,
			CreateTime:      o.created,
			UpdateTime:      o.updated,
			PayTime:         o.paid,
			FinishTime:      o.finished,
			OriginAmount:    it.product.price,
			SumAmount:       sum,
			OrderAmount:     sum,
			PayAmount:       sum - share,
			PromotionAmount: share,
		}
		if o.refunded && j == 0 {
			sku.AfterSaleInfo = &doudian.AfterSaleInfo{AfterSaleStatus: 12, AfterSaleType: 1, RefundStatus: 3}
		}
		so.SkuOrderList = append(so.SkuOrderList, sku)
	}
	return so
}

func maskName(name string) string {
	r := []rune(name)
	if len(r) == 0 {
		return ""
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}
