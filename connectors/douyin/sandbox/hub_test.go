package sandbox_test

import (
	"slices"
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
)

func TestStepChangesOrdersAtNow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 300})
	now := e.s.Now()
	ids := e.s.Step(5)
	if len(ids) != 5 || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != 5 {
		t.Fatalf("Step(5) = %v, want 5 distinct sorted ids", ids)
	}
	if !e.s.Now().Equal(now) {
		t.Fatalf("Step moved the clock to %v", e.s.Now())
	}
	got, total := e.walk(t, doudian.UpdatedIn(doudian.Window{Start: now, End: now}, 0, 100))
	var inWindow []string
	for _, o := range got {
		inWindow = append(inWindow, o.OrderID)
	}
	slices.Sort(inWindow)
	if int(total) != len(ids) || !slices.Equal(inWindow, ids) {
		t.Fatalf("orders updated at now: %v, want %v", inWindow, ids)
	}
	if e.s.Step(0) != nil {
		t.Fatal("Step(0) changed orders")
	}
}

func TestForHub(t *testing.T) {
	t.Parallel()
	h, creds, conn := sandbox.ForHub(7, 200)
	s, ok := h.(*sandbox.Server)
	if !ok {
		t.Fatalf("handler is %T, want *sandbox.Server", h)
	}
	cfg := s.Config()
	if cfg.Seed != 7 || cfg.Members != 200 {
		t.Fatalf("seed %d members %d, want 7 and 200", cfg.Seed, cfg.Members)
	}
	if creds["app_key"] != cfg.AppKey || creds["app_secret"] != cfg.AppSecret {
		t.Fatalf("credentials %v do not match the sandbox", creds)
	}
	for _, k := range []string{"app_key", "app_secret", "shop_id", "brand", "member_app_id"} {
		if _, ok := conn[k]; !ok {
			t.Fatalf("connection config lacks %s: %v", k, conn)
		}
	}
	if _, ok := conn["api_base"]; ok {
		t.Fatal("connection config sets api_base; the registry does")
	}
	if len(s.Buyers()) == 0 {
		t.Fatal("no buyers seeded")
	}
}
