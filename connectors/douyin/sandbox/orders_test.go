package sandbox_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/mapping"
)

// history is the widest window the platform accepts at now.
func history(now time.Time) doudian.Window {
	return doudian.Window{Start: doudian.EarliestStart(now), End: now}
}

// walk reads every page of req (from page 0) and returns the orders.
func (e *env) walk(t *testing.T, req doudian.OrderSearchListRequest) ([]doudian.ShopOrder, int64) {
	t.Helper()
	var all []doudian.ShopOrder
	for page := int64(0); ; page++ {
		req.Page = page
		res, err := e.c.OrderSearchList(t.Context(), e.tok, req)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if res.Page != page || res.Size != req.Size {
			t.Fatalf("page %d answered as page %d size %d", page, res.Page, res.Size)
		}
		all = append(all, res.ShopOrderList...)
		if !res.More() {
			return all, res.Total
		}
	}
}

func TestOrderSearchPagesFromZero(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 1234})
	req := doudian.UpdatedIn(history(e.s.Now()), 0, 100)
	orders, total := e.walk(t, req)
	if total != 1234 || len(orders) != 1234 {
		t.Fatalf("total %d, read %d; want 1234", total, len(orders))
	}
	seen := map[string]bool{}
	for i, o := range orders {
		if seen[o.OrderID] {
			t.Fatalf("order %s twice", o.OrderID)
		}
		seen[o.OrderID] = true
		if i > 0 && o.UpdateTime < orders[i-1].UpdateTime {
			t.Fatalf("not ascending by update_time at %d", i)
		}
	}
	// Descending by create time (the platform's default order) over a create window.
	s, en := history(e.s.Now()).Unix()
	desc, total := e.walk(t, doudian.OrderSearchListRequest{CreateTimeStart: s, CreateTimeEnd: en, Size: 50})
	if total != 1234 || len(desc) != 1234 {
		t.Fatalf("create window: total %d, read %d", total, len(desc))
	}
	for i := 1; i < len(desc); i++ {
		if desc[i].CreateTime > desc[i-1].CreateTime {
			t.Fatalf("not descending by create_time at %d", i)
		}
	}
}

func TestOrderSearchFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 800})
	w := history(e.s.Now())
	s, en := w.Unix()
	all, _ := e.walk(t, doudian.UpdatedIn(w, 0, 100))
	count := map[int]int{}
	for _, o := range all {
		count[o.OrderStatus]++
	}
	for _, st := range []int{1, 105, 2, 101, 3, 4, 5} {
		if count[st] == 0 {
			t.Errorf("no order in status %d", st)
		}
	}
	// Status filter and both windows together (the slow path) agree with a
	// filter over the full list.
	mid := s + (en-s)/2
	req := doudian.OrderSearchListRequest{UpdateTimeStart: mid, UpdateTimeEnd: en, CreateTimeStart: s, CombineStatus: []doudian.CombineStatus{{OrderStatus: "5,4"}}, OrderBy: doudian.OrderByUpdateTime, OrderAsc: true, Size: 100}
	got, total := e.walk(t, req)
	var want []string
	for _, o := range all {
		if o.UpdateTime >= mid && (o.OrderStatus == 5 || o.OrderStatus == 4) {
			want = append(want, o.OrderID)
		}
	}
	ids := make([]string, len(got))
	for i, o := range got {
		ids[i] = o.OrderID
	}
	if int(total) != len(want) || !slices.Equal(ids, want) {
		t.Fatalf("filtered: total %d, %d ids; want %d", total, len(ids), len(want))
	}
}

func TestOrderSearchLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	now := e.s.Now()
	s, en := history(now).Unix()
	tooOld := now.Add(-doudian.HistoryLimit).Add(-time.Minute).Unix()
	tests := []struct {
		name   string
		params map[string]any
		sub    string
	}{
		{"size over 100", map[string]any{"update_time_start": s, "page": 0, "size": 101}, doudian.SubOrderPageSize},
		{"size 0", map[string]any{"update_time_start": s, "page": 0, "size": 0}, doudian.SubOrderPageSize},
		{"negative page", map[string]any{"update_time_start": s, "page": -1, "size": 10}, doudian.SubOrderPageNegative},
		{"no start", map[string]any{"update_time_end": en, "page": 0, "size": 10}, doudian.SubOrderStartMissing},
		{"update start beyond 90 days", map[string]any{"update_time_start": tooOld, "page": 0, "size": 10}, doudian.SubOrderHistory},
		{"create start beyond 90 days", map[string]any{"create_time_start": tooOld, "page": 0, "size": 10}, doudian.SubOrderHistory},
		{"start after end", map[string]any{"update_time_start": en, "update_time_end": s, "page": 0, "size": 10}, doudian.SubOrderStartAfterEnd},
		{"two status groups", map[string]any{"update_time_start": s, "page": 0, "size": 10, "combine_status": []map[string]string{{"order_status": "1"}, {"order_status": "2"}}}, doudian.SubOrderStatusTooMany},
		{"page beyond 50,000 rows", map[string]any{"update_time_start": s, "page": 500, "size": 100}, doudian.SubOrderTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := e.c.Call(t.Context(), doudian.MethodOrderSearchList, e.tok, tt.params, nil)
			if ae := apiErr(t, err); ae.Code != doudian.CodeInvalidBizParam || ae.SubCode != tt.sub {
				t.Fatalf("error = %+v, want 40004 %s", ae, tt.sub)
			}
		})
	}
	// Exactly 90 days back is still accepted; a page past the end is empty.
	res, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.OrderSearchListRequest{UpdateTimeStart: now.Add(-doudian.HistoryLimit).Unix(), Page: 40, Size: 100})
	if err != nil || len(res.ShopOrderList) != 0 || res.Total == 0 {
		t.Fatalf("page past the end: %+v, %v", res, err)
	}
}

func TestDeepPagingCapAndSplit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 60000, Members: 1000})
	w := history(e.s.Now())
	last, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(w, 499, 100))
	if err != nil {
		t.Fatal(err)
	}
	if last.Total != 60000 || !last.Truncated() || last.More() || len(last.ShopOrderList) != 100 {
		t.Fatalf("page 499: total %d truncated %v more %v rows %d", last.Total, last.Truncated(), last.More(), len(last.ShopOrderList))
	}
	_, err = e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(w, 500, 100))
	if ae := apiErr(t, err); ae.SubCode != doudian.SubOrderTooDeep {
		t.Fatalf("page 500: %+v", ae)
	}
	// A page straddling row 50,000 is cut at it.
	cut, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(w, 1666, 30))
	if err != nil || len(cut.ShopOrderList) != 20 {
		t.Fatalf("page 1666 of 30: %d rows, %v", len(cut.ShopOrderList), err)
	}
	// Splitting makes every row reachable: each part is within the cap and
	// the parts cover all orders.
	parts := doudian.SplitWindow(w, last.Total)
	var sum int64
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		first, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(p, 0, 100))
		if err != nil {
			t.Fatal(err)
		}
		if first.Truncated() {
			parts = append(parts, doudian.SplitWindow(p, first.Total)...)
			continue
		}
		sum += first.Total
		lastPage := max(0, (first.Total+99)/100-1)
		if _, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(p, int(lastPage), 100)); err != nil {
			t.Fatalf("last page of part %v: %v", p, err)
		}
	}
	if sum < 60000 {
		t.Fatalf("parts hold %d orders, want all 60000", sum)
	}
}

func TestOrderDetailRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	res, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(history(e.s.Now()), 0, 20))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.ShopOrderList {
		d, err := e.c.OrderDetail(t.Context(), e.tok, o.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*d, o) {
			t.Fatalf("detail of %s differs from the list entry", o.OrderID)
		}
		if _, err := mapping.DouyinOrderStatus(d.OrderStatus); err != nil {
			t.Fatal(err)
		}
		var goods mapping.Fen
		for _, c := range d.SkuOrderList {
			goods += c.SumAmount
			if c.ParentOrderID != d.OrderID || c.SumAmount != c.OriginAmount*mapping.Fen(c.ItemNum) {
				t.Fatalf("child %+v", c)
			}
		}
		if d.OrderAmount != goods+d.PostAmount || d.PayAmount != d.OrderAmount-d.PromotionAmount || d.PayAmount <= 0 {
			t.Fatalf("amounts of %s: order %d goods %d post %d promo %d pay %d", d.OrderID, d.OrderAmount, goods, d.PostAmount, d.PromotionAmount, d.PayAmount)
		}
		if m, ok := e.s.Member(d.DoudianOpenID); !ok || m.OpenID != d.DoudianOpenID {
			t.Fatalf("buyer %q of %s is not a Douyin person", d.DoudianOpenID, d.OrderID)
		}
	}
	_, err = e.c.OrderDetail(t.Context(), e.tok, "6900000000000000000")
	if ae := apiErr(t, err); ae.Code != doudian.CodeInvalidBizParam {
		t.Fatalf("unknown order: %+v", ae)
	}
}

func TestAdvanceAndTouchMoveUpdateTimes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 2000})
	before := e.s.Now()
	changed := e.s.Advance(time.Hour)
	if len(changed) == 0 || len(changed) > 60 {
		t.Fatalf("Advance(1h) changed %d orders, want 1..60", len(changed))
	}
	after := e.s.Now()
	if !after.Equal(before.Add(time.Hour)) {
		t.Fatalf("clock %v, want %v", after, before.Add(time.Hour))
	}
	e.c = e.client(t, e.s.Config().AppSecret, e.s.Now)
	got, total := e.walk(t, doudian.UpdatedIn(doudian.Window{Start: before.Add(time.Second), End: after}, 0, 100))
	ids := make([]string, len(got))
	for i, o := range got {
		ids[i] = o.OrderID
	}
	slices.Sort(ids)
	if int(total) != len(changed) || !slices.Equal(ids, changed) {
		t.Fatalf("window after Advance holds %v, want %v", ids, changed)
	}

	completed := e.s.OrderID(6)
	if err := e.s.TouchOrder(completed); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(doudian.Window{Start: after, End: after}, 0, 100))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range res.ShopOrderList {
		found = found || o.OrderID == completed && o.OrderStatus == doudian.OrderStatusCompleted && o.UpdateTime == after.Unix()
	}
	if !found {
		t.Fatalf("touched order not in the window at %v", after)
	}
	if err := e.s.TouchOrder("123"); err == nil {
		t.Fatal("TouchOrder of an unknown id succeeded")
	}
}

func TestManyTouchesCompactTheIndex(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 100, ChurnPerHour: -1})
	for i := range 3000 { // well past the index's spare capacity
		if err := e.s.TouchOrder(e.s.OrderID(i % 100)); err != nil {
			t.Fatal(err)
		}
	}
	all, total := e.walk(t, doudian.UpdatedIn(history(e.s.Now()), 0, 100))
	if total != 100 || len(all) != 100 {
		t.Fatalf("after touches: total %d, read %d", total, len(all))
	}
	for _, o := range all {
		if o.UpdateTime != e.s.Now().Unix() {
			t.Fatalf("order %s update_time %d, want now", o.OrderID, o.UpdateTime)
		}
	}
}

func TestScales(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("200k orders")
	}
	began := time.Now()
	e := newEnv(t, sandbox.Config{Orders: 200000})
	built := time.Since(began)
	w := history(e.s.Now())
	res, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(w, 300, 100))
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 200000 || len(res.ShopOrderList) != 100 {
		t.Fatalf("total %d rows %d", res.Total, len(res.ShopOrderList))
	}
	// Paging deep into the window costs the same as page 0.
	began = time.Now()
	for page := range 20 {
		if _, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(w, 480+page, 100)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("200k orders built in %v; 20 pages in %v", built, time.Since(began))
}

func TestDataIsReproducibleAndScoped(t *testing.T) {
	t.Parallel()
	cfg := sandbox.Config{Orders: 50, Members: 300, Now: func() time.Time { return start }}
	a, b := sandbox.New(cfg), sandbox.New(cfg)
	for i := range 50 {
		oa, _ := a.Order(a.OrderID(i))
		ob, _ := b.Order(b.OrderID(i))
		if !reflect.DeepEqual(oa, ob) {
			t.Fatalf("order %d differs between equal configs", i)
		}
	}
	cfg.ShopID = 777
	other := sandbox.New(cfg) // same brand, another shop
	cfg.ShopID, cfg.Brand = 0, "another-brand"
	otherBrand := sandbox.New(cfg)
	ba, bo, bb := a.Buyers(), other.Buyers(), otherBrand.Buyers()
	if len(ba) == 0 || len(ba) != len(bo) {
		t.Fatalf("%d and %d buyers", len(ba), len(bo))
	}
	opens := map[string]bool{}
	for i := range ba {
		if opens[ba[i].OpenID] {
			t.Fatalf("open_id %s twice", ba[i].OpenID)
		}
		opens[ba[i].OpenID] = true
		if ba[i].OpenID == bo[i].OpenID || ba[i].UnionID != bo[i].UnionID {
			t.Fatalf("person %d: open_id must differ per shop and union_id stay per brand", ba[i].PersonIndex)
		}
		if ba[i].UnionID == bb[i].UnionID {
			t.Fatalf("person %d: union_id must differ per brand", ba[i].PersonIndex)
		}
	}
	for i := range 7 {
		o, _ := a.Order(a.OrderID(i))
		if want := []int{1, 105, 2, 101, 3, 4, 5}[i]; o.OrderStatus != want && !(want == 101 && o.OrderStatus == 3) {
			t.Fatalf("order %d status %d, want %d", i, o.OrderStatus, want)
		}
	}
}
