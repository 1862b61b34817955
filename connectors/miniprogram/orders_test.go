package miniprogram_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/miniprogram"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// collect is an sdk.Emitter that keeps what a read produced.
type collect struct {
	records     []sdk.Record
	checkpoints [][]byte
}

func (c *collect) Emit(_ context.Context, r sdk.Record) error {
	c.records = append(c.records, r)
	return nil
}
func (c *collect) Checkpoint(_ context.Context, cp []byte) error {
	c.checkpoints = append(c.checkpoints, cp)
	return nil
}
func (c *collect) Progress(context.Context, int64, int64) error { return nil }

func TestReconciliationMapsTheOrderList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.connector(t, map[string]any{"lag": "0s", "page_size": 7})
	app := e.sb.Config().AppID
	var out collect
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: miniprogram.StreamOrders, Mode: sdk.ModeFull}, &out); err != nil {
		t.Fatal(err)
	}
	want := e.sb.Orders()
	if len(out.records) != len(want) || len(want) == 0 {
		t.Fatalf("%d records, want the sandbox's %d orders", len(out.records), len(want))
	}
	status := map[int]mapping.OrderStatus{1: mapping.OrderPaid, 2: mapping.OrderShipped, 3: mapping.OrderCompleted, 4: mapping.OrderCompleted, 5: mapping.OrderRefunded}
	for i, so := range want {
		r := out.records[i]
		o := r.Order
		if r.ID != so.MerchantTradeNo || o.OrderID != so.MerchantTradeNo || o.Platform != "miniprogram" || o.Shop != app {
			t.Fatalf("order %d key %s/%s/%s, want %s", i, o.Platform, o.Shop, o.OrderID, so.MerchantTradeNo)
		}
		if o.PaidFen != mapping.Fen(so.PaidAmount) || o.TotalFen != mapping.Fen(so.PaidAmount) || o.Status != status[so.State] {
			t.Fatalf("order %s: paid %d status %s, want %d %s", so.MerchantTradeNo, o.PaidFen, o.Status, so.PaidAmount, status[so.State])
		}
		if !o.PaidAt.Equal(time.Unix(so.PayTime, 0)) || (so.UploadTime > 0 && !o.UpdatedAt.Equal(time.Unix(so.UploadTime, 0))) {
			t.Fatalf("order %s: paid %s updated %s", so.MerchantTradeNo, o.PaidAt, o.UpdatedAt)
		}
		if len(o.Buyer) != 1 || o.Buyer[0] != (mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: app, Value: so.OpenID}) {
			t.Fatalf("order %s buyer %v", so.MerchantTradeNo, o.Buyer)
		}
	}
	// 90 days of backfill in 24 h windows: one checkpoint per window, the
	// last at the read's end.
	if len(out.checkpoints) != 90 {
		t.Fatalf("%d checkpoints, want 90", len(out.checkpoints))
	}
	var last struct {
		PaidBefore int64 `json:"paid_before"`
	}
	if err := json.Unmarshal(out.checkpoints[89], &last); err != nil || last.PaidBefore != e.clock.Now().Unix() {
		t.Fatalf("last checkpoint %s", out.checkpoints[89])
	}

	// Orders paid later are read from the checkpoint, exactly.
	e.clock.Add(time.Minute)
	ids := e.sb.AddPaidOrders(3)
	e.clock.Add(time.Second)
	var inc collect
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: miniprogram.StreamOrders, Mode: sdk.ModeIncremental, Checkpoint: out.checkpoints[89]}, &inc); err != nil {
		t.Fatal(err)
	}
	if len(inc.records) != 3 || inc.records[0].Order.Status != mapping.OrderPaid {
		t.Fatalf("incremental read %d records, want %v", len(inc.records), ids)
	}
}

func TestOrderListErrorsAreClassed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	read := func(c *miniprogram.Connector) error {
		return c.Read(t.Context(), sdk.ReadRequest{Stream: miniprogram.StreamOrders, Mode: sdk.ModeFull}, &collect{})
	}
	c := e.connector(t, nil)
	for _, tt := range []struct {
		code  int
		class sdk.Class
	}{{45009, sdk.ClassThrottled}, {45011, sdk.ClassThrottled}, {-1, sdk.ClassUnavailable}, {48001, sdk.ClassAuth}} {
		e.sb.Inject("/wxa/sec/order/get_order_list", faultCode(tt.code))
		if err := read(c); sdk.ClassOf(err) != tt.class {
			t.Fatalf("errcode %d: %v (class %s), want %s", tt.code, err, sdk.ClassOf(err), tt.class)
		}
	}
	if err := read(e.connector(t, map[string]any{"app_secret": ""})); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("read without app_secret: %v", err)
	}
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: miniprogram.StreamMembers, Mode: sdk.ModeFull}, &collect{}); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("members read: %v, want a config error saying it is event-fed", err)
	}
	if err := e.connector(t, map[string]any{"app_secret": ""}).Check(t.Context()); err != nil {
		t.Fatalf("check of an intake-only connection: %v", err)
	}
}

func TestConfigIsValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for field, v := range map[string]any{"event_secret": "short", "page_size": 51, "window": "10s", "max_skew": "2h"} {
		cfg, err := miniprogram.Spec.ParseConfig(e.config(map[string]any{field: v}))
		if err == nil {
			_, err = miniprogram.New(t.Context(), cfg, nil)
		}
		var se *sdk.Error
		if !errors.As(err, &se) || se.Field != field {
			t.Fatalf("%s=%v: %v, want a config error on the field", field, v, err)
		}
	}
}
