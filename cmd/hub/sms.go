package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/hub/campaign"
	"github.com/channelhub/channelhub/hub/store"
)

func smsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "sms", Short: "Send SMS to members, checked against consent, allowed hours and frequency limits first"}
	var tenant, connection, template, params, tag string
	var members []string
	var all, asJSON bool
	send := &cobra.Command{
		Use:   "send --connection SMS_CONNECTION --template CODE [--params JSON] (--member ID... | --tag TAG | --all)",
		Short: "Queue an SMS for every allowed recipient; refused recipients are listed with their reason",
		Long: `Every recipient is checked before anything is queued: a marketing template needs a
recorded SMS opt-in and no later opt-out, and goes only inside the tenant's allowed
hours; any template respects the per-number frequency limits. Allowed recipients get
one sms.send action each, delivered by the next run of a job that writes sms.send on
the connection; the SMS plugin receives only that member's phone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			n := 0
			for _, on := range []bool{len(members) > 0, tag != "", all} {
				if on {
					n++
				}
			}
			if connection == "" || template == "" || n != 1 {
				return errors.New("give --connection, --template and exactly one of --member, --tag or --all")
			}
			var p map[string]string
			if params != "" {
				if err := json.Unmarshal([]byte(params), &p); err != nil {
					return fmt.Errorf("--params: want a JSON object of strings: %w", err)
				}
			}
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			if _, err := t.Connection(connection); err != nil {
				return err
			}
			if !slices.Contains(a.writers(t)(connection), store.ActionSMSSend) {
				return fmt.Errorf("--connection %s: its connector cannot send SMS (no %s action); SMS connections of tenant %s: %s",
					connection, store.ActionSMSSend, t.ID, strings.Join(connectionsWriting(t, a.writers(t), store.ActionSMSSend), ", "))
			}
			res, err := a.store.QueueSMS(ctx, t.ID, store.SMSRequest{Connection: connection, Template: template, Params: p, Members: members, Tag: tag, All: all, At: time.Now()}, &t.SMS)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(res)
			}
			printSMSResult(g, res)
			return nil
		},
	}
	send.Flags().StringVar(&tenant, "tenant", "", "tenant (default: the only one in the config)")
	send.Flags().StringVar(&connection, "connection", "", "the SMS connection that sends")
	send.Flags().StringVar(&template, "template", "", "template code, declared in the tenant's sms.templates")
	send.Flags().StringVar(&params, "params", "", `template variables as a JSON object, e.g. '{"name":"会员"}'`)
	send.Flags().StringArrayVar(&members, "member", nil, "member id (repeatable)")
	send.Flags().StringVar(&tag, "tag", "", "every member with this tag")
	send.Flags().BoolVar(&all, "all", false, "every member")
	send.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(send, smsReportCmd(g))
	return cmd
}

func smsReportCmd(g *globals) *cobra.Command {
	var tenant string
	var asJSON bool
	c := &cobra.Command{
		Use:   "report [--json]",
		Short: "Where each campaign's messages stand: queued, refused, sent, failed, and what delivery receipts said",
		Long: `Counts the tenant's SMS per campaign: queued (waiting for a write run), refused (by
the policy or the provider), sent (accepted by the provider), failed; and of the sent,
those the provider's delivery receipt says reached the handset, those it says did not
(by the carrier's code) and those without a receipt yet. Receipts come in through a job
reading the SMS connection's receipts stream, or the provider's push to the webhook.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			rep, err := a.store.SMSReport(ctx, t.ID)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONLines(g.stdout, rep)
			}
			for _, c := range rep {
				fmt.Fprintf(g.stdout, "campaign %s (%s, template %s): %d queued, %d refused, %d sent, %d failed\n",
					c.Campaign, c.Connection, c.Template, c.Queued, c.Refused, c.Sent, c.Failed)
				undelivered := 0
				codes := make([]string, 0, len(c.Undelivered))
				for code, n := range c.Undelivered {
					undelivered += n
					codes = append(codes, fmt.Sprintf("%s %d", code, n))
				}
				sort.Strings(codes)
				fmt.Fprintf(g.stdout, "  of the sent: %d reached the handset, %d did not", c.Delivered, undelivered)
				if len(codes) > 0 {
					fmt.Fprintf(g.stdout, " (%s)", strings.Join(codes, ", "))
				}
				fmt.Fprintf(g.stdout, ", %d without a receipt yet\n", c.NoReceipt)
			}
			return nil
		},
	}
	c.Flags().StringVar(&tenant, "tenant", "", "tenant (default: the only one in the config)")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a campaign")
	return c
}

// printSMSResult prints what a send queued and, grouped by reason, what it
// refused.
func printSMSResult(g *globals, res *store.SMSResult) {
	fmt.Fprintf(g.stdout, "campaign %s: %d queued, %d refused\n", res.Campaign, res.Queued, len(res.Refused))
	printSMSRefusals(g.stdout, res.Refused, "  ")
}

// printSMSRefusals prints refusals grouped by kind of reason, largest group first,
// with a few member ids of each.
func printSMSRefusals(w io.Writer, refused []store.SMSRefusal, indent string) {
	byReason := map[string][]string{}
	for _, r := range refused {
		reason := campaign.Category(r.Reason)
		byReason[reason] = append(byReason[reason], r.MemberID)
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if len(byReason[reasons[i]]) != len(byReason[reasons[j]]) {
			return len(byReason[reasons[i]]) > len(byReason[reasons[j]])
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		ids := byReason[r]
		shown := ids
		if len(shown) > 2 {
			shown = shown[:2]
		}
		more := ""
		if len(ids) > 2 {
			more = ", …"
		}
		fmt.Fprintf(w, "%s%6d  %s (%s%s)\n", indent, len(ids), r, strings.Join(shown, ", "), more)
	}
}
