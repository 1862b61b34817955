package file_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/channelhub/channelhub/connectors/file"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// item is one thing a read produced: a record or a checkpoint.
type item struct {
	rec *sdk.Record
	cp  []byte
}

// collector is an sdk.Emitter that keeps everything; stop, when set, is
// called after each record and may cancel the read.
type collector struct {
	items []item
	stop  func()
}

func (c *collector) Emit(ctx context.Context, r sdk.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.items = append(c.items, item{rec: &r})
	if c.stop != nil {
		c.stop()
	}
	return nil
}

func (c *collector) Checkpoint(ctx context.Context, cp []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.items = append(c.items, item{cp: bytes.Clone(cp)})
	return nil
}

func (c *collector) Progress(context.Context, int64, int64) error { return nil }

// records returns the good records, and bad ones apart.
func (c *collector) records() (good, bad []sdk.Record) {
	for _, it := range c.items {
		switch {
		case it.rec == nil:
		case it.rec.Bad != nil:
			bad = append(bad, *it.rec)
		default:
			good = append(good, *it.rec)
		}
	}
	return good, bad
}

func (c *collector) ids() []string {
	good, _ := c.records()
	out := make([]string, len(good))
	for i, r := range good {
		out[i] = r.ID
	}
	return out
}

func (c *collector) lastCheckpoint() []byte {
	for i := len(c.items) - 1; i >= 0; i-- {
		if c.items[i].cp != nil {
			return c.items[i].cp
		}
	}
	return nil
}

// connect builds a connector from raw config values.
func connect(t *testing.T, raw map[string]any) sdk.Connector {
	t.Helper()
	cfg, err := file.Spec.ParseConfig(raw)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	c, err := file.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// read reads the connection's stream from cp.
func read(t *testing.T, raw map[string]any, cp []byte) *collector {
	t.Helper()
	c := connect(t, raw)
	stream, _ := raw["stream"].(string)
	if stream == "" {
		stream = file.StreamMembers
	}
	out := &collector{}
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: stream, Mode: sdk.ModeIncremental, Checkpoint: cp}, out); err != nil {
		t.Fatalf("read: %v", err)
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// memberLine is one JSON Lines member with a phone.
func memberLine(id string) string {
	return fmt.Sprintf(`{"id": %q, "identities": [{"type": "phone", "value": "138%08d"}], "name": "会员 %s"}`+"\n", id, len(id), id)
}

var posColumns = []any{"id=会员编号", "phone=手机号", "name=姓名", "member_card=卡号", "birthday=生日", "gender=性别", "city=城市", "level=等级", "points=积分", "updated_at=更新时间"}

// gb18030CSV writes a GB18030 CSV of POS members into dir.
func gb18030CSV(t *testing.T, dir string) string {
	t.Helper()
	content := "会员编号,手机号,姓名,卡号,生日,性别,城市,等级,积分,更新时间\r\n" +
		"G1,13700137000,欧阳娜娜,K1,1995-06-07,女,广州,金卡,88,2024-05-01 12:00:00\r\n" +
		"G2,13700137001,𠮷野家,K2,,男,成都,银卡,7,2024-05-01 12:30:00\r\n"
	enc, err := simplifiedchinese.GB18030.NewEncoder().String(content)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(enc, "欧阳") {
		t.Fatal("the encoder did not encode")
	}
	p := filepath.Join(dir, "pos-gb.csv")
	writeFile(t, p, enc)
	return p
}

func shanghai(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, mapping.Shanghai).UTC()
}

func TestFullRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) map[string]any
		want  []sdk.Record
	}{
		{
			name: "jsonl members",
			setup: func(t *testing.T, dir string) map[string]any {
				return map[string]any{"path": filepath.Join("testdata", "members.jsonl")}
			},
			want: []sdk.Record{
				{Stream: "members", ID: "M001", UpdatedAt: shanghai(2024, 5, 1, 10, 0, 0), Member: &mapping.Member{
					Identities: []mapping.Identity{{Type: mapping.IDPhone, Value: "+86 139 0571 2468"}, {Type: mapping.IDWechatUnionID, Scope: "open-1", Value: "o6_bmasdasdsad6_2sgVt7hMZOPfL"}, {Type: mapping.IDMemberCard, Scope: "brand", Value: "C00123"}},
					Name:       "王芳", Gender: mapping.GenderFemale, Birthday: "1990-01-02", City: "杭州", Level: "gold", Points: 1200,
					Tags: []mapping.Tag{{Name: "VIP"}, {Name: "新客"}}, Subscribed: true}},
				{Stream: "members", ID: "M002", UpdatedAt: shanghai(2024, 5, 2, 9, 30, 0), Member: &mapping.Member{
					Identities: []mapping.Identity{{Type: mapping.IDPhone, Value: "13900139000"}}, Name: "张伟", Gender: mapping.GenderMale, City: "上海", Subscribed: true}},
				{Stream: "members", ID: "3", UpdatedAt: time.Date(2024, 5, 3, 1, 0, 0, 0, time.UTC), Member: &mapping.Member{
					Identities: []mapping.Identity{{Type: mapping.IDEmail, Value: "li@example.com"}, {Type: mapping.IDMemberCard, Scope: "brand", Value: "C00125"}},
					Name:       "Li Na", Gender: mapping.GenderFemale, Birthday: "1985-07-09", Subscribed: true}},
				{Stream: "members", ID: filepath.Join("testdata", "members.jsonl") + ":5", Member: &mapping.Member{
					Identities: []mapping.Identity{{Type: mapping.IDDouyinOpenID, Scope: "shop-9", Value: "dy-open-4"}}, Name: "赵六", Subscribed: true}},
			},
		},
		{
			name: "csv with a BOM, CRLF, a quoted line break and mapped columns",
			setup: func(t *testing.T, dir string) map[string]any {
				return map[string]any{"path": filepath.Join("testdata", "members_bom.csv"), "columns": posColumns, "scope": "brand-x"}
			},
			want: []sdk.Record{
				{Stream: "members", ID: "P100", UpdatedAt: shanghai(2024, 5, 1, 8, 0, 0), Member: &mapping.Member{
					Identities: []mapping.Identity{{Type: mapping.IDPhone, Value: "13800138000"}, {Type: mapping.IDMemberCard, Scope: "brand-x", Value: "C900"}},
					Name:       "陈静", Gender: mapping.GenderFemale, Birthday: "1992-03-04", City: "北京", Level: "silver", Points: 35, Subscribed: true}},
				{Stream: "members", ID: "P101", UpdatedAt: shanghai(2024, 5, 2, 9, 0, 0), Member: &mapping.Member{
					Identities: []mapping.Identity{{Type: mapping.IDMemberCard, Scope: "brand-x", Value: "C901"}},
					Name:       "Wu, Lei", Gender: mapping.GenderMale, City: "深圳", Subscribed: true}},
			},
		},
		{
			name: "gb18030 csv",
			setup: func(t *testing.T, dir string) map[string]any {
				return map[string]any{"path": gb18030CSV(t, dir), "encoding": "gb18030", "columns": posColumns}
			},
			want: []sdk.Record{
				{Stream: "members", ID: "G1", UpdatedAt: shanghai(2024, 5, 1, 12, 0, 0), Member: &mapping.Member{
					Identities: []mapping.Identity{{Type: mapping.IDPhone, Value: "13700137000"}, {Type: mapping.IDMemberCard, Scope: "brand", Value: "K1"}},
					Name:       "欧阳娜娜", Gender: mapping.GenderFemale, Birthday: "1995-06-07", City: "广州", Level: "金卡", Points: 88, Subscribed: true}},
				{Stream: "members", ID: "G2", UpdatedAt: shanghai(2024, 5, 1, 12, 30, 0), Member: &mapping.Member{
					Identities: []mapping.Identity{{Type: mapping.IDPhone, Value: "13700137001"}, {Type: mapping.IDMemberCard, Scope: "brand", Value: "K2"}},
					Name:       "𠮷野家", Gender: mapping.GenderMale, City: "成都", Level: "银卡", Points: 7, Subscribed: true}},
			},
		},
		{
			name: "jsonl orders",
			setup: func(t *testing.T, dir string) map[string]any {
				return map[string]any{"path": filepath.Join("testdata", "orders.jsonl"), "stream": "orders"}
			},
			want: []sdk.Record{
				{Stream: "orders", ID: "O-1", UpdatedAt: shanghai(2024, 5, 1, 10, 1, 0), Order: &mapping.Order{
					Platform: "offline", Shop: "store-12", OrderID: "PO-1", Status: mapping.OrderCompleted, TotalFen: 19900, PaidFen: 18900,
					CreatedAt: shanghai(2024, 5, 1, 10, 0, 0), PaidAt: shanghai(2024, 5, 1, 10, 1, 0), UpdatedAt: shanghai(2024, 5, 1, 10, 1, 0),
					Items: []mapping.OrderItem{{SKU: "SKU-1", Title: "面霜", Quantity: 1, UnitPriceFen: 19900}},
					Buyer: []mapping.Identity{{Type: mapping.IDMemberCard, Scope: "brand", Value: "C00123"}}}},
				{Stream: "orders", ID: "erp/store-12/20240502001", UpdatedAt: time.Date(2024, 5, 3, 2, 0, 0, 0, time.UTC), Order: &mapping.Order{
					Platform: "erp", Shop: "store-12", OrderID: "20240502001", Status: mapping.OrderRefunded, TotalFen: 5000, PaidFen: 5000, RefundFen: 5000,
					CreatedAt: time.Date(2024, 5, 2, 2, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2024, 5, 3, 2, 0, 0, 0, time.UTC),
					Items: []mapping.OrderItem{{SKU: "SKU-2", Title: "口红", Quantity: 2, UnitPriceFen: 2500}},
					Buyer: []mapping.Identity{{Type: mapping.IDPhone, Value: "13900139000"}}}},
			},
		},
		{
			name: "csv orders in yuan",
			setup: func(t *testing.T, dir string) map[string]any {
				return map[string]any{"path": filepath.Join("testdata", "orders.csv"), "stream": "orders"}
			},
			want: []sdk.Record{
				{Stream: "orders", ID: "offline/store-3/S-1", UpdatedAt: shanghai(2024, 5, 1, 10, 0, 30), Order: &mapping.Order{
					Platform: "offline", Shop: "store-3", OrderID: "S-1", Status: mapping.OrderPaid, TotalFen: 19990, PaidFen: 19990,
					CreatedAt: shanghai(2024, 5, 1, 10, 0, 0), PaidAt: shanghai(2024, 5, 1, 10, 0, 30), UpdatedAt: shanghai(2024, 5, 1, 10, 0, 30),
					Items: []mapping.OrderItem{{SKU: "SKU-1", Title: "面霜", Quantity: 1, UnitPriceFen: 19990}},
					Buyer: []mapping.Identity{{Type: mapping.IDPhone, Value: "13800138000"}, {Type: mapping.IDMemberCard, Scope: "brand", Value: "C900"}}}},
				{Stream: "orders", ID: "R-2", UpdatedAt: shanghai(2024, 5, 1, 11, 0, 0), Order: &mapping.Order{
					Platform: "offline", Shop: "store-3", OrderID: "S-2", Status: mapping.OrderCancelled, TotalFen: 10,
					CreatedAt: shanghai(2024, 5, 1, 11, 0, 0), UpdatedAt: shanghai(2024, 5, 1, 11, 0, 0),
					Buyer: []mapping.Identity{{Type: mapping.IDMemberCard, Scope: "brand", Value: "C901"}}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := read(t, tt.setup(t, t.TempDir()), nil)
			good, bad := out.records()
			if len(bad) > 0 {
				t.Fatalf("bad records: %+v", bad[0].Bad)
			}
			if len(good) != len(tt.want) {
				t.Fatalf("%d records %v, want %d", len(good), out.ids(), len(tt.want))
			}
			for i := range good {
				if !reflect.DeepEqual(good[i], tt.want[i]) {
					t.Errorf("record %d:\n got %+v\n     %+v %+v\nwant %+v\n     %+v %+v", i, good[i], good[i].Member, good[i].Order, tt.want[i], tt.want[i].Member, tt.want[i].Order)
				}
			}
			if out.lastCheckpoint() == nil {
				t.Error("no checkpoint at the end of the file")
			}
		})
	}
}

func TestMalformedRowsBecomeBadRecords(t *testing.T) {
	t.Parallel()
	// id is the record id a bad record carries: the row's, when the row
	// could be read as far as its id.
	type bad struct {
		line       int
		id, reason string
	}
	tests := []struct {
		fixture, stream string
		good            []string
		bad             []bad
	}{
		{"malformed.jsonl", "members", []string{"G1", "G10"}, []bad{
			{2, "", "bad JSON"}, {3, "B3", `identity type "qq" is not known`}, {4, "B4", `"wechat_openid" needs a scope`}, {5, "B5", `birthday "1990-13-45"`},
			{6, "B6", "bad JSON"}, {7, "B7", `updated_at "yesterday"`}, {8, "B8", `unknown field "brithday"`}, {9, "B9", "no identity"},
		}},
		{"malformed.csv", "members", []string{"G1", "G8"}, []bad{
			{3, "", "row has 5 columns, the header 6"}, {4, "B3", `birthday "1990-02-30"`}, {5, "B4", `points "1.5"`}, {6, "", "malformed CSV"},
			{7, "B6", "no identity"}, {8, "B7", `updated_at "next week"`},
		}},
		{"malformed_orders.jsonl", "orders", []string{"G1"}, []bad{
			{2, "offline/s-9/P-2", `"lost"`}, {3, "B3", "order has no status"}, {4, "", "order has no order_id"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", tt.fixture)
			out := read(t, map[string]any{"path": path, "stream": tt.stream}, nil)
			if got := out.ids(); !slices.Equal(got, tt.good) {
				t.Errorf("good records %v, want %v", got, tt.good)
			}
			_, bads := out.records()
			if len(bads) != len(tt.bad) {
				for _, b := range bads {
					t.Logf("%s: %s", b.Bad.Location, b.Bad.Reason)
				}
				t.Fatalf("%d bad records, want %d", len(bads), len(tt.bad))
			}
			for i, want := range tt.bad {
				b := bads[i].Bad
				if loc := fmt.Sprintf("%s:%d", path, want.line); b.Location != loc || !strings.Contains(b.Reason, want.reason) || len(b.Raw) == 0 {
					t.Errorf("bad record %d = %s %q (raw %q), want %s and a reason with %q", i, b.Location, b.Reason, b.Raw, loc, want.reason)
				}
				if bads[i].ID != want.id {
					t.Errorf("bad record %d (%s) has record id %q, want %q", i, b.Location, bads[i].ID, want.id)
				}
			}
		})
	}
}

func TestEncodingProblemsAreBadRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gb, _ := simplifiedchinese.GB18030.NewEncoder().String("王芳")
	long := `{"id": "L", "name": "` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name, content, encoding string
		reason                  string
	}{
		{"gbk bytes read as utf-8", memberLine("A") + `{"id": "X", "name": "` + gb + `"}` + "\n" + memberLine("B"), "utf-8", "set encoding: gb18030"},
		{"utf-8 bytes read as gb18030", memberLine("A") + "{\"id\": \"X\", \"name\": \"\xff\xfe\"}\n" + memberLine("B"), "gb18030", "not GB18030"},
		{"a line over 1 MiB", memberLine("A") + long + "\n" + memberLine("B"), "utf-8", "longer than 1 MiB"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(dir, fmt.Sprintf("enc%d.jsonl", i))
			writeFile(t, p, tt.content)
			out := read(t, map[string]any{"path": p, "encoding": tt.encoding}, nil)
			_, bads := out.records()
			if got := out.ids(); !slices.Equal(got, []string{"A", "B"}) || len(bads) != 1 {
				t.Fatalf("records %v and %d bad, want A, B and one bad", got, len(bads))
			}
			if b := bads[0].Bad; b.Location != p+":2" || !strings.Contains(b.Reason, tt.reason) || len(b.Raw) > 8192 {
				t.Fatalf("bad record %s %q (%d bytes raw), want %s:2 and %q", b.Location, b.Reason, len(b.Raw), p, tt.reason)
			}
		})
	}
}

func TestIncremental(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// change alters the files after a first full read and returns the
		// ids an incremental read must then return, in order.
		change func(t *testing.T, dir, path string) []string
	}{
		{"appended lines are read from where the read stopped", func(t *testing.T, dir, path string) []string {
			appendFile(t, path, memberLine("N1")+memberLine("N2"))
			return []string{"N1", "N2"}
		}},
		{"nothing new reads nothing", func(t *testing.T, dir, path string) []string { return nil }},
		{"a new file matching the glob is read whole", func(t *testing.T, dir, path string) []string {
			writeFile(t, filepath.Join(dir, "members-2.jsonl"), memberLine("F1")+memberLine("F2"))
			writeFile(t, filepath.Join(dir, "other.jsonl"), memberLine("NOT-MATCHED"))
			return []string{"F1", "F2"}
		}},
		{"a truncated file is read again from the start", func(t *testing.T, dir, path string) []string {
			writeFile(t, path, memberLine("T1"))
			return []string{"T1"}
		}},
		{"a replaced file of the same size is read again", func(t *testing.T, dir, path string) []string {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, strings.Replace(string(b), `"M001"`, `"X001"`, 1))
			return []string{"X001", "M002", "3", path + ":5"}
		}},
		{"a replaced and longer file is read again", func(t *testing.T, dir, path string) []string {
			writeFile(t, path, memberLine("R1")+memberLine("R2")+memberLine("R3")+memberLine("R4")+memberLine("R5")+memberLine("R6")+memberLine("R7")+memberLine("R8")+memberLine("R9"))
			return []string{"R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9"}
		}},
		{"a partial last line waits for its newline", func(t *testing.T, dir, path string) []string {
			line := memberLine("P1")
			appendFile(t, path, line[:20])
			cfg := map[string]any{"path": filepath.Join(dir, "members-*.jsonl")}
			// Read while the line is partial: nothing, and the checkpoint
			// stays before it.
			cp := read(t, cfg, nil).lastCheckpoint()
			out := read(t, cfg, cp)
			if len(out.items) != 0 {
				t.Fatalf("a partial line produced %d items", len(out.items))
			}
			appendFile(t, path, line[20:]+memberLine("P2")[:5])
			return []string{"P1"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "members-1.jsonl")
			b, err := os.ReadFile(filepath.Join("testdata", "members.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, string(b))
			cfg := map[string]any{"path": filepath.Join(dir, "members-*.jsonl")}
			full := read(t, cfg, nil)
			if got := full.ids(); !slices.Equal(got, []string{"M001", "M002", "3", path + ":5"}) {
				t.Fatalf("full read %v", got)
			}
			want := tt.change(t, dir, path)
			inc := read(t, cfg, full.lastCheckpoint())
			if got := inc.ids(); !slices.Equal(got, want) {
				t.Fatalf("incremental read %v, want %v", got, want)
			}
			// And once more: nothing is read twice.
			cp := inc.lastCheckpoint()
			if cp == nil {
				cp = full.lastCheckpoint()
			}
			if again := read(t, cfg, cp).ids(); len(again) != 0 {
				t.Fatalf("a second incremental read returned %v", again)
			}
		})
	}
}

func TestCSVIncrementalKeepsTheHeader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := gb18030CSV(t, dir)
	cfg := map[string]any{"path": p, "encoding": "gb18030", "columns": posColumns}
	full := read(t, cfg, nil)
	row, _ := simplifiedchinese.GB18030.NewEncoder().String("G3,13700137003,司马光,K3,,男,洛阳,,1,2024-05-02 00:00:00\r\n")
	appendFile(t, p, row)
	inc := read(t, cfg, full.lastCheckpoint())
	good, bad := inc.records()
	if len(good) != 1 || len(bad) != 0 || good[0].ID != "G3" || good[0].Member.Name != "司马光" || good[0].Member.City != "洛阳" {
		t.Fatalf("incremental read = %+v, bad %+v", good, bad)
	}
	// A bad row after a resume names its real line.
	appendFile(t, p, "G4,1\r\n")
	_, bad = read(t, cfg, inc.lastCheckpoint()).records()
	if len(bad) != 1 || bad[0].Bad.Location != p+":5" {
		t.Fatalf("bad records %+v, want one at %s:5", bad, p)
	}
}

func TestCSVQuotedFieldStillBeingWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "m.csv")
	writeFile(t, p, "id,phone,name\nA,1,\"two\nlines\"\nB,2,\"not closed yet\n")
	cfg := map[string]any{"path": p}
	out := read(t, cfg, nil)
	good, _ := out.records()
	if len(good) != 1 || good[0].ID != "A" || good[0].Member.Name != "two\nlines" {
		t.Fatalf("records %+v", good)
	}
	appendFile(t, p, "still\"\nC,3,c\n")
	if got := read(t, cfg, out.lastCheckpoint()).ids(); !slices.Equal(got, []string{"B", "C"}) {
		t.Fatalf("after the record was finished: %v", got)
	}
}

func TestCSVUnclosedQuoteIsOneBadLine(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("id,phone,name\nA,1,\"never closed\n")
	for i := range 120 {
		fmt.Fprintf(&b, "R%d,%d,r\n", i, i)
	}
	p := filepath.Join(t.TempDir(), "m.csv")
	writeFile(t, p, b.String())
	out := read(t, map[string]any{"path": p}, nil)
	good, bad := out.records()
	if len(good) != 120 || len(bad) != 1 || bad[0].Bad.Location != p+":2" || good[0].ID != "R0" {
		t.Fatalf("%d good, bad %+v", len(good), bad)
	}
}

func TestResumeFromEveryCheckpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var all []string
	for f, n := range []int{2500, 10, 1200} {
		var b strings.Builder
		for i := range n {
			id := fmt.Sprintf("f%d-%d", f, i)
			all = append(all, id)
			if i%500 == 7 {
				b.WriteString("{broken\n") // bad records do not upset checkpoints
			}
			b.WriteString(memberLine(id))
		}
		writeFile(t, filepath.Join(dir, fmt.Sprintf("m-%d.jsonl", f)), b.String())
	}
	cfg := map[string]any{"path": filepath.Join(dir, "m-*.jsonl")}
	full := read(t, cfg, nil)
	if got := full.ids(); !slices.Equal(got, all) {
		t.Fatalf("full read: %d records, want %d", len(got), len(all))
	}
	var cps []int
	for i, it := range full.items {
		if it.cp != nil {
			cps = append(cps, i)
		}
	}
	if len(cps) < 6 {
		t.Fatalf("only %d checkpoints", len(cps))
	}
	for _, i := range cps {
		before := (&collector{items: full.items[:i]}).ids()
		after := read(t, cfg, full.items[i].cp).ids()
		if got := append(before, after...); !slices.Equal(got, all) {
			t.Fatalf("resuming from the checkpoint after %d records: %d records in all, want %d with no loss or duplicate", len(before), len(got), len(all))
		}
	}
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 5000 {
		b.WriteString(memberLine(fmt.Sprint(i)))
	}
	p := filepath.Join(t.TempDir(), "m.jsonl")
	writeFile(t, p, b.String())
	c := connect(t, map[string]any{"path": p})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once sync.Once
	out := &collector{}
	out.stop = func() { once.Do(cancel) }
	err := c.Read(ctx, sdk.ReadRequest{Stream: "members", Mode: sdk.ModeFull}, out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel = %v, want context.Canceled", err)
	}
	if n := len(out.ids()); n > 1 {
		t.Fatalf("%d records emitted after cancellation", n)
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jsonl"), memberLine("A"))
	members := connect(t, map[string]any{"path": filepath.Join(dir, "*.jsonl")})
	for _, tt := range []struct {
		stream string
		want   string
	}{
		{"orders", "has no orders stream to read"},
		{"points", `no stream "points"`},
	} {
		err := members.Read(t.Context(), sdk.ReadRequest{Stream: tt.stream, Mode: sdk.ModeFull}, &collector{})
		if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("read %s = %v, want a config error with %q", tt.stream, err, tt.want)
		}
	}
	if err := members.Read(t.Context(), sdk.ReadRequest{Stream: "members", Checkpoint: []byte("garbage")}, &collector{}); err == nil || !strings.Contains(err.Error(), "reset the stream") {
		t.Errorf("unreadable checkpoint = %v", err)
	}
	// A glob that matches nothing reads nothing.
	none := read(t, map[string]any{"path": filepath.Join(dir, "none-*.jsonl")}, nil)
	if len(none.items) != 0 {
		t.Errorf("an empty glob produced %d items", len(none.items))
	}
	// A CSV whose header lacks a mapped column cannot be read.
	writeFile(t, filepath.Join(dir, "x.csv"), "id,phone\n1,2\n")
	err := connect(t, map[string]any{"path": filepath.Join(dir, "x.csv"), "columns": []any{"id=id", "phone=手机号"}}).
		Read(t.Context(), sdk.ReadRequest{Stream: "members"}, &collector{})
	if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), `no column "手机号"`) {
		t.Errorf("missing header = %v", err)
	}
}

func TestUnreadableFile(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jsonl"), memberLine("A"))
	locked := filepath.Join(dir, "b.jsonl")
	writeFile(t, locked, memberLine("B"))
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	c := connect(t, map[string]any{"path": filepath.Join(dir, "*.jsonl")})
	out := &collector{}
	err := c.Read(t.Context(), sdk.ReadRequest{Stream: "members"}, out)
	if err == nil || !strings.Contains(err.Error(), locked) {
		t.Fatalf("read = %v, want an error naming %s", err, locked)
	}
	if got := out.ids(); !slices.Equal(got, []string{"A"}) || out.lastCheckpoint() == nil {
		t.Fatalf("before the unreadable file: %v", got)
	}
	if err := c.Check(t.Context()); !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), locked) {
		t.Fatalf("check = %v", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "good.jsonl"), "\n"+memberLine("A")+"{bad\n")
	writeFile(t, filepath.Join(dir, "bad.jsonl"), "{bad\n"+memberLine("A"))
	writeFile(t, filepath.Join(dir, "empty.jsonl"), "")
	writeFile(t, filepath.Join(dir, "gbk.jsonl"), "{\"name\": \"\xcd\xf5\"}\n")
	writeFile(t, filepath.Join(dir, "m.csv"), "id,phone\n1,2\n")
	writeFile(t, filepath.Join(dir, "noid.csv"), "id,name\n1,2\n")
	tests := []struct {
		name string
		cfg  map[string]any
		want string // "" for success
	}{
		{"good", map[string]any{"path": filepath.Join(dir, "good.jsonl")}, ""},
		{"fixture", map[string]any{"path": filepath.Join("testdata", "members_bom.csv"), "columns": posColumns}, ""},
		{"no data yet", map[string]any{"path": filepath.Join(dir, "empty.jsonl")}, ""},
		{"glob matching nothing", map[string]any{"path": filepath.Join(dir, "pos-*.csv")}, "matches no file"},
		{"missing file", map[string]any{"path": filepath.Join(dir, "missing.csv")}, "matches no file"},
		{"first line malformed", map[string]any{"path": filepath.Join(dir, "bad.jsonl")}, "bad.jsonl:1, does not parse as jsonl members"},
		{"wrong encoding", map[string]any{"path": filepath.Join(dir, "gbk.jsonl")}, "encoding: the first data line"},
		{"csv without an identity column", map[string]any{"path": filepath.Join(dir, "noid.csv")}, "no column maps an identity"},
		{"orders from a member file", map[string]any{"path": filepath.Join(dir, "m.csv"), "stream": "orders"}, "no column maps the order field order_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := connect(t, tt.cfg).Check(t.Context())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("check = %v", err)
				}
				return
			}
			if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("check = %v, want a config error with %q", err, tt.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"path": "/data/x.txt"}, "format: cannot tell the format"},
		{map[string]any{"path": "/data/[.csv"}, "path:"},
		{map[string]any{"path": "/data/x.jsonl", "columns": []any{"id=ID"}}, "CSV files only"},
		{map[string]any{"path": "/data/x.csv", "columns": []any{"id"}}, "want field=Header Name"},
		{map[string]any{"path": "/data/x.csv", "columns": []any{"birth=生日"}}, `"birth" is not a members field`},
		{map[string]any{"path": "/data/x.csv", "columns": []any{"wechat_unionid=UnionID"}}, "needs a scope"},
		{map[string]any{"path": "/data/x.csv", "columns": []any{"phone:x=手机"}}, "takes no scope"},
		{map[string]any{"path": "/data/x.csv", "columns": []any{"phone=a", "phone=b"}}, "mapped twice"},
		{map[string]any{"path": "/data/x.csv", "stream": "orders", "columns": []any{"name=姓名"}}, `"name" is not a orders field`},
	}
	for _, tt := range tests {
		cfg, err := file.Spec.ParseConfig(tt.cfg)
		if err == nil {
			_, err = file.New(t.Context(), cfg, nil)
		}
		if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want a config error with %q", tt.cfg, err, tt.want)
		}
	}
	if err := file.Spec.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCSVIdentityColumnsAndDefaultHeaders(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "m.csv")
	writeFile(t, p, "ID,Phone,wechat_unionid:open-1,member_card:store-9,Tags,remark\nA,138,u1,C1,VIP|新客，沉睡,x\n")
	good, bad := read(t, map[string]any{"path": p}, nil).records()
	if len(bad) != 0 || len(good) != 1 {
		t.Fatalf("good %v bad %v", good, bad)
	}
	m := good[0].Member
	wantIDs := []mapping.Identity{{Type: mapping.IDPhone, Value: "138"}, {Type: mapping.IDWechatUnionID, Scope: "open-1", Value: "u1"}, {Type: mapping.IDMemberCard, Scope: "store-9", Value: "C1"}}
	if good[0].ID != "A" || !reflect.DeepEqual(m.Identities, wantIDs) || !reflect.DeepEqual(m.Tags, []mapping.Tag{{Name: "VIP"}, {Name: "新客"}, {Name: "沉睡"}}) {
		t.Fatalf("record %+v %+v", good[0], m)
	}
}

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	const files, perFile = 3, 700
	for f := range files {
		var b strings.Builder
		for i := range perFile {
			b.WriteString(memberLine(fmt.Sprintf("c%d-%d", f, i)))
		}
		writeFile(t, filepath.Join(dir, fmt.Sprintf("members-%d.jsonl", f)), b.String())
	}
	var mu sync.Mutex
	n := 0
	conformance.Run(t, conformance.Harness{
		Plugin:         file.Plugin,
		Config:         map[string]any{"path": filepath.Join(dir, "members-*.jsonl")},
		BadCredentials: map[string]any{"path": filepath.Join(dir, "nothing-*.jsonl")},
		Streams:        []string{file.StreamMembers},
		// Every line written above is a member with its own id.
		Seeded: map[string]int{file.StreamMembers: files * perFile},
		Mutate: func(t *testing.T, stream string) []string {
			mu.Lock()
			defer mu.Unlock()
			n++
			// One line appended to a read file, two in a new file.
			ids := []string{fmt.Sprintf("m%d-a", n), fmt.Sprintf("m%d-b", n), fmt.Sprintf("m%d-c", n)}
			appendFile(t, filepath.Join(dir, "members-2.jsonl"), memberLine(ids[0]))
			writeFile(t, filepath.Join(dir, fmt.Sprintf("members-9%d.jsonl", n)), memberLine(ids[1])+memberLine(ids[2]))
			return ids
		},
	})
}

func TestREADMEDocumentsTheSpec(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, f := range file.Spec.Config {
		if !strings.Contains(readme, "| `"+f.Name+"` |") || !strings.Contains(readme, "      "+f.Name+":") {
			t.Errorf("README.md does not document config field %s in its table and sample config", f.Name)
		}
		for _, e := range f.Enum {
			if !strings.Contains(readme, "`"+e+"`") {
				t.Errorf("README.md does not name %s value %s", f.Name, e)
			}
		}
	}
}

func TestConsents(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "m.jsonl")
	lines := `{"id": "A", "identities": [{"type": "member_card", "scope": "brand", "value": "C1"}], "consents": [{"channel": "sms", "opt_in": true, "at": "2024-05-01T10:00:00+08:00"}], "updated_at": "2024-05-01T10:00:00+08:00"}
{"id": "B", "identities": [{"type": "member_card", "scope": "brand", "value": "C2"}], "consents": [{"channel": "fax", "opt_in": true, "at": "2024-05-01T10:00:00+08:00"}], "updated_at": "2024-05-01T10:00:00+08:00"}
{"id": "C", "identities": [{"type": "member_card", "scope": "brand", "value": "C3"}], "consents": [{"channel": "sms", "at": "2024-05-01T10:00:00+08:00"}], "updated_at": "2024-05-01T10:00:00+08:00"}
`
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	good, bad := read(t, map[string]any{"path": path}, nil).records()
	if len(good) != 1 || len(bad) != 2 {
		t.Fatalf("good %d, bad %d", len(good), len(bad))
	}
	c := good[0].Member.Consents
	if len(c) != 1 || c[0].Channel != mapping.ConsentSMS || !c[0].OptIn || c[0].Source != "file" || !c[0].At.Equal(time.Date(2024, 5, 1, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("consents = %+v", c)
	}
	if !strings.Contains(bad[0].Bad.Reason, "consents[0].channel") || !strings.Contains(bad[1].Bad.Reason, "consents[0].opt_in") {
		t.Fatalf("reasons: %q, %q", bad[0].Bad.Reason, bad[1].Bad.Reason)
	}
}

func TestBlankIdentityValuesAreLeftOut(t *testing.T) {
	t.Parallel()
	unionid := mapping.Identity{Type: mapping.IDWechatUnionID, Scope: "open-1", Value: "uN5"}
	tests := []struct {
		name, file, content, stream string
		want                        []mapping.Identity // the record's identities, when it is good
		bad                         string             // the bad record's reason, when it is bad
	}{
		{name: "blank value beside a good one", file: "m.jsonl",
			content: `{"id":"N5","identities":[{"type":"member_card","scope":"brand","value":" "},{"type":"wechat_unionid","scope":"open-1","value":"uN5"}]}`,
			want:    []mapping.Identity{unionid}},
		{name: "empty and missing values", file: "m.jsonl",
			content: `{"id":"N5","identities":[{"type":"phone","value":""},{"type":"wechat_unionid","scope":"open-1","value":"uN5"},{"type":"email"}]}`,
			want:    []mapping.Identity{unionid}},
		{name: "only blank values", file: "m.jsonl",
			content: `{"id":"N5","identities":[{"type":"member_card","scope":"brand","value":" "},{"type":"phone","value":"\t"}]}`,
			bad:     "member has no identity"},
		{name: "blank value of an unknown type", file: "m.jsonl",
			content: `{"id":"N5","identities":[{"type":"qq","value":" "},{"type":"wechat_unionid","scope":"open-1","value":"uN5"}]}`,
			bad:     `identities[0]: identity type "qq" is not known`},
		{name: "blank value without its scope", file: "m.jsonl",
			content: `{"id":"N5","identities":[{"type":"member_card","value":" "},{"type":"wechat_unionid","scope":"open-1","value":"uN5"}]}`,
			bad:     `identities[0]: identity type "member_card" needs a scope`},
		{name: "order buyer with a blank value", file: "o.jsonl", stream: "orders",
			content: `{"order_id":"P-1","status":"paid","buyer":[{"type":"phone","value":" "},{"type":"wechat_unionid","scope":"open-1","value":"uN5"}]}`,
			want:    []mapping.Identity{unionid}},
		{name: "order buyer with only blank values is a walk-in", file: "o.jsonl", stream: "orders",
			content: `{"order_id":"P-1","status":"paid","buyer":[{"type":"phone","value":" "}]}`},
		{name: "blank CSV cell beside a good one", file: "m.csv",
			content: "id,member_card,wechat_unionid:open-1\nN5,  ,uN5",
			want:    []mapping.Identity{unionid}},
		{name: "only blank CSV cells", file: "m.csv",
			content: "id,member_card,wechat_unionid:open-1\nN5, ,",
			bad:     "member has no identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), tt.file)
			writeFile(t, p, tt.content+"\n")
			raw := map[string]any{"path": p}
			if tt.stream != "" {
				raw["stream"] = tt.stream
			}
			good, bad := read(t, raw, nil).records()
			if tt.bad != "" {
				if len(good) != 0 || len(bad) != 1 || !strings.Contains(bad[0].Bad.Reason, tt.bad) {
					t.Fatalf("good %+v, bad %+v; want one bad record with %q", good, bad, tt.bad)
				}
				return
			}
			if len(bad) != 0 || len(good) != 1 {
				t.Fatalf("good %+v, bad %+v; want one good record", good, bad)
			}
			var got []mapping.Identity
			if m := good[0].Member; m != nil {
				got = m.Identities
			} else {
				got = good[0].Order.Buyer
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("identities %+v, want %+v", got, tt.want)
			}
		})
	}
}
