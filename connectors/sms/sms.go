// Package sms is the SMS connector: one connector, two providers chosen by
// the provider setting — Alibaba Cloud dysmsapi (2017-05-25) and Tencent Cloud
// SMS (2021-01-11) — reached with their official Go SDKs pointed at the
// configured endpoint, so the same code talks to the real services and to the
// emulators in sandbox.
//
// It writes one action, sms.send: one templated message to one phone, with
// the action key as the provider's OutId / SessionContext so a retry never
// sends twice. It reads uplink replies (opt-out keywords become SMS consent
// records) and counts delivery reports, pulled (Tencent) or pushed to the
// connection's webhook (both). Facts follow shared/platforms/sms.md; README.md
// lists the choices made where the fact sheet is uncertain.
package sms

import (
	"context"
	"strings"
	"time"

	"github.com/channelhub/channelhub/sdk"
)

// Plugin is what plugins/sms serves.
var Plugin = sdk.Plugin{Spec: Spec, New: New}

// Connector sends and reads through one provider account.
type Connector struct {
	p        provider
	host     *sdk.Host
	provider string
	sign     string
	template string
	dedupe   bool
	secret   sdk.Secret // keys the reply record ids
	token    sdk.Secret // callback token
}

var (
	_ sdk.Connector      = (*Connector)(nil)
	_ sdk.Writer         = (*Connector)(nil)
	_ sdk.WebhookHandler = (*Connector)(nil)
)

// settings is the validated config a provider client is built from.
type settings struct {
	keyID, secret string
	endpoint      string
	scheme        string
	region        string
	sdkAppID      string
	signing       string
	timeout       time.Duration
}

// New builds a connector from a validated config. It makes no calls.
func New(_ context.Context, cfg sdk.Config, host *sdk.Host) (sdk.Connector, error) {
	s := settings{
		keyID: cfg.Secret(FieldAccessKeyID).Reveal(), secret: cfg.Secret(FieldAccessSecret).Reveal(),
		endpoint: cfg.String(FieldEndpoint), scheme: cfg.String(FieldScheme), region: cfg.String(FieldRegion),
		sdkAppID: cfg.String(FieldSdkAppID), signing: cfg.String(FieldAliyunSigning), timeout: cfg.Duration(FieldTimeout),
	}
	if strings.Contains(s.endpoint, "://") || strings.Contains(s.endpoint, "/") {
		return nil, sdk.ConfigError(FieldEndpoint, "want host[:port] only (the scheme goes in %s; a path breaks Alibaba's Host header)", FieldScheme)
	}
	if s.timeout <= 0 {
		return nil, sdk.ConfigError(FieldTimeout, "want a positive duration, got %s", s.timeout)
	}
	var (
		p   provider
		err error
	)
	switch cfg.String(FieldProvider) {
	case ProviderAliyun:
		p, err = newAliyun(s, host)
	case ProviderTencent:
		if s.sdkAppID == "" {
			return nil, sdk.ConfigError(FieldSdkAppID, "is required for provider tencent (SmsSdkAppId, e.g. 1400006666)")
		}
		p, err = newTencent(s, host)
	default:
		return nil, sdk.ConfigError(FieldProvider, "want %s or %s", ProviderAliyun, ProviderTencent)
	}
	if err != nil {
		return nil, err
	}
	return &Connector{
		p: p, host: host, provider: cfg.String(FieldProvider),
		sign: cfg.String(FieldSignName), template: cfg.String(FieldTemplate), dedupe: cfg.Bool(FieldDedupeCheck),
		secret: cfg.Secret(FieldAccessSecret), token: cfg.Secret(FieldCallbackToken),
	}, nil
}

// Check makes one signed, read-only call: Alibaba QuerySmsSign for the
// configured signature; Tencent DescribeSmsTemplateList for the configured
// template (or any template). Wrong keys come back as auth errors, an unknown
// signature or template as an invalid_config error naming the field.
func (k *Connector) Check(ctx context.Context) error {
	return k.p.check(ctx, k.sign, k.template)
}

// Close implements sdk.Connector.
func (k *Connector) Close(context.Context) error { return nil }

// Read implements sdk.Connector.
func (k *Connector) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	switch req.Stream {
	case StreamReplies:
		return k.readReplies(ctx, out)
	case StreamReceipts:
		return k.readReceipts(ctx, out)
	}
	return sdk.ConfigError("stream", "sms has no stream %q (streams: %s, %s)", req.Stream, StreamReplies, StreamReceipts)
}

// provider is one SMS provider's API, behind the official SDK.
type provider interface {
	// check verifies credentials, the signature and the template.
	check(ctx context.Context, sign, template string) error
	// send sends one message; the result carries the per-recipient outcome.
	send(ctx context.Context, m outgoing) sdk.ActionResult
	// sentBefore looks for a message to m.phone whose OutId/SessionContext is
	// m.key, and returns its provider id.
	sentBefore(ctx context.Context, m outgoing) (ref string, found bool, err error)
	// pullReplies and pullReceipts take up to limit items from the
	// provider's queue; errPushOnly when the provider has no pull API.
	pullReplies(ctx context.Context, limit int) ([]inbound, error)
	pullReceipts(ctx context.Context, limit int) ([]report, error)
}

// outgoing is one message to send.
type outgoing struct {
	key      string
	phone    string // E.164
	sign     string
	template string
	// params is the raw template_params JSON ("" when none).
	params string
}

// inbound is one uplink reply.
type inbound struct {
	phone string // E.164
	text  string
	sign  string
	at    time.Time
}

// report is one delivery report: key is the action key the message was sent
// with (OutId / SessionContext) when the provider echoes it, ref the
// provider's message id (BizId / SerialNo).
type report struct {
	key, ref     string
	delivered    bool
	code, detail string
	at           time.Time
}

// receipt renders a report as a record on the receipts stream, which the
// hub files with the outbox item of the send.
func (r report) receipt() sdk.Record {
	id := "receipt:" + r.key
	if r.key == "" {
		id = "receipt:ref:" + r.ref
	}
	return sdk.Record{Stream: StreamReceipts, ID: id, UpdatedAt: r.at,
		Receipt: &sdk.Receipt{ActionKey: r.key, PlatformRef: r.ref, Delivered: r.delivered, Code: r.code, Detail: r.detail, At: r.at}}
}
