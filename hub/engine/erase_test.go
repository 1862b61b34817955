package engine_test

import (
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin"
	douyinsandbox "github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/mapping"
)

// An erasure (PIPL) reaches the platform: the member's Douyin shop
// membership is ended by the next run of the job that writes member.erase,
// through the Douyin plugin process, and the run after that has nothing
// left to deliver.
func TestErasureEndsDouyinMembership(t *testing.T) {
	t.Parallel()
	sb := douyinsandbox.New(douyinsandbox.Config{Members: 60, Orders: 300})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := sb.Config()
	yaml := oneConnection(t, "douyin-shop", "douyin", map[string]any{"app_key": c.AppKey, "app_secret": c.AppSecret, "shop_id": c.ShopID,
		"member_app_id": c.MemberAppID, "brand": c.Brand, "api_base": srv.URL}, `      - id: orders
        connection: douyin-shop
        read: [orders]
        write: [member.erase]
        mode: full
`)
	eng, st := engineFor(t, yaml, nil)
	ctx := t.Context()
	if _, err := eng.Run(ctx, engine.Request{Tenant: "t1", Job: "orders"}); err != nil {
		t.Fatal(err)
	}
	// A buyer who is a shop member and whose orders the hub holds.
	shop := strconv.FormatInt(c.ShopID, 10)
	var buyer douyinsandbox.Member
	var memberID string
	for _, b := range sb.Buyers() {
		m, err := st.FindMember(ctx, "t1", mapping.Identity{Type: mapping.IDDouyinOpenID, Scope: shop, Value: b.OpenID})
		if b.Active && err == nil {
			buyer, memberID = b, m.MemberID
			break
		}
	}
	if memberID == "" {
		t.Fatal("no stored buyer is a shop member")
	}
	var spec []string
	for _, a := range douyin.Spec.Actions {
		spec = append(spec, a.Name)
	}
	res, err := st.Erase(ctx, "t1", memberID, douyin.ActionMemberErase, func(string) []string { return spec }, nil)
	if err != nil || !slices.Equal(res.Queued, []string{"douyin-shop"}) {
		t.Fatalf("erase = %+v, %v: want member.erase queued for douyin-shop", res, err)
	}
	if got, _ := sb.Member(buyer.OpenID); !got.Active {
		t.Fatal("membership ended before the write job ran")
	}
	run, err := eng.Run(ctx, engine.Request{Tenant: "t1", Job: "orders"})
	if err != nil || run.Writes.Delivered != 1 {
		t.Fatalf("run after the erasure: %+v, %v: want member.erase delivered", run.Writes, err)
	}
	// The erased buyer's orders, read again, are skipped and counted so:
	// every record read is counted once.
	s := run.Streams[0]
	if s.Erased == 0 || s.Records != s.Written+s.Unchanged+s.DeadLettered+s.Erased {
		t.Fatalf("run after the erasure counted %+v: want the erased buyer's orders as erased, adding up to the records read", s)
	}
	if got, _ := sb.Member(buyer.OpenID); got.Active {
		t.Fatalf("buyer %s is still a shop member after the erasure was delivered", buyer.OpenID)
	}
	if again, err := eng.Run(ctx, engine.Request{Tenant: "t1", Job: "orders"}); err != nil || again.Writes.Delivered+again.Writes.Failed != 0 {
		t.Fatalf("next run: %+v, %v: want nothing left to deliver", again.Writes, err)
	}
}
