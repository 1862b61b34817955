package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/channelhub/channelhub/hub/campaign"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
)

// smsFacts is what the store knows of a member for an SMS.
type smsFacts struct {
	phone   string // E.164, clear (never stored or logged as such)
	consent *mapping.Consent
}

// memberSMSFacts reads a member's phone (from its most recently updated
// record carrying one) and latest SMS consent.
func (s *Store) memberSMSFacts(ctx context.Context, q querier, tenant, member string) (smsFacts, error) {
	var f smsFacts
	err := eachRow(ctx, q, `SELECT kind, data, phones FROM sources WHERE tenant = ? AND member_id = ? ORDER BY updated_at DESC, id DESC`, []any{tenant, member}, func(r *sql.Rows) error {
		var kind string
		var data, phones []byte
		if err := r.Scan(&kind, &data, &phones); err != nil {
			return err
		}
		if f.phone == "" {
			list, err := s.openPhones(phones)
			if err != nil {
				return err
			}
			if len(list) > 0 {
				f.phone = list[0]
			}
		}
		if kind != kindMember {
			return nil
		}
		var m storedMember
		if err := json.Unmarshal(data, &m); err != nil || m.Member == nil {
			return err
		}
		for _, c := range m.Consents {
			if c.Channel == mapping.ConsentSMS && (f.consent == nil || c.At.After(f.consent.At)) {
				c := c
				f.consent = &c
			}
		}
		return nil
	})
	return f, err
}

// QueueSMS implements store.Store.
func (s *Store) QueueSMS(ctx context.Context, tenant string, req store.SMSRequest, policy *campaign.Policy) (*store.SMSResult, error) {
	if _, ok := policy.Templates[req.Template]; !ok {
		return nil, fmt.Errorf("template %q is not declared in the tenant's sms.templates: the hub must know whether it is marketing", req.Template)
	}
	members, err := s.smsRecipients(ctx, tenant, req)
	if err != nil {
		return nil, err
	}
	res := &store.SMSResult{Campaign: "cmp_" + newKey()[3:], Refused: []store.SMSRefusal{}}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		salt, err := s.salt(ctx, tenant)
		if err != nil {
			return err
		}
		if req.Params == nil {
			req.Params = map[string]string{}
		}
		params, err := json.Marshal(req.Params)
		if err != nil {
			return err
		}
		now := req.At.Unix()
		seen := map[string]bool{}
		for _, id := range members {
			member, reason, subject := id, "", ""
			live, err := s.liveMember(ctx, tx, tenant, id)
			if err != nil {
				if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				reason = "member not found or erased"
			} else {
				member = live
				f, err := s.memberSMSFacts(ctx, tx, tenant, member)
				if err != nil {
					return fmt.Errorf("member %s: %w", member, err)
				}
				facts := campaign.Facts{HasPhone: f.phone != "", Consent: f.consent}
				if f.phone != "" {
					subject = mapping.PhoneHash(salt, f.phone)
					if facts.Sent, err = s.smsSent(ctx, tx, tenant, subject, req.At); err != nil {
						return err
					}
				}
				if ok, why := policy.Decide(req.At, req.Template, facts); !ok {
					reason = why
				}
				// A number shared by members (a family) gets the message
				// once, whatever the frequency limits allow.
				if seen[subject] && (reason == "" || strings.HasPrefix(reason, campaign.ReasonFrequency)) {
					reason = campaign.ReasonDuplicate
				}
			}
			status := "pending"
			if reason != "" {
				status = "refused"
				res.Refused = append(res.Refused, store.SMSRefusal{MemberID: member, Reason: reason})
			} else {
				seen[subject] = true
				res.Queued++
			}
			p, _ := json.Marshal(map[string]string{"template": req.Template, "template_params": string(params), "campaign": res.Campaign})
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (tenant, connection, action_key, type, member_id, params, subject, status, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				tenant, req.Connection, newKey(), store.ActionSMSSend, member, string(p), subject, status, reason, now, now); err != nil {
				return fmt.Errorf("queue sms: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sms %s to %s: %w", req.Template, tenant, err)
	}
	return res, nil
}

// smsSent returns when SMS to a number were queued or delivered in the 24
// hours before at.
func (s *Store) smsSent(ctx context.Context, q querier, tenant, subject string, at time.Time) ([]time.Time, error) {
	var out []time.Time
	err := eachRow(ctx, q, `SELECT created_at FROM outbox WHERE tenant = ? AND type = ? AND subject = ? AND created_at > ? AND status IN ('pending', 'delivered')`,
		[]any{tenant, store.ActionSMSSend, subject, at.Add(-24 * time.Hour).Unix()}, func(r *sql.Rows) error {
			var t int64
			err := r.Scan(&t)
			out = append(out, time.Unix(t, 0))
			return err
		})
	return out, err
}

// smsRecipients lists the member ids a request names.
func (s *Store) smsRecipients(ctx context.Context, tenant string, req store.SMSRequest) ([]string, error) {
	if !req.All && req.Tag == "" {
		if len(req.Members) == 0 {
			return nil, errors.New("no recipients: give members, a tag, or all")
		}
		return req.Members, nil
	}
	var out []string
	if req.All {
		// Ids only: a member's whole view is not needed to address it.
		err := eachRow(ctx, s.db, `SELECT member_id FROM members WHERE tenant = ? AND merged_into IS NULL AND erased_at IS NULL ORDER BY member_id`, []any{tenant}, func(r *sql.Rows) error {
			var id string
			err := r.Scan(&id)
			out = append(out, id)
			return err
		})
		return out, err
	}
	// A tag may be the hub's or a platform's: the view has both.
	err := s.ExportMembers(ctx, tenant, func(m *store.MemberView) error {
		if slices.Contains(m.Tags, req.Tag) {
			out = append(out, m.MemberID)
		}
		return nil
	})
	return out, err
}

// smsTarget returns the phone an sms.send action goes to: the member's
// number whose hash the action was queued with.
func (s *Store) smsTarget(ctx context.Context, tenant, member, subject string) ([]mapping.Identity, error) {
	salt, err := s.salt(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var target []mapping.Identity
	err = eachRow(ctx, s.db, `SELECT phones FROM sources WHERE tenant = ? AND member_id = ? AND phones IS NOT NULL`, []any{tenant, member}, func(r *sql.Rows) error {
		var sealed []byte
		if err := r.Scan(&sealed); err != nil {
			return err
		}
		list, err := s.openPhones(sealed)
		for _, p := range list {
			if target == nil && mapping.PhoneHash(salt, p) == subject {
				target = []mapping.Identity{{Type: mapping.IDPhone, Value: p}}
			}
		}
		return err
	})
	return target, err
}

// SMSReport implements store.Store.
func (s *Store) SMSReport(ctx context.Context, tenant string) ([]store.SMSCampaignReport, error) {
	var out []store.SMSCampaignReport
	index := map[[2]string]int{} // campaign, connection → out
	err := eachRow(ctx, s.db, `SELECT COALESCE(json_extract(params, '$.campaign'), ''), connection, COALESCE(json_extract(params, '$.template'), ''),
		status, receipt, receipt_code, COUNT(*), MIN(created_at)
		FROM outbox WHERE tenant = ? AND type = ? GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 8, 1, 2`, []any{tenant, store.ActionSMSSend}, func(r *sql.Rows) error {
		var campaign, conn, template, status, receipt, code string
		var n int
		var first int64
		if err := r.Scan(&campaign, &conn, &template, &status, &receipt, &code, &n, &first); err != nil {
			return err
		}
		i, ok := index[[2]string{campaign, conn}]
		if !ok {
			i = len(out)
			index[[2]string{campaign, conn}] = i
			out = append(out, store.SMSCampaignReport{Campaign: campaign, Connection: conn, Template: template, Undelivered: map[string]int{}})
		}
		c := &out[i]
		switch status {
		case "pending":
			c.Queued += n
		case "refused":
			c.Refused += n
		case "failed":
			c.Failed += n
		case "delivered":
			c.Sent += n
			switch receipt {
			case "delivered":
				c.Delivered += n
			case "undelivered":
				c.Undelivered[code] += n
			default:
				c.NoReceipt += n
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sms report of %s: %w", tenant, err)
	}
	return out, nil
}
