package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/sdk"
)

// Error codes of the intake's JSON error replies (README.md, "Replies").
const (
	ReplyMethodNotAllowed = "method_not_allowed"
	ReplyBadSignature     = "bad_signature"
	ReplyStale            = "stale_timestamp"
	ReplyMalformed        = "malformed"
	ReplyInProgress       = "in_progress"
	ReplyInvalidPhoneCode = "invalid_phone_code"
	ReplyUnavailable      = "unavailable"
)

// Reply is the JSON body of every intake answer.
type Reply struct {
	OK      bool   `json:"ok"`
	EventID string `json:"event_id,omitempty"`
	// Records is how many records an accepted event made; Repeated says
	// that the event was accepted before and its records went to the hub
	// again.
	Records  int  `json:"records,omitempty"`
	Repeated bool `json:"repeated,omitempty"`
	// Error is one of the Reply* codes; Field names the header or JSON field
	// at fault; Retry says whether sending the event again (signed anew) can
	// succeed.
	Error   string `json:"error,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message,omitempty"`
	Retry   bool   `json:"retry,omitempty"`
}

// HandleWebhook takes one event from the brand's mini-program backend, POSTed
// to the hub at /webhooks/{tenant}/{connection}. In order:
//
//  1. the method must be POST (405);
//  2. the timestamp and signature headers must verify against the raw body
//     with the event secret (or the previous one) — nothing of the body is
//     parsed before (401);
//  3. the signed timestamp must be within max_skew of the hub's clock (400
//     stale_timestamp);
//  4. the body must be a well-formed event (400 malformed, naming the field);
//  5. an event id accepted within the replay window answers 200 again, with
//     the records it made then and "repeated": true, and one being handled
//     by another request now answers 409 in_progress (retry);
//  6. a phone code is exchanged with WeChat (400 invalid_phone_code when
//     WeChat refuses it, 503 when WeChat is unavailable).
//
// An accepted event answers 200 with its records; a refused one answers its
// status, a JSON Reply, and no records. Refusals are answers, not errors, so
// the hub relays their status and body to the backend unchanged.
func (k *Connector) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if req.Method != http.MethodPost {
		return refuse(http.StatusMethodNotAllowed, Reply{Error: ReplyMethodNotAllowed, Message: "events are POSTed"}), nil
	}
	ts, err := verify(req.Header.Get(HeaderTimestamp), req.Header.Get(HeaderSignature), req.Body, k.secrets)
	if err != nil {
		var se *signatureError
		if !errors.As(err, &se) {
			return sdk.WebhookResponse{}, sdk.PermanentError("", "verify event: %v", err)
		}
		k.host.Log().Warn().Str("header", se.Header).Str("reason", se.Reason).Msg("event refused: bad signature")
		return refuse(http.StatusUnauthorized, Reply{Error: ReplyBadSignature, Field: se.Header, Message: se.Header + " " + se.Reason}), nil
	}
	now := k.host.Now()
	if skew := now.Sub(time.Unix(ts, 0)); skew > k.maxSkew || skew < -k.maxSkew {
		k.host.Log().Warn().Dur("skew", skew).Msg("event refused: stale timestamp")
		return refuse(http.StatusBadRequest, Reply{Error: ReplyStale, Field: HeaderTimestamp,
			Message: "the signed timestamp is " + skew.Round(time.Second).String() + " away from the hub's clock (allowed: " + k.maxSkew.String() + "); sign the event again with the current time"}), nil
	}
	ev, err := parseEvent(req.Body)
	if err != nil {
		return k.malformed("", err), nil
	}
	switch state, records := k.seen.claim(ev.ID, now); state {
	case accepted:
		// The backend delivered again: the hub may not have stored the
		// records the first time. They go to it again, unchanged.
		k.host.Log().Info().Str("event_id", ev.ID).Msg("event repeated: its records go to the hub again")
		return acceptedReply(ev.ID, records, true), nil
	case handling:
		resp := refuse(http.StatusConflict, Reply{EventID: ev.ID, Error: ReplyInProgress, Field: "event_id", Retry: true,
			Message: "an event with this event_id is being handled now; send it again shortly"})
		resp.Header.Set("Retry-After", "1")
		return resp, nil
	}
	records, err := k.records(ctx, ev)
	if err != nil {
		k.seen.release(ev.ID)
		return k.refused(ev, err), nil
	}
	k.seen.commit(ev.ID, now, records)
	return acceptedReply(ev.ID, records, false), nil
}

// acceptedReply answers an accepted event with its records; repeated says
// that it was accepted before.
func acceptedReply(eventID string, records []sdk.Record, repeated bool) sdk.WebhookResponse {
	body, _ := json.Marshal(Reply{OK: true, EventID: eventID, Records: len(records), Repeated: repeated})
	return sdk.WebhookResponse{Status: http.StatusOK, Header: jsonHeader(), Body: body, Records: records}
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json; charset=utf-8"}}
}

func refuse(status int, r Reply) sdk.WebhookResponse {
	body, _ := json.Marshal(r)
	return sdk.WebhookResponse{Status: status, Header: jsonHeader(), Body: body}
}

// malformed answers a fieldError with 400.
func (k *Connector) malformed(eventID string, err error) sdk.WebhookResponse {
	var fe *fieldError
	if !errors.As(err, &fe) {
		fe = &fieldError{Field: "body", Reason: "unreadable"}
	}
	k.host.Log().Warn().Str("event_id", eventID).Str("field", fe.Field).Str("reason", fe.Reason).Msg("event refused: malformed")
	return refuse(http.StatusBadRequest, Reply{EventID: eventID, Error: ReplyMalformed, Field: fe.Field, Message: fe.Error()})
}

// refused answers an event that could not be mapped.
func (k *Connector) refused(ev *event, err error) sdk.WebhookResponse {
	var fe *fieldError
	var pe *phoneCodeError
	switch {
	case errors.As(err, &fe):
		return k.malformed(ev.ID, err)
	case errors.As(err, &pe):
		k.host.Log().Warn().Str("event_id", ev.ID).Int64("errcode", platformCode(err)).Msg("event refused: WeChat refused the phone code")
		return refuse(http.StatusBadRequest, Reply{EventID: ev.ID, Error: ReplyInvalidPhoneCode, Field: "data.phone_code",
			Message: "WeChat refused the phone code (unknown, expired after 5 minutes, already used, or issued to another mini-program)"})
	case errors.Is(err, sdk.ErrInvalidConfig):
		k.host.Log().Warn().Str("event_id", ev.ID).Err(err).Msg("event refused: connection cannot exchange phone codes")
		return refuse(http.StatusBadRequest, Reply{EventID: ev.ID, Error: ReplyInvalidPhoneCode, Field: "data.phone_code",
			Message: "this connection has no app_secret, so it cannot exchange phone codes: send the phone number instead"})
	}
	k.host.Log().Warn().Str("event_id", ev.ID).Str("class", sdk.ClassOf(err).String()).Err(err).Msg("event not accepted: WeChat call failed")
	resp := refuse(http.StatusServiceUnavailable, Reply{EventID: ev.ID, Error: ReplyUnavailable, Retry: true,
		Message: "WeChat could not be reached to exchange the phone code; send the event again later (a phone code expires 5 minutes after it was issued)"})
	if wait := sdk.RetryAfter(err); wait > 0 {
		resp.Header.Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
	}
	return resp
}
