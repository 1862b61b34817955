package wecom

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxcrypt"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// MaxCallbackSkew is how far a callback's signed timestamp may be from the
// host clock. WeCom's fact sheet sets no bound; five minutes covers its
// three deliveries 5 s apart and ordinary clock drift, and stops a captured
// callback from being replayed later (see HandleWebhook).
const MaxCallbackSkew = 5 * time.Minute

// Reply is the body answered to an accepted callback.
const Reply = "success"

// event is a decrypted callback (fact sheet §3.3).
type event struct {
	ToUserName     string `xml:"ToUserName"`
	CreateTime     int64  `xml:"CreateTime"`
	MsgType        string `xml:"MsgType"`
	Event          string `xml:"Event"`
	ChangeType     string `xml:"ChangeType"`
	UserID         string `xml:"UserID"`
	ExternalUserID string `xml:"ExternalUserID"`
	Source         string `xml:"Source"`
}

// HandleWebhook takes WeCom's callbacks at the connection's webhook URL.
// Every request must carry msg_signature, timestamp and nonce; the
// signature (over token, timestamp, nonce and the encrypted payload) is
// verified before anything is decrypted, then the timestamp must be within
// MaxCallbackSkew of the host clock, and the decrypted receiver id must be
// corp_id.
//
//   - GET with echostr is the URL verification: the answer is the decrypted
//     echostr, as plain text.
//   - POST is an event. change_external_contact events become records on the
//     customers stream at once: add_external_contact, add_half_external_contact
//     and edit_external_contact fetch the customer (externalcontact/get) and
//     emit one record per relation it has (a customer no longer there gives
//     a deleted record for the event's relation); del_external_contact and
//     del_follow_user emit the event's relation as deleted. Other events
//     (tag library, group chats, transfer_fail) are acknowledged with no
//     records. The answer is "success".
//
// A forged, stale or misaddressed request returns an auth error and nothing
// else happens; a request without the query parameters or with a body that
// is no envelope returns a permanent error (the hub answers 400). A payload
// that is signed but does not decrypt means encoding_aes_key is wrong
// (invalid_config). A decrypted event that does not parse is a bad record,
// acknowledged so WeCom does not deliver it again. A failed fetch returns its
// classed error, so the hub answers 503 and WeCom delivers again.
//
// Replays: the connector keeps no memory of callbacks it has seen (plugin
// processes restart, and one connection may run in several). A callback
// delivered again within the skew window — WeCom's own retries — is handled
// again: add/edit fetch the current state, del emits the same deleted
// record, and the hub's upserts make the result the same. Older ones are
// refused by the timestamp check.
func (k *Connector) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if k.crypt == nil {
		return sdk.WebhookResponse{}, sdk.ConfigError(FieldToken, "set token and encoding_aes_key to take WeCom callbacks")
	}
	q, err := url.ParseQuery(req.Query)
	if err != nil {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "callback query is malformed")
	}
	sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
	if sig == "" || ts == "" || nonce == "" {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "callback without msg_signature, timestamp or nonce")
	}
	var encrypted string
	switch req.Method {
	case http.MethodGet:
		if encrypted = q.Get("echostr"); encrypted == "" {
			return sdk.WebhookResponse{}, sdk.PermanentError("", "URL verification without echostr")
		}
	case http.MethodPost:
		env, err := wxcrypt.ParseEnvelope(req.Body)
		if err != nil {
			return sdk.WebhookResponse{}, sdk.PermanentError("", "callback body: %v", err)
		}
		encrypted = env.Encrypt
	default:
		return sdk.WebhookResponse{}, sdk.PermanentError("", "WeCom callbacks are GET or POST, got %s", req.Method)
	}
	plain, err := k.open(sig, ts, nonce, encrypted)
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	if req.Method == http.MethodGet {
		return textReply(string(plain), nil), nil
	}
	var ev event
	if err := xml.Unmarshal(plain, &ev); err != nil || ev.Event == "" {
		bad := sdk.Record{Stream: StreamCustomers, Bad: &sdk.BadRecord{Reason: "callback event does not parse", Raw: plain, Location: "callback"}}
		return textReply(Reply, []sdk.Record{bad}), nil
	}
	records, err := k.eventRecords(ctx, ev, plain)
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	return textReply(Reply, records), nil
}

// open verifies, checks the timestamp and decrypts, mapping wxcrypt's
// errors to sdk classes. The signature goes first: an unsigned request
// learns nothing, not even whether its timestamp was fresh.
func (k *Connector) open(sig, ts, nonce, encrypted string) ([]byte, error) {
	if err := k.crypt.VerifyMsg(sig, ts, nonce, encrypted); err != nil {
		return nil, &sdk.Error{Class: sdk.ClassAuth, Message: "callback rejected: msg_signature does not verify", Err: err}
	}
	if err := wxcrypt.CheckTimestamp(ts, k.c.host.Now(), MaxCallbackSkew); err != nil {
		return nil, &sdk.Error{Class: sdk.ClassAuth, Message: "callback rejected: stale or replayed", Err: err}
	}
	plain, err := k.crypt.Open(sig, ts, nonce, encrypted)
	switch {
	case errors.Is(err, wxcrypt.ErrReceiver):
		return nil, &sdk.Error{Class: sdk.ClassAuth, Message: "callback rejected: addressed to another corp than corp_id", Err: err}
	case errors.Is(err, wxcrypt.ErrDecrypt):
		return nil, &sdk.Error{Class: sdk.ClassInvalidConfig, Field: FieldEncodingAESKey, Message: "a correctly signed callback does not decrypt: check encoding_aes_key", Err: err}
	case err != nil:
		return nil, &sdk.Error{Class: sdk.ClassAuth, Message: "callback rejected", Err: err}
	}
	return plain, nil
}

func textReply(body string, records []sdk.Record) sdk.WebhookResponse {
	return sdk.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(body), Records: records}
}

// eventRecords turns a change_external_contact event into records.
func (k *Connector) eventRecords(ctx context.Context, ev event, raw []byte) ([]sdk.Record, error) {
	if ev.Event != "change_external_contact" {
		return nil, nil
	}
	switch ev.ChangeType {
	case "add_external_contact", "add_half_external_contact", "edit_external_contact",
		"del_external_contact", "del_follow_user":
	default:
		return nil, nil // transfer_fail and future change types
	}
	if ev.ExternalUserID == "" || ev.UserID == "" {
		return []sdk.Record{{Stream: StreamCustomers, Bad: &sdk.BadRecord{Reason: ev.ChangeType + " without UserID or ExternalUserID", Raw: raw, Location: "callback"}}}, nil
	}
	at := time.Unix(ev.CreateTime, 0).UTC()
	if ev.CreateTime <= 0 {
		at = k.c.host.Now().UTC().Truncate(time.Second)
	}
	if strings.HasPrefix(ev.ChangeType, "del_") {
		return []sdk.Record{k.ended(ev, at)}, nil
	}
	ec, follows, err := k.customer(ctx, ev.ExternalUserID)
	if code := platformCode(err); code == codeNotExternalContact || code == codeInvalidExternalID {
		// Gone again before we asked: the relation has ended.
		return []sdk.Record{k.ended(ev, at)}, nil
	}
	if err != nil {
		return nil, err
	}
	records := make([]sdk.Record, 0, len(follows)+1)
	found := false
	for _, f := range follows {
		records = append(records, k.relationRecord(ec, f, nil))
		found = found || f.UserID == ev.UserID
	}
	if !found {
		// The event's staff member no longer follows the customer.
		records = append(records, k.ended(ev, at))
	}
	return records, nil
}

// ended is the deleted record of the event's relation. It carries the
// external_userid so the hub knows whose relation ended.
func (k *Connector) ended(ev event, at time.Time) sdk.Record {
	attrs := map[string]string{"staff_userid": ev.UserID, "change_type": ev.ChangeType}
	if ev.Source != "" {
		attrs["source"] = ev.Source
	}
	m := &mapping.Member{Identities: k.identities(ev.ExternalUserID, ""), Subscribed: false, Attributes: attrs}
	return sdk.Record{Stream: StreamCustomers, ID: RecordID(ev.ExternalUserID, ev.UserID), UpdatedAt: at, Deleted: true, Member: m}
}
