package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/mapping"
)

func membersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "members", Short: "Look up, export and tag unified members"}
	var tenant string
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant (default: the only one in the config)")

	var phone, ident, id string
	var asJSON bool
	get := &cobra.Command{
		Use:   "get (--phone P | --identity TYPE:SCOPE:VALUE | --id MEMBER_ID)",
		Short: "Show one member: identities (phones as their hash), profile, tags, sources",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			n := 0
			for _, v := range []string{phone, ident, id} {
				if v != "" {
					n++
				}
			}
			if n != 1 {
				return errors.New("give exactly one of --phone, --identity or --id")
			}
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			var m *store.MemberView
			switch {
			case id != "":
				m, err = a.store.Member(ctx, t.ID, id)
			case phone != "":
				m, err = a.store.FindMember(ctx, t.ID, mapping.Identity{Type: mapping.IDPhone, Value: phone})
			default:
				var parsed mapping.Identity
				if parsed, err = parseLookupIdentity(ident); err != nil {
					return err
				}
				m, err = a.store.FindMember(ctx, t.ID, parsed)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(m)
			}
			printMember(g, m)
			return nil
		},
	}
	get.Flags().StringVar(&phone, "phone", "", "phone number in any common form")
	get.Flags().StringVar(&ident, "identity", "", "identity as TYPE:SCOPE:VALUE (scope empty for phone/email)")
	get.Flags().StringVar(&id, "id", "", "member id (an alias of a merged member resolves)")
	get.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	export := &cobra.Command{
		Use:   "export",
		Short: "Write every member of a tenant as JSON lines to stdout",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			w := bufio.NewWriter(g.stdout)
			enc := json.NewEncoder(w)
			if err := a.store.ExportMembers(ctx, t.ID, func(m *store.MemberView) error { return enc.Encode(m) }); err != nil {
				return err
			}
			return w.Flush()
		},
	}

	var add, remove []string
	tag := &cobra.Command{
		Use:   "tag --id MEMBER_ID [--add TAG]... [--remove TAG]...",
		Short: "Change a member's tags in the hub; queued for every connection of the member that can write tags",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if id == "" || len(add)+len(remove) == 0 {
				return errors.New("give --id and at least one --add or --remove")
			}
			if err := checkTags(add, remove); err != nil {
				return err
			}
			a, t, err := g.openTenant(ctx, tenant, true)
			if err != nil {
				return err
			}
			defer a.Close()
			n, err := a.store.ChangeTags(ctx, t.ID, id, add, remove, a.writers(t))
			if err != nil {
				return err
			}
			if n > 0 {
				fmt.Fprintf(g.stdout, "member %s: %d write-back actions queued; the next run of a job that writes them delivers them\n", id, n)
				return nil
			}
			m, err := a.store.Member(ctx, t.ID, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "member %s: tags changed in the hub only: %s\n", id, tagWriters(m, a.writers(t)))
			return nil
		},
	}
	tag.Flags().StringVar(&id, "id", "", "member id")
	tag.Flags().StringArrayVar(&add, "add", nil, "tag to add (repeatable)")
	tag.Flags().StringArrayVar(&remove, "remove", nil, "tag to remove (repeatable)")

	var level string
	var points bool
	push := &cobra.Command{
		Use:   "push --id MEMBER_ID [--level LEVEL] [--points]",
		Short: "Queue the member's level and/or points balance (the sum of the points ledger) for every platform that takes them (member.level, points.set)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if id == "" || (level == "" && !points) {
				return errors.New("give --id and --level or --points")
			}
			a, t, err := g.openTenant(ctx, tenant, true)
			if err != nil {
				return err
			}
			defer a.Close()
			type item struct {
				action string
				params map[string]string
			}
			var items []item
			if level != "" {
				items = append(items, item{"member.level", map[string]string{"level": level}})
			}
			if points {
				m, err := a.store.Member(ctx, t.ID, id)
				if err != nil {
					return err
				}
				items = append(items, item{"points.set", map[string]string{"points": fmt.Sprint(m.Points)}})
			}
			for _, it := range items {
				conns, err := a.store.QueueAction(ctx, t.ID, id, it.action, it.params, a.writers(t))
				if err != nil {
					return err
				}
				if len(conns) == 0 {
					fmt.Fprintf(g.stdout, "member %s: no connection of the member takes %s\n", id, it.action)
					continue
				}
				fmt.Fprintf(g.stdout, "member %s: %s queued for %s\n", id, it.action, deliveredBy(t, conns, it.action))
			}
			return nil
		},
	}
	push.Flags().StringVar(&id, "id", "", "member id")
	push.Flags().StringVar(&level, "level", "", "level to set on the platforms, as they take it (Tmall 会员通 and Douyin: a whole number ≥ 0; a platform refuses other values when the write is delivered)")
	push.Flags().BoolVar(&points, "points", false, "set the platforms' points balance to the hub's ledger balance")

	cmd.AddCommand(get, export, tag, push)
	return cmd
}

func printMember(g *globals, m *store.MemberView) {
	w := g.stdout
	fmt.Fprintf(w, "member %s\n", m.MemberID)
	if len(m.Aliases) > 0 {
		fmt.Fprintf(w, "  aliases: %s\n", strings.Join(m.Aliases, ", "))
	}
	p := m.Profile
	fmt.Fprintf(w, "  profile: name=%q gender=%q birthday=%q city=%q province=%q level=%q subscribed=%v\n", p.Name, p.Gender, p.Birthday, p.City, p.Province, p.Level, p.Subscribed)
	fmt.Fprintln(w, "  identities:")
	for _, i := range m.Identities {
		fmt.Fprintf(w, "    %s:%s:%s\n", i.Type, i.Scope, i.Value)
	}
	if len(m.Tags) > 0 {
		fmt.Fprintf(w, "  tags: %s\n", strings.Join(m.Tags, ", "))
	}
	fmt.Fprintln(w, "  sources:")
	for _, s := range m.Sources {
		fmt.Fprintf(w, "    %s %s\n", s.Connection, s.RecordID)
	}
	if m.Orders > 0 || m.Points != 0 {
		fmt.Fprintf(w, "  orders: %d  points: %d\n", m.Orders, m.Points)
	}
}

// checkTags rejects, before anything is opened, a blank tag and a tag both
// added and removed.
func checkTags(add, remove []string) error {
	for _, f := range []struct {
		flag string
		tags []string
	}{{"--add", add}, {"--remove", remove}} {
		for _, t := range f.tags {
			if strings.TrimSpace(t) == "" {
				return fmt.Errorf("%s %q: a tag cannot be empty or blank", f.flag, t)
			}
		}
	}
	for _, t := range add {
		if slices.Contains(remove, t) {
			return fmt.Errorf("tag %q is given to both --add and --remove: give it to one", t)
		}
	}
	return nil
}

// tagWriters says, when a tag change queued nothing, why: no connection of
// the member can write tags, or those that can already show the change.
func tagWriters(m *store.MemberView, writers func(connection string) []string) string {
	var conns, can []string
	for _, s := range m.Sources {
		if slices.Contains(conns, s.Connection) {
			continue
		}
		conns = append(conns, s.Connection)
		if w := writers(s.Connection); slices.Contains(w, sqlite.ActionTagAdd) || slices.Contains(w, sqlite.ActionTagRemove) {
			can = append(can, s.Connection)
		}
	}
	if len(can) == 0 {
		return fmt.Sprintf("no connection of the member (%s) can write tags", strings.Join(conns, ", "))
	}
	return fmt.Sprintf("nothing to write back: %s, the member's connections that can write tags, already show the change", strings.Join(can, ", "))
}

// parseLookupIdentity parses the --identity of a lookup (members get,
// identity unmerge). Phones are only
// ever shown as their salted hash, which cannot be looked up: a phone that
// is not a number is answered with the form to give instead.
func parseLookupIdentity(s string) (mapping.Identity, error) {
	id, err := mapping.ParseIdentity(s)
	if err != nil {
		return id, fmt.Errorf("--identity: %w", err)
	}
	if id.Type != mapping.IDPhone {
		return id, nil
	}
	if _, err := mapping.NormalizePhone(id.Value); err != nil {
		return id, fmt.Errorf("--identity: a phone is looked up by its number in clear, e.g. phone::+86 139 0571 2468 or --phone 13905712468; "+
			"the hash `members get` shows cannot be looked up: %w", err)
	}
	return id, nil
}
