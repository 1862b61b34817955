package sandbox

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// User is one mini-program user.
type User struct {
	// Person is the sandboxdata person index.
	Person  int
	OpenID  string
	UnionID string
	// Phone is the person's number in E.164.
	Phone    string
	Name     string
	Gender   int
	Birthday string
	Province string
	City     string
}

// Order is one WeChat-Pay order as get_order_list shows it.
type Order struct {
	TransactionID   string
	MerchantTradeNo string
	MerchantID      string
	Description     string
	PaidAmount      int64 // fen
	OpenID          string
	TradeCreateTime int64
	PayTime         int64
	// State is order_state: 1 待发货, 2 已发货, 3 确认收货, 4 交易完成, 5 已退款.
	State      int
	UploadTime int64 // shipping upload, for states 2–4; 0 otherwise
	TrackingNo string
}

// MerchantID is the sandbox's WeChat Pay merchant number.
const MerchantID = "1900000109"

var goods = []string{"保湿面霜 50ml", "洁面乳 120g", "精华液 30ml", "防晒霜 SPF50", "口红 #999", "香水 50ml", "面膜 5片装", "眼霜 15ml"}

// userFor builds the user of person p. Guarded by mu (or called from New).
func (s *Server) userFor(p sandboxdata.Person) User {
	return User{
		Person: p.Index, OpenID: "o" + sandboxdata.ID(s.cfg.Seed, "miniprogram", p.Index, 27),
		UnionID: p.UnionID, Phone: p.Phone, Name: p.Name, Gender: p.Gender, Birthday: p.Birthday,
		Province: p.Province, City: p.City,
	}
}

// seed builds users and their orders, paid over Span before the clock's
// time at New.
func (s *Server) seed() {
	start := s.now().Truncate(time.Second)
	for _, p := range sandboxdata.Persons(s.cfg.Seed, s.cfg.Members) {
		if !p.On["miniprogram"] {
			continue
		}
		u := s.userFor(p)
		s.byOpenID[u.OpenID] = len(s.users)
		s.users = append(s.users, u)
		r := rand.New(rand.NewPCG(s.cfg.Seed, uint64(p.Index)^0x6d70))
		for range r.IntN(4) {
			pay := start.Add(-time.Minute - time.Duration(r.Int64N(int64(s.cfg.Span))))
			s.orders = append(s.orders, s.newOrder(r, u.OpenID, pay, start))
		}
	}
	s.sortOrders()
}

// newOrder makes an order of openid paid at pay; its state is drawn as of
// now. Guarded by mu.
func (s *Server) newOrder(r *rand.Rand, openid string, pay, now time.Time) Order {
	s.orderSeq++
	n := 1 + r.IntN(3)
	var desc []string
	var amount int64
	for range n {
		desc = append(desc, goods[r.IntN(len(goods))])
		amount += int64(990 + r.IntN(60000)) // fen, never round yuan
	}
	o := Order{
		TransactionID:   fmt.Sprintf("4200%06d%s%08d", s.cfg.Seed%1000000, pay.In(shanghai).Format("20060102"), s.orderSeq),
		MerchantTradeNo: fmt.Sprintf("MP%s%06d", pay.In(shanghai).Format("20060102"), s.orderSeq),
		MerchantID:      MerchantID,
		Description:     strings.Join(desc, ";"),
		PaidAmount:      amount,
		OpenID:          openid,
		TradeCreateTime: pay.Add(-time.Duration(10+r.IntN(600)) * time.Second).Unix(),
		PayTime:         pay.Unix(),
		State:           1,
	}
	age := now.Sub(pay)
	switch x := r.IntN(100); {
	case age < 6*time.Hour || x < 15:
		o.State = 1
	case x < 22:
		o.State = 5
	case x < 50:
		o.State = 2
	case x < 70:
		o.State = 3
	default:
		o.State = 4
	}
	if o.State >= 2 && o.State <= 4 {
		o.UploadTime = pay.Add(time.Duration(1+r.IntN(5)) * time.Hour).Unix()
		o.TrackingNo = fmt.Sprintf("SF%012d", wxwire.Mix(uint64(s.orderSeq))%1_000_000_000_000)
	}
	return o
}

var shanghai = time.FixedZone("CST", 8*60*60)

func (s *Server) sortOrders() {
	slices.SortFunc(s.orders, func(a, b Order) int {
		return cmp.Or(cmp.Compare(a.PayTime, b.PayTime), cmp.Compare(a.TransactionID, b.TransactionID))
	})
}

// Users returns the mini-program's users.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.users)
}

// User returns the user with openid.
func (s *Server) User(openid string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byOpenID[openid]
	if !ok {
		return User{}, false
	}
	return s.users[i], true
}

// Orders returns every order, by pay time.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.orders)
}

// AddPaidOrders makes n new orders paid now (per Config.Now) by existing
// users, waiting for shipment, and returns their merchant_trade_no, sorted.
func (s *Server) AddPaidOrders(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.users) == 0 || n <= 0 {
		return nil
	}
	now := s.now().Truncate(time.Second)
	r := rand.New(rand.NewPCG(s.cfg.Seed^0xadd, uint64(s.orderSeq)))
	ids := make([]string, 0, n)
	for range n {
		u := s.users[r.IntN(len(s.users))]
		o := s.newOrder(r, u.OpenID, now, now)
		o.State = 1
		s.orders = append(s.orders, o)
		ids = append(ids, o.MerchantTradeNo)
	}
	s.sortOrders()
	slices.Sort(ids)
	return ids
}
