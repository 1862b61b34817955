package wechat

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxcrypt"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// MaxPushSkew is how far a push's signed timestamp may be from the host
// clock. WeChat documents no bound; five minutes covers its three
// deliveries 5 s apart and ordinary clock drift, and stops a captured push
// from being replayed later (see HandleWebhook).
const MaxPushSkew = 5 * time.Minute

// PlainReply is the answer to an accepted plain-mode push: "success" means
// no reply and no redelivery. In safe mode the answer is empty (a reply
// there must be encrypted; empty means the same).
const PlainReply = "success"

// pushEvent is the part of a pushed message the connector reads (fact sheet
// §2.6).
type pushEvent struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Event        string `xml:"Event"`
}

// HandleWebhook takes the account's pushes (服务器配置) at the connection's
// webhook URL.
//
//   - GET is the URL verification: signature = sha1(sorted token, timestamp,
//     nonce) is checked and echostr answered verbatim (in every mode).
//   - POST in plain mode (no encrypt_type): signature is checked over token,
//     timestamp and nonce before the body is parsed.
//   - POST with encrypt_type=aes (safe or compatible mode): msg_signature is
//     checked over token, timestamp, nonce and the envelope's Encrypt before
//     anything is decrypted (signature too, when sent), then the payload is
//     decrypted and its appid must be app_id. Only the decrypted message is
//     read, never the compatible mode's plaintext copy.
//
// In every case the signed timestamp must be within MaxPushSkew of the host
// clock. A subscribe event fetches the follower's user info (/cgi-bin/user/info)
// and emits the follower record on the followers stream; an unsubscribe
// emits the follower as a deleted record. Other messages and events are
// acknowledged with no records.
//
// A forged, stale or misaddressed push returns an auth error; one without
// its query parameters or with an unreadable envelope a permanent error (the
// hub answers 400). A signed push that does not decrypt means
// encoding_aes_key is wrong (invalid_config). A verified message that does
// not parse is a bad record, acknowledged. A failed user-info fetch returns
// its classed error, so the hub answers 503 and WeChat delivers again.
//
// Replays: nothing is remembered between pushes (plugin processes restart,
// and a connection may run in several). WeChat's own redeliveries, within
// seconds, are handled again: subscribe re-reads the current user info,
// unsubscribe emits the same deleted record, and the hub's upserts make the
// result the same. Older pushes fail the timestamp check.
func (k *Connector) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	token := k.token.Reveal()
	if token == "" {
		return sdk.WebhookResponse{}, sdk.ConfigError(FieldToken, "set token to take official-account pushes")
	}
	q, err := url.ParseQuery(req.Query)
	if err != nil {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "push query is malformed")
	}
	ts, nonce, sig := q.Get("timestamp"), q.Get("nonce"), q.Get("signature")
	if ts == "" || nonce == "" {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "push without timestamp or nonce")
	}
	safe := q.Get("encrypt_type") == "aes"
	switch {
	case req.Method != http.MethodGet && req.Method != http.MethodPost:
		return sdk.WebhookResponse{}, sdk.PermanentError("", "official-account pushes are GET or POST, got %s", req.Method)
	case req.Method == http.MethodGet || !safe:
		if sig == "" {
			return sdk.WebhookResponse{}, sdk.PermanentError("", "push without signature")
		}
		if err := wxcrypt.Verify(sig, token, ts, nonce); err != nil {
			return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassAuth, Message: "push rejected: signature does not verify", Err: err}
		}
		if err := k.fresh(ts); err != nil {
			return sdk.WebhookResponse{}, err
		}
		if req.Method == http.MethodGet {
			echo := q.Get("echostr")
			if echo == "" {
				return sdk.WebhookResponse{}, sdk.PermanentError("", "URL verification without echostr")
			}
			return reply(echo, nil), nil
		}
		return k.handleMessage(ctx, req.Body, PlainReply)
	}
	// Safe or compatible mode.
	if k.crypt == nil {
		return sdk.WebhookResponse{}, sdk.ConfigError(FieldEncodingAESKey, "the account sends encrypted pushes: set encoding_aes_key")
	}
	msgSig := q.Get("msg_signature")
	if msgSig == "" {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "encrypted push without msg_signature")
	}
	env, err := wxcrypt.ParseEnvelope(req.Body)
	if err != nil {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "push body: %v", err)
	}
	if err := k.crypt.VerifyMsg(msgSig, ts, nonce, env.Encrypt); err != nil {
		return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassAuth, Message: "push rejected: msg_signature does not verify", Err: err}
	}
	if sig != "" {
		if err := wxcrypt.Verify(sig, token, ts, nonce); err != nil {
			return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassAuth, Message: "push rejected: signature does not verify", Err: err}
		}
	}
	if err := k.fresh(ts); err != nil {
		return sdk.WebhookResponse{}, err
	}
	plain, err := k.crypt.Open(msgSig, ts, nonce, env.Encrypt)
	switch {
	case errors.Is(err, wxcrypt.ErrReceiver):
		return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassAuth, Message: "push rejected: addressed to another appid than app_id", Err: err}
	case errors.Is(err, wxcrypt.ErrDecrypt):
		return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassInvalidConfig, Field: FieldEncodingAESKey, Message: "a correctly signed push does not decrypt: check encoding_aes_key", Err: err}
	case err != nil:
		return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassAuth, Message: "push rejected", Err: err}
	}
	return k.handleMessage(ctx, plain, "")
}

// fresh checks the signed timestamp against the host clock.
func (k *Connector) fresh(ts string) error {
	if err := wxcrypt.CheckTimestamp(ts, k.host.Now(), MaxPushSkew); err != nil {
		return &sdk.Error{Class: sdk.ClassAuth, Message: "push rejected: stale or replayed", Err: err}
	}
	return nil
}

func reply(body string, records []sdk.Record) sdk.WebhookResponse {
	return sdk.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(body), Records: records}
}

// handleMessage maps a verified message.
func (k *Connector) handleMessage(ctx context.Context, msg []byte, answer string) (sdk.WebhookResponse, error) {
	var ev pushEvent
	if err := xml.Unmarshal(msg, &ev); err != nil || ev.MsgType == "" {
		bad := sdk.Record{Stream: StreamFollowers, Bad: &sdk.BadRecord{Reason: "pushed message does not parse", Raw: msg, Location: "push"}}
		return reply(answer, []sdk.Record{bad}), nil
	}
	if ev.MsgType != "event" || (ev.Event != "subscribe" && ev.Event != "unsubscribe") {
		return reply(answer, nil), nil
	}
	if ev.FromUserName == "" {
		bad := sdk.Record{Stream: StreamFollowers, Bad: &sdk.BadRecord{Reason: ev.Event + " without FromUserName", Raw: msg, Location: "push"}}
		return reply(answer, []sdk.Record{bad}), nil
	}
	at := time.Unix(ev.CreateTime, 0).UTC()
	if ev.CreateTime <= 0 {
		at = k.host.Now().UTC().Truncate(time.Second)
	}
	if ev.Event == "unsubscribe" {
		m := &mapping.Member{Identities: []mapping.Identity{{Type: mapping.IDWechatOpenID, Scope: k.appID, Value: ev.FromUserName}}}
		rec := sdk.Record{Stream: StreamFollowers, ID: ev.FromUserName, UpdatedAt: at, Deleted: true, Member: m}
		return reply(answer, []sdk.Record{rec}), nil
	}
	rec, err := k.follower(ctx, ev.FromUserName)
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	return reply(answer, []sdk.Record{rec}), nil
}

// follower fetches one follower's user info and maps it.
func (k *Connector) follower(ctx context.Context, openid string) (sdk.Record, error) {
	tags, err := k.tagNames(ctx)
	if err != nil {
		return sdk.Record{}, err
	}
	var res infoAnswer
	q := url.Values{"openid": {openid}, "lang": {k.lang}}
	if err := k.c.Call(ctx, "user.info", http.MethodGet, "/cgi-bin/user/info", q, nil, &res); err != nil {
		return sdk.Record{}, err
	}
	return k.userRecord(res.userInfo, tags, "user/info"), nil
}
