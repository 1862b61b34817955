package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/sdk"
)

// maxWebhookBody bounds an inbound callback; platform pushes are small.
const maxWebhookBody = 1 << 20

// HandleWebhook passes an inbound platform callback to the connection's
// plugin, which verifies its signature before parsing it, and stores the
// records the plugin returns. The records land in the connection's "webhook"
// stream; they are upserts keyed by platform ids, so a push and the scheduled
// pull converge on the same stored record.
func (e *Engine) HandleWebhook(ctx context.Context, tenantID, connID string, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	tenant, err := e.cfg.Tenant(tenantID)
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	conn, err := tenant.Connection(connID)
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	inst, err := e.instance(tenant, conn)
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	if !inst.Spec().Webhook {
		return sdk.WebhookResponse{}, sdk.ConfigError("connector", "connector %s takes no webhooks", conn.Connector)
	}
	if _, err := e.store.EnsureTenant(ctx, tenant.ID, []byte(tenant.PhoneSalt)); err != nil {
		return sdk.WebhookResponse{}, sdk.UnavailableError(err, "open tenant %s in the store", tenant.ID)
	}
	cfg, err := e.configJSON(ctx, tenant, conn)
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	remote, err := inst.Remote(ctx)
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	resp, err := remote.HandleWebhook(ctx, cfg, req)
	if err != nil {
		return resp, err
	}
	// Records group by stream: each stream's records apply in one transaction.
	byStream := map[string][]sdk.Record{}
	var order []string
	for _, r := range resp.Records {
		s := r.Stream
		if s == "" {
			s = "webhook"
		}
		if _, ok := byStream[s]; !ok {
			order = append(order, s)
		}
		byStream[s] = append(byStream[s], r)
	}
	for _, s := range order {
		w := e.identityWarnings(tenant.ID, conn.ID, s)
		w.check(byStream[s])
		w.summary()
		if _, err := e.store.ApplyBatch(ctx, store.Batch{Tenant: tenant.ID, Job: "webhook:" + conn.ID, Connection: conn.ID, Stream: s, Records: byStream[s], Status: store.StatusReceiving, At: e.opts.Now(), Rules: &tenant.Identity}); err != nil {
			// Not stored: the platform is to deliver again (503), and the
			// plugin answers the redelivery with the same records.
			return sdk.WebhookResponse{}, sdk.UnavailableError(err, "store the records of connection %s", conn.ID)
		}
	}
	return resp, nil
}

// WebhookHandler serves POST /webhooks/{tenant}/{connection}. Errors answer
// a status (400 for bad input, 503 for trouble the platform should retry)
// with a short text that never carries secrets.
func (e *Engine) WebhookHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks/{tenant}/{connection}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		tenant, conn := r.PathValue("tenant"), r.PathValue("connection")
		resp, err := e.HandleWebhook(ctx, tenant, conn, sdk.WebhookRequest{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header, Body: body,
		})
		if err != nil {
			status := http.StatusServiceUnavailable
			switch sdk.ClassOf(err) {
			case sdk.ClassInvalidConfig, sdk.ClassBadRecord, sdk.ClassPermanent, sdk.ClassAuth:
				status = http.StatusBadRequest
			}
			if strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "no tenant") || strings.Contains(err.Error(), "no connection") {
				status = http.StatusNotFound
			}
			e.log.Warn().Err(err).Str("tenant", tenant).Str("connection", conn).Int("status", status).Msg("webhook refused")
			http.Error(w, fmt.Sprintf("%s: %s", http.StatusText(status), sdk.ClassOf(err)), status)
			return
		}
		for k, vs := range resp.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if resp.Status == 0 {
			resp.Status = http.StatusOK
		}
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	})
	return mux
}
