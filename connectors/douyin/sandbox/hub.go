package sandbox

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
)

// Step moves n orders one step along their life (payment or cancellation,
// preparation, shipping, completion) at the sandbox's current time, without
// moving its clock, and returns their ids, sorted. Unlike Advance, the
// changes land at Now, so a reader whose clock agrees with the sandbox sees
// them at once. Fewer than n come back when few orders can still move.
func (s *Server) Step(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || len(s.orders) == 0 {
		return nil
	}
	at := s.now().Unix()
	s.churnSeq++
	r := rand.New(rand.NewPCG(s.cfg.Seed^saltChurn, s.churnSeq))
	changed := map[string]bool{}
	for range n {
		for range 64 { // find an order that can still move and has not yet
			i := r.IntN(len(s.orders))
			if id := s.orderID(i, 0); !changed[id] && s.step(i, at, r) {
				changed[id] = true
				break
			}
		}
	}
	ids := make([]string, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// ForHub builds a sandbox for the hub's sandbox registry (hub sandbox, hub
// demo): seed and members shape the shared sandboxdata people, so a person's
// Douyin buyer identities belong to the same person as on the other
// sandboxes. It returns the handler, the test credentials, and a ready
// connection config for the douyin connector — every key but api_base,
// which the registry sets to the sandbox's URL. The connection is a
// self-use app (tokens from token.create for the shop), so no refresh token
// needs to survive restarts.
func ForHub(seed uint64, members int) (http.Handler, map[string]string, map[string]any) {
	s := New(Config{Seed: seed, Members: members})
	cfg := s.Config()
	shop := strconv.FormatInt(cfg.ShopID, 10)
	app := strconv.FormatInt(cfg.MemberAppID, 10)
	creds := map[string]string{
		"app_key": cfg.AppKey, "app_secret": cfg.AppSecret, "shop_id": shop,
		"member_app_id": app, "brand": cfg.Brand,
	}
	conn := map[string]any{
		"app_key": cfg.AppKey, "app_secret": cfg.AppSecret, "shop_id": cfg.ShopID,
		"member_app_id": cfg.MemberAppID, "brand": cfg.Brand,
	}
	return s, creds, conn
}
