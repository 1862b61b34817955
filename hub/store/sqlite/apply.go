package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// chunk is how many values go into one IN (...) list.
const chunk = 500

// applier holds one ApplyBatch transaction's state.
type applier struct {
	s      *Store
	ctx    context.Context
	tx     *sql.Tx
	b      store.Batch
	salt   []byte
	at     int64
	res    store.BatchResult
	owners map[string]identity.Owner // ikey → member holding it
	seq    int64                     // next member seq
	stmts  map[string]*sql.Stmt
}

// ApplyBatch implements store.Store.
func (s *Store) ApplyBatch(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	var res store.BatchResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a := &applier{s: s, ctx: ctx, tx: tx, b: b, at: b.At.UnixMilli(), owners: map[string]identity.Owner{}, stmts: map[string]*sql.Stmt{}}
		defer a.closeStmts()
		if err := a.run(); err != nil {
			return err
		}
		res = a.res
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("apply batch %s/%s/%s: %w", b.Tenant, b.Job, b.Stream, err)
	}
	return res, nil
}

func (a *applier) closeStmts() {
	for _, st := range a.stmts {
		st.Close()
	}
}

// exec runs a statement prepared once per transaction.
func (a *applier) exec(query string, args ...any) error {
	st, ok := a.stmts[query]
	if !ok {
		var err error
		if st, err = a.tx.PrepareContext(a.ctx, query); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		a.stmts[query] = st
	}
	_, err := st.ExecContext(a.ctx, args...)
	return err
}

type stored struct {
	hash     []byte
	memberID string
}

func (a *applier) run() error {
	var sealedSalt []byte
	if err := a.tx.QueryRowContext(a.ctx, `SELECT phone_salt, next_seq FROM tenants WHERE id = ?`, a.b.Tenant).Scan(&sealedSalt, &a.seq); err != nil {
		return fmt.Errorf("tenant %s not registered: %w", a.b.Tenant, err)
	}
	salt, err := a.s.box.Open(sealedSalt)
	if err != nil {
		return err
	}
	a.salt = salt

	existing, err := a.loadSources()
	if err != nil {
		return err
	}
	// Keys of every changed record, loaded in one pass.
	type prepared struct {
		rec   sdk.Record
		keys  []identity.Key
		clear map[string]string
		data  []byte
		hash  []byte
	}
	var todo []prepared
	var allKeys []string
	for _, r := range a.b.Records {
		if r.Bad != nil {
			if err := a.deadLetter(r.ID, r.Bad.Reason, r.Bad.Location, r.Bad.Raw); err != nil {
				return err
			}
			continue
		}
		p := prepared{rec: r, clear: map[string]string{}}
		var ids []mapping.Identity
		switch {
		case r.Member != nil:
			ids = r.Member.Identities
		case r.Order != nil:
			ids = r.Order.Buyer
		case r.Points != nil:
			ids = []mapping.Identity{r.Points.Member}
		default:
			if err := a.deadLetter(r.ID, "record carries no member, order or points data", "", nil); err != nil {
				return err
			}
			continue
		}
		for _, id := range ids {
			// Invalid and blocked identifiers are dropped, not matched; the
			// record itself is kept.
			k, clear, err := identity.KeyOf(a.salt, id)
			if err != nil {
				continue
			}
			p.keys = append(p.keys, k)
			if clear != "" {
				p.clear[k.String()] = clear
			}
		}
		p.data, err = redact(r, a.salt)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(p.data)
		p.hash = sum[:]
		if old, ok := existing[r.ID]; ok && bytes.Equal(old.hash, p.hash) {
			a.res.Unchanged++
			continue
		}
		for _, k := range p.keys {
			allKeys = append(allKeys, k.String())
		}
		todo = append(todo, p)
	}
	if err := a.loadOwners(allKeys); err != nil {
		return err
	}
	for _, p := range todo {
		var owners []identity.Owner
		for _, k := range p.keys {
			if o, ok := a.owners[k.String()]; ok {
				owners = append(owners, o)
			}
		}
		if old, ok := existing[p.rec.ID]; ok {
			if o, err := a.ownerOf(old.memberID); err == nil {
				owners = append(owners, o)
			}
		}
		member, err := a.resolve(p.rec, owners)
		if err != nil {
			return err
		}
		for _, k := range p.keys {
			ks := k.String()
			if o, ok := a.owners[ks]; ok && o.MemberID == member.MemberID {
				continue
			}
			var enc []byte
			if c, ok := p.clear[ks]; ok {
				enc = a.s.box.Seal([]byte(c))
			}
			if err := a.exec(`INSERT INTO identities (tenant, ikey, type, scope, value, value_enc, member_id) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (tenant, ikey) DO UPDATE SET member_id = excluded.member_id`,
				a.b.Tenant, ks, string(k.Type), k.Scope, k.Value, enc, member.MemberID); err != nil {
				return fmt.Errorf("identity: %w", err)
			}
			a.owners[ks] = member
		}
		if err := a.write(p.rec, member.MemberID, p.data, p.hash); err != nil {
			return fmt.Errorf("record %s: %w", p.rec.ID, err)
		}
		a.res.Written++
	}
	if err := a.exec(`UPDATE tenants SET next_seq = ? WHERE id = ?`, a.seq, a.b.Tenant); err != nil {
		return err
	}
	// Every batch counts its records; a batch with a checkpoint also moves
	// the stream's resume point, in this same transaction.
	return a.exec(`INSERT INTO stream_state (tenant, job, stream, checkpoint, records, status, updated_at) VALUES (?, ?, ?, ?, ?, 'running', ?)
		ON CONFLICT (tenant, job, stream) DO UPDATE SET checkpoint = COALESCE(excluded.checkpoint, stream_state.checkpoint),
		records = stream_state.records + excluded.records, status = 'running', updated_at = excluded.updated_at`,
		a.b.Tenant, a.b.Job, a.b.Stream, a.b.Checkpoint, len(a.b.Records), a.at/1000)
}

// loadSources returns the stored hash and member of this batch's records.
func (a *applier) loadSources() (map[string]stored, error) {
	out := map[string]stored{}
	ids := make([]string, 0, len(a.b.Records))
	for _, r := range a.b.Records {
		ids = append(ids, r.ID)
	}
	for len(ids) > 0 {
		n := min(chunk, len(ids))
		args := []any{a.b.Tenant, a.b.Connection, a.b.Stream}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		rows, err := a.tx.QueryContext(a.ctx, `SELECT record_id, hash, member_id FROM sources WHERE tenant = ? AND connection = ? AND stream = ? AND record_id IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("load sources: %w", err)
		}
		for rows.Next() {
			var id string
			var st stored
			if err := rows.Scan(&id, &st.hash, &st.memberID); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

// loadOwners fills a.owners for the given keys.
func (a *applier) loadOwners(keys []string) error {
	for len(keys) > 0 {
		n := min(chunk, len(keys))
		args := []any{a.b.Tenant}
		for _, k := range keys[:n] {
			args = append(args, k)
		}
		rows, err := a.tx.QueryContext(a.ctx, `SELECT i.ikey, i.member_id, m.seq FROM identities i JOIN members m ON m.tenant = i.tenant AND m.member_id = i.member_id
			WHERE i.tenant = ? AND i.ikey IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return fmt.Errorf("load identities: %w", err)
		}
		for rows.Next() {
			var k string
			var o identity.Owner
			if err := rows.Scan(&k, &o.MemberID, &o.Seq); err != nil {
				rows.Close()
				return err
			}
			a.owners[k] = o
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

func (a *applier) ownerOf(memberID string) (identity.Owner, error) {
	o := identity.Owner{MemberID: memberID}
	var into sql.NullString
	err := a.tx.QueryRowContext(a.ctx, `SELECT seq, merged_into FROM members WHERE tenant = ? AND member_id = ?`, a.b.Tenant, memberID).Scan(&o.Seq, &into)
	if err == nil && into.Valid {
		return a.ownerOf(into.String)
	}
	return o, err
}

// resolve returns the member a record belongs to, creating or merging members
// as identity.Decide says.
func (a *applier) resolve(r sdk.Record, owners []identity.Owner) (identity.Owner, error) {
	survivor, away, isNew := identity.Decide(owners)
	if isNew {
		// Ids follow the tenant's member sequence: deterministic for one
		// arrival order, and appended at the end of every index they key.
		survivor = identity.Owner{MemberID: MemberID(a.seq), Seq: a.seq}
		a.seq++
		if err := a.exec(`INSERT INTO members (tenant, member_id, seq, created_at) VALUES (?, ?, ?, ?)`, a.b.Tenant, survivor.MemberID, survivor.Seq, a.at); err != nil {
			return survivor, fmt.Errorf("create member: %w", err)
		}
		a.res.NewMembers++
		return survivor, nil
	}
	for _, o := range away {
		if err := a.merge(o.MemberID, survivor.MemberID); err != nil {
			return survivor, err
		}
		for k, v := range a.owners {
			if v.MemberID == o.MemberID {
				a.owners[k] = survivor
			}
		}
		a.res.Merges++
	}
	return survivor, nil
}

// merge moves everything of member from into member into; from becomes an
// alias that resolves to into.
func (a *applier) merge(from, into string) error {
	for _, q := range []string{
		`UPDATE identities SET member_id = ? WHERE tenant = ? AND member_id = ?`,
		`UPDATE sources SET member_id = ? WHERE tenant = ? AND member_id = ?`,
		`UPDATE OR IGNORE member_tags SET member_id = ? WHERE tenant = ? AND member_id = ?`,
		`UPDATE orders SET member_id = ? WHERE tenant = ? AND member_id = ?`,
		`UPDATE points SET member_id = ? WHERE tenant = ? AND member_id = ?`,
		`UPDATE outbox SET member_id = ? WHERE tenant = ? AND member_id = ?`,
		`UPDATE members SET merged_into = ? WHERE tenant = ? AND (member_id = ? OR merged_into = ?)`,
	} {
		args := []any{into, a.b.Tenant, from}
		if strings.Contains(q, "merged_into = ?)") {
			args = append(args, from)
		}
		if err := a.exec(q, args...); err != nil {
			return fmt.Errorf("merge %s into %s: %w", from, into, err)
		}
	}
	return a.exec(`DELETE FROM member_tags WHERE tenant = ? AND member_id = ?`, a.b.Tenant, from)
}

// write upserts the record itself.
func (a *applier) write(r sdk.Record, memberID string, data, hash []byte) error {
	switch {
	case r.Member != nil:
		if err := a.exec(`INSERT INTO sources (tenant, connection, stream, record_id, member_id, updated_at, deleted, hash, data, first_seen, last_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, connection, stream, record_id) DO UPDATE SET member_id = excluded.member_id, updated_at = excluded.updated_at,
			deleted = excluded.deleted, hash = excluded.hash, data = excluded.data, last_seen = excluded.last_seen`,
			a.b.Tenant, a.b.Connection, a.b.Stream, r.ID, memberID, r.UpdatedAt.UnixMilli(), r.Deleted, hash, data, a.at, a.at); err != nil {
			return err
		}
		// The platform's tags live in the stored record itself (data).
		return nil
	case r.Order != nil:
		o := r.Order
		// A push and a pull may deliver one order in either order: never let an
		// older version overwrite a newer one.
		return a.exec(`INSERT INTO orders (tenant, platform, shop, order_id, connection, member_id, status, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, platform, shop, order_id) DO UPDATE SET member_id = excluded.member_id, status = excluded.status,
			updated_at = excluded.updated_at, data = excluded.data, connection = excluded.connection
			WHERE excluded.updated_at >= orders.updated_at`,
			a.b.Tenant, o.Platform, o.Shop, o.OrderID, a.b.Connection, memberID, o.Status.String(), o.UpdatedAt.UnixMilli(), data)
	case r.Points != nil:
		e := r.Points
		return a.exec(`INSERT INTO points (tenant, connection, entry_id, member_id, kind, delta, occurred_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, connection, entry_id) DO NOTHING`,
			a.b.Tenant, a.b.Connection, e.EntryID, memberID, string(e.Kind), e.Delta, e.OccurredAt.UnixMilli(), data)
	}
	return nil
}

func (a *applier) deadLetter(recordID, reason, location string, raw []byte) error {
	a.res.DeadLettered++
	return a.exec(`INSERT INTO dead_letters (tenant, job, connection, stream, record_id, reason, location, raw, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.b.Tenant, a.b.Job, a.b.Connection, a.b.Stream, recordID, reason, location, raw, a.at/1000)
}

// redact renders the record as stored: phones replaced by their salted hash,
// so that the sources table never holds a number in clear.
func redact(r sdk.Record, salt []byte) ([]byte, error) {
	hashIDs := func(ids []mapping.Identity) []mapping.Identity {
		out := make([]mapping.Identity, len(ids))
		for i, id := range ids {
			out[i] = id
			if id.Type == mapping.IDPhone {
				if e164, err := mapping.NormalizePhone(id.Value); err == nil {
					out[i].Value = mapping.PhoneHash(salt, e164)
				} else {
					out[i].Value = "invalid"
				}
			}
		}
		return out
	}
	var v any
	switch {
	case r.Member != nil:
		m := *r.Member
		m.Identities = hashIDs(m.Identities)
		v = struct {
			Deleted bool `json:"deleted,omitempty"`
			*mapping.Member
		}{r.Deleted, &m}
	case r.Order != nil:
		o := *r.Order
		o.Buyer = hashIDs(o.Buyer)
		v = &o
	case r.Points != nil:
		p := *r.Points
		p.Member = hashIDs([]mapping.Identity{p.Member})[0]
		v = &p
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode record %s: %w", r.ID, err)
	}
	return b, nil
}

// MemberID renders a member sequence number as a member id.
func MemberID(seq int64) string { return fmt.Sprintf("m%011d", seq) }

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
