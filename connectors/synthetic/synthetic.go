// Package synthetic is a connector that generates seeded members without
// any platform: each carries a WeChat openid, most a unionid, many a phone
// (about 2.5 identifiers each), and every 20th is the member before it again
// as a mini-program user with the same unionid, so identities link too. It is what `make bench` reads,
// and what a brand can point a test hub at to size a machine.
//
// Its ids are sequential by default (osyn0000000001…), which index
// inserts find in order; ids: random makes them opaque and in no order, as
// real openids and unionids are (the record id is then the openid, as in
// the WeChat connector).
package synthetic

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Config field names.
const (
	FieldRecords = "records"
	FieldSeed    = "seed"
	FieldIDs     = "ids"
)

// Spec describes the connector.
var Spec = sdk.Spec{
	Name:        "synthetic",
	Version:     "0.1.0",
	Platform:    "synthetic",
	Description: "Generated members for load tests and benchmarks; no platform behind it.",
	Streams: []sdk.StreamSpec{{Name: "members", Kind: sdk.KindMembers, Cursor: "offset", Sorted: true, Incremental: true,
		Description: "Members 0..records-1; the checkpoint is the next index."}},
	Config: []sdk.Field{
		{Name: FieldRecords, Type: sdk.TypeInt, Default: "1000", Description: "How many members the stream holds."},
		{Name: FieldSeed, Type: sdk.TypeInt, Default: "1", Description: "Seed of the generated values."},
		{Name: FieldIDs, Type: sdk.TypeString, Default: "sequential", Enum: []string{"sequential", "random"},
			Description: "sequential ids, or random ones in no order like real openids and unionids."},
	},
}

// Plugin is what plugins/synthetic serves.
var Plugin = sdk.Plugin{Spec: Spec, New: New}

// Connector generates members.
type Connector struct {
	records int64
	seed    uint64
	random  bool
}

// New builds the connector.
func New(_ context.Context, cfg sdk.Config, _ *sdk.Host) (sdk.Connector, error) {
	n := cfg.Int(FieldRecords)
	if n < 0 {
		return nil, sdk.ConfigError(FieldRecords, "must not be negative")
	}
	return &Connector{records: n, seed: uint64(cfg.Int(FieldSeed)), random: cfg.String(FieldIDs) == "random"}, nil
}

// Check implements sdk.Connector.
func (c *Connector) Check(context.Context) error { return nil }

// Close implements sdk.Connector.
func (c *Connector) Close(context.Context) error { return nil }

// checkpointEvery is how many records go between checkpoints.
const checkpointEvery = 1000

// Read implements sdk.Connector.
func (c *Connector) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	var start int64
	if len(req.Checkpoint) == 8 {
		start = int64(binary.BigEndian.Uint64(req.Checkpoint))
	}
	for i := start; i < c.records; i++ {
		if err := out.Emit(ctx, c.Record(i)); err != nil {
			return err
		}
		if (i+1)%checkpointEvery == 0 || i+1 == c.records {
			var cp [8]byte
			binary.BigEndian.PutUint64(cp[:], uint64(i+1))
			if err := out.Checkpoint(ctx, cp[:]); err != nil {
				return err
			}
			if err := out.Progress(ctx, i+1, c.records); err != nil {
				return err
			}
		}
	}
	return nil
}

// Record returns member i.
func (c *Connector) Record(i int64) sdk.Record {
	r := rand.New(rand.NewPCG(c.seed, uint64(i)))
	person := i
	openid := mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "wxsynthetic", Value: c.id('o', i)}
	if i%20 == 19 {
		// The previous member again, as a mini-program user: same unionid.
		person = i - 1
		openid = mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: "wxsynthetic-mini", Value: c.id('m', i)}
	}
	m := &mapping.Member{
		Identities: []mapping.Identity{openid},
		Name:       fmt.Sprintf("member %d", i),
		Gender:     []mapping.Gender{mapping.GenderMale, mapping.GenderFemale}[r.IntN(2)],
		City:       []string{"上海", "北京", "广州", "深圳", "杭州", "成都"}[r.IntN(6)],
		Subscribed: true,
		Tags:       []mapping.Tag{{Name: []string{"VIP", "新客", "沉睡"}[r.IntN(3)]}},
	}
	if r.IntN(100) < 80 || person != i {
		m.Identities = append(m.Identities, mapping.Identity{Type: mapping.IDWechatUnionID, Scope: "open-synthetic", Value: c.id('u', person)})
	}
	if r.IntN(100) < 70 {
		m.Identities = append(m.Identities, mapping.Identity{Type: mapping.IDPhone, Value: fmt.Sprintf("+861%d%09d", 3+r.IntN(7), i)})
	}
	id := fmt.Sprintf("syn-%d", i)
	if c.random {
		id = openid.Value
	}
	return sdk.Record{ID: id, UpdatedAt: time.Unix(1700000000+i, 0).UTC(), Member: m}
}

// id is the identifier value of kind (o openid, m mini-program openid, u
// unionid) for index i: kind, "syn" and i in ten digits, or with ids:
// random, kind, a 64-bit mix of i (splitmix64) and i, so that values are
// unique, stable, and in no order.
func (c *Connector) id(kind byte, i int64) string {
	if !c.random {
		return fmt.Sprintf("%csyn%010d", kind, i)
	}
	x := uint64(i) + 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	x ^= x >> 31
	return fmt.Sprintf("%c%016x%010d", kind, x, i)
}
