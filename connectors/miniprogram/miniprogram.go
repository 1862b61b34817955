// Package miniprogram is the WeChat Mini Program (小程序) connector.
//
// WeChat pushes nothing about a mini-program's users or orders: logins,
// phone bindings, registrations and orders are known only to the brand's own
// mini-program backend (fact sheet shared/platforms/wechat.md §4.2). So the
// main path is an event intake: the backend POSTs signed events to the hub's
// webhook, and HandleWebhook verifies them (HMAC-SHA256 over timestamp and
// raw body, bounded clock skew) before it parses them into canonical members
// and orders; a repeated event id gets the records it made the first time. A phone_bound event may forward
// the getPhoneNumber button's code instead of the number; the connector then
// exchanges it with wxa/business/getuserphonenumber.
//
// The orders stream reads WeChat-Pay orders back from the shipping-management
// order list (/wxa/sec/order/get_order_list) for reconciliation. There is no
// members stream to read: WeChat has no API that lists a mini-program's
// users.
//
// Access tokens come from /cgi-bin/stable_token through the hub's shared
// cache, so the connector never logs the brand's backend out. README.md is
// the public contract for brand developers.
package miniprogram

import (
	"context"
	"time"

	"github.com/channelhub/channelhub/sdk"
)

// Plugin is what plugins/miniprogram serves.
var Plugin = sdk.Plugin{Spec: Spec, New: New}

// Connector takes one mini-program's events and reads its WeChat-Pay orders.
type Connector struct {
	c            *client
	host         *sdk.Host
	appID        string
	openPlatform string
	brand        string
	secrets      [][]byte // the event secret, then the previous one
	maxSkew      time.Duration
	seen         *seenSet
	backfill     time.Duration
	window       time.Duration
	lag          time.Duration
	pageSize     int64
}

var (
	_ sdk.Connector      = (*Connector)(nil)
	_ sdk.WebhookHandler = (*Connector)(nil)
)

// New builds a connector from a validated config. It makes no calls.
func New(_ context.Context, cfg sdk.Config, host *sdk.Host) (sdk.Connector, error) {
	k := &Connector{
		host:         host,
		appID:        cfg.String(FieldAppID),
		openPlatform: cfg.String(FieldOpenPlatformID),
		brand:        cfg.String(FieldBrand),
		maxSkew:      cfg.Duration(FieldMaxSkew),
		backfill:     cfg.Duration(FieldBackfill),
		window:       cfg.Duration(FieldWindow),
		lag:          cfg.Duration(FieldLag),
		pageSize:     cfg.Int(FieldPageSize),
	}
	if !idLike(k.appID) {
		return nil, sdk.ConfigError(FieldAppID, "want the mini-program AppID (wx…)")
	}
	secret := cfg.Secret(FieldEventSecret).Reveal()
	if len(secret) < MinEventSecret {
		return nil, sdk.ConfigError(FieldEventSecret, "want at least %d bytes (e.g. openssl rand -hex 32)", MinEventSecret)
	}
	k.secrets = [][]byte{[]byte(secret)}
	if prev := cfg.Secret(FieldEventSecretPrevious).Reveal(); prev != "" {
		if len(prev) < MinEventSecret {
			return nil, sdk.ConfigError(FieldEventSecretPrevious, "want at least %d bytes", MinEventSecret)
		}
		k.secrets = append(k.secrets, []byte(prev))
	}
	switch {
	case k.maxSkew < time.Second || k.maxSkew > time.Hour:
		return nil, sdk.ConfigError(FieldMaxSkew, "want 1s to 1h, got %s", k.maxSkew)
	case k.window < time.Minute || k.window > 31*24*time.Hour:
		return nil, sdk.ConfigError(FieldWindow, "want 1m to 744h, got %s", k.window)
	case k.backfill < 0:
		return nil, sdk.ConfigError(FieldBackfill, "want a duration ≥ 0, got %s", k.backfill)
	case k.lag < 0:
		return nil, sdk.ConfigError(FieldLag, "want a duration ≥ 0, got %s", k.lag)
	case k.pageSize < 1 || k.pageSize > MaxPageSize:
		return nil, sdk.ConfigError(FieldPageSize, "want 1 to %d, got %d", MaxPageSize, k.pageSize)
	}
	c, err := newClient(cfg, host)
	if err != nil {
		return nil, err
	}
	k.c = c
	k.seen = newSeenSet(2*k.maxSkew+time.Minute, seenCapacity)
	return k, nil
}

// Check verifies the WeChat credentials: it asks stable_token for the
// app's token with app_secret (never from the cache, so a wrong secret shows
// even while a good token is cached; without force_refresh this hands out
// the current token and invalidates nothing), then lists the last hour's
// orders, one a page, so a missing shipping-management permission shows too.
// A connection without app_secret only takes events: its config is all
// there is to check.
func (k *Connector) Check(ctx context.Context) error {
	if k.c.secret.Reveal() == "" {
		return nil
	}
	if _, err := k.c.FetchToken(ctx); err != nil {
		return err
	}
	end := k.host.Now().Truncate(time.Second)
	_, err := k.c.orderList(ctx, listRequest(end.Add(-time.Hour), end, "", 1))
	return err
}

// Close implements sdk.Connector.
func (k *Connector) Close(context.Context) error {
	k.c.CloseIdleConnections()
	return nil
}

// Read implements sdk.Connector.
func (k *Connector) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	switch req.Stream {
	case StreamOrders:
		return k.readOrders(ctx, req, out)
	case StreamMembers:
		return sdk.ConfigError("stream", "miniprogram stream %q is fed by events only (webhook): WeChat has no API that lists a mini-program's users", req.Stream)
	}
	return sdk.ConfigError("stream", "miniprogram has no stream %q", req.Stream)
}
