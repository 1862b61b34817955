package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

func open(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	return openWith(t, sqlite.Options{})
}

// openWith opens a fresh store with opts and registers tenant t1.
func openWith(t *testing.T, opts sqlite.Options) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	s := reopen(t, path, opts)
	if _, err := s.EnsureTenant(t.Context(), "t1", []byte("salt")); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// reopen opens a store on path, a new file or one another store uses (as
// another hub process would), closed when the test ends.
func reopen(t *testing.T, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	box, err := secret.New(bytes.Repeat([]byte{1}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(t.Context(), path, box, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func member(id string, ids ...mapping.Identity) sdk.Record {
	return sdk.Record{ID: id, UpdatedAt: time.Unix(1700000000, 0), Member: &mapping.Member{Identities: ids, Name: "name-" + id, Subscribed: true}}
}

func openid(app, v string) mapping.Identity {
	return mapping.Identity{Type: mapping.IDWechatOpenID, Scope: app, Value: v}
}

func union(v string) mapping.Identity {
	return mapping.Identity{Type: mapping.IDWechatUnionID, Scope: "open1", Value: v}
}

func phone(v string) mapping.Identity { return mapping.Identity{Type: mapping.IDPhone, Value: v} }

func apply(t *testing.T, s *sqlite.Store, conn string, cp []byte, recs ...sdk.Record) store.BatchResult {
	t.Helper()
	res, err := s.ApplyBatch(t.Context(), store.Batch{Tenant: "t1", Job: "j-" + conn, Connection: conn, Stream: "members", Records: recs, Checkpoint: cp, At: time.Unix(1700000100, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestApplyIsIdempotentAndCommitsCheckpoint(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	recs := []sdk.Record{member("o1", openid("wx1", "o1")), member("o2", openid("wx1", "o2"))}
	res := apply(t, s, "wechat", []byte("cp1"), recs...)
	if res.Written != 2 || res.NewMembers != 2 {
		t.Fatalf("first apply = %+v", res)
	}
	res = apply(t, s, "wechat", []byte("cp2"), recs...)
	if res.Written != 0 || res.Unchanged != 2 || res.NewMembers != 0 {
		t.Fatalf("replay = %+v, want all unchanged", res)
	}
	st, err := s.StreamState(t.Context(), "t1", "j-wechat", "members")
	if err != nil || string(st.Checkpoint) != "cp2" || st.Status != "running" {
		t.Fatalf("state = %+v, %v", st, err)
	}
	stats, _ := s.Stats(t.Context(), "t1")
	if stats.Members != 2 || stats.Sources != 2 || stats.Identities != 2 {
		t.Fatalf("stats = %+v", stats)
	}
	if err := s.ResetStream(t.Context(), "t1", "j-wechat", "members"); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.StreamState(t.Context(), "t1", "j-wechat", "members"); st.Checkpoint != nil {
		t.Fatal("reset kept the checkpoint")
	}
}

func TestSharedIdentifiersMergeIntoTheOldestMember(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	apply(t, s, "wechat", nil, member("o1", openid("wx1", "o1"), union("U1")))
	apply(t, s, "pos", nil, member("card9", mapping.Identity{Type: mapping.IDMemberCard, Scope: "brand", Value: "C9"}, phone("139 1000 2000")))
	first, err := s.FindMember(ctx, "t1", openid("wx1", "o1"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.FindMember(ctx, "t1", phone("+86 139-1000-2000"))
	if err != nil || second.MemberID == first.MemberID {
		t.Fatalf("separate people share a member: %v", err)
	}
	// A mini-program record carries the unionid and the phone: evidence that
	// both are one person.
	res := apply(t, s, "mini", nil, member("m1", mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: "wxmini", Value: "mo1"}, union("U1"), phone("8613910002000")))
	if res.Merges != 1 || res.NewMembers != 0 {
		t.Fatalf("merge result = %+v", res)
	}
	merged, err := s.Member(ctx, "t1", second.MemberID)
	if err != nil {
		t.Fatal(err)
	}
	if merged.MemberID != first.MemberID {
		t.Fatalf("survivor = %s, want the oldest %s", merged.MemberID, first.MemberID)
	}
	if !slices.Contains(merged.Aliases, second.MemberID) || len(merged.Sources) != 3 {
		t.Fatalf("merged view = %+v", merged)
	}
	var n int
	_ = s.ExportMembers(ctx, "t1", func(*store.MemberView) error { n++; return nil })
	if n != 1 {
		t.Fatalf("export has %d members, want 1", n)
	}
	// Scoped identifiers never match across scopes.
	apply(t, s, "wechat2", nil, member("o1", openid("wx2", "o1")))
	other, _ := s.FindMember(ctx, "t1", openid("wx2", "o1"))
	if other.MemberID == first.MemberID {
		t.Fatal("openid matched across apps")
	}
}

func TestPhonesNeverStoredInClear(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	apply(t, s, "pos", nil, member("c1", phone("139 1234 5678")))
	m, err := s.FindMember(t.Context(), "t1", phone("13912345678"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range m.Identities {
		if id.Type == "phone" && id.Value != mapping.PhoneHash([]byte("salt"), "+8613912345678") {
			t.Fatalf("phone shown as %q, want its salted hash", id.Value)
		}
	}
	s.Close()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte("13912345678")) || bytes.Contains(b, []byte("139 1234 5678")) {
			t.Fatalf("%s holds the phone number in clear", filepath.Base(f))
		}
	}
}

func TestOlderOrderNeverOverwritesNewer(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	order := func(status mapping.OrderStatus, at int64) sdk.Record {
		return sdk.Record{ID: "T1", Order: &mapping.Order{Platform: "taobao", Shop: "s1", OrderID: "T1", Status: status, UpdatedAt: time.Unix(at, 0), TotalFen: 1999,
			Buyer: []mapping.Identity{{Type: mapping.IDTaobaoOUID, Scope: "s1", Value: "ou1"}}}}
	}
	apply(t, s, "taobao", nil, order(mapping.OrderShipped, 200))
	apply(t, s, "taobao", nil, order(mapping.OrderPaid, 100)) // a late push of an older version
	var status string
	if err := s.DB().QueryRow(`SELECT status FROM orders WHERE order_id = 'T1'`).Scan(&status); err != nil || status != "shipped" {
		t.Fatalf("status = %q, %v; want shipped", status, err)
	}
}

func TestBadRecordsAreDeadLettered(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	res := apply(t, s, "wechat", []byte("cp"), member("o1", openid("wx1", "o1")), sdk.Record{Bad: &sdk.BadRecord{Reason: "no openid", Location: "page 3", Raw: []byte(`{}`)}})
	if res.DeadLettered != 1 || res.Written != 1 {
		t.Fatalf("res = %+v", res)
	}
	dls, _ := s.DeadLetters(t.Context(), "t1", 10)
	if len(dls) != 1 || dls[0].Reason != "no openid" || dls[0].Location != "page 3" {
		t.Fatalf("dead letters = %+v", dls)
	}
}

// A dead-lettered row may hold a phone: the store keeps it sealed, and the
// same row failing again counts on its dead letter instead of adding one.
func TestDeadLettersAreSealedAndCountedOnce(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	raw := []byte("S005,13912340005,钱七,1990-13-45")
	bad := sdk.Record{ID: "S005", Bad: &sdk.BadRecord{Reason: `birthday "1990-13-45": want YYYY-MM-DD`, Location: "members.csv:6", Raw: raw}}
	other := sdk.Record{ID: "S005", Bad: &sdk.BadRecord{Reason: "row has 3 columns, the header 4", Location: "members.csv:6", Raw: raw}}
	for i, recs := range [][]sdk.Record{{bad}, {bad, other}, {bad}} {
		b := store.Batch{Tenant: "t1", Job: "j-pos", Connection: "pos", Stream: "members", Records: recs, At: time.Unix(1700000000+int64(i)*60, 0)}
		if res, err := s.ApplyBatch(t.Context(), b); err != nil || res.DeadLettered != len(recs) {
			t.Fatalf("batch %d: %+v, %v", i, res, err)
		}
	}
	dls, err := s.DeadLetters(t.Context(), "t1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 2 {
		t.Fatalf("%d dead letters, want 2 (one per row and reason): %+v", len(dls), dls)
	}
	d := dls[0] // the most recently failed
	if d.RecordID != "S005" || d.Reason != bad.Bad.Reason || d.Location != "members.csv:6" || !bytes.Equal(d.Raw, raw) ||
		d.Times != 3 || !d.FirstSeen.Equal(time.Unix(1700000000, 0)) || !d.LastSeen.Equal(time.Unix(1700000120, 0)) {
		t.Errorf("repeated dead letter = %+v (raw %q)", d, d.Raw)
	}
	if d := dls[1]; d.Reason != other.Bad.Reason || d.Times != 1 || !bytes.Equal(d.Raw, raw) {
		t.Errorf("other dead letter = %+v (raw %q)", d, d.Raw)
	}
	if st, _ := s.Stats(t.Context(), "t1"); st.DeadLetters != 2 {
		t.Errorf("stats count %d dead letters, want 2", st.DeadLetters)
	}
	assertNotInFiles(t, path, "13912340005", "钱七")
	s.Close()
	assertNotInFiles(t, path, "13912340005", "钱七")
}

// assertNotInFiles fails t when the store's database file or its WAL holds
// any of values.
func assertNotInFiles(t *testing.T, path string, values ...string) {
	t.Helper()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds %q in clear", filepath.Base(f), v)
			}
		}
	}
}

func TestTagChangesQueueWithoutEcho(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	rec := member("o1", openid("wx1", "o1"), union("U1"), phone("13800138001"))
	rec.Member.Tags = []mapping.Tag{{Name: "VIP"}}
	apply(t, s, "wechat", nil, rec)
	apply(t, s, "pos", nil, member("c1", phone("13800138001")))
	m, _ := s.FindMember(ctx, "t1", union("U1"))
	writers := func(conn string) []string {
		if conn == "wechat" {
			return []string{"tags.add", "tags.remove"}
		}
		return nil
	}
	// VIP is already on WeChat: nothing to send. New is queued for WeChat only.
	n, err := s.ChangeTags(ctx, "t1", m.MemberID, []string{"VIP", "New"}, nil, writers)
	if err != nil || n != 1 {
		t.Fatalf("queued %d, %v; want 1", n, err)
	}
	items, err := s.PendingActions(ctx, "t1", "wechat", []string{"tags.add"}, 10)
	if err != nil || len(items) != 1 || items[0].Action.Params["tag"] != "New" {
		t.Fatalf("pending = %+v, %v", items, err)
	}
	for _, id := range items[0].Action.Target {
		if id.Type == mapping.IDPhone {
			t.Fatal("a phone was handed to a tag write")
		}
	}
	if none, _ := s.PendingActions(ctx, "t1", "pos", []string{"tags.add"}, 10); len(none) != 0 {
		t.Fatal("queued for a connection that cannot write tags")
	}
	if err := s.CompleteActions(ctx, "t1", []store.OutboxResult{{ID: items[0].ID, Status: sdk.StatusApplied}}); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.PendingActions(ctx, "t1", "wechat", []string{"tags.add"}, 10); len(left) != 0 {
		t.Fatal("delivered action still pending")
	}
	// Adding again is no echo: the platform has it now.
	if n, _ := s.ChangeTags(ctx, "t1", m.MemberID, []string{"New"}, nil, writers); n != 0 {
		t.Fatalf("re-adding a delivered tag queued %d actions", n)
	}
	// A retryable failure stays queued.
	n, _ = s.ChangeTags(ctx, "t1", m.MemberID, nil, []string{"VIP"}, writers)
	items, _ = s.PendingActions(ctx, "t1", "wechat", []string{"tags.remove"}, 10)
	if n != 1 || len(items) != 1 {
		t.Fatalf("remove queued %d", n)
	}
	_ = s.CompleteActions(ctx, "t1", []store.OutboxResult{{ID: items[0].ID, Status: sdk.StatusFailed, Retry: true, Error: "502"}})
	if again, _ := s.PendingActions(ctx, "t1", "wechat", []string{"tags.remove"}, 10); len(again) != 1 || again[0].Attempts != 1 {
		t.Fatalf("retryable failure not kept: %+v", again)
	}
}

// A tag removed in the hub leaves the member at once, also one a platform
// record brought and one from a source that cannot be told; the source's
// next change to the record is taken as it comes.
func TestRemovedTagsLeaveTheMember(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	wx := member("o1", openid("wx1", "o1"), union("U1"), phone("13800138001"))
	wx.Member.Tags = []mapping.Tag{{Name: "VIP"}, {Name: "沉睡"}}
	pos := member("c1", phone("13800138001"))
	pos.Member.Tags = []mapping.Tag{{Name: "门店会员"}, {Name: "沉睡"}}
	apply(t, s, "wechat", nil, wx)
	apply(t, s, "pos", nil, pos)
	m, _ := s.FindMember(ctx, "t1", union("U1"))
	writers := func(conn string) []string {
		if conn == "wechat" {
			return []string{"tags.add", "tags.remove"}
		}
		return nil
	}
	tags := func() []string {
		t.Helper()
		v, err := s.Member(ctx, "t1", m.MemberID)
		if err != nil {
			t.Fatal(err)
		}
		return v.Tags
	}
	n, err := s.ChangeTags(ctx, "t1", m.MemberID, nil, []string{"沉睡", "门店会员"}, writers)
	if err != nil || n != 1 {
		t.Fatalf("queued %d, %v; want 1 (WeChat's 沉睡)", n, err)
	}
	if got := tags(); !slices.Equal(got, []string{"VIP"}) {
		t.Fatalf("tags after removal = %v, want [VIP]", got)
	}
	// The same POS record again is unchanged: the removal stands.
	apply(t, s, "pos", nil, pos)
	if got := tags(); !slices.Equal(got, []string{"VIP"}) {
		t.Fatalf("tags after an unchanged re-sync = %v, want [VIP]", got)
	}
	// POS changes the record and still has the tag: it comes back.
	pos.Member.Name = "renamed"
	apply(t, s, "pos", nil, pos)
	if got := tags(); !slices.Equal(got, []string{"VIP", "沉睡", "门店会员"}) {
		t.Fatalf("tags after a changed re-sync = %v", got)
	}
}

func TestConfigPatchIsMergedAndEncrypted(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	ctx := context.Background()
	if err := s.SaveConfigPatch(ctx, "t1", "dy", []byte(`{"refresh_token":"rt-SECRET-1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveConfigPatch(ctx, "t1", "dy", []byte(`{"access_token":"at-2"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConfigPatch(ctx, "t1", "dy")
	if err != nil || !bytes.Contains(got, []byte("rt-SECRET-1")) || !bytes.Contains(got, []byte("at-2")) {
		t.Fatalf("patch = %s, %v", got, err)
	}
	if err := s.SaveConfigPatch(ctx, "t1", "dy", []byte(`not json`)); err == nil {
		t.Fatal("accepted a patch that is not JSON")
	}
	s.Close()
	b, _ := os.ReadFile(path + "-wal")
	b2, _ := os.ReadFile(path)
	if bytes.Contains(append(b, b2...), []byte("rt-SECRET-1")) {
		t.Fatal("refresh token stored in clear")
	}
}

func TestSaltFromConfigMustNotChange(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	if _, err := s.EnsureTenant(t.Context(), "t1", []byte("other")); err == nil {
		t.Fatal("a changed phone salt was accepted")
	}
	salt, err := s.EnsureTenant(t.Context(), "t2", nil)
	if err != nil || len(salt) != 32 {
		t.Fatalf("generated salt = %x, %v", salt, err)
	}
}

func TestFileSettings(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	var pageSize int
	var mode, secure string
	if err := s.DB().QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().QueryRow(`PRAGMA secure_delete`).Scan(&secure); err != nil {
		t.Fatal(err)
	}
	if pageSize != 8192 || mode != "wal" || secure != "2" {
		t.Fatalf("page_size %d, journal_mode %s, secure_delete %s; want 8192, wal, 2 (fast)", pageSize, mode, secure)
	}
}

func TestExportOrders(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	buyer := []mapping.Identity{{Type: mapping.IDTaobaoOUID, Scope: "s1", Value: "ou1"}, phone("139 4000 0001")}
	var recs []sdk.Record
	for i := range 503 {
		id := fmt.Sprintf("T%04d", i)
		recs = append(recs, sdk.Record{ID: id, Order: &mapping.Order{Platform: "taobao", Shop: "s1", OrderID: id, Status: mapping.OrderPaid, TotalFen: 1999,
			UpdatedAt: time.Unix(1700000000, 0).UTC(), CreatedAt: time.Unix(1700000000, 0).UTC(), Buyer: buyer}})
	}
	if _, err := s.ApplyBatch(t.Context(), store.Batch{Tenant: "t1", Job: "j", Connection: "tb", Stream: "orders", Records: recs, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	m := memberOf(t, s, buyer[0])
	var got []*store.OrderView
	if err := s.ExportOrders(t.Context(), "t1", func(o *store.OrderView) error { got = append(got, o); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 503 || got[0].OrderID != "T0000" || got[502].OrderID != "T0502" {
		t.Fatalf("exported %d orders", len(got))
	}
	o := got[0]
	if o.MemberID != m || o.Connection != "tb" || o.Status != mapping.OrderPaid || o.TotalFen != 1999 || o.Buyer[1].Value != mapping.PhoneHash([]byte("salt"), "+8613940000001") {
		t.Fatalf("order = %+v", o)
	}
}

// TestBackgroundCheckpoint: committed pages reach the database file without
// a writer checkpointing (its threshold is far above this test's writes).
func TestBackgroundCheckpoint(t *testing.T) {
	s, path := open(t)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []sdk.Record
	for i := range 2000 {
		recs = append(recs, member(fmt.Sprintf("r%d", i), openid("app1", fmt.Sprintf("o%d", i))))
	}
	apply(t, s, "wx", []byte("cp"), recs...)
	deadline := time.Now().Add(5 * time.Second)
	for {
		after, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if after.Size() > before.Size()+256<<10 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes (was %d) 5 s after a 2,000-record commit: the WAL was not checkpointed", after.Size(), before.Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPreparedBatch: a batch prepared ahead applies as the same batch
// unprepared does, and a batch prepared by another store is derived again.
func TestPreparedBatch(t *testing.T) {
	ctx := t.Context()
	want, _ := open(t)
	got, _ := open(t)
	other, _ := open(t)
	batch := func(recs ...sdk.Record) store.Batch {
		return store.Batch{Tenant: "t1", Job: "j", Connection: "wx", Stream: "members", Records: recs, At: time.Unix(1700000100, 0)}
	}
	batches := [][]sdk.Record{
		{member("a", openid("app1", "oa"), union("u1")), member("b", openid("app1", "ob"), phone("13912345678")), {ID: "bad", Bad: &sdk.BadRecord{Reason: "broken", Location: "line 3"}}},
		{member("c", openid("app1", "oc"), union("u1")), member("a", openid("app1", "oa"), union("u1"), phone("13912345678"))},
	}
	for i, recs := range batches {
		if _, err := want.ApplyBatch(ctx, batch(recs...)); err != nil {
			t.Fatal(err)
		}
		b := batch(recs...)
		prep := other
		if i == 0 {
			prep = got
		}
		if err := prep.PrepareBatch(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if _, err := got.ApplyBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"oa", "ob", "oc"} {
		w, err := want.FindMember(ctx, "t1", mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "app1", Value: id})
		if err != nil {
			t.Fatal(err)
		}
		g, err := got.FindMember(ctx, "t1", mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "app1", Value: id})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(w) != fmt.Sprint(g) {
			t.Errorf("openid %s: prepared ahead gives %+v, unprepared %+v", id, g, w)
		}
	}
}

// A batch larger than one multi-row insert, mixing records that become
// members of their own, records that join stored members and records that
// need the graph, stores every record with its links and member.
func TestBulkInsertedRecords(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	var first []sdk.Record
	for i := range 10 {
		first = append(first, member(fmt.Sprintf("a%d", i), openid("wx1", fmt.Sprintf("a%d", i)), union(fmt.Sprintf("U%d", i))))
	}
	apply(t, s, "wechat", nil, first...)
	var recs []sdk.Record
	for i := range 450 {
		id := fmt.Sprintf("b%03d", i)
		ids := []mapping.Identity{openid("wx2", id), phone(fmt.Sprintf("+86 139 %04d %04d", i, i+1))}
		switch {
		case i >= 400 && i < 410: // joins a stored member
			ids = append(ids, union(fmt.Sprintf("U%d", i-400)))
		case i >= 410 && i < 430: // pairs that meet in this batch: one person in two apps
			ids = append(ids, union(fmt.Sprintf("P%d", i/2)))
			if i%2 == 1 {
				ids[0] = openid("wx3", id)
			}
		}
		recs = append(recs, member(id, ids...))
	}
	res := apply(t, s, "wechat2", nil, recs...)
	if res.Written != 450 || res.NewMembers != 420+10 {
		t.Fatalf("result = %+v, want 450 written, 430 new members", res)
	}
	for i, r := range recs {
		byOpenID, err := s.FindMember(ctx, "t1", r.Member.Identities[0])
		if err != nil {
			t.Fatalf("record %s: %v", r.ID, err)
		}
		byPhone, err := s.FindMember(ctx, "t1", r.Member.Identities[1])
		if err != nil || byPhone.MemberID != byOpenID.MemberID {
			t.Fatalf("record %s: phone finds %v (%v), openid %s", r.ID, byPhone, err, byOpenID.MemberID)
		}
		switch {
		case i >= 400 && i < 410:
			stored, _ := s.FindMember(ctx, "t1", first[i-400].Member.Identities[0])
			if stored.MemberID != byOpenID.MemberID {
				t.Fatalf("record %s is in %s, not with %s in %s", r.ID, byOpenID.MemberID, first[i-400].ID, stored.MemberID)
			}
		case i >= 410 && i < 430:
			pair, _ := s.FindMember(ctx, "t1", recs[i^1].Member.Identities[0])
			if pair.MemberID != byOpenID.MemberID || len(pair.Sources) != 2 {
				t.Fatalf("pair %s/%s: %s and %+v", recs[i^1].ID, r.ID, byOpenID.MemberID, pair)
			}
		default:
			if len(byOpenID.Sources) != 1 {
				t.Fatalf("record %s: member %+v, want it alone", r.ID, byOpenID)
			}
		}
	}
	stats, err := s.Stats(ctx, "t1")
	if err != nil || stats.Members != 10+430 || stats.Sources != 460 || stats.Links != 20+900+30 {
		t.Fatalf("stats = %+v, %v", stats, err)
	}
	if res := apply(t, s, "wechat2", nil, recs...); res.Unchanged != 450 {
		t.Fatalf("replay = %+v, want all unchanged", res)
	}
}

func TestLastRunsIsTheLatestOfEachJob(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	if _, err := s.EnsureTenant(t.Context(), "t2", []byte("salt")); err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 0)
	for i, r := range []struct{ tenant, job, status string }{
		{"t1", "a", "ok"}, {"t1", "b", "failed"}, {"t1", "a", "deferred"}, {"t2", "a", "ok"}, {"t1", "b", "ok"}, {"t1", "a", "running"},
	} {
		id, err := s.StartRun(t.Context(), r.tenant, r.job, at.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if r.status != "running" {
			if err := s.FinishRun(t.Context(), id, store.RunResult{At: at.Add(time.Duration(i)*time.Minute + time.Second), Status: r.status}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		tenant string
		want   []string
	}{
		{"", []string{"t1/a running 5", "t1/b ok 4", "t2/a ok 3"}},
		{"t1", []string{"t1/a running 5", "t1/b ok 4"}},
		{"t3", nil},
	} {
		runs, err := s.LastRuns(t.Context(), tc.tenant)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range runs {
			got = append(got, fmt.Sprintf("%s/%s %s %d", r.Tenant, r.Job, r.Status, r.StartedAt.Sub(at)/time.Minute))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("LastRuns(%q) = %v, want %v", tc.tenant, got, tc.want)
		}
	}
}

// A running run is its job's lease: StartRun refuses while the process
// that runs it is alive and beating, and marks the runs of a process that
// is gone (or silent too long) interrupted, with their streams.
func TestStartRunIsALeaseAcrossProcesses(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	host, _ := os.Hostname()
	now := time.Now()
	// A process that certainly runs (our parent) and one that does not.
	alive := fmt.Sprintf("%s/%d", host, os.Getppid())
	dead := fmt.Sprintf("%s/%d", host, 1<<22+7)
	leave := func(job, owner string, beat time.Time) int64 {
		t.Helper()
		r, err := s.DB().Exec(`INSERT INTO runs (tenant, job, started_at, status, owner, heartbeat_at) VALUES ('t1', ?, ?, 'running', ?, ?)`, job, beat.UnixMilli(), owner, beat.UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		id, _ := r.LastInsertId()
		return id
	}
	status := func(id int64) string {
		t.Helper()
		var st string
		if err := s.DB().QueryRow(`SELECT status FROM runs WHERE id = ?`, id).Scan(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	busy := leave("busy", alive, now)
	if _, err := s.StartRun(ctx, "t1", "busy", now); !errors.Is(err, store.ErrRunInProgress) || !strings.Contains(err.Error(), alive) {
		t.Fatalf("StartRun beside a live run = %v", err)
	}
	if status(busy) != "running" {
		t.Fatal("the live run was touched")
	}
	for _, tc := range []struct {
		job, owner string
		beat       time.Time
	}{
		{"killed", dead, now},
		{"silent", alive, now.Add(-10 * time.Minute)},
		{"elsewhere", "other-host/42", now.Add(-10 * time.Minute)},
	} {
		old := leave(tc.job, tc.owner, tc.beat)
		if err := s.SetStreamStatus(ctx, "t1", tc.job, "members", "running", ""); err != nil {
			t.Fatal(err)
		}
		id, err := s.StartRun(ctx, "t1", tc.job, now)
		if err != nil {
			t.Fatalf("%s: StartRun = %v", tc.job, err)
		}
		if status(old) != "interrupted" || status(id) != "running" {
			t.Fatalf("%s: old run %s, new run %s", tc.job, status(old), status(id))
		}
		var st string
		if err := s.DB().QueryRow(`SELECT status FROM stream_state WHERE tenant = 't1' AND job = ? AND stream = 'members'`, tc.job).Scan(&st); err != nil || st != "interrupted" {
			t.Fatalf("%s: stream status %q (%v)", tc.job, st, err)
		}
	}
	// Another host's run that beats lately holds its lease.
	leave("far", "other-host/42", now)
	if _, err := s.StartRun(ctx, "t1", "far", now); !errors.Is(err, store.ErrRunInProgress) {
		t.Fatalf("StartRun beside another host's live run = %v", err)
	}
	// A heartbeat renews the lease.
	if err := s.Heartbeat(ctx, busy, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var beat int64
	if err := s.DB().QueryRow(`SELECT heartbeat_at FROM runs WHERE id = ?`, busy).Scan(&beat); err != nil || beat != now.Add(time.Minute).UnixMilli() {
		t.Fatalf("heartbeat_at = %d (%v)", beat, err)
	}
}

// Schedulers lists the processes running a scheduler the way runs' leases
// see them: this one while it beats, another on this host while its pid is
// alive and it beat lately, another host's while it beat lately; one that
// said it stopped is gone.
func TestSchedulersAreTheLiveProcesses(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	host, _ := os.Hostname()
	now := time.Now()
	for _, row := range []struct {
		owner string
		beat  time.Time
	}{
		{fmt.Sprintf("%s/%d", host, os.Getppid()), now}, // alive
		{fmt.Sprintf("%s/%d", host, 1<<22+7), now},      // killed
		{"other-host/42", now.Add(-10 * time.Minute)},   // silent
		{"far-host/7", now.Add(-time.Minute)},           // another host, beating
	} {
		if _, err := s.DB().Exec(`INSERT INTO schedulers (owner, started_at, heartbeat_at) VALUES (?, ?, ?)`, row.owner, row.beat.Add(-time.Hour).UnixMilli(), row.beat.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	names := func() []string {
		t.Helper()
		list, err := s.Schedulers(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, sc := range list {
			out = append(out, sc.Process)
		}
		return out
	}
	self := fmt.Sprintf("%s/%d", host, os.Getpid())
	started := now.Add(-time.Second)
	if err := s.SchedulerBeat(ctx, started, now); err != nil {
		t.Fatal(err)
	}
	want := []string{"far-host/7", fmt.Sprintf("%s/%d", host, os.Getppid()), self}
	if got := names(); !slices.Equal(got, want) {
		t.Fatalf("schedulers %v, want %v (oldest first)", got, want)
	}
	if err := s.SchedulerStopped(ctx); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, want[:2]) {
		t.Fatalf("after stopping: %v, want %v", got, want[:2])
	}
}

// A record id in both record_ids_mid and record_ids_new (a bug of the
// store, which looks every record up before it inserts one) fails the
// batch that would merge them, with an error naming the record.
func TestMergeOfARecordStoredTwiceNamesIt(t *testing.T) {
	t.Parallel()
	s, _ := openWith(t, sqlite.Options{MergeLinksAt: 2})
	apply(t, s, "crm", nil, member("r1", openid("wx", "o1")), member("r2", openid("wx", "o2")))
	if _, err := s.DB().ExecContext(t.Context(), `INSERT INTO record_ids_new SELECT tenant, connection, stream, record_id, src FROM record_ids_mid WHERE record_id = 'r1'`); err != nil {
		t.Fatal(err)
	}
	_, err := s.ApplyBatch(t.Context(), store.Batch{Tenant: "t1", Job: "j-crm", Connection: "crm", Stream: "members",
		Records: []sdk.Record{member("r3", openid("wx", "o3"))}, At: time.Unix(1700000100, 0)})
	if err == nil || !strings.Contains(err.Error(), "record crm/members/r1 is in both record_ids_mid and record_ids_new") {
		t.Fatalf("batch = %v, want an error naming crm/members/r1", err)
	}
}
