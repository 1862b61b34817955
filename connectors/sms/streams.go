package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// IsOptOut reports whether an uplink reply is an opt-out keyword: R, TD, T,
// N or 退订, in any case, with surrounding space ignored (fact sheet §6:
// Tencent's "拒收请回复R", Alibaba's older TD / T / N, and 退订).
func IsOptOut(text string) bool {
	switch strings.ToUpper(strings.TrimSpace(text)) {
	case "R", "TD", "T", "N", "退订":
		return true
	}
	return false
}

// ConsentSource is the Consent.Source of opt-outs read by this connector:
// "sms:<provider>:reply".
func ConsentSource(provider string) string { return "sms:" + provider + ":reply" }

// DoNotDisturbSource is the Consent.Source of the opt-out a send refused for
// the provider's do-not-disturb list reports: "sms:<provider>:do-not-disturb".
func DoNotDisturbSource(provider string) string { return "sms:" + provider + ":do-not-disturb" }

// replyCursor is the replies checkpoint. The providers' reply queues return
// each reply once, so it only marks progress (what was pulled up to when).
type replyCursor struct {
	Pulled int64 `json:"pulled"`
	Last   int64 `json:"last_reply_unix,omitempty"`
}

// readReplies drains the provider's reply queue page by page, emitting an
// opt-out record for each opt-out keyword and a checkpoint after each page.
// A page shorter than the limit ends the read.
func (k *Connector) readReplies(ctx context.Context, out sdk.Emitter) error {
	var cur replyCursor
	var others int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := k.p.pullReplies(ctx, tencentPullMax)
		if err != nil {
			return err
		}
		for _, in := range page {
			cur.Pulled++
			if in.at.Unix() > cur.Last {
				cur.Last = in.at.Unix()
			}
			rec, ok := k.replyRecord(in)
			if !ok {
				others++
				continue
			}
			if err := out.Emit(ctx, rec); err != nil {
				return err
			}
		}
		cp, _ := json.Marshal(cur)
		if err := out.Checkpoint(ctx, cp); err != nil {
			return err
		}
		if err := out.Progress(ctx, cur.Pulled, 0); err != nil {
			return err
		}
		if len(page) < tencentPullMax {
			break
		}
	}
	k.host.Log().Info().Int64("replies", cur.Pulled).Int64("not_opt_out", others).Msg("sms replies pulled")
	return nil
}

// readReceipts drains the provider's delivery report queue, emitting each
// report as a receipt record and a checkpoint after each page; the hub files
// them with the outbox items of the sends.
func (k *Connector) readReceipts(ctx context.Context, out sdk.Emitter) error {
	var total, delivered int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := k.p.pullReceipts(ctx, tencentPullMax)
		if err != nil {
			return err
		}
		for _, r := range page {
			total++
			if r.delivered {
				delivered++
			}
			if err := out.Emit(ctx, r.receipt()); err != nil {
				return err
			}
		}
		cp, _ := json.Marshal(replyCursor{Pulled: total})
		if err := out.Checkpoint(ctx, cp); err != nil {
			return err
		}
		if err := out.Progress(ctx, total, 0); err != nil {
			return err
		}
		if len(page) < tencentPullMax {
			break
		}
	}
	k.host.Log().Info().Int64("receipts", total).Int64("delivered", delivered).Int64("undelivered", total-delivered).Msg("sms delivery receipts pulled")
	return nil
}

// replyRecord maps an uplink reply. Only opt-outs become records: a member
// record carrying the phone identity and an sms consent with OptIn false, so
// the hub withdraws consent at once. Other replies are dropped (false).
func (k *Connector) replyRecord(in inbound) (sdk.Record, bool) {
	if !IsOptOut(in.text) {
		return sdk.Record{}, false
	}
	phone, err := mapping.NormalizePhone(in.phone)
	if err != nil {
		return sdk.Record{Stream: StreamReplies, Bad: &sdk.BadRecord{Reason: "opt-out reply from a malformed number", Location: "reply at " + in.at.UTC().Format(time.RFC3339)}}, true
	}
	at := in.at.UTC()
	m := &mapping.Member{
		Identities: []mapping.Identity{{Type: mapping.IDPhone, Value: phone}},
		Consents:   []mapping.Consent{{Channel: mapping.ConsentSMS, OptIn: false, Source: ConsentSource(k.provider), At: at}},
		Attributes: map[string]string{"sms_opt_out_keyword": strings.ToUpper(strings.TrimSpace(in.text))},
	}
	if in.sign != "" {
		// Opt-outs apply per signature on the providers' side.
		m.Attributes["sms_sign_name"] = in.sign
	}
	return sdk.Record{Stream: StreamReplies, ID: k.replyID(phone, in), UpdatedAt: at, Member: m}, true
}

// replyID is a stable id for a reply that does not reveal the phone: an HMAC
// keyed with the connection's secret over provider, phone, time and text, so
// a redelivered callback or a repeated pull upserts the same record.
func (k *Connector) replyID(phone string, in inbound) string {
	h := hmac.New(sha256.New, []byte(k.secret.Reveal()))
	h.Write([]byte(k.provider + "\x00" + phone + "\x00" + strconv.FormatInt(in.at.Unix(), 10) + "\x00" + in.text))
	return "reply-" + hex.EncodeToString(h.Sum(nil))[:32]
}
