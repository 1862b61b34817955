package sqlite

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
)

// saltedHash is what the store keeps of a value it must recognise but not
// reveal: the tombstone an erasure keeps of a record or identifier, the
// hash that names a dead letter's row.
func saltedHash(salt []byte, what string) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(what))
	return hex.EncodeToString(m.Sum(nil))
}

func recordTomb(salt []byte, r recRef) string {
	return saltedHash(salt, "record\x1f"+r.order())
}

func keyTomb(salt []byte, k identity.Key) string { return saltedHash(salt, "key\x1f"+k.String()) }

// dropErased drops records of erased people: a record erased before, or one
// carrying an erased identifier.
func (a *applier) dropErased(changed []*prepared) ([]*prepared, error) {
	if !a.has.tombstones || len(changed) == 0 {
		return changed, nil
	}
	var hashes []any
	for _, p := range changed {
		hashes = append(hashes, recordTomb(a.salt, p.ref))
		for _, k := range p.keys {
			hashes = append(hashes, keyTomb(a.salt, k))
		}
	}
	found := map[string]bool{}
	err := a.inChunks(hashes, func(part []any) error {
		args := append([]any{a.tenant}, part...)
		return a.each(`SELECT hash FROM tombstones WHERE tenant = ? AND hash IN (`+placeholders(len(part))+`)`, args, func(r *sql.Rows) error {
			var h string
			err := r.Scan(&h)
			found[h] = true
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("tombstones: %w", err)
	}
	if len(found) == 0 {
		return changed, nil
	}
	return slices.DeleteFunc(changed, func(p *prepared) bool {
		erased := found[recordTomb(a.salt, p.ref)]
		for _, k := range p.keys {
			erased = erased || found[keyTomb(a.salt, k)]
		}
		if erased {
			a.res.Erased++
		}
		return erased
	}), nil
}

// memberRecords returns the stored records of a live member.
func (a *applier) memberRecords(member string) ([]*gnode, error) {
	var out []*gnode
	err := a.each(`SELECT id, connection, stream, record_id, kind, ref, keys FROM sources WHERE tenant = ? AND member_id = ?`, []any{a.tenant, member}, func(r *sql.Rows) error {
		n := &gnode{member: member}
		var keys string
		if err := r.Scan(&n.id, &n.ref.conn, &n.ref.stream, &n.ref.id, &n.kind, &n.xref, &keys); err != nil {
			return err
		}
		var err error
		n.keys, err = parseKeys(keys)
		out = append(out, n)
		return err
	})
	return out, err
}

// liveMember resolves an id or alias to a live member, or says why not.
func (s *Store) liveMember(ctx context.Context, q querier, tenant, memberID string) (string, error) {
	id, err := s.resolveID(ctx, q, tenant, memberID)
	if err != nil {
		return "", err
	}
	var erased sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT erased_at FROM members WHERE tenant = ? AND member_id = ?`, tenant, id).Scan(&erased); err != nil {
		return "", fmt.Errorf("member %s: %w", id, err)
	}
	if erased.Valid {
		return "", fmt.Errorf("member %s was erased on %s: %w", memberID, time.UnixMilli(erased.Int64).UTC().Format(time.DateOnly), store.ErrNotFound)
	}
	return id, nil
}

// Unmerge implements store.Store.
func (s *Store) Unmerge(ctx context.Context, tenant, memberID string, id mapping.Identity, rules *identity.Rules) (*store.UnmergeResult, error) {
	var out *store.UnmergeResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		member, err := s.liveMember(ctx, tx, tenant, memberID)
		if err != nil {
			return err
		}
		a, err := s.newApplier(ctx, tx, tenant, rules, s.now().UnixMilli())
		if err != nil {
			return err
		}
		defer a.close()
		x, _, err := a.rules.Key(a.salt, id)
		if err != nil {
			return fmt.Errorf("--identity: %w", err)
		}
		records, err := a.memberRecords(member)
		if err != nil {
			return err
		}
		var partners []identity.Key
		holds := false
		for _, n := range records {
			for _, k := range n.keys {
				switch {
				case k == x:
					holds = true
				case !slices.Contains(partners, k):
					partners = append(partners, k)
				}
			}
		}
		if !holds {
			return fmt.Errorf("member %s holds no %s identity with that value: %w", member, id.Type, store.ErrNotFound)
		}
		if len(partners) == 0 {
			return fmt.Errorf("member %s holds only that identity: nothing to unmerge it from", member)
		}
		for _, p := range partners {
			if err := a.exec(`INSERT OR IGNORE INTO identity_never (tenant, ikey, partner, created_at) VALUES (?, ?, ?, ?)`, tenant, x.String(), p.String(), a.at); err != nil {
				return fmt.Errorf("never-merge: %w", err)
			}
		}
		a.has.never = true
		if err := a.journal("unmerge", member, "", x, recRef{}, recRef{}, identity.RuleNeverMerge,
			fmt.Sprintf("%s detached by hand: it never joins the member's other %d identifiers again", x.Type, len(partners))); err != nil {
			return err
		}
		if err := a.resolve(nil, append(partners, x)); err != nil {
			return err
		}
		if err := a.finish(); err != nil {
			return err
		}
		out = &store.UnmergeResult{MemberID: member}
		for _, n := range records {
			var now string
			if err := tx.QueryRowContext(ctx, `SELECT member_id FROM sources WHERE id = ?`, n.id).Scan(&now); err != nil {
				return err
			}
			if !slices.Contains(out.Members, now) {
				out.Members = append(out.Members, now)
			}
		}
		slices.Sort(out.Members)
		if len(out.Members) == 1 {
			// Every record that carries the identifier carries some of the
			// member's others too: a record's own identifiers stay together,
			// so nothing moved. Say so, and keep nothing of the attempt.
			var carriers []string
			for _, n := range records {
				if slices.Contains(n.keys, x) {
					carriers = append(carriers, n.ref.conn+"/"+n.ref.id)
				}
			}
			return fmt.Errorf("nothing to detach: every record of member %s that carries it (%s) also carries the member's other identifiers, and one record's identifiers always stay together; correct the record at its source, or erase the member", member, strings.Join(carriers, ", "))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unmerge %s from %s: %w", id.Type, memberID, err)
	}
	return out, nil
}

// Erase implements store.Store.
func (s *Store) Erase(ctx context.Context, tenant, memberID, eraseAction string, writers func(string) []string, rules *identity.Rules) (*store.EraseResult, error) {
	var out *store.EraseResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		member, err := s.liveMember(ctx, tx, tenant, memberID)
		if err != nil {
			return err
		}
		a, err := s.newApplier(ctx, tx, tenant, rules, s.now().UnixMilli())
		if err != nil {
			return err
		}
		defer a.close()
		records, err := a.memberRecords(member)
		if err != nil {
			return err
		}
		out = &store.EraseResult{MemberID: member}
		ids := []any{member}
		err = eachRow(ctx, tx, `SELECT member_id FROM members WHERE tenant = ? AND merged_into = ?`, []any{tenant, member}, func(r *sql.Rows) error {
			var id string
			err := r.Scan(&id)
			ids = append(ids, id)
			return err
		})
		if err != nil {
			return err
		}
		// Ask the platforms first, while the records say who to ask about.
		targets := map[string][]mapping.Identity{}
		var conns []string
		tombs := map[string]bool{}
		var keys []identity.Key
		for _, n := range records {
			tombs[recordTomb(a.salt, n.ref)] = true
			for _, k := range n.keys {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
				id := mapping.Identity{Type: k.Type, Scope: k.Scope, Value: k.Value}
				if k.Type != mapping.IDPhone && !slices.Contains(targets[n.ref.conn], id) {
					targets[n.ref.conn] = append(targets[n.ref.conn], id)
				}
			}
			if !slices.Contains(conns, n.ref.conn) {
				conns = append(conns, n.ref.conn)
			}
		}
		slices.Sort(conns)
		for _, c := range conns {
			if eraseAction == "" || !slices.Contains(writers(c), eraseAction) || len(targets[c]) == 0 {
				continue
			}
			target, _ := json.Marshal(targets[c])
			if err := a.exec(`INSERT INTO outbox (tenant, connection, action_key, type, member_id, params, target, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '{}', ?, 'pending', ?, ?)`,
				tenant, c, newKey(), eraseAction, member, string(target), a.at/1000, a.at/1000); err != nil {
				return fmt.Errorf("queue erasure: %w", err)
			}
			out.Queued = append(out.Queued, c)
		}
		for _, n := range records {
			for _, k := range n.keys {
				if err := a.unlink(k, n.id); err != nil {
					return err
				}
			}
		}
		// An identifier is tombstoned only when no one else holds it: a
		// family's shared phone, or a clerk's the guard stopped, is not this
		// person's alone, and a record of someone else carrying it is not
		// this person coming back.
		var gone []identity.Key // identifiers no one else holds
		for _, k := range keys {
			var held bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM identifier_links WHERE tenant = ?1 AND ikey = ?2)
				OR EXISTS (SELECT 1 FROM identity_shared WHERE tenant = ?1 AND ikey = ?2)`, tenant, k.String()).Scan(&held); err != nil {
				return fmt.Errorf("erase: is %s held by others: %w", k.Type, err)
			}
			if !held {
				tombs[keyTomb(a.salt, k)] = true
				gone = append(gone, k)
			}
		}
		for h := range tombs {
			if err := a.exec(`INSERT OR IGNORE INTO tombstones (tenant, hash, created_at) VALUES (?, ?, ?)`, tenant, h, a.at); err != nil {
				return fmt.Errorf("tombstone: %w", err)
			}
		}
		out.Tombstones = len(tombs)
		// Never-merge pairs go with the identifiers that go: a pair between
		// identifiers others still hold is their unmerge, which must hold.
		for _, k := range gone {
			if err := a.exec(`DELETE FROM identity_never WHERE tenant = ? AND (ikey = ?2 OR partner = ?2)`, tenant, k.String()); err != nil {
				return err
			}
		}
		in := placeholders(len(ids))
		del := func(q string, twice bool) (int, error) {
			args := append([]any{tenant}, ids...)
			if twice {
				args = append(args, ids...)
			}
			r, err := a.execResult(q, args...)
			if err != nil {
				return 0, fmt.Errorf("erase: %w", err)
			}
			n, err := r.RowsAffected()
			return int(n), err
		}
		for _, q := range []struct {
			sql   string
			twice bool
			n     *int
		}{
			{`DELETE FROM sources WHERE tenant = ? AND member_id IN (` + in + `)`, false, &out.Records},
			{`DELETE FROM orders WHERE tenant = ? AND member_id IN (` + in + `)`, false, &out.Orders},
			{`DELETE FROM points WHERE tenant = ? AND member_id IN (` + in + `)`, false, &out.Points},
			{`DELETE FROM member_tags WHERE tenant = ? AND member_id IN (` + in + `)`, false, nil},
			{`DELETE FROM outbox WHERE tenant = ? AND member_id IN (` + in + `) AND status = 'pending' AND target = ''`, false, nil},
			{`DELETE FROM identity_conflicts WHERE tenant = ? AND (member_id IN (` + in + `) OR other_id IN (` + in + `))`, true, nil},
			{`DELETE FROM identity_journal WHERE tenant = ? AND (member_id IN (` + in + `) OR other_id IN (` + in + `))`, true, nil},
		} {
			n, err := del(q.sql, q.twice)
			if err != nil {
				return err
			}
			if q.n != nil {
				*q.n = n
			}
		}
		if out.DeadLetters, err = a.deleteOfRecords("dead_letters", records); err != nil {
			return err
		}
		for _, table := range []string{"record_ids", "record_ids_mid", "record_ids_new"} {
			if _, err := a.deleteOfRecords(table, records); err != nil {
				return err
			}
		}
		// Other members' journal entries that name the person's records
		// (a merge or link their record once caused, or a record of theirs
		// that a link named as holding the identifier) go too: record ids
		// are often the person's platform ids.
		if _, err := a.deleteOfRecords("identity_journal", records); err != nil {
			return err
		}
		named := make([]any, len(records))
		for i, r := range records {
			named[i] = r.ref.order()
		}
		err = a.inChunks(named, func(part []any) error {
			return a.exec(`DELETE FROM identity_journal WHERE tenant = ? AND other_record != '' AND other_record IN (`+placeholders(len(part))+`)`, append([]any{tenant}, part...)...)
		})
		if err != nil {
			return fmt.Errorf("erase: %w", err)
		}
		if err := a.exec(`UPDATE members SET erased_at = ? WHERE tenant = ? AND member_id IN (`+in+`)`, append([]any{a.at, tenant}, ids...)...); err != nil {
			return err
		}
		// A guarded identifier the person's records carried counts one
		// member fewer now: weigh it again, as resolve does when a record
		// drops one.
		recheck := map[identity.Key]bool{}
		err = a.loadGuarded(keyArgs(keys), func(s string) error {
			k, err := identity.ParseKey(s)
			recheck[k] = true
			return err
		})
		if err != nil {
			return err
		}
		if err := a.recheck(recheck); err != nil {
			return err
		}
		// The recheck may have split a member off: save the sequence.
		if err := a.finish(); err != nil {
			return err
		}
		return a.journal("erased", member, "", identity.Key{}, recRef{}, recRef{}, "pipl",
			fmt.Sprintf("profile, %d records, %d orders, %d points entries and %d dead letters deleted; %d tombstones kept", out.Records, out.Orders, out.Points, out.DeadLetters, len(tombs)))
	})
	if err != nil {
		return nil, fmt.Errorf("erase %s: %w", memberID, err)
	}
	return out, nil
}

func viewOf(k identity.Key) store.IdentityView {
	return store.IdentityView{Type: string(k.Type), Scope: k.Scope, Value: k.Value}
}

// Explain implements store.Store.
func (s *Store) Explain(ctx context.Context, tenant, memberID string) (*store.Explanation, error) {
	member, err := s.liveMember(ctx, s.db, tenant, memberID)
	if err != nil {
		return nil, err
	}
	ex := &store.Explanation{MemberID: member, Identifiers: []store.ExplainedIdentifier{}, Journal: []store.JournalEntry{}, Conflicts: []store.Conflict{}}
	ids := []any{member}
	err = eachRow(ctx, s.db, `SELECT member_id FROM members WHERE tenant = ? AND merged_into = ? ORDER BY member_id`, []any{tenant, member}, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		ex.Aliases = append(ex.Aliases, id)
		ids = append(ids, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	byKey := map[identity.Key]*store.ExplainedIdentifier{}
	var order []identity.Key
	err = eachRow(ctx, s.db, `SELECT connection, stream, record_id, keys FROM sources WHERE tenant = ? AND member_id = ? ORDER BY connection, stream, record_id`, []any{tenant, member}, func(r *sql.Rows) error {
		var rec store.ExplainedRecord
		var keys string
		if err := r.Scan(&rec.Connection, &rec.Stream, &rec.RecordID, &keys); err != nil {
			return err
		}
		ks, err := parseKeys(keys)
		if err != nil {
			return err
		}
		for _, k := range ks {
			e, ok := byKey[k]
			if !ok {
				e = &store.ExplainedIdentifier{Identity: viewOf(k)}
				byKey[k] = e
				order = append(order, k)
			}
			with := store.ExplainedRecord{Connection: rec.Connection, Stream: rec.Stream, RecordID: rec.RecordID, With: []store.IdentityView{}}
			for _, o := range ks {
				if o != k {
					with.With = append(with.With, viewOf(o))
				}
			}
			e.Records = append(e.Records, with)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("explain %s: %w", member, err)
	}
	slices.SortFunc(order, func(a, b identity.Key) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range order {
		e := byKey[k]
		if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM identity_shared WHERE tenant = ? AND ikey = ?)`, tenant, k.String()).Scan(&e.Shared); err != nil {
			return nil, err
		}
		ex.Identifiers = append(ex.Identifiers, *e)
	}
	in := placeholders(len(ids))
	err = eachRow(ctx, s.db, `SELECT at, kind, member_id, other_id, ikey, connection, stream, record_id, rule, detail FROM identity_journal
		WHERE tenant = ? AND (member_id IN (`+in+`) OR other_id IN (`+in+`)) ORDER BY id`, append(append([]any{tenant}, ids...), ids...), func(r *sql.Rows) error {
		e, err := scanJournal(r)
		ex.Journal = append(ex.Journal, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("explain %s: journal: %w", member, err)
	}
	ex.Conflicts, err = s.conflictRows(ctx, `WHERE tenant = ? AND (member_id = ? OR other_id = ?)`, tenant, member, member)
	if err != nil {
		return nil, err
	}
	return ex, nil
}

func scanJournal(r *sql.Rows) (store.JournalEntry, error) {
	var e store.JournalEntry
	var at int64
	var ikey string
	if err := r.Scan(&at, &e.Kind, &e.MemberID, &e.OtherID, &ikey, &e.Connection, &e.Stream, &e.RecordID, &e.Rule, &e.Detail); err != nil {
		return e, err
	}
	e.At = time.UnixMilli(at).UTC()
	if ikey != "" {
		k, err := identity.ParseKey(ikey)
		if err != nil {
			return e, err
		}
		v := viewOf(k)
		e.Identity = &v
	}
	return e, nil
}

func (s *Store) conflictRows(ctx context.Context, where string, args ...any) ([]store.Conflict, error) {
	out := []store.Conflict{}
	err := eachRow(ctx, s.db, `SELECT connection, stream, record_id, ikey, member_id, other_id, rule, since FROM identity_conflicts `+where+` ORDER BY since, connection, stream, record_id`, args, func(r *sql.Rows) error {
		var c store.Conflict
		var ikey string
		var since int64
		if err := r.Scan(&c.Connection, &c.Stream, &c.RecordID, &ikey, &c.MemberID, &c.OtherID, &c.Rule, &since); err != nil {
			return err
		}
		k, err := identity.ParseKey(ikey)
		c.Identity, c.Since = viewOf(k), time.UnixMilli(since).UTC()
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("conflicts: %w", err)
	}
	return out, nil
}

// Conflicts implements store.Store.
func (s *Store) Conflicts(ctx context.Context, tenant string, limit int) (*store.ConflictReport, error) {
	rep := &store.ConflictReport{Shared: []store.SharedIdentifier{}}
	var err error
	if rep.Conflicts, err = s.conflictRows(ctx, `WHERE tenant = ?`, tenant); err != nil {
		return nil, err
	}
	if limit > 0 && len(rep.Conflicts) > limit {
		rep.Conflicts = rep.Conflicts[:limit]
	}
	lim := limit
	if lim <= 0 {
		lim = -1 // no limit
	}
	err = eachRow(ctx, s.db, `SELECT ikey, members, since FROM identity_shared WHERE tenant = ? ORDER BY members DESC, ikey LIMIT ?`, []any{tenant, lim}, func(r *sql.Rows) error {
		var sh store.SharedIdentifier
		var ikey string
		var since int64
		if err := r.Scan(&ikey, &sh.Members, &since); err != nil {
			return err
		}
		k, err := identity.ParseKey(ikey)
		sh.Identity, sh.Since = viewOf(k), time.UnixMilli(since).UTC()
		rep.Shared = append(rep.Shared, sh)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("shared identifiers: %w", err)
	}
	return rep, nil
}
