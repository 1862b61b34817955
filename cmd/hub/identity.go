package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/hub/store"
)

// ActionErase is the write-back action an erasure queues for connectors
// whose platform can delete or unbind a member.
const ActionErase = "member.erase"

func identityCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Explain, list conflicts of, unmerge and erase unified members (One ID)"}
	var tenant string
	var asJSON bool
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant (default: the only one in the config)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	out := func(v any, text func()) error {
		if asJSON {
			return json.NewEncoder(g.stdout).Encode(v)
		}
		text()
		return nil
	}

	explain := &cobra.Command{
		Use:   "explain MEMBER_ID",
		Short: "Why each identifier belongs to a member: the records carrying it, the merge journal, refused merges",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			ex, err := a.store.Explain(ctx, t.ID, args[0])
			if err != nil {
				return err
			}
			return out(ex, func() { printExplanation(g, ex) })
		},
	}

	var limit int
	conflicts := &cobra.Command{
		Use:   "conflicts",
		Short: "List refused merges (a rule would break) and shared identifiers the guard stopped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			rep, err := a.store.Conflicts(ctx, t.ID, limit)
			if err != nil {
				return err
			}
			return out(rep, func() { printConflicts(g, rep) })
		},
	}
	conflicts.Flags().IntVar(&limit, "limit", 100, "at most this many of each (0: all)")

	var ident string
	unmerge := &cobra.Command{
		Use:   "unmerge MEMBER_ID --identity TYPE:SCOPE:VALUE",
		Short: "Detach an identifier from a member; it never joins the member's other identifiers again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ident == "" {
				return errors.New("give --identity TYPE:SCOPE:VALUE (phone as phone::+86…)")
			}
			id, err := parseLookupIdentity(ident)
			if err != nil {
				return err
			}
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			res, err := a.store.Unmerge(ctx, t.ID, args[0], id, &t.Identity)
			if err != nil {
				return err
			}
			return out(res, func() {
				fmt.Fprintf(g.stdout, "unmerged %s from %s; its records now belong to %s\n", id.Type, res.MemberID, strings.Join(res.Members, ", "))
			})
		},
	}
	unmerge.Flags().StringVar(&ident, "identity", "", "identity to detach, TYPE:SCOPE:VALUE")

	var yes bool
	erase := &cobra.Command{
		Use:   "erase MEMBER_ID --yes",
		Short: "Delete a member's profile, identifiers, orders and points (PIPL); a tombstone stops later syncs bringing them back",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if !yes {
				return errors.New("erasure cannot be undone: add --yes")
			}
			a, t, err := g.openTenant(ctx, tenant, true)
			if err != nil {
				return err
			}
			defer a.Close()
			res, err := a.store.Erase(ctx, t.ID, args[0], ActionErase, a.writers(t), &t.Identity)
			if err != nil {
				return err
			}
			return out(res, func() {
				fmt.Fprintf(g.stdout, "erased %s: %d records, %d orders, %d points entries, %d dead letters deleted; %d tombstones kept\n",
					res.MemberID, res.Records, res.Orders, res.Points, res.DeadLetters, res.Tombstones)
				if len(res.Queued) > 0 {
					fmt.Fprintf(g.stdout, "deletion requested from: %s\n", deliveredBy(t, res.Queued, ActionErase))
				}
			})
		},
	}
	erase.Flags().BoolVar(&yes, "yes", false, "confirm the erasure")

	cmd.AddCommand(explain, conflicts, unmerge, erase)
	return cmd
}

func identityText(v store.IdentityView) string { return v.Type + ":" + v.Scope + ":" + v.Value }

func printExplanation(g *globals, ex *store.Explanation) {
	w := g.stdout
	fmt.Fprintf(w, "member %s\n", ex.MemberID)
	if len(ex.Aliases) > 0 {
		fmt.Fprintf(w, "  aliases: %s\n", strings.Join(ex.Aliases, ", "))
	}
	fmt.Fprintln(w, "  identifiers:")
	for _, id := range ex.Identifiers {
		shared := ""
		if id.Shared {
			shared = "  (shared: links nothing)"
		}
		fmt.Fprintf(w, "    %s%s\n", identityText(id.Identity), shared)
		for _, r := range id.Records {
			var with []string
			for _, o := range r.With {
				with = append(with, identityText(o))
			}
			if len(with) == 0 {
				with = []string{"nothing else"}
			}
			fmt.Fprintf(w, "      on %s/%s/%s with %s\n", r.Connection, r.Stream, r.RecordID, strings.Join(with, ", "))
		}
	}
	if len(ex.Journal) > 0 {
		fmt.Fprintln(w, "  journal:")
		for _, e := range ex.Journal {
			fmt.Fprintf(w, "    %s %s %s %s: %s\n", e.At.Format("2006-01-02 15:04:05"), e.Kind, e.MemberID, e.OtherID, e.Detail)
		}
	}
	if len(ex.Conflicts) > 0 {
		fmt.Fprintln(w, "  refused merges:")
		for _, c := range ex.Conflicts {
			fmt.Fprintf(w, "    %s/%s/%s %s: %s ↛ %s (%s)\n", c.Connection, c.Stream, c.RecordID, identityText(c.Identity), c.MemberID, c.OtherID, c.Rule)
		}
	}
}

func printConflicts(g *globals, rep *store.ConflictReport) {
	w := g.stdout
	fmt.Fprintf(w, "refused merges: %d\n", len(rep.Conflicts))
	for _, c := range rep.Conflicts {
		fmt.Fprintf(w, "  %s record %s/%s/%s carries %s: joining %s to %s would break %s\n", c.Since.Format("2006-01-02 15:04"), c.Connection, c.Stream, c.RecordID, identityText(c.Identity), c.MemberID, c.OtherID, c.Rule)
	}
	fmt.Fprintf(w, "shared identifiers (stopped linking): %d\n", len(rep.Shared))
	for _, s := range rep.Shared {
		fmt.Fprintf(w, "  %s on %d otherwise unrelated members since %s\n", identityText(s.Identity), s.Members, s.Since.Format("2006-01-02 15:04"))
	}
}
