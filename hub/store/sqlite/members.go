package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// resolveID follows an alias to the member it was merged into.
func (s *Store) resolveID(ctx context.Context, q querier, tenant, memberID string) (string, error) {
	var into sql.NullString
	err := q.QueryRowContext(ctx, `SELECT merged_into FROM members WHERE tenant = ? AND member_id = ?`, tenant, memberID).Scan(&into)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("member %s: %w", memberID, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("member %s: %w", memberID, err)
	}
	if into.Valid {
		return into.String, nil
	}
	return memberID, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Member implements store.Store.
func (s *Store) Member(ctx context.Context, tenant, memberID string) (*store.MemberView, error) {
	id, err := s.liveMember(ctx, s.db, tenant, memberID)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, tenant, id)
}

// identityKey is the key under which the tenant's links hold id.
func (s *Store) identityKey(ctx context.Context, tenant string, id mapping.Identity) (string, error) {
	salt, err := s.salt(ctx, tenant)
	if err != nil {
		return "", err
	}
	rules := identity.DefaultRules()
	k, _, err := rules.Key(salt, id)
	if err != nil {
		return "", err
	}
	return k.String(), nil
}

// RecordCarries implements store.Store: one record of the connection
// holds a link for each distinct key of ids.
func (s *Store) RecordCarries(ctx context.Context, tenant, connection string, ids []mapping.Identity) (bool, error) {
	keys := map[string]bool{}
	for _, id := range ids {
		k, err := s.identityKey(ctx, tenant, id)
		if err != nil {
			return false, err
		}
		keys[k] = true
	}
	if len(keys) == 0 {
		return false, nil
	}
	args := []any{tenant, connection}
	for k := range keys {
		args = append(args, k)
	}
	var carried bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM identifier_links l JOIN sources s ON s.id = l.src
		WHERE l.tenant = ? AND s.connection = ? AND l.ikey IN (?`+strings.Repeat(", ?", len(keys)-1)+`)
		GROUP BY l.src HAVING COUNT(DISTINCT l.ikey) = ?)`, append(args, len(keys))...).Scan(&carried)
	if err != nil {
		return false, fmt.Errorf("records of %s carrying %d identifiers: %w", connection, len(keys), err)
	}
	return carried, nil
}

// FindMember implements store.Store.
func (s *Store) FindMember(ctx context.Context, tenant string, id mapping.Identity) (*store.MemberView, error) {
	k, err := s.identityKey(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	var members []string
	err = eachRow(ctx, s.db, `SELECT DISTINCT s.member_id FROM identifier_links l JOIN sources s ON s.id = l.src
		WHERE l.tenant = ? AND l.ikey = ? ORDER BY s.member_id`, []any{tenant, k}, func(r *sql.Rows) error {
		var m string
		err := r.Scan(&m)
		members = append(members, m)
		return err
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("find member: %w", err)
	case len(members) == 0:
		return nil, fmt.Errorf("no member holds that %s identity: %w", id.Type, store.ErrNotFound)
	case len(members) > 1:
		return nil, fmt.Errorf("that %s identity is held by %d members (%s): %w", id.Type, len(members), strings.Join(members, ", "), store.ErrAmbiguous)
	}
	return s.view(ctx, tenant, members[0])
}

// ExportMembers implements store.Store.
func (s *Store) ExportMembers(ctx context.Context, tenant string, fn func(*store.MemberView) error) error {
	after := ""
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT member_id FROM members WHERE tenant = ? AND merged_into IS NULL AND erased_at IS NULL AND member_id > ? ORDER BY member_id LIMIT 500`, tenant, after)
		if err != nil {
			return fmt.Errorf("export members: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for _, id := range ids {
			v, err := s.view(ctx, tenant, id)
			if err != nil {
				return err
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		after = ids[len(ids)-1]
	}
}

// view assembles a member's unified view.
func (s *Store) view(ctx context.Context, tenant, memberID string) (*store.MemberView, error) {
	v := &store.MemberView{MemberID: memberID, Identities: []store.IdentityView{}, Sources: []store.SourceRef{}}
	seen := map[identity.Key]bool{}
	// Sources oldest first: a newer non-empty field overrides an older one.
	err := eachRow(ctx, s.db, `SELECT connection, record_id, kind, data, keys FROM sources WHERE tenant = ? AND member_id = ? ORDER BY updated_at, connection, record_id`,
		[]any{tenant, memberID}, func(r *sql.Rows) error {
			var ref store.SourceRef
			var kind, keys string
			var data []byte
			if err := r.Scan(&ref.Connection, &ref.RecordID, &kind, &data, &keys); err != nil {
				return err
			}
			ks, err := parseKeys(keys)
			if err != nil {
				return err
			}
			for _, k := range ks {
				if !seen[k] {
					seen[k] = true
					v.Identities = append(v.Identities, store.IdentityView{Type: string(k.Type), Scope: k.Scope, Value: k.Value})
				}
			}
			if kind != kindMember {
				return nil
			}
			v.Sources = append(v.Sources, ref)
			var m struct {
				Deleted bool `json:"deleted"`
				mapping.Member
			}
			if err := json.Unmarshal(data, &m); err != nil {
				return fmt.Errorf("source %s/%s: %w", ref.Connection, ref.RecordID, err)
			}
			overlay(&v.Profile, &m.Member, m.Deleted)
			v.Consents = append(v.Consents, m.Consents...)
			if !m.Deleted {
				for _, t := range m.Tags {
					v.Tags = append(v.Tags, t.Name)
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(v.Identities, func(a, b store.IdentityView) int {
		return strings.Compare(a.Type+"\x1f"+a.Scope+"\x1f"+a.Value, b.Type+"\x1f"+b.Scope+"\x1f"+b.Value)
	})
	slices.SortFunc(v.Sources, func(a, b store.SourceRef) int {
		return strings.Compare(a.Connection+"\x00"+a.RecordID, b.Connection+"\x00"+b.RecordID)
	})
	err = eachRow(ctx, s.db, `SELECT tag FROM member_tags WHERE tenant = ? AND member_id = ?`, []any{tenant, memberID}, func(r *sql.Rows) error {
		var t string
		if err := r.Scan(&t); err != nil {
			return err
		}
		v.Tags = append(v.Tags, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(v.Tags)
	v.Tags = slices.Compact(v.Tags)
	err = eachRow(ctx, s.db, `SELECT member_id FROM members WHERE tenant = ? AND merged_into = ? ORDER BY member_id`, []any{tenant, memberID}, func(r *sql.Rows) error {
		var a string
		if err := r.Scan(&a); err != nil {
			return err
		}
		v.Aliases = append(v.Aliases, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE tenant = ? AND member_id = ?`, tenant, memberID).Scan(&v.Orders); err != nil {
		return nil, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(delta), 0) FROM points WHERE tenant = ? AND member_id = ?`, tenant, memberID).Scan(&v.Points); err != nil {
		return nil, err
	}
	return v, nil
}

func overlay(p *store.Profile, m *mapping.Member, deleted bool) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.Name, m.Name)
	set(&p.Gender, string(m.Gender))
	set(&p.Birthday, m.Birthday)
	set(&p.City, m.City)
	set(&p.Province, m.Province)
	set(&p.Country, m.Country)
	set(&p.Level, m.Level)
	p.Subscribed = p.Subscribed || (m.Subscribed && !deleted)
}

func eachRow(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	return scanRows(rows, err, fn)
}

// scanRows calls fn for each row of a query's result (rows, err), then
// closes it.
func scanRows(rows *sql.Rows, err error, fn func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Tag action types the outbox queues.
const (
	ActionTagAdd    = "tags.add"
	ActionTagRemove = "tags.remove"
)

// ChangeTags implements store.Store.
func (s *Store) ChangeTags(ctx context.Context, tenant, memberID string, add, remove []string, writers func(connection string) []string) (int, error) {
	queued := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		id, err := s.liveMember(ctx, tx, tenant, memberID)
		if err != nil {
			return err
		}
		var conns []string
		err = eachRow(ctx, tx, `SELECT DISTINCT connection FROM sources WHERE tenant = ? AND member_id = ? AND deleted = 0 ORDER BY connection`, []any{tenant, id}, func(r *sql.Rows) error {
			var c string
			if err := r.Scan(&c); err != nil {
				return err
			}
			conns = append(conns, c)
			return nil
		})
		if err != nil {
			return err
		}
		now := s.now().Unix()
		change := func(tag, action string) error {
			for _, c := range conns {
				if !slices.Contains(writers(c), action) {
					continue
				}
				// No echo: a platform that already shows the tag (or lacks
				// the one to remove) is not asked again.
				has, err := platformHasTag(ctx, tx, tenant, id, c, tag)
				if err != nil {
					return err
				}
				if (action == ActionTagAdd) == has {
					continue
				}
				params, _ := json.Marshal(map[string]string{"tag": tag})
				if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (tenant, connection, action_key, type, member_id, params, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
					tenant, c, newKey(), action, id, string(params), now, now); err != nil {
					return err
				}
				queued++
			}
			return nil
		}
		for _, t := range add {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO member_tags (tenant, member_id, tag, source, origin) VALUES (?, ?, ?, 'hub', ?)`, tenant, id, t, memberID); err != nil {
				return err
			}
			if err := change(t, ActionTagAdd); err != nil {
				return err
			}
		}
		for _, t := range remove {
			if _, err := tx.ExecContext(ctx, `DELETE FROM member_tags WHERE tenant = ? AND member_id = ? AND tag = ? AND source = 'hub'`, tenant, id, t); err != nil {
				return err
			}
			if err := change(t, ActionTagRemove); err != nil {
				return err
			}
		}
		if len(remove) > 0 {
			return stripTags(ctx, tx, tenant, id, remove)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("change tags of %s: %w", memberID, err)
	}
	return queued, nil
}

func newKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "ob_" + hex.EncodeToString(b)
}

// namesByPhone reports the membership write-backs that name the member by
// the phone the platform itself gave.
func namesByPhone(action string) bool { return action == "member.level" || action == "points.set" }

// QueueAction implements store.Store.
func (s *Store) QueueAction(ctx context.Context, tenant, memberID, action string, params map[string]string, writers func(string) []string) ([]string, error) {
	var queued []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		id, err := s.liveMember(ctx, tx, tenant, memberID)
		if err != nil {
			return err
		}
		p, err := json.Marshal(params)
		if err != nil {
			return err
		}
		now := s.now().Unix()
		return eachRow(ctx, tx, `SELECT DISTINCT connection FROM sources WHERE tenant = ? AND member_id = ? AND deleted = 0 ORDER BY connection`, []any{tenant, id}, func(r *sql.Rows) error {
			var c string
			if err := r.Scan(&c); err != nil {
				return err
			}
			if !slices.Contains(writers(c), action) {
				return nil
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (tenant, connection, action_key, type, member_id, params, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
				tenant, c, newKey(), action, id, string(p), now, now); err != nil {
				return err
			}
			queued = append(queued, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("queue %s for %s: %w", action, memberID, err)
	}
	return queued, nil
}

// PendingActions implements store.Store.
func (s *Store) PendingActions(ctx context.Context, tenant, connection string, types []string, limit int) ([]store.OutboxItem, error) {
	if len(types) == 0 {
		return nil, nil
	}
	args := []any{tenant, connection}
	for _, t := range types {
		args = append(args, t)
	}
	args = append(args, limit)
	var items []store.OutboxItem
	subjects := map[int64]string{}
	err := eachRow(ctx, s.db, `SELECT id, action_key, type, member_id, params, target, subject, attempts FROM outbox WHERE tenant = ? AND connection = ? AND status = 'pending'
		AND type IN (`+placeholders(len(types))+`) ORDER BY id LIMIT ?`, args, func(r *sql.Rows) error {
		it := store.OutboxItem{Connection: connection}
		var params, target, subject string
		if err := r.Scan(&it.ID, &it.Action.Key, &it.Action.Type, &it.MemberID, &params, &target, &subject, &it.Attempts); err != nil {
			return err
		}
		subjects[it.ID] = subject
		if target != "" {
			if err := json.Unmarshal([]byte(target), &it.Action.Target); err != nil {
				return fmt.Errorf("outbox %d target: %w", it.ID, err)
			}
		}
		if err := json.Unmarshal([]byte(params), &it.Action.Params); err != nil {
			return fmt.Errorf("outbox %d params: %w", it.ID, err)
		}
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending actions %s/%s: %w", tenant, connection, err)
	}
	// Targets: the member's identities as this connection's records carry
	// them (or as captured when the action was queued). Membership
	// write-backs also carry the phones this connection's own records
	// brought (Tmall names a 会员通 member by mobile); a plugin never learns
	// a phone from another platform, and tag writes get none.
	for i := range items {
		it := &items[i]
		if it.Action.Type == store.ActionSMSSend {
			// The one phone this SMS goes to, decrypted only now.
			if it.Action.Target, err = s.smsTarget(ctx, tenant, it.MemberID, subjects[it.ID]); err != nil {
				return nil, err
			}
			continue
		}
		if len(it.Action.Target) > 0 {
			continue
		}
		err := eachRow(ctx, s.db, `SELECT keys, phones FROM sources WHERE tenant = ? AND member_id = ? AND connection = ? AND deleted = 0 ORDER BY record_id`,
			[]any{tenant, it.MemberID, connection}, func(r *sql.Rows) error {
				var keys string
				var sealed []byte
				if err := r.Scan(&keys, &sealed); err != nil {
					return err
				}
				ks, err := parseKeys(keys)
				if err != nil {
					return err
				}
				for _, k := range ks {
					id := mapping.Identity{Type: k.Type, Scope: k.Scope, Value: k.Value}
					if k.Type != mapping.IDPhone && !slices.Contains(it.Action.Target, id) {
						it.Action.Target = append(it.Action.Target, id)
					}
				}
				if len(sealed) == 0 || !namesByPhone(it.Action.Type) {
					return nil
				}
				phones, err := s.openPhones(sealed)
				for _, p := range phones {
					id := mapping.Identity{Type: mapping.IDPhone, Value: p}
					if !slices.Contains(it.Action.Target, id) {
						it.Action.Target = append(it.Action.Target, id)
					}
				}
				return err
			})
		if err != nil {
			return nil, err
		}
	}
	return items, nil
}

// CompleteActions implements store.Store.
func (s *Store) CompleteActions(ctx context.Context, tenant string, results []store.OutboxResult) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		for _, r := range results {
			status := "delivered"
			switch {
			case r.Status == sdk.StatusRefused:
				status = "refused"
			case r.Status == sdk.StatusFailed && r.Retry:
				status = "pending"
			case r.Status == sdk.StatusFailed:
				status = "failed"
			}
			// A delivered action no longer needs the identities it captured
			// (an erasure's are all that is left of the person).
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = ?1, attempts = attempts + 1, last_error = ?2, updated_at = ?3,
				platform_ref = CASE WHEN ?6 != '' THEN ?6 ELSE platform_ref END,
				target = CASE WHEN ?1 = 'delivered' THEN '' ELSE target END WHERE tenant = ?4 AND id = ?5`,
				status, r.Error, now, tenant, r.ID, r.PlatformRef); err != nil {
				return fmt.Errorf("complete action %d: %w", r.ID, err)
			}
			if status != "delivered" {
				continue
			}
			// The platform now shows the change: record it as the
			// platform's, so the next read agrees and nothing is echoed.
			var typ, member, conn, params string
			if err := tx.QueryRowContext(ctx, `SELECT type, member_id, connection, params FROM outbox WHERE id = ?`, r.ID).Scan(&typ, &member, &conn, &params); err != nil {
				return err
			}
			var p map[string]string
			_ = json.Unmarshal([]byte(params), &p)
			if typ == ActionTagAdd || typ == ActionTagRemove {
				if err := setPlatformTag(ctx, tx, tenant, member, conn, p["tag"], typ == ActionTagAdd); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// storedMember is a member record as the sources table holds it.
type storedMember struct {
	Deleted bool `json:"deleted,omitempty"`
	*mapping.Member
}

// stripTags takes tags off the member's stored platform records, so that
// a tag removed in the hub leaves the member at once, whether or not its
// platform can be told. The records' hashes stay those of what the platform
// sent: the platform's next change to a record (the removal delivered, or
// the tag given again) is applied as it comes.
func stripTags(ctx context.Context, tx *sql.Tx, tenant, member string, tags []string) error {
	type edit struct {
		id   int64
		data []byte
	}
	var edits []edit
	err := eachRow(ctx, tx, `SELECT id, data FROM sources WHERE tenant = ? AND member_id = ? AND kind = 'member'`, []any{tenant, member}, func(r *sql.Rows) error {
		var e edit
		if err := r.Scan(&e.id, &e.data); err != nil {
			return err
		}
		var m storedMember
		if err := json.Unmarshal(e.data, &m); err != nil {
			return fmt.Errorf("source %d: %w", e.id, err)
		}
		if m.Member == nil {
			return nil
		}
		n := len(m.Tags)
		m.Tags = slices.DeleteFunc(m.Tags, func(t mapping.Tag) bool { return slices.Contains(tags, t.Name) })
		if len(m.Tags) == n {
			return nil
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("source %d: %w", e.id, err)
		}
		edits = append(edits, edit{e.id, b})
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove tags from records: %w", err)
	}
	for _, e := range edits {
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET data = ? WHERE id = ?`, e.data, e.id); err != nil {
			return fmt.Errorf("remove tags from record %d: %w", e.id, err)
		}
	}
	return nil
}

// platformHasTag reports whether the member's records from a connection
// carry a tag.
func platformHasTag(ctx context.Context, q querier, tenant, member, conn, tag string) (bool, error) {
	has := false
	err := eachRow(ctx, q, `SELECT data FROM sources WHERE tenant = ? AND member_id = ? AND connection = ? AND kind = 'member'`, []any{tenant, member, conn}, func(r *sql.Rows) error {
		var data []byte
		if err := r.Scan(&data); err != nil {
			return err
		}
		var m storedMember
		if err := json.Unmarshal(data, &m); err != nil || m.Member == nil {
			return err
		}
		for _, t := range m.Tags {
			has = has || t.Name == tag
		}
		return nil
	})
	return has, err
}

// setPlatformTag records a delivered tag change in the member's stored
// records of that connection, as the platform now shows it; the next read
// replaces them with the platform's own word.
func setPlatformTag(ctx context.Context, tx *sql.Tx, tenant, member, conn, tag string, add bool) error {
	type row struct {
		stream, id, keys string
		m                storedMember
	}
	var rows []row
	err := eachRow(ctx, tx, `SELECT stream, record_id, data, keys FROM sources WHERE tenant = ? AND member_id = ? AND connection = ? AND kind = 'member'`, []any{tenant, member, conn}, func(r *sql.Rows) error {
		var x row
		var data []byte
		if err := r.Scan(&x.stream, &x.id, &data, &x.keys); err != nil {
			return err
		}
		if err := json.Unmarshal(data, &x.m); err != nil || x.m.Member == nil {
			return err
		}
		rows = append(rows, x)
		return nil
	})
	if err != nil {
		return err
	}
	for _, x := range rows {
		tags := slices.DeleteFunc(x.m.Tags, func(t mapping.Tag) bool { return t.Name == tag })
		if add {
			tags = append(tags, mapping.Tag{Name: tag, Source: "hub"})
		}
		x.m.Tags = tags
		data, err := json.Marshal(x.m)
		if err != nil {
			return err
		}
		// Hashed as ApplyBatch hashes a record: data, then its keys.
		sum := sha256.Sum256(append(data, x.keys...))
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET data = ?, hash = ? WHERE id = (SELECT src FROM source_ids WHERE tenant = ? AND connection = ? AND stream = ? AND record_id = ?)`,
			data, sum[:], tenant, conn, x.stream, x.id); err != nil {
			return err
		}
	}
	return nil
}

// ExportOrders implements store.Store.
func (s *Store) ExportOrders(ctx context.Context, tenant string, fn func(*store.OrderView) error) error {
	var platform, shop, orderID string
	for {
		var page []*store.OrderView
		err := eachRow(ctx, s.db, `SELECT platform, shop, order_id, member_id, connection, data FROM orders
			WHERE tenant = ? AND (platform, shop, order_id) > (?, ?, ?) ORDER BY platform, shop, order_id LIMIT 500`,
			[]any{tenant, platform, shop, orderID}, func(r *sql.Rows) error {
				v := &store.OrderView{}
				var data []byte
				if err := r.Scan(&platform, &shop, &orderID, &v.MemberID, &v.Connection, &data); err != nil {
					return err
				}
				if err := json.Unmarshal(data, &v.Order); err != nil {
					return fmt.Errorf("order %s/%s/%s: %w", platform, shop, orderID, err)
				}
				page = append(page, v)
				return nil
			})
		if err != nil {
			return fmt.Errorf("export orders: %w", err)
		}
		for _, v := range page {
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
	}
}
