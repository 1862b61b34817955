package douyin_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin"
	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

type cursor struct {
	Through time.Time `json:"through"`
}

func through(t *testing.T, cp []byte) time.Time {
	t.Helper()
	var c cursor
	if err := json.Unmarshal(cp, &c); err != nil || c.Through.IsZero() {
		t.Fatalf("checkpoint %s: %v", cp, err)
	}
	return c.Through
}

func TestFullReadMapsEveryOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	c := e.connector(t, nil)
	r := read(t, c, sdk.ModeFull, nil)
	recs := r.records()
	if len(recs) != e.sb.OrderCount() {
		t.Fatalf("read %d orders, the sandbox has %d", len(recs), e.sb.OrderCount())
	}
	cfg := e.sb.Config()
	shop := shopScope(cfg)
	seen := map[string]bool{}
	withUnion := 0
	for _, rec := range recs {
		if rec.Bad != nil || rec.Order == nil {
			t.Fatalf("record %s not mapped: %+v", rec.ID, rec.Bad)
		}
		if seen[rec.ID] {
			t.Fatalf("order %s read twice", rec.ID)
		}
		seen[rec.ID] = true
		o := rec.Order
		so, _ := e.sb.Order(rec.ID)
		if o.Platform != "douyin" || o.Shop != shop || o.OrderID != so.OrderID || !o.UpdatedAt.Equal(time.Unix(so.UpdateTime, 0)) || !rec.UpdatedAt.Equal(o.UpdatedAt) {
			t.Fatalf("order %s: %+v", rec.ID, o)
		}
		if o.TotalFen != so.OrderAmount || o.ShippingFen != so.PostAmount || o.DiscountFen != so.PromotionAmount || len(o.Items) != len(so.SkuOrderList) {
			t.Fatalf("order %s amounts or items: %+v, platform %+v", rec.ID, o, so)
		}
		buyer, _ := e.sb.Member(so.DoudianOpenID)
		wantIDs := 1
		if buyer.Active {
			wantIDs = 2
		}
		if len(o.Buyer) != wantIDs || o.Buyer[0] != (mapping.Identity{Type: mapping.IDDouyinOpenID, Scope: shop, Value: so.DoudianOpenID}) {
			t.Fatalf("order %s buyer %v", rec.ID, o.Buyer)
		}
		if wantIDs == 2 {
			withUnion++
			if o.Buyer[1] != (mapping.Identity{Type: mapping.IDDouyinUnionID, Scope: cfg.Brand, Value: buyer.UnionID}) {
				t.Fatalf("order %s union id %v, want %s", rec.ID, o.Buyer[1], buyer.UnionID)
			}
		}
		for _, id := range o.Buyer {
			if err := id.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if withUnion == 0 {
		t.Fatal("no order carries a union id")
	}
	// The first seven orders are in the seven statuses 1, 105, 2, 101|3, 3, 4, 5.
	want := []mapping.OrderStatus{mapping.OrderPendingPayment, mapping.OrderPaid, mapping.OrderPaid, mapping.OrderShipped, mapping.OrderShipped, mapping.OrderCancelled, mapping.OrderCompleted}
	byID := map[string]*mapping.Order{}
	for _, rec := range recs {
		byID[rec.ID] = rec.Order
	}
	for i, st := range want {
		o := byID[e.sb.OrderID(i)]
		if o.Status != st && o.Status != mapping.OrderRefunded {
			t.Errorf("order %d status %s, want %s", i, o.Status, st)
		}
	}
	if o := byID[e.sb.OrderID(0)]; o.PaidFen != 0 || !o.PaidAt.IsZero() {
		t.Errorf("unpaid order has paid %d at %v", o.PaidFen, o.PaidAt)
	}
	if through(t, r.last()).Unix() != t0.Unix() {
		t.Fatalf("bookmark %v, want the read's start %v (lag 0)", through(t, r.last()), t0)
	}
}

// TestCheckpointsAreSafe reads with small pages over runs of equal update
// times (touched together) and checks every checkpoint: all orders updated
// at or before it were emitted before it, and a read resumed from it
// completes the set.
func TestCheckpointsAreSafe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 1200})
	// 250 orders updated in one second, then 30 in the next: runs longer
	// than a page.
	e.clk.Add(time.Minute)
	for i := 100; i < 350; i++ {
		if err := e.sb.TouchOrder(e.sb.OrderID(i)); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Add(time.Second)
	for i := 400; i < 430; i++ {
		if err := e.sb.TouchOrder(e.sb.OrderID(i)); err != nil {
			t.Fatal(err)
		}
	}
	c := e.connector(t, map[string]any{"page_size": 40})
	r := read(t, c, sdk.ModeFull, nil)
	updated := map[string]int64{}
	for _, rec := range r.records() {
		if _, dup := updated[rec.ID]; dup {
			t.Fatalf("order %s read twice", rec.ID)
		}
		updated[rec.ID] = rec.UpdatedAt.Unix()
	}
	if len(updated) != e.sb.OrderCount() {
		t.Fatalf("read %d orders, want %d", len(updated), e.sb.OrderCount())
	}
	emitted := map[string]bool{}
	cps := 0
	var prev int64
	for i, it := range r.items {
		if it.rec != nil {
			emitted[it.rec.ID] = true
			continue
		}
		cps++
		th := through(t, it.cp).Unix()
		if th <= prev {
			t.Fatalf("checkpoint %d does not move forward: %d after %d", cps, th, prev)
		}
		prev = th
		for id, u := range updated {
			if u <= th && !emitted[id] {
				t.Fatalf("checkpoint %d (through %d) comes before order %s updated at %d", cps, th, id, u)
			}
		}
		rest := read(t, c, sdk.ModeFull, it.cp)
		got := map[string]bool{}
		for _, x := range r.items[:i] {
			if x.rec != nil {
				got[x.rec.ID] = true
			}
		}
		for _, rec := range rest.records() {
			got[rec.ID] = true
		}
		if len(got) != len(updated) {
			t.Fatalf("resuming from checkpoint %d gives %d orders, want %d", cps, len(got), len(updated))
		}
	}
	if cps < 3 {
		t.Fatalf("%d checkpoints, want several", cps)
	}
}

func TestIncrementalReadsChangesAndHonoursLag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	c := e.connector(t, map[string]any{"lag": "30s"})
	full := read(t, c, sdk.ModeFull, nil)
	if got := through(t, full.last()); !got.Equal(t0.Add(-30 * time.Second)) {
		t.Fatalf("bookmark %v, want start minus lag %v", got, t0.Add(-30*time.Second))
	}
	e.clk.Add(time.Minute)
	early := e.sb.Step(4) // a minute before the next read: older than the lag
	e.clk.Add(50 * time.Second)
	late := e.sb.Step(3) // 10 s before the next read: within the lag
	inc := read(t, c, sdk.ModeIncremental, full.last())
	var ids []string
	for _, rec := range inc.records() {
		ids = append(ids, rec.ID)
	}
	// Orders updated within the lag of the full read come now too.
	want := updatedIn(e.sb, t0.Add(-29*time.Second), t0)
	want = append(want, early...)
	if !sameSet(ids, want) {
		t.Fatalf("incremental read returned %v, want the orders changed before the lag %v", ids, want)
	}
	for _, id := range late {
		if slices.Contains(ids, id) {
			t.Fatalf("order %s changed within the lag was read", id)
		}
	}
	next := through(t, inc.last())
	if want := e.clk.Now().Add(-30 * time.Second); !next.Equal(want) {
		t.Fatalf("bookmark %v, want %v", next, want)
	}
	e.clk.Add(time.Minute)
	again := read(t, c, sdk.ModeIncremental, inc.last())
	ids = ids[:0]
	for _, rec := range again.records() {
		ids = append(ids, rec.ID)
	}
	if !sameSet(ids, late) {
		t.Fatalf("next incremental read returned %v, want %v", ids, late)
	}
	// A read within the lag of the last one ends on the same checkpoint.
	same := read(t, c, sdk.ModeIncremental, again.last())
	if len(same.records()) != 0 || string(same.last()) != string(again.last()) {
		t.Fatalf("read within the lag: %d records, checkpoint %s", len(same.records()), same.last())
	}
}

// updatedIn lists the sandbox's orders updated from start to end (inclusive).
func updatedIn(sb *sandbox.Server, start, end time.Time) []string {
	var out []string
	for i := range sb.OrderCount() {
		o, _ := sb.Order(sb.OrderID(i))
		if o.UpdateTime >= start.Unix() && o.UpdateTime <= end.Unix() {
			out = append(out, o.OrderID)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		if m[x] != 1 {
			return false
		}
	}
	return true
}

// bigGateway wraps a sandbox: it records the order.searchList queries and
// reports windows wider than wide as holding more rows than paging reaches,
// as a shop with a few hundred thousand orders would.
type bigGateway struct {
	next http.Handler
	wide int64 // seconds
	mu   sync.Mutex
	reqs []doudian.OrderSearchListRequest
}

func (g *bigGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != doudian.MethodPath(doudian.MethodOrderSearchList) {
		g.next.ServeHTTP(w, r)
		return
	}
	body, _ := readBody(r)
	var req doudian.OrderSearchListRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.reqs = append(g.reqs, req)
	g.mu.Unlock()
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, r)
	var env doudian.Response
	var data doudian.OrderSearchListResult
	if json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Code != doudian.CodeSuccess || json.Unmarshal(env.Data, &data) != nil {
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	if req.UpdateTimeEnd-req.UpdateTimeStart > g.wide {
		data.Total = 3*doudian.MaxReachableRows + 1
	}
	env.Data, _ = json.Marshal(data)
	b, _ := json.Marshal(env)
	_, _ = w.Write(b)
}

func TestWindowsOverTheCapAreSplit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 800})
	g := &bigGateway{next: e.sb, wide: 10 * 24 * 3600}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	c := e.connector(t, map[string]any{"api_base": srv.URL, "member_app_id": 0})
	r := read(t, c, sdk.ModeFull, nil)
	seen := map[string]bool{}
	for _, rec := range r.records() {
		if seen[rec.ID] {
			t.Fatalf("order %s read twice", rec.ID)
		}
		seen[rec.ID] = true
	}
	if len(seen) != e.sb.OrderCount() {
		t.Fatalf("read %d orders, want %d", len(seen), e.sb.OrderCount())
	}
	first, narrow := g.reqs[0], 0
	for _, q := range g.reqs {
		if (q.Page+1)*q.Size > doudian.MaxReachableRows {
			t.Fatalf("query pages past the cap: %+v", q)
		}
		if q.OrderBy != doudian.OrderByUpdateTime || !q.OrderAsc || q.Size > doudian.MaxPageSize {
			t.Fatalf("query %+v is not update_time ascending within the page limit", q)
		}
		if q.UpdateTimeEnd-q.UpdateTimeStart <= g.wide {
			narrow++
		}
	}
	if narrow == 0 || first.UpdateTimeEnd-first.UpdateTimeStart <= g.wide {
		t.Fatalf("the window over the cap was not split (%d narrow queries of %d)", narrow, len(g.reqs))
	}
	if got := through(t, r.last()); got.Unix() != t0.Unix() {
		t.Fatalf("bookmark %v after split windows, want %v", got, t0)
	}
}

func TestReadErrorsAreClassed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault sandbox.Fault
		is    error
	}{
		{"throttled", sandbox.Fault{Kind: sandbox.FaultError, Code: doudian.CodeThrottled}, sdk.ErrThrottled},
		{"5xx", sandbox.Fault{Kind: sandbox.FaultHTTP5xx}, sdk.ErrUnavailable},
		{"malformed", sandbox.Fault{Kind: sandbox.FaultMalformed}, sdk.ErrUnavailable},
		{"system busy", sandbox.Fault{Kind: sandbox.FaultError, Code: doudian.CodeServiceUnavailable, SubCode: doudian.SubOrderSystemBusy}, sdk.ErrUnavailable},
		{"authorization revoked", sandbox.Fault{Kind: sandbox.FaultError, Code: doudian.CodePermissionDenied, SubCode: doudian.SubAuthorizationGone}, sdk.ErrAuth},
		{"token expired twice", sandbox.Fault{Kind: sandbox.FaultError, Code: doudian.CodeInvalidParam, SubCode: doudian.SubAccessTokenExpired, Count: 2}, sdk.ErrAuth},
		{"bad parameter", sandbox.Fault{Kind: sandbox.FaultError, Code: doudian.CodeInvalidBizParam, SubCode: doudian.SubParamInvalid}, sdk.ErrPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Config{Orders: 50, Members: 100})
			c := e.connector(t, nil)
			tt.fault.Method = doudian.MethodOrderSearchList
			if err := e.sb.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			var r recorder
			err := c.Read(t.Context(), sdk.ReadRequest{Stream: douyin.StreamOrders, Mode: sdk.ModeFull}, &r)
			if !errors.Is(err, tt.is) {
				t.Fatalf("error %v (class %s), want %v", err, sdk.ClassOf(err), tt.is)
			}
			if tt.is == sdk.ErrThrottled && sdk.RetryAfter(err) != time.Second {
				t.Fatalf("retry after %s, want 1s", sdk.RetryAfter(err))
			}
			if len(r.items) != 0 {
				t.Fatalf("a failed first call emitted %d items", len(r.items))
			}
		})
	}
}

func TestTokenExpiredOnceIsRefreshedAndRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 50, Members: 100})
	c := e.connector(t, nil)
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sb.ExpireTokens()
	r := read(t, c, sdk.ModeFull, nil)
	if len(r.records()) != 50 {
		t.Fatalf("read %d orders after the token expired, want 50", len(r.records()))
	}
}

func TestUnknownStreamAndBadCheckpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 50})
	c := e.connector(t, nil)
	var r recorder
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: "refunds", Mode: sdk.ModeFull}, &r); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("unknown stream: %v", err)
	}
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: douyin.StreamOrders, Mode: sdk.ModeIncremental, Checkpoint: []byte("{")}, &r); !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("bad checkpoint: %v", err)
	}
	old, _ := json.Marshal(cursor{Through: t0.Add(-200 * 24 * time.Hour)})
	got := read(t, c, sdk.ModeIncremental, old)
	if len(got.records()) != 10 {
		t.Fatalf("a checkpoint older than the horizon read %d orders, want all 10", len(got.records()))
	}
}
