// Package douyin is the Douyin Shop (抖店) connector. It reads the shop's
// orders by update time (order.searchList), takes the platform's order pushes
// and member join/leave SPI calls, and writes member levels and points back
// through 会员通 (member.batchUpdate).
//
// The gateway client, signing and platform error codes live in the doudian
// subpackage, shared with the emulator in sandbox. Facts follow
// shared/platforms/commerce.md §2; README.md lists the choices made where the
// fact sheet is uncertain.
package douyin

import (
	"context"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/sdk"
)

// Plugin is what plugins/douyin serves.
var Plugin = sdk.Plugin{Spec: Spec, New: New}

// Connector reads and writes one Douyin shop.
type Connector struct {
	c           *client
	host        *sdk.Host
	appKey      string
	secret      sdk.Secret
	shopID      int64
	shop        string // shopID in decimal: the scope of douyin_open_id
	brand       string // the scope of douyin_union_id
	memberAppID int64
	lag         time.Duration
	pageSize    int
}

var (
	_ sdk.Connector      = (*Connector)(nil)
	_ sdk.Writer         = (*Connector)(nil)
	_ sdk.WebhookHandler = (*Connector)(nil)
)

// New builds a connector from a validated config. It makes no calls.
func New(_ context.Context, cfg sdk.Config, host *sdk.Host) (sdk.Connector, error) {
	shopID := cfg.Int(FieldShopID)
	if shopID <= 0 {
		return nil, sdk.ConfigError(FieldShopID, "want a positive shop id, got %d", shopID)
	}
	size := cfg.Int(FieldPageSize)
	if size < 1 || size > doudian.MaxPageSize {
		return nil, sdk.ConfigError(FieldPageSize, "want 1 to %d, got %d", doudian.MaxPageSize, size)
	}
	lag := cfg.Duration(FieldLag)
	if lag < 0 {
		return nil, sdk.ConfigError(FieldLag, "want a duration ≥ 0, got %s", lag)
	}
	if cfg.Int(FieldMemberAppID) < 0 {
		return nil, sdk.ConfigError(FieldMemberAppID, "want an app id ≥ 0")
	}
	c, err := newClient(cfg, host)
	if err != nil {
		return nil, err
	}
	return &Connector{
		c: c, host: host,
		appKey: cfg.String(FieldAppKey), secret: cfg.Secret(FieldAppSecret),
		shopID: shopID, shop: strconv.FormatInt(shopID, 10), brand: cfg.String(FieldBrand),
		memberAppID: cfg.Int(FieldMemberAppID), lag: lag, pageSize: int(size),
	}, nil
}

// Check gets an access token (from the shared cache, or a new one) and makes
// one signed order.searchList call for the last hour, so a wrong app_secret
// shows even when a good token is cached. With member_app_id it also checks
// that 会员通 answers for that app id.
func (k *Connector) Check(ctx context.Context) error {
	now := k.c.now()
	w := doudian.Window{Start: now.Add(-time.Hour), End: now}
	if _, err := k.c.searchOrders(ctx, doudian.UpdatedIn(w, 0, 1)); err != nil {
		return err
	}
	if k.memberAppID != 0 {
		if _, err := k.c.unionIDs(ctx, k.memberAppID, []string{"channelhub-check"}); err != nil {
			return err
		}
	}
	return nil
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
		return sdk.ConfigError("stream", "douyin stream %q is fed by member callbacks (webhook) only: the platform has no member listing API", req.Stream)
	}
	return sdk.ConfigError("stream", "douyin has no stream %q", req.Stream)
}
