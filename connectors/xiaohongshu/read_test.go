package xiaohongshu_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/xiaohongshu"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

const day = int64(24 * 60 * 60)

// A full read backfills by creation time in 24 h windows over backfill_days,
// checkpoints at each window's end, ends with a bookmark at start minus lag,
// and returns every order once with its detail.
func TestFullReadWindowsAndBookmark(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 600, Orders: 500, History: 20 * 24 * time.Hour}, t0)
	c := e.connector(t, map[string]any{"backfill_days": 25})
	before := e.sb.Stats()
	r := read(t, c, sdk.ModeFull, nil)
	calls := e.sb.Stats()

	got := r.ids()
	slices.Sort(got)
	want := e.sb.OrderIDs()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("full read returned %d orders, the shop has %d (or some twice)", len(got), len(want))
	}
	if n := calls.ByMethod[ark.MethodGetOrderDetail] - before.ByMethod[ark.MethodGetOrderDetail]; n != len(want) {
		t.Errorf("%d detail calls for %d orders", n, len(want))
	}

	end := t0.Add(-time.Minute).Unix() // default lag 1m
	from := end - 25*day
	cps := r.checkpoints()
	// 25 windows of 24 h, sharing their boundary seconds; then the switch to
	// changes and the changes pass over the end second.
	if len(cps) != 25+1+1 {
		t.Fatalf("%d checkpoints, want 27", len(cps))
	}
	for i, cp := range cps {
		c := decode(t, cp)
		if c.Next > end {
			t.Fatalf("checkpoint %d at %d passes start minus lag (%d)", i, c.Next, end)
		}
		if c.Phase == "backfill" {
			if c.Until != end {
				t.Fatalf("checkpoint %d: backfill until %d, want %d", i, c.Until, end)
			}
			if (c.Next-from)%day != 0 && c.Next != end {
				t.Fatalf("checkpoint %d at %d is not a 24 h window boundary from %d", i, c.Next, from)
			}
		}
	}
	if last := decode(t, r.last()); last.Phase != "changes" || last.Next != end {
		t.Fatalf("last checkpoint %+v, want the changes phase at %d", last, end)
	}
	if n := calls.ByMethod[ark.MethodGetOrderList] - before.ByMethod[ark.MethodGetOrderList]; n != 26 {
		t.Errorf("%d list calls, want one per window (26)", n)
	}
}

// Incremental reads take changes by update time in 30 min windows, and
// never read, nor checkpoint, past the run's start minus lag: a change made
// within the lag is left for the next run, not skipped.
func TestBookmarkStaysBehindLag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 300, Orders: 200, History: 10 * 24 * time.Hour}, t0)
	c := e.connector(t, map[string]any{"lag": "2m"})
	cp := read(t, c, sdk.ModeFull, nil).last()
	if got := decode(t, cp).Next; got != t0.Add(-2*time.Minute).Unix() {
		t.Fatalf("bookmark %d, want start minus lag %d", got, t0.Add(-2*time.Minute).Unix())
	}

	e.at(t0.Add(10 * time.Minute))
	changed := e.sb.Advance(5)
	e.hub.Set(t0.Add(11 * time.Minute)) // within the lag of the change
	r := read(t, c, sdk.ModeIncremental, cp)
	if ids := r.ids(); len(ids) != 0 {
		t.Fatalf("changes 1 min old were read with a 2 min lag: %v", ids)
	}
	limit := t0.Add(9 * time.Minute).Unix()
	for _, cp := range r.checkpoints() {
		if n := decode(t, cp).Next; n > limit {
			t.Fatalf("checkpoint at %d passes start minus lag %d", n, limit)
		}
	}
	cp = r.last()

	e.at(t0.Add(2 * time.Hour))
	added := e.sb.AddOrders(2)
	e.hub.Set(t0.Add(2*time.Hour + 3*time.Minute))
	before := e.sb.Stats().ByMethod[ark.MethodGetOrderList]
	r = read(t, c, sdk.ModeIncremental, cp)
	got := r.ids()
	slices.Sort(got)
	want := append(slices.Clone(changed), added...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("incremental read returned %v, want the changed and added orders %v", got, want)
	}
	from, end := decode(t, cp).Next, t0.Add(2*time.Hour+time.Minute).Unix()
	windows := int((end - from + 1799) / 1800)
	if n := e.sb.Stats().ByMethod[ark.MethodGetOrderList] - before; n != windows {
		t.Errorf("%d list calls from %d to %d, want one per 30 min window (%d)", n, from, end, windows)
	}
	for i, cp := range r.checkpoints() {
		c := decode(t, cp)
		if c.Phase != "changes" || c.Next > end || ((c.Next-from)%1800 != 0 && c.Next != end) {
			t.Fatalf("checkpoint %d %+v is not a 30 min window boundary from %d up to %d", i, c, from, end)
		}
	}
	if decode(t, r.last()).Next != end {
		t.Fatalf("last checkpoint %d, want %d", decode(t, r.last()).Next, end)
	}
}

// Orders stamped with one update second are never split by a checkpoint: the
// checkpoint at that second keeps the second, so the next read lists it
// again and skips only what it already emitted, unchanged.
func TestEqualUpdateTimesNeverSplit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 600, Orders: 400, History: 10 * 24 * time.Hour}, t0)
	c := e.connector(t, nil) // lag 1m
	cp := read(t, c, sdk.ModeFull, nil).last()

	// 250 orders (three pages) changed in the same millisecond.
	burst := t0.Add(5*time.Minute + 200*time.Millisecond)
	e.platform.Set(burst)
	ids := e.sb.OrderIDs()[:250]
	for _, id := range ids {
		if _, err := e.sb.TouchOrder(id, 0); err != nil {
			t.Fatal(err)
		}
	}
	// The read ends exactly on the burst's second.
	e.hub.Set(burst.Add(time.Minute))
	r := read(t, c, sdk.ModeIncremental, cp)
	got := r.ids()
	slices.Sort(got)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(got, want) {
		t.Fatalf("read %d of the 250 orders changed in one second", len(got))
	}
	for i, it := range r.items {
		if it.cp == nil {
			continue
		}
		if n := decode(t, it.cp).Next; n >= burst.Unix() {
			emitted := len((&recorder{items: r.items[:i]}).ids())
			if emitted != len(ids) {
				t.Fatalf("checkpoint at %d (the burst's second) after %d of its %d orders", n, emitted, len(ids))
			}
			if n != burst.Unix() {
				t.Fatalf("checkpoint at %d passes the burst's second %d", n, burst.Unix())
			}
		}
	}
	cp = r.last()
	if s := decode(t, cp); s.Next != burst.Unix() || len(s.Seen) != len(ids) {
		t.Fatalf("checkpoint %+v, want the burst's second with its %d orders seen", s, len(ids))
	}

	// Read again from there: the second is listed again, nothing is repeated…
	if again := read(t, c, sdk.ModeIncremental, cp).ids(); len(again) != 0 {
		t.Fatalf("%d orders of the burst read twice", len(again))
	}
	// …and what changed later within the same second is not lost.
	e.platform.Set(burst.Add(500 * time.Millisecond))
	late := []string{ids[7], e.sb.OrderIDs()[300]}
	for _, id := range late {
		if _, err := e.sb.TouchOrder(id, 0); err != nil {
			t.Fatal(err)
		}
	}
	got = read(t, c, sdk.ModeIncremental, cp).ids()
	slices.Sort(got)
	slices.Sort(late)
	if !slices.Equal(got, late) {
		t.Fatalf("read %v after two orders changed later in the burst's second, want %v", got, late)
	}
}

// A read that dies after any checkpoint and resumes from it loses nothing.
func TestResumeAfterCrashLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 300, Orders: 150, History: 15 * 24 * time.Hour}, t0)
	c := e.connector(t, map[string]any{"backfill_days": 20})
	all := read(t, c, sdk.ModeFull, nil)
	want := slices.Sorted(slices.Values(all.ids()))
	n := len(all.checkpoints())
	for k := 1; k < n; k += 4 {
		crashed := &recorder{failAfter: k}
		err := c.Read(t.Context(), sdk.ReadRequest{Stream: xiaohongshu.StreamOrders, Mode: sdk.ModeFull}, crashed)
		if !errors.Is(err, errCrash) {
			t.Fatalf("crash after checkpoint %d: %v", k, err)
		}
		got := map[string]bool{}
		for _, id := range crashed.ids() {
			got[id] = true
		}
		for _, id := range read(t, c, sdk.ModeFull, crashed.last()).ids() {
			got[id] = true
		}
		if len(got) != len(want) {
			t.Fatalf("crash after checkpoint %d of %d and resume: %d orders, want %d", k, n, len(got), len(want))
		}
	}
}

// Orders map with money in fen exactly as the detail gives it, statuses
// through mapping.XiaohongshuOrderStatus, and the buyer as a shop-scoped
// xhs_open_id: the seeded person's.
func TestReadMapsOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 800, Orders: 400, History: 20 * 24 * time.Hour}, t0)
	c := e.connector(t, nil)
	seller := e.sb.Config().SellerID
	statuses := map[int]bool{}
	for _, rec := range read(t, c, sdk.ModeFull, nil).records() {
		if rec.Bad != nil {
			t.Fatalf("bad record %s: %s", rec.ID, rec.Bad.Reason)
		}
		d, ok := e.sb.Order(rec.ID)
		if !ok {
			t.Fatalf("record %s is no sandbox order", rec.ID)
		}
		o := rec.Order
		wantStatus, err := mapping.XiaohongshuOrderStatus(d.OrderStatus)
		if err != nil {
			t.Fatal(err)
		}
		statuses[d.OrderStatus] = true
		var lines mapping.Fen
		for _, it := range o.Items {
			lines += it.UnitPriceFen * mapping.Fen(it.Quantity)
		}
		switch {
		case o.Platform != "xiaohongshu" || o.Shop != seller || o.OrderID != d.OrderID:
			t.Fatalf("%s: key %s/%s/%s", rec.ID, o.Platform, o.Shop, o.OrderID)
		case o.Status != wantStatus || o.PlatformStatus == "":
			t.Fatalf("%s: status %s (%s), want %s", rec.ID, o.Status, o.PlatformStatus, wantStatus)
		case o.PaidFen != d.TotalPayAmount || o.ShippingFen != d.TotalShippingFree || o.DiscountFen != d.TotalMerchantDiscount+d.TotalRedDiscount:
			t.Fatalf("%s: paid %d shipping %d discount %d, detail %+v", rec.ID, o.PaidFen, o.ShippingFen, o.DiscountFen, d)
		case o.TotalFen != lines+o.ShippingFen:
			t.Fatalf("%s: total %d, lines at list price %d + shipping %d", rec.ID, o.TotalFen, lines, o.ShippingFen)
		case !o.CreatedAt.Equal(d.CreatedTime.Time()) || !o.UpdatedAt.Equal(d.UpdateTime.Time()) || !rec.UpdatedAt.Equal(o.UpdatedAt) || o.CreatedAt.Location() != time.UTC:
			t.Fatalf("%s: times %v %v", rec.ID, o.CreatedAt, o.UpdatedAt)
		case len(o.Items) != len(d.SkuList) || o.Region == "":
			t.Fatalf("%s: items %d region %q", rec.ID, len(o.Items), o.Region)
		}
		person, hasBuyer := e.sb.BuyerOf(rec.ID)
		if !hasBuyer {
			if len(o.Buyer) != 0 {
				t.Fatalf("%s: buyer %v on an order without one", rec.ID, o.Buyer)
			}
			continue
		}
		want := mapping.Identity{Type: mapping.IDXHSOpenID, Scope: seller, Value: e.sb.UserID(person)}
		if len(o.Buyer) != 1 || o.Buyer[0] != want {
			t.Fatalf("%s: buyer %v, want %v", rec.ID, o.Buyer, want)
		}
		if err := o.Buyer[0].Validate(); err != nil {
			t.Fatal(err)
		}
	}
	if len(statuses) != 10 {
		t.Fatalf("read orders in %d statuses, want all 10", len(statuses))
	}
}

// Throttling and outages come back as classed errors, for the hub to wait
// out or retry; Read never sleeps on them.
func TestReadErrorsAreClassed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault sandbox.Fault
		want  error
	}{
		{"throttled", sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeThrottled}, sdk.ErrThrottled},
		{"server error code", sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeServerError}, sdk.ErrUnavailable},
		{"http 502", sandbox.Fault{Kind: sandbox.FaultHTTP502}, sdk.ErrUnavailable},
		{"malformed", sandbox.Fault{Kind: sandbox.FaultMalformed}, sdk.ErrUnavailable},
		{"no permission", sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeNoPermission}, sdk.ErrAuth},
		{"bad params", sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeBadParams}, sdk.ErrPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Config{Members: 100, Orders: 50}, t0)
			c := e.connector(t, nil)
			if err := e.sb.Inject(ark.MethodGetOrderList, tc.fault); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var r recorder
			err := c.Read(t.Context(), sdk.ReadRequest{Stream: xiaohongshu.StreamOrders, Mode: sdk.ModeFull}, &r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("read: %v (class %s), want %v", err, sdk.ClassOf(err), tc.want)
			}
			if errors.Is(err, sdk.ErrThrottled) && sdk.RetryAfter(err) <= 0 {
				t.Fatalf("throttled without a wait: %v", err)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatal("read slept on the failure")
			}
		})
	}
}

// The connector has one stream; Xiaohongshu has no member API.
func TestOrdersOnly(t *testing.T) {
	t.Parallel()
	s := xiaohongshu.Spec
	if len(s.Streams) != 1 || s.Streams[0].Kind != sdk.KindOrders || len(s.Actions) != 0 || !s.Webhook {
		t.Fatalf("spec streams %+v actions %+v webhook %v", s.Streams, s.Actions, s.Webhook)
	}
	if !containsAll(s.Description, "no member", "orders only") {
		t.Fatalf("the spec does not say plainly that there is no member API: %q", s.Description)
	}
	e := newEnv(t, sandbox.Config{Members: 10, Orders: 5}, t0)
	err := e.connector(t, nil).Read(t.Context(), sdk.ReadRequest{Stream: "members", Mode: sdk.ModeFull}, &recorder{})
	if !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("reading members: %v, want an invalid_config error", err)
	}
}
