// Package xiaohongshu is the Xiaohongshu (小红书) shop connector: it reads a
// shop's orders through the ark open platform (connectors/xiaohongshu/ark)
// and takes the platform's order pushes.
//
// Xiaohongshu has no member (CRM) API, so the connector reads orders only;
// the buyer is the order detail's userId, kept as mapping.IDXHSOpenID scoped
// to the shop. Receiver name, phone and address come only encrypted and for
// fulfilment, so orders carry no phone and only the receiver's province and
// city. Facts it follows: shared/platforms/commerce.md §3.
package xiaohongshu

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/sdk"
)

// Plugin is what plugins/xiaohongshu serves.
var Plugin = sdk.Plugin{Spec: Spec, New: New}

// Connector reads one shop's orders.
type Connector struct {
	c            *client
	host         *sdk.Host
	appID        string
	secret       sdk.Secret
	sellerID     string
	backfillDays int
	lag          time.Duration
	pushPath     string
}

var (
	_ sdk.Connector      = (*Connector)(nil)
	_ sdk.WebhookHandler = (*Connector)(nil)
)

// maxBackfillDays bounds backfill_days.
const maxBackfillDays = 730

// New builds a connector from a validated config. It makes no call.
func New(_ context.Context, cfg sdk.Config, host *sdk.Host) (sdk.Connector, error) {
	days := cfg.Int(FieldBackfillDays)
	if days < 1 || days > maxBackfillDays {
		return nil, sdk.ConfigError(FieldBackfillDays, "%d is not within 1..%d", days, maxBackfillDays)
	}
	lag := cfg.Duration(FieldLag)
	if lag < 0 {
		return nil, sdk.ConfigError(FieldLag, "%s is negative", lag)
	}
	push := cfg.String(FieldPushPath)
	if push != "" && !strings.HasPrefix(push, "/") {
		return nil, sdk.ConfigError(FieldPushPath, "%q does not start with /", push)
	}
	c, err := newClient(cfg, host)
	if err != nil {
		return nil, err
	}
	return &Connector{
		c: c, host: host, appID: cfg.String(FieldAppID), secret: cfg.Secret(FieldAppSecret), sellerID: cfg.String(FieldSellerID),
		backfillDays: int(days), lag: lag, pushPath: push,
	}, nil
}

// Check refreshes straight from the platform, so a wrong app secret or a
// lapsed refresh token shows even when a good access token is cached, then
// lists the last minute's orders with the token it got: the app must be
// allowed to read the shop's orders.
func (k *Connector) Check(ctx context.Context) error {
	t, err := k.c.refreshPair(ctx)
	if err != nil {
		return err
	}
	now := k.host.Now()
	lctx := withAPI(ctx, ark.MethodGetOrderList)
	_, err = k.c.ark.GetOrderList(lctx, t.AccessToken, ark.OrderListRequest{Start: now.Add(-time.Minute), End: now, TimeType: ark.TimeUpdated, PageSize: 1})
	return classify(ctx, ark.MethodGetOrderList, err)
}

// Close implements sdk.Connector.
func (k *Connector) Close(context.Context) error {
	k.c.http.CloseIdleConnections()
	return nil
}

// Read implements sdk.Connector for the orders stream.
//
// Without a checkpoint (a first or a full read) it backfills: orders created
// in the backfill_days before the run's start minus lag, in creation-time
// windows of at most 24 h. Then, and on every later read, it takes the
// changes: orders updated from the checkpoint up to the run's start minus
// lag, in update-time windows of at most 30 min paged from the last page
// back (ark.Client.ScanOrders). Each order is completed by its detail.
//
// It checkpoints when a window is done, at the window's end second, which
// the next read lists again; orders of that second already emitted are
// remembered in the checkpoint and skipped when unchanged. A checkpoint
// never passes the run's start minus lag.
func (k *Connector) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	if req.Stream != StreamOrders {
		return sdk.ConfigError("stream", "xiaohongshu has no stream %q (only %s: the platform has no member API)", req.Stream, StreamOrders)
	}
	cur, err := decodeCursor(req.Checkpoint)
	if err != nil {
		return &sdk.Error{Class: sdk.ClassPermanent, Message: "unreadable checkpoint: reset the orders stream", Err: err}
	}
	end := readEnd(k.host.Now(), k.lag)
	if cur == nil {
		cur = newCursor(end, k.backfillDays)
	}
	r := &reader{k: k, out: out, cur: cur}
	if cur.Phase == phaseBackfill {
		if err := r.scan(ctx, ark.TimeCreated, cur.Until); err != nil {
			return err
		}
		cur.finishBackfill()
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
	}
	return r.scan(ctx, ark.TimeUpdated, end)
}

// readEnd is the last second a read started at now may list: now minus lag,
// rounded down.
func readEnd(now time.Time, lag time.Duration) int64 {
	return now.Add(-lag).Unix()
}

// reader is one Read in progress.
type reader struct {
	k    *Connector
	out  sdk.Emitter
	cur  *cursor
	done int64
}

// scan reads the orders whose tt time lies from the cursor's Next to the
// second to, both included. When the access token is rejected it refreshes
// and goes on from the last checkpoint, once per checkpoint reached.
func (r *reader) scan(ctx context.Context, tt ark.TimeType, to int64) error {
	retried := false
	for {
		from := r.cur.Next
		if to < from {
			return nil
		}
		tok, err := r.k.c.accessToken(ctx)
		if err != nil {
			return err
		}
		req := ark.ScanRequest{Start: time.Unix(from, 0), End: time.Unix(to, 0), TimeType: tt}
		err = r.k.c.ark.ScanOrders(withAPI(ctx, ark.MethodGetOrderList), tok, req, func(p ark.ScanPage) error {
			return r.page(ctx, p)
		})
		if tokenRejected(err) && (!retried || r.cur.Next != from) {
			retried = true
			r.k.host.Log().Info().Str("api", ark.MethodGetOrderList).Msg("access token rejected; refreshing")
			if ierr := r.k.c.host.InvalidateToken(ctx, r.k.c.tokenKey(), tok); ierr != nil {
				return ierr
			}
			continue
		}
		return classify(ctx, ark.MethodGetOrderList, err)
	}
}

// tokenRejected reports a list call refused for its access token. Errors of
// the detail calls come classed (they retried on their own already).
func tokenRejected(err error) bool {
	if _, classed := errors.AsType[*sdk.Error](err); classed {
		return false
	}
	return ark.IsAuthExpired(err)
}

// page emits one page's orders, each with its detail, and checkpoints when
// the page ends a window.
func (r *reader) page(ctx context.Context, p ark.ScanPage) error {
	ids := make([]string, 0, len(p.Orders))
	for _, o := range p.Orders {
		if !r.cur.skip(o.OrderID, int64(o.UpdateTime)) {
			ids = append(ids, o.OrderID)
		}
	}
	details, errs := r.k.c.details(ctx, ids)
	if err := firstError(ctx, errs); err != nil {
		return err
	}
	for i, d := range details {
		if errs[i] != nil {
			// Listed, but gone by the time its detail was asked for.
			rec := sdk.Record{Stream: StreamOrders, ID: ids[i], Bad: &sdk.BadRecord{Reason: "order listed but its detail is not found: " + errs[i].Error(), Location: ark.MethodGetOrderDetail + " " + ids[i]}}
			if err := r.out.Emit(ctx, rec); err != nil {
				return err
			}
			continue
		}
		if err := r.out.Emit(ctx, orderRecord(r.k.sellerID, d)); err != nil {
			return err
		}
		r.cur.remember(d.OrderID, int64(d.CreatedTime), int64(d.UpdateTime))
		r.done++
	}
	if !p.Done {
		return nil
	}
	r.cur.advance(p.Window.End.Unix())
	if err := r.checkpoint(ctx); err != nil {
		return err
	}
	return r.out.Progress(ctx, r.done, 0)
}

// checkpoint emits the cursor.
func (r *reader) checkpoint(ctx context.Context) error {
	b, err := r.cur.encode()
	if err != nil {
		return &sdk.Error{Class: sdk.ClassPermanent, Message: "encoding the checkpoint", Err: err}
	}
	return r.out.Checkpoint(ctx, b)
}

// firstError returns the error that failed a page of detail calls: ctx's
// own when it ended, else the first error other than a missing order or the
// cancellation of the calls after it.
func firstError(ctx context.Context, errs []error) error {
	if ctx.Err() != nil {
		for _, err := range errs {
			if err != nil {
				return ctx.Err()
			}
		}
		return nil
	}
	for _, err := range errs {
		if err != nil && !notFound(err) && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil && !notFound(err) {
			return err
		}
	}
	return nil
}
