package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"

	"github.com/channelhub/channelhub/connectors/taobao/top"
)

// Step moves n trades one step along their life (payment or closing,
// shipping, receipt) at the sandbox's current time, publishes a TMC trade
// message for each, and returns their tids, sorted. Fewer come back when few
// trades can still move.
func (s *Server) Step(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || len(s.trades) == 0 {
		return nil
	}
	at := s.now().Unix()
	s.stepSeq++
	r := rand.New(rand.NewPCG(s.cfg.Seed^saltStep, s.stepSeq))
	changed := map[int]bool{}
	for range n {
		for range 256 {
			i := r.IntN(len(s.trades))
			if changed[i] {
				continue
			}
			if topic, ok := s.step(i, at, r); ok {
				changed[i] = true
				s.publishTrade(i, topic)
				break
			}
		}
	}
	ids := make([]string, 0, len(changed))
	for i := range changed {
		ids = append(ids, strconv.FormatInt(s.tid(i), 10))
	}
	slices.Sort(ids)
	return ids
}

// step moves trade i at time at and returns the TMC topic of the change.
func (s *Server) step(i int, at int64, r *rand.Rand) (string, bool) {
	t := &s.trades[i]
	var topic string
	switch t.status {
	case top.TradeWaitBuyerPay, top.TradeNoCreatePay, top.TradePayPending:
		if r.IntN(4) == 0 {
			t.status, t.ended, topic = top.TradeClosedByTaobao, at, top.TopicTradeClose
		} else {
			t.status, t.paid, topic = top.TradeWaitSellerSendGoods, at, top.TopicTradeBuyerPay
		}
	case top.TradeWaitSellerSendGoods, top.TradeSellerConsignedPart:
		t.status, t.shipped, topic = top.TradeWaitBuyerConfirm, at, top.TopicTradeSellerShip
	case top.TradeWaitBuyerConfirm, top.TradeBuyerSigned:
		t.status, t.ended, topic = top.TradeFinished, at, top.TopicTradeSuccess
	default:
		return "", false
	}
	t.modified = at
	return topic, true
}

func (s *Server) publishTrade(i int, topic string) {
	t := s.trades[i]
	s.publish(topic, map[string]any{
		"tid": s.tid(i), "buyer_open_uid": s.buyers[t.buyer].openUID, "seller_nick": s.cfg.SellerNick,
		"payment": s.payment(i).String(), "status": t.status, "type": "fixed",
	})
}

// TouchTrade sets a trade's modified time to now without changing its
// status (as a memo or address change does) and publishes TradeChanged.
func (s *Server) TouchTrade(tid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.tradeIndex(tid)
	if !ok {
		return fmt.Errorf("sandbox: no trade %q", tid)
	}
	s.trades[i].modified = s.now().Unix()
	s.publishTrade(i, top.TopicTradeChanged)
	return nil
}

// TouchTrades sets the modified time of the first n trades of the generated
// order (0 ≤ i < n) to now, in one second: a run of equal modified times.
func (s *Server) TouchTrades(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.now().Unix()
	var ids []string
	for i := 0; i < n && i < len(s.trades); i++ {
		s.trades[i].modified = at
		ids = append(ids, strconv.FormatInt(s.tid(i), 10))
	}
	slices.Sort(ids)
	return ids
}

// TouchMembers changes n shop members (grade, trade count) at the current
// time and returns their ouids, sorted.
func (s *Server) TouchMembers(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.now().Unix()
	s.stepSeq++
	r := rand.New(rand.NewPCG(s.cfg.Seed^saltStep^0xabc, s.stepSeq))
	changed := map[int]bool{}
	for range n {
		for range 256 {
			k := r.IntN(len(s.buyers))
			if b := &s.buyers[k]; b.grade > 0 && !changed[k] {
				b.grade = 1 + b.grade%4
				b.trades++
				b.modified = at
				changed[k] = true
				break
			}
		}
	}
	var ids []string
	for k := range changed {
		ids = append(ids, s.buyers[k].ouid)
	}
	slices.Sort(ids)
	return ids
}

// TradeCount is the number of trades.
func (s *Server) TradeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.trades)
}

// TID returns the tid of the i-th generated trade. The first twelve trades
// are in the twelve statuses of top.TradeStatuses, in that order.
func (s *Server) TID(i int) string { return strconv.FormatInt(s.tid(i), 10) }

// Trade returns a trade as taobao.trade.fullinfo.get would.
func (s *Server) Trade(tid string) (top.Trade, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.tradeIndex(tid)
	if !ok {
		return top.Trade{}, false
	}
	return s.render(i, s.cfg.SellerNick), true
}

// Member is a brand member's state as the sandbox holds it.
type Member struct {
	OUID, OMID, OpenUID, Mobile string
	Grade, Level, Point         int64
}

// BrandMembers lists the 会员通 members (those with an omid).
func (s *Server) BrandMembers() []Member {
	return s.members(func(b *buyer) bool { return b.omid != "" })
}

// ShopMembers lists the shop's CRM members (those with a grade), in the
// order taobao.crm.members.get pages them.
func (s *Server) ShopMembers() []Member {
	return s.members(func(b *buyer) bool { return b.grade > 0 })
}

func (s *Server) members(keep func(*buyer) bool) []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Member
	for i := range s.buyers {
		if b := &s.buyers[i]; keep(b) {
			out = append(out, b.view())
		}
	}
	return out
}

func (b *buyer) view() Member {
	return Member{OUID: b.ouid, OMID: b.omid, OpenUID: b.openUID, Mobile: b.mobile, Grade: b.grade, Level: b.level, Point: b.point}
}

// MemberByOUID returns a shop member's state.
func (s *Server) MemberByOUID(ouid string) (Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byOUID[ouid]
	if !ok {
		return Member{}, false
	}
	return s.buyers[k].view(), true
}

// MemberSPIRequest builds a signed 会员通 SPI call (top.SPIBindQuery,
// top.SPIBind or top.SPIRegister) to target for the brand member with ouid,
// as Tmall sends it: the member's plaintext mobile in a JSON body.
func (s *Server) MemberSPIRequest(ctx context.Context, target, method, ouid string) (*http.Request, error) {
	s.mu.Lock()
	k, ok := s.byOUID[ouid]
	var body []byte
	if ok {
		b := s.buyers[k]
		body, _ = jsonMarshal(top.SPIMember{SellerName: s.cfg.SellerNick, Nick: b.nick, MixNick: mixNick(&b), OpenID: b.openUID,
			OUID: b.ouid, OMID: b.omid, Mobile: b.mobile})
	}
	now := s.now()
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("sandbox: no member %q", ouid)
	}
	return top.NewSPIRequest(ctx, target, s.cfg.AppKey, s.cfg.AppSecret, method, body, now)
}

// ForHub builds a sandbox for the hub's sandbox registry (hub sandbox, hub
// demo): seed and members shape the shared sandboxdata people, so a person's
// Taobao identities belong to the same person as on the other sandboxes. It
// returns the handler, the test credentials, and a ready connection config
// for the taobao connector — every key but api_base, which the registry sets
// to the sandbox's URL.
func ForHub(seed uint64, members int) (http.Handler, map[string]string, map[string]any) {
	s := New(Config{Seed: seed, Members: members})
	cfg := s.Config()
	creds := map[string]string{
		"app_key": cfg.AppKey, "app_secret": cfg.AppSecret, "session": cfg.Session,
		"refresh_token": cfg.RefreshToken, "shop": cfg.SellerID, "brand": cfg.Brand,
	}
	conn := map[string]any{
		"app_key": cfg.AppKey, "app_secret": cfg.AppSecret, "session": cfg.Session,
		"shop": cfg.SellerID, "brand": cfg.Brand,
	}
	return s, creds, conn
}
