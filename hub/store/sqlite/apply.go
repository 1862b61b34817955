package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// chunk is how many values go into one IN (...) list.
const chunk = 500

// Kinds of source records.
const (
	kindMember = "member"
	kindOrder  = "order"
	kindPoints = "points"
	// A receipt is filed with its outbox item; it has no sources row.
	kindReceipt = "receipt"
)

// recRef names a platform record.
type recRef struct{ conn, stream, id string }

// order is the record's canonical name for the identity partition.
func (r recRef) order() string { return r.conn + "\x1f" + r.stream + "\x1f" + r.id }

// applier holds one transaction's work: a batch, an unmerge or an erasure.
type applier struct {
	s      *Store
	ctx    context.Context
	tx     *sql.Tx
	tenant string
	rules  *identity.Rules
	salt   []byte
	at     int64 // milliseconds
	seq    int64 // next member seq
	// nextSrc is the next free sources id; 0 until nextSource reads it.
	nextSrc int64
	stmts   map[string]*sql.Stmt
	// bulkQueries are insertRows' statements, bulkArgs its argument buffer.
	bulkQueries map[bulkKey]string
	bulkArgs    []any
	res         store.BatchResult
	// linksAdded counts the link rows this transaction inserted;
	// recordsAdded says it inserted records.
	linksAdded   int
	recordsAdded bool
	// indexVersion is the tenant's index_version, which the first link or
	// record the transaction inserts changes (bumped says it did).
	indexVersion int64
	bumped       bool
	// filter is the tenant's key filter (see keyFilters).
	filter *keyFilter
	// unheld are identifiers (as Key.String renders them) known to be
	// carried by no stored record.
	unheld map[string]bool
	// has says which optional identity tables hold rows for the tenant, so
	// that a tenant without them pays nothing for them.
	has struct{ shared, never, conflicts, tombstones bool }
}

func (s *Store) newApplier(ctx context.Context, tx *sql.Tx, tenant string, rules *identity.Rules, at int64) (*applier, error) {
	if rules == nil {
		d := identity.DefaultRules()
		rules = &d
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Statements run without the caller's cancellation: with a Done channel
	// the driver starts a goroutine for every statement and every row,
	// which costs more than the work. The transaction itself still rolls
	// back when ctx is cancelled, and a batch is short.
	a := &applier{s: s, ctx: context.WithoutCancel(ctx), tx: tx, tenant: tenant, rules: rules, at: at, stmts: map[string]*sql.Stmt{}, bulkQueries: map[bulkKey]string{}, unheld: map[string]bool{}}
	// schema: a newer hub may have migrated the store since this one
	// opened it, and writing the old way then would lose what the new
	// schema keeps (a record's platform id, say). Read in the transaction,
	// so no migration can come between.
	var schema int
	if err := tx.QueryRowContext(a.ctx, `SELECT next_seq, index_version, (SELECT COALESCE(MAX(version), 0) FROM schema_migrations) FROM tenants WHERE id = ?`, tenant).Scan(&a.seq, &a.indexVersion, &schema); err != nil {
		return nil, fmt.Errorf("tenant %s not registered: %w", tenant, err)
	}
	if schema > len(migrations) {
		return nil, fmt.Errorf("a newer hub upgraded the store to schema version %d since this one (which knows %d) opened it: stop this process and run the newer hub", schema, len(migrations))
	}
	a.filter = s.filters.get(tenant, a.indexVersion)
	if !s.filters.ready(a.filter) {
		// A tenant without records or links gets an empty filter: every
		// key is unheld.
		var empty bool
		if err := tx.QueryRowContext(a.ctx, `SELECT NOT EXISTS (SELECT 1 FROM identifier_links WHERE tenant = ?1)
			AND NOT EXISTS (SELECT 1 FROM sources WHERE tenant = ?1)`, tenant).Scan(&empty); err != nil {
			return nil, fmt.Errorf("identifier links: %w", err)
		}
		if empty {
			if err := s.filters.build(a.filter, 0, a.indexVersion, func(func(string) bool) error { return nil }); err != nil {
				return nil, err
			}
		}
	}
	salt, err := s.salt(ctx, tenant)
	if err != nil {
		return nil, err
	}
	a.salt = salt
	err = tx.QueryRowContext(a.ctx, `SELECT
		EXISTS (SELECT 1 FROM identity_shared WHERE tenant = ?1),
		EXISTS (SELECT 1 FROM identity_never WHERE tenant = ?1),
		EXISTS (SELECT 1 FROM identity_conflicts WHERE tenant = ?1),
		EXISTS (SELECT 1 FROM tombstones WHERE tenant = ?1)`, tenant).Scan(&a.has.shared, &a.has.never, &a.has.conflicts, &a.has.tombstones)
	if err != nil {
		return nil, fmt.Errorf("identity state: %w", err)
	}
	return a, nil
}

func (a *applier) close() {
	for _, st := range a.stmts {
		st.Close()
	}
}

// finish saves the member sequence.
func (a *applier) finish() error {
	return a.exec(`UPDATE tenants SET next_seq = ? WHERE id = ?`, a.seq, a.tenant)
}

// ApplyBatch implements store.Store. A batch the store's PrepareBatch
// prepared is not derived again.
func (s *Store) ApplyBatch(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	var res store.BatchResult
	pb, ok := b.Prepared.(*preparedBatch)
	if !ok || pb.store != s || len(pb.recs) != len(b.Records) {
		var err error
		if pb, err = s.prepareBatch(ctx, b); err != nil {
			return res, fmt.Errorf("apply batch %s/%s/%s: %w", b.Tenant, b.Job, b.Stream, err)
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.newApplier(ctx, tx, b.Tenant, b.Rules, b.At.UnixMilli())
		if err != nil {
			return err
		}
		defer a.close()
		if err := a.applyBatch(b, pb.recs); err != nil {
			return err
		}
		if err := a.mergeStaged(s.mergeLinksAt); err != nil {
			return err
		}
		res = a.res
		return a.finish()
	})
	if err != nil {
		return res, fmt.Errorf("apply batch %s/%s/%s: %w", b.Tenant, b.Job, b.Stream, err)
	}
	return res, nil
}

// PrepareBatch derives from a batch's records what ApplyBatch needs of them
// without the store: identifier keys, the stored form, its hash, sealed
// phones. The sync engine calls it for the next batch while the store
// writes the previous one.
func (s *Store) PrepareBatch(ctx context.Context, b *store.Batch) error {
	pb, err := s.prepareBatch(ctx, *b)
	if err != nil {
		return fmt.Errorf("prepare batch %s/%s/%s: %w", b.Tenant, b.Job, b.Stream, err)
	}
	b.Prepared = pb
	return nil
}

// preparedBatch is what PrepareBatch derives: one entry per record.
type preparedBatch struct {
	store *Store
	recs  []*prepared
}

func (s *Store) prepareBatch(ctx context.Context, b store.Batch) (*preparedBatch, error) {
	salt, err := s.salt(ctx, b.Tenant)
	if err != nil {
		return nil, err
	}
	rules := b.Rules
	if rules == nil {
		d := identity.DefaultRules()
		rules = &d
	}
	pb := &preparedBatch{store: s, recs: make([]*prepared, len(b.Records))}
	for i, r := range b.Records {
		if pb.recs[i], err = s.prepare(r, recRef{b.Connection, b.Stream, r.ID}, rules, salt); err != nil {
			return nil, err
		}
	}
	return pb, nil
}

// salt returns a tenant's phone salt, which never changes once stored.
func (s *Store) salt(ctx context.Context, tenant string) ([]byte, error) {
	s.mu.Lock()
	salt, ok := s.salts[tenant]
	s.mu.Unlock()
	if ok {
		return salt, nil
	}
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT phone_salt FROM tenants WHERE id = ?`, tenant).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("tenant %s: %w", tenant, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	salt, err = s.box.Open(sealed)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.salts[tenant] = salt
	s.mu.Unlock()
	return salt, nil
}

// prepare derives one record's entry; a record that is bad, or carries no
// member, order or points data, gets an entry with dead set.
func (s *Store) prepare(r sdk.Record, ref recRef, rules *identity.Rules, salt []byte) (*prepared, error) {
	p := &prepared{rec: r, ref: ref}
	var ids []mapping.Identity
	switch {
	case r.Bad != nil:
		p.dead = r.Bad
		return p, nil
	case r.Receipt != nil:
		p.kind = kindReceipt
		return p, nil
	case r.Member != nil:
		p.kind, ids = kindMember, r.Member.Identities
	case r.Order != nil:
		p.kind, ids = kindOrder, r.Order.Buyer
		p.xref = r.Order.Platform + "\x1f" + r.Order.Shop + "\x1f" + r.Order.OrderID
	case r.Points != nil:
		p.kind, ids = kindPoints, []mapping.Identity{r.Points.Member}
		p.xref = r.Points.EntryID
	default:
		p.dead = &sdk.BadRecord{Reason: "record carries no member, order or points data"}
		return p, nil
	}
	var phones, hashes []string // clear phones and their salted hashes
	for _, id := range ids {
		// Malformed and blocked identifiers are dropped, not matched;
		// the record itself is kept.
		k, clear, err := rules.Key(salt, id)
		if err != nil || slices.Contains(p.keys, k) {
			continue
		}
		p.keys = append(p.keys, k)
		if clear != "" {
			phones, hashes = append(phones, clear), append(hashes, k.Value)
		}
	}
	p.phones = s.sealPhones(phones)
	// The stored form carries every phone as its hash: the keys' hashes,
	// computed once; those of dropped phones (blocked ones) anew.
	hashOf := func(e164 string) string {
		if i := slices.Index(phones, e164); i >= 0 {
			return hashes[i]
		}
		return mapping.PhoneHash(salt, e164)
	}
	var err error
	if p.data, err = redact(r, hashOf); err != nil {
		return nil, err
	}
	p.keyStrs = make([]string, len(p.keys))
	for i, k := range p.keys {
		p.keyStrs[i] = k.String()
	}
	p.keyText = strings.Join(p.keyStrs, keySep)
	h := sha256.New()
	h.Write(p.data)
	h.Write([]byte(p.keyText))
	p.hash = h.Sum(nil)
	return p, nil
}

// exec runs a statement prepared once per transaction.
func (a *applier) exec(query string, args ...any) error {
	_, err := a.execResult(query, args...)
	return err
}

func (a *applier) execResult(query string, args ...any) (sql.Result, error) {
	st, err := a.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(a.ctx, args...)
}

// each runs a query prepared once per transaction and calls fn for each
// row: a batch runs the same lookups many times.
func (a *applier) each(query string, args []any, fn func(*sql.Rows) error) error {
	st, err := a.stmt(query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(a.ctx, args...)
	return scanRows(rows, err, fn)
}

func (a *applier) stmt(query string) (*sql.Stmt, error) {
	st, ok := a.stmts[query]
	if !ok {
		var err error
		if st, err = a.tx.PrepareContext(a.ctx, query); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		a.stmts[query] = st
	}
	return st, nil
}

// prepared is a changed record of a batch, ready to store.
type prepared struct {
	rec  sdk.Record
	ref  recRef
	kind string
	xref string // the orders or points row
	keys []identity.Key
	// keyStrs are keys as Key.String renders them, keyText as sources.keys
	// holds them; phones the record's clear phones, sealed.
	keyStrs []string
	keyText string
	phones  []byte
	data    []byte
	hash    []byte
	old     *stored
	// dead is set for a record that goes to the dead letters.
	dead *sdk.BadRecord
}

// stored is what the sources table holds of a record.
type stored struct {
	id     int64
	hash   []byte
	member string
	origin string // the member it was first given; "" if stored before migration 5
	keys   []identity.Key
}

func (a *applier) applyBatch(b store.Batch, recs []*prepared) error {
	existing, err := a.loadStored(b)
	if err != nil {
		return err
	}
	var changed []*prepared
	inBatch := make(map[string]int, len(recs)) // record id → index in changed
	for _, p := range recs {
		r := p.rec
		if p.dead != nil {
			if err := a.deadLetter(b, r.ID, p.dead); err != nil {
				return err
			}
			continue
		}
		if p.kind == kindReceipt {
			if err := a.fileReceipt(b.Connection, r.Receipt); err != nil {
				return err
			}
			continue
		}
		p.old = nil
		if old, ok := existing[r.ID]; ok {
			if bytes.Equal(old.hash, p.hash) {
				a.res.Unchanged++
				continue
			}
			p.old = &old
		}
		// A record twice in one batch: the later version wins.
		if i, ok := inBatch[r.ID]; ok {
			changed[i] = p
			continue
		}
		inBatch[r.ID] = len(changed)
		changed = append(changed, p)
	}
	if changed, err = a.dropErased(changed); err != nil {
		return err
	}
	if changed, err = a.settle(changed); err != nil {
		return err
	}
	if err := a.resolve(changed, nil); err != nil {
		return err
	}
	// Every batch counts its records; a batch with a checkpoint also moves
	// the stream's resume point, in this same transaction.
	status := b.Status
	if status == "" {
		status = "running"
	}
	return a.exec(`INSERT INTO stream_state (tenant, job, stream, checkpoint, records, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, job, stream) DO UPDATE SET checkpoint = COALESCE(excluded.checkpoint, stream_state.checkpoint),
		records = stream_state.records + excluded.records, status = excluded.status, updated_at = excluded.updated_at`,
		b.Tenant, b.Job, b.Stream, b.Checkpoint, len(b.Records), status, a.at/1000)
}

// fileReceipt records a delivery receipt on the connection's outbox item of
// its action key, or else of its platform ref. A later receipt replaces an
// earlier one; an older one changes nothing, so a redelivered receipt is
// harmless.
func (a *applier) fileReceipt(conn string, c *sdk.Receipt) error {
	// One lookup, by an index: the action key is unique; the platform ref
	// is indexed per connection.
	match, ref := "action_key = ?3", c.ActionKey
	if ref == "" {
		match, ref = "platform_ref = ?3", c.PlatformRef
	}
	if ref == "" {
		a.res.UnknownReceipts++
		return nil
	}
	outcome := "undelivered"
	if c.Delivered {
		outcome = "delivered"
	}
	res, err := a.execResult(`UPDATE outbox SET receipt = ?4, receipt_code = ?5, receipt_detail = ?6, receipt_at = ?7
		WHERE tenant = ?1 AND connection = ?2 AND `+match+` AND (receipt_at IS NULL OR receipt_at <= ?7)`,
		a.tenant, conn, ref, outcome, c.Code, c.Detail, c.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("file receipt: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		a.res.Receipts++
		return nil
	}
	// Nothing changed: an unknown message, or an item that holds a later
	// receipt already.
	var known bool
	if err := a.tx.QueryRowContext(a.ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE tenant = ?1 AND connection = ?2 AND `+match+`)`, a.tenant, conn, ref).Scan(&known); err != nil {
		return fmt.Errorf("file receipt: %w", err)
	}
	if known {
		a.res.Receipts++
	} else {
		a.res.UnknownReceipts++
	}
	return nil
}

// loadStored returns the stored hash, member and keys of a batch's records.
func (a *applier) loadStored(b store.Batch) (map[string]stored, error) {
	out := map[string]stored{}
	refs := make([]any, 0, len(b.Records))
	for _, r := range b.Records {
		refs = append(refs, refKey(b.Connection, b.Stream, r.ID))
	}
	refs, err := a.filterUnheld(refs)
	if err != nil {
		return nil, err
	}
	prefix := len(refKey(b.Connection, b.Stream, ""))
	ids := make([]any, len(refs))
	for i, ref := range refs {
		ids[i] = ref.(string)[prefix:]
	}
	err = a.inChunks(ids, func(part []any) error {
		args := append([]any{a.tenant, b.Connection, b.Stream}, part...)
		return a.each(`SELECT s.id, r.record_id, s.hash, s.member_id, COALESCE(s.origin, ''), s.keys FROM source_ids r JOIN sources s ON s.id = r.src
			WHERE r.tenant = ? AND r.connection = ? AND r.stream = ? AND r.record_id IN (`+placeholders(len(part))+`)`,
			args, func(r *sql.Rows) error {
				var id, keys string
				var st stored
				if err := r.Scan(&st.id, &id, &st.hash, &st.member, &st.origin, &keys); err != nil {
					return err
				}
				var err error
				st.keys, err = parseKeys(keys)
				out[id] = st
				return err
			})
	})
	if err != nil {
		return nil, fmt.Errorf("load sources: %w", err)
	}
	return out, nil
}

// bulkRows is how many rows go into one multi-row INSERT.
const bulkRows = 200

// insertRows runs head (an INSERT ... VALUES) for args, which hold rows of
// width values each, in statements of up to bulkRows rows. A column whose
// value is the same in every row of a statement (the tenant, the
// connection, the transaction's time) is bound once, as a numbered
// parameter that every row names: binding a value is a cgo call and, for
// a string, a copy, and binding was half the time of a bulk insert.
func (a *applier) insertRows(head string, width int, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/width, bulkRows)
		rows := args[:n*width]
		shared := sharedColumns(rows, width)
		vals := a.bulkArgs[:0]
		for c := range width {
			if shared&(1<<c) != 0 {
				vals = append(vals, rows[c])
			}
		}
		for r := 0; r < len(rows); r += width {
			for c := range width {
				if shared&(1<<c) == 0 {
					vals = append(vals, rows[r+c])
				}
			}
		}
		a.bulkArgs = vals
		if err := a.exec(a.bulkStatement(head, width, n, shared), vals...); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// bulkStatement is the INSERT insertRows runs for n rows of width columns,
// the shared ones (a bit per column) bound once: ?1… name the shared
// values, the numbers after them each row's own.
func (a *applier) bulkStatement(head string, width, n int, shared uint64) string {
	k := bulkKey{head, n, shared}
	if q, ok := a.bulkQueries[k]; ok {
		return q
	}
	var b strings.Builder
	b.WriteString(head)
	next := bits.OnesCount64(shared) + 1 // the first row's own values
	for r := range n {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range width {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
			if shared&(1<<c) != 0 {
				// The shared columns before it, and itself.
				b.WriteString(strconv.Itoa(bits.OnesCount64(shared & (1<<(c+1) - 1))))
			} else {
				b.WriteString(strconv.Itoa(next))
				next++
			}
		}
		b.WriteByte(')')
	}
	q := b.String()
	a.bulkQueries[k] = q
	return q
}

// bulkKey names a statement of bulkStatement.
type bulkKey struct {
	head   string
	n      int
	shared uint64
}

// sharedColumns returns a bit for each column whose value is the same
// string, integer, boolean or NULL in every row (of one row: every column).
func sharedColumns(rows []any, width int) uint64 {
	var shared uint64
	for c := range width {
		first := rows[c]
		same := true
		for r := c + width; r < len(rows) && same; r += width {
			same = sameScalar(first, rows[r])
		}
		if same {
			shared |= 1 << c
		}
	}
	return shared
}

// sameScalar says whether a and b are the same string, integer, boolean or
// nil; values of other types (blobs) are never the same.
func sameScalar(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

func (a *applier) inChunks(vals []any, fn func([]any) error) error {
	for len(vals) > 0 {
		n := min(chunk, len(vals))
		if err := fn(vals[:n]); err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}

// keySep separates the keys in the sources.keys column.
const keySep = "\x1e"

func parseKeys(s string) ([]identity.Key, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, keySep)
	keys := make([]identity.Key, len(parts))
	for i, p := range parts {
		k, err := identity.ParseKey(p)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
}

// sealPhones encrypts a record's clear phones for sources.phones; nil when
// it has none.
func (s *Store) sealPhones(phones []string) []byte {
	if len(phones) == 0 {
		return nil
	}
	clear, _ := json.Marshal(phones)
	return s.box.Seal(clear)
}

// openPhones decrypts what sealPhones sealed.
func (s *Store) openPhones(sealed []byte) ([]string, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	clear, err := s.box.Open(sealed)
	if err != nil {
		return nil, err
	}
	var phones []string
	if err := json.Unmarshal(clear, &phones); err != nil {
		return nil, fmt.Errorf("stored phones: %w", err)
	}
	return phones, nil
}

// write upserts a changed record with its member and updates its links.
func (a *applier) write(p *prepared, member string) error {
	r := p.rec
	var src int64
	if p.old == nil {
		var err error
		if src, err = a.nextSource(); err != nil {
			return err
		}
		if err := a.insertSources(a.sourceRow(p, member, src)); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
	} else {
		src = p.old.id
		if err := a.exec(`UPDATE sources SET kind = ?, ref = ?, member_id = ?, updated_at = ?, deleted = ?, hash = ?, data = ?, keys = ?, phones = ?, last_seen = ? WHERE id = ?`,
			p.kind, p.xref, member, r.UpdatedAt.UnixMilli(), r.Deleted, p.hash, p.storedData(), p.keyText, p.phones, a.at, src); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
		for _, k := range p.old.keys {
			if !slices.Contains(p.keys, k) {
				if err := a.unlink(k, src); err != nil {
					return err
				}
			}
		}
	}
	if err := a.insertLinks(a.linkRows(nil, p, src)); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	return a.writeRef(p, member)
}

// insertLinks inserts link rows (tenant, ikey, src) into links_new.
func (a *applier) insertLinks(rows []any) error {
	if len(rows) == 0 {
		return nil
	}
	keys := make([]string, 0, len(rows)/linkCols)
	for i := 1; i < len(rows); i += linkCols {
		keys = append(keys, rows[i].(string))
	}
	if err := a.indexed(keys); err != nil {
		return err
	}
	a.linksAdded += len(rows) / linkCols
	return a.insertRows(insertLinks, linkCols, rows)
}

// insertSources inserts sources rows (sourceRow) and their platform ids
// into record_ids_new (migration 8).
func (a *applier) insertSources(rows []any) error {
	refs := make([]string, 0, len(rows)/sourceCols)
	ids := make([]any, 0, len(rows)/sourceCols*recordIDCols)
	for i := 0; i < len(rows); i += sourceCols {
		conn, stream, id := rows[i+2].(string), rows[i+3].(string), rows[i+4].(string)
		refs = append(refs, refKey(conn, stream, id))
		ids = append(ids, a.tenant, conn, stream, id, rows[i])
	}
	if err := a.indexed(refs); err != nil {
		return err
	}
	if err := a.insertRows(insertSources, sourceCols, rows); err != nil {
		return err
	}
	a.recordsAdded = true
	return a.insertRows(insertRecordIDs, recordIDCols, ids)
}

// refKey is a record's key in the key filter: it starts with a byte no
// identifier key starts with.
func refKey(conn, stream, id string) string { return "\x00" + conn + "\x1f" + stream + "\x1f" + id }

// indexed adds keys (identifier keys of new links, refKeys of new records)
// to the tenant's key filter and, the first time in a transaction, gives
// the tenant's index_version a new value, which tells every other filter of the tenant
// that it no longer holds every key.
func (a *applier) indexed(keys []string) error {
	from := a.indexVersion
	if !a.bumped {
		// A fresh random version, not version+1: a transaction that rolls
		// back leaves this process's filter at the version it would have
		// stored, which another store's next commit must not reach.
		next := rand.Int64()
		for next == from {
			next = rand.Int64()
		}
		if err := a.exec(`UPDATE tenants SET index_version = ? WHERE id = ?`, next, a.tenant); err != nil {
			return err
		}
		a.indexVersion = next
		a.bumped = true
	}
	a.s.filters.added(a.filter, keys, from, a.indexVersion)
	return nil
}

// filterUnheld returns those of keys (identifier keys, refKeys) the
// tenant's key filter may hold, all of them without a filter. Once a run
// without one has looked up as many keys as half the store's records, it
// makes one from the index: a scan that costs about what those lookups
// did.
func (a *applier) filterUnheld(keys []any) ([]any, error) {
	maybe, probes := a.s.filters.maybeHeld(a.filter, keys)
	if probes == 0 {
		return maybe, nil
	}
	var records int
	if err := a.tx.QueryRowContext(a.ctx, `SELECT COALESCE(MAX(id), 0) FROM sources`).Scan(&records); err != nil {
		return nil, fmt.Errorf("count records: %w", err)
	}
	if probes < records/2 {
		return maybe, nil
	}
	// Identifier keys come with an empty stream, records' platform ids
	// with theirs (a stream is never empty).
	err := a.s.filters.build(a.filter, 4*records, a.indexVersion, func(add func(string) bool) error {
		return a.each(`SELECT ikey, '', '' FROM identifier_links WHERE tenant = ?1
			UNION ALL SELECT connection, stream, record_id FROM source_ids WHERE tenant = ?1`, []any{a.tenant}, func(r *sql.Rows) error {
			var k, stream, id string
			if err := r.Scan(&k, &stream, &id); err != nil {
				return err
			}
			if stream != "" {
				k = refKey(k, stream, id)
			}
			if !add(k) {
				return errFilterFull
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("key filter: %w", err)
	}
	maybe, _ = a.s.filters.maybeHeld(a.filter, keys)
	return maybe, nil
}

// errFilterFull stops the scan that builds a key filter too large to keep
// (build then returns nil).
var errFilterFull = errors.New("key filter full")

// unlink removes the link between an identifier and a record, wherever it
// is (links, links_mid or links_new: see MergeStaged).
func (a *applier) unlink(k identity.Key, src int64) error {
	for _, q := range []string{
		`DELETE FROM links WHERE tenant = ? AND ikey = ? AND src = ?`,
		`DELETE FROM links_mid WHERE tenant = ? AND ikey = ? AND src = ?`,
		`DELETE FROM links_new WHERE tenant = ? AND ikey = ? AND src = ?`,
	} {
		if err := a.exec(q, a.tenant, k.String(), src); err != nil {
			return fmt.Errorf("unlink: %w", err)
		}
	}
	return nil
}

// DefaultMergeLinksAt is how many rows links_new holds before they are
// merged into links_mid. Measured on the 1M bench's stored rows: 20,000 and
// 50,000 were fastest; 300,000 (more than the page cache holds) was hardly
// faster than inserting straight into links.
const DefaultMergeLinksAt = 50_000

// midFactor: a middle table (links_mid, record_ids_mid) is merged into the
// large one once it holds midFactor times the staged tables' threshold.
// The pages a sync writes for a key-ordered table of N rows are those of
// the middle table at every small merge plus those of the large table at
// every middle merge; a middle table of about √(threshold·N) rows writes
// the fewest, 350,000 for the 2.5M links of the 1M bench.
const midFactor = 10

// mergeStaged merges the staging tables (MergeStaged) if this
// transaction added to them.
func (a *applier) mergeStaged(atLeast int) error {
	if a.linksAdded == 0 && !a.recordsAdded {
		return nil
	}
	return MergeStaged(a.ctx, a.tx, atLeast)
}

// stagedTables are the key-ordered tables whose new rows are staged
// (migrations 3, 8 and 12): new rows go into table_new, which is merged
// into table_mid, which is merged into table. verb inserts a row into the
// next level: a link already there is one link; a record id already there
// is a bug of the store.
var stagedTables = []struct{ table, cols, verb string }{
	{"links", "tenant, ikey, src", "INSERT OR IGNORE"},
	{"record_ids", "tenant, connection, stream, record_id, src", "INSERT"},
}

// MergeStaged moves links_new into links_mid and record_ids_new into
// record_ids_mid, in key order, each when it holds at least atLeast rows,
// and a middle table into links or record_ids when it holds midFactor
// times that: each page of a large index is then written once per merge
// rather than once per commit that adds a key to it, and most merges write
// the pages of the smaller middle table only. The store calls it in the
// transaction of every batch that added links or records; it is exported
// for the bench's store floor, which writes the same rows the same way. A
// record id found in both tables of a merge fails it: the store looks
// every record up before it inserts one, so that would be a bug, and the
// transaction rolls back.
func MergeStaged(ctx context.Context, tx *sql.Tx, atLeast int) error {
	for _, m := range stagedTables {
		staged, mid := m.table+"_new", m.table+"_mid"
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+staged).Scan(&n); err != nil {
			return fmt.Errorf("count %s: %w", staged, err)
		}
		if n < atLeast {
			continue
		}
		moved, err := mergeInto(ctx, tx, m.verb, m.cols, staged, mid)
		if err != nil {
			return err
		}
		// staged_rows counts what went into the middle table; rows deleted
		// from it since (an unlink, an erasure) still count, which at
		// worst merges it a little early.
		var held int
		if err := tx.QueryRowContext(ctx, `UPDATE staged_rows SET n = n + ? WHERE tbl = ? RETURNING n`, moved, mid).Scan(&held); err != nil {
			return fmt.Errorf("count %s: %w", mid, err)
		}
		if held < midFactor*atLeast {
			continue
		}
		if _, err := mergeInto(ctx, tx, m.verb, m.cols, mid, m.table); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staged_rows SET n = 0 WHERE tbl = ?`, mid); err != nil {
			return fmt.Errorf("count %s: %w", mid, err)
		}
	}
	return nil
}

// mergeInto inserts every row of from into into, in key order, empties
// from and returns how many rows into gained.
func mergeInto(ctx context.Context, tx *sql.Tx, verb, cols, from, into string) (int64, error) {
	res, err := tx.ExecContext(ctx, verb+` INTO `+into+` (`+cols+`) SELECT `+cols+` FROM `+from+` ORDER BY `+cols)
	if err != nil {
		return 0, fmt.Errorf("merge %s into %s: %w%s", from, into, err, inBoth(ctx, tx, from, into))
	}
	moved, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+from); err != nil {
		return 0, fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	return moved, nil
}

// inBoth names a record id found in both record id tables from and into,
// for the error of a merge that failed on it; "" for tables of links.
func inBoth(ctx context.Context, tx *sql.Tx, from, into string) string {
	if !strings.HasPrefix(from, "record_ids") {
		return ""
	}
	var tenant, conn, stream, id string
	err := tx.QueryRowContext(ctx, `SELECT n.tenant, n.connection, n.stream, n.record_id FROM `+from+` n
		JOIN `+into+` r ON r.tenant = n.tenant AND r.connection = n.connection AND r.stream = n.stream AND r.record_id = n.record_id LIMIT 1`).Scan(&tenant, &conn, &stream, &id)
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" (tenant %s: record %s/%s/%s is in both %s and %s, which the store never writes; batches that add records fail until one of the two rows is removed)", tenant, conn, stream, id, into, from)
}

// The inserts of new records, links and members, for insertRows.
const (
	insertSources = `INSERT INTO sources (id, tenant, connection, stream, record_id, kind, ref, member_id, origin, updated_at, deleted, hash, data, keys, phones, first_seen, last_seen) VALUES `
	sourceCols    = 17
	insertLinks   = `INSERT OR IGNORE INTO links_new (tenant, ikey, src) VALUES `
	linkCols      = 3
	// insertRecordIDs: record_ids_new's primary key refuses a record id
	// twice in it; MergeStaged refuses one in both tables.
	insertRecordIDs = `INSERT INTO record_ids_new (tenant, connection, stream, record_id, src) VALUES `
	recordIDCols    = 5
	insertMembers   = `INSERT INTO members (tenant, member_id, seq, created_at) VALUES `
	memberCols      = 4
)

// nextSource returns a free sources id: the write lock is held, so ids
// after the highest stored one are free.
func (a *applier) nextSource() (int64, error) {
	if a.nextSrc == 0 {
		if err := a.tx.QueryRowContext(a.ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM sources`).Scan(&a.nextSrc); err != nil {
			return 0, fmt.Errorf("next record id: %w", err)
		}
	}
	a.nextSrc++
	return a.nextSrc - 1, nil
}

// sourceRow is a new record's sources row.
func (a *applier) sourceRow(p *prepared, member string, id int64) []any {
	r := p.rec
	return []any{id, a.tenant, p.ref.conn, p.ref.stream, p.ref.id, p.kind, p.xref, member, member, r.UpdatedAt.UnixMilli(), r.Deleted,
		p.hash, p.storedData(), p.keyText, p.phones, a.at, a.at}
}

// linkRows appends to rows the links of a record's identifiers that its
// stored version did not carry.
func (a *applier) linkRows(rows []any, p *prepared, src int64) []any {
	for i, k := range p.keys {
		if p.old == nil || !slices.Contains(p.old.keys, k) {
			rows = append(rows, a.tenant, p.keyStrs[i], src)
		}
	}
	return rows
}

// storedData is what sources.data holds of the record: orders and points
// keep their data in their own tables.
func (p *prepared) storedData() []byte {
	if p.kind != kindMember || p.data == nil {
		return []byte{}
	}
	return p.data
}

// writeRef upserts the orders or points row of a changed record.
func (a *applier) writeRef(p *prepared, member string) error {
	r := p.rec
	switch {
	case r.Order != nil:
		o := r.Order
		// A push and a pull may deliver one order in either order: never let an
		// older version overwrite a newer one.
		return a.exec(`INSERT INTO orders (tenant, platform, shop, order_id, connection, member_id, status, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, platform, shop, order_id) DO UPDATE SET member_id = excluded.member_id, status = excluded.status,
			updated_at = excluded.updated_at, data = excluded.data, connection = excluded.connection
			WHERE excluded.updated_at >= orders.updated_at`,
			a.tenant, o.Platform, o.Shop, o.OrderID, p.ref.conn, member, o.Status.String(), o.UpdatedAt.UnixMilli(), p.data)
	case r.Points != nil:
		e := r.Points
		return a.exec(`INSERT INTO points (tenant, connection, entry_id, member_id, kind, delta, occurred_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, connection, entry_id) DO NOTHING`,
			a.tenant, p.ref.conn, e.EntryID, member, string(e.Kind), e.Delta, e.OccurredAt.UnixMilli(), p.data)
	}
	return nil
}

// move points a stored record, and its order or points row, at a member.
func (a *applier) move(n *gnode, member string) error {
	if err := a.exec(`UPDATE sources SET member_id = ? WHERE id = ?`, member, n.id); err != nil {
		return err
	}
	switch n.kind {
	case kindOrder:
		platform, rest, _ := strings.Cut(n.xref, "\x1f")
		shop, orderID, _ := strings.Cut(rest, "\x1f")
		return a.exec(`UPDATE orders SET member_id = ? WHERE tenant = ? AND platform = ? AND shop = ? AND order_id = ?`, member, a.tenant, platform, shop, orderID)
	case kindPoints:
		return a.exec(`UPDATE points SET member_id = ? WHERE tenant = ? AND connection = ? AND entry_id = ?`, member, a.tenant, n.ref.conn, n.xref)
	}
	return nil
}

// redact renders the record as stored: phones replaced by their salted hash,
// so that the sources table never holds a number in clear.
func redact(r sdk.Record, hashOf func(e164 string) string) ([]byte, error) {
	hashIDs := func(ids []mapping.Identity) []mapping.Identity {
		out := make([]mapping.Identity, len(ids))
		for i, id := range ids {
			out[i] = id
			if id.Type == mapping.IDPhone {
				if e164, err := mapping.NormalizePhone(id.Value); err == nil {
					out[i].Value = hashOf(e164)
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
