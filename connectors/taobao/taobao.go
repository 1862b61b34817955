// Package taobao is the Taobao/Tmall (TOP) connector. It backfills the
// shop's trades by creation time and reads them incrementally by
// modification time, reads the shop's CRM members, pulls TMC messages (trade
// changes re-read in full, 会员通 point changes as ledger entries), writes
// 会员通 points and levels back (tmall.mei.crm.member.sync), and takes the
// 会员通 member SPI calls.
//
// The router client, signing, envelope and platform error codes live in the
// top subpackage, shared with the emulator in sandbox. Facts follow
// shared/platforms/commerce.md §1; README.md lists the choices made where the
// fact sheet is uncertain.
package taobao

import (
	"context"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/sdk"
)

// Plugin is what plugins/taobao serves.
var Plugin = sdk.Plugin{Spec: Spec, New: New}

// Connector reads and writes one Taobao/Tmall shop.
type Connector struct {
	c              *client
	host           *sdk.Host
	appKey         string
	secret         sdk.Secret
	shop           string
	brand          string
	lag            time.Duration
	window         time.Duration
	pageSize       int
	memberPageSize int
	tmcGroup       string
	tmcQuantity    int
}

var (
	_ sdk.Connector      = (*Connector)(nil)
	_ sdk.Writer         = (*Connector)(nil)
	_ sdk.WebhookHandler = (*Connector)(nil)
)

// New builds a connector from a validated config. It makes no calls.
func New(_ context.Context, cfg sdk.Config, host *sdk.Host) (sdk.Connector, error) {
	if cfg.String(FieldShop) == "" {
		return nil, sdk.ConfigError(FieldShop, "want the shop's seller id")
	}
	size := cfg.Int(FieldPageSize)
	if size < 1 || size > top.MaxPageSize {
		return nil, sdk.ConfigError(FieldPageSize, "want 1 to %d, got %d", top.MaxPageSize, size)
	}
	lag := cfg.Duration(FieldLag)
	if lag < 0 {
		return nil, sdk.ConfigError(FieldLag, "want a duration ≥ 0, got %s", lag)
	}
	window := cfg.Duration(FieldWindow)
	if window < time.Second || window > top.MaxIncrementSpan || window%time.Second != 0 {
		return nil, sdk.ConfigError(FieldWindow, "want whole seconds from 1s to 24h, got %s", window)
	}
	q := cfg.Int(FieldTMCQuantity)
	if q < top.MinConsume || q > top.MaxConsume {
		return nil, sdk.ConfigError(FieldTMCQuantity, "want %d to %d, got %d", top.MinConsume, top.MaxConsume, q)
	}
	c, err := newClient(cfg, host)
	if err != nil {
		return nil, err
	}
	return &Connector{
		c: c, host: host, appKey: cfg.String(FieldAppKey), secret: cfg.Secret(FieldAppSecret),
		shop: cfg.String(FieldShop), brand: cfg.String(FieldBrand), lag: lag, window: window,
		pageSize: int(size), memberPageSize: int(min(size, top.MaxCRMPageSize)),
		tmcGroup: cfg.String(FieldTMCGroup), tmcQuantity: int(q),
	}, nil
}

// Check makes one signed, authorized call (taobao.trades.sold.increment.get
// for the last minute), so a wrong app_secret or a dead session shows.
func (k *Connector) Check(ctx context.Context) error {
	now := k.c.now()
	req := top.IncrementGet{StartModified: now.Add(-time.Minute), EndModified: now, PageNo: 1, PageSize: 1, UseHasNext: true}
	var res top.TradesResult
	return k.c.call(ctx, top.MethodTradesSoldIncrementGet, req.Params(), &res)
}

// Close implements sdk.Connector.
func (k *Connector) Close(context.Context) error {
	k.c.http.CloseIdleConnections()
	return nil
}

// Read implements sdk.Connector.
func (k *Connector) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	switch req.Stream {
	case StreamOrders:
		return k.readOrders(ctx, req, out)
	case StreamMembers:
		return k.readMembers(ctx, req, out)
	case StreamTMC:
		return k.readTMC(ctx, req, out)
	}
	return sdk.ConfigError("stream", "taobao has no stream %q", req.Stream)
}
