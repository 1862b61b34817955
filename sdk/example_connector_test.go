package sdk_test

import (
	"context"
	"fmt"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// A minimal connector: a Spec value, a constructor, and Read emitting
// records with a checkpoint after each page. Its plugin's main is
//
//	func main() { sdk.Serve(sdk.Plugin{Spec: posSpec, New: newPOS}) }
type pos struct{ cards []string }

var posSpec = sdk.Spec{
	Name: "pos", Version: "0.1.0", Platform: "pos",
	Streams: []sdk.StreamSpec{{Name: "members", Kind: sdk.KindMembers, Cursor: "offset", Incremental: true}},
	Config:  []sdk.Field{{Name: "api_key", Type: sdk.TypeString, Required: true, Secret: true, Description: "POS API key."}},
}

func newPOS(_ context.Context, cfg sdk.Config, _ *sdk.Host) (sdk.Connector, error) {
	if len(cfg.Secret("api_key").Reveal()) < 4 {
		return nil, sdk.ConfigError("api_key", "too short")
	}
	return &pos{cards: []string{"C1", "C2", "C3", "C4", "C5"}}, nil
}

func (p *pos) Check(context.Context) error { return nil }
func (p *pos) Close(context.Context) error { return nil }

func (p *pos) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	start, _ := strconv.Atoi(string(req.Checkpoint))
	for i := start; i < len(p.cards); i++ {
		rec := sdk.Record{ID: p.cards[i], Member: &mapping.Member{
			Identities: []mapping.Identity{{Type: mapping.IDMemberCard, Scope: "brand", Value: p.cards[i]}},
		}}
		if err := out.Emit(ctx, rec); err != nil {
			return err
		}
		if (i+1)%2 == 0 || i+1 == len(p.cards) { // a page of two
			if err := out.Checkpoint(ctx, []byte(strconv.Itoa(i+1))); err != nil {
				return err
			}
		}
	}
	return nil
}

type printer struct{}

func (printer) Emit(_ context.Context, r sdk.Record) error {
	fmt.Println("record", r.ID)
	return nil
}
func (printer) Checkpoint(_ context.Context, c []byte) error {
	fmt.Println("checkpoint", string(c))
	return nil
}
func (printer) Progress(context.Context, int64, int64) error { return nil }

func Example() {
	ctx := context.Background()
	cfg, err := posSpec.ParseConfig(map[string]any{"api_key": "k-1234"})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := newPOS(ctx, cfg, nil)
	// Resume after the first page: the hub passes the last committed checkpoint.
	_ = c.Read(ctx, sdk.ReadRequest{Stream: "members", Mode: sdk.ModeIncremental, Checkpoint: []byte("2")}, printer{})
	// Output:
	// record C3
	// record C4
	// checkpoint 4
	// record C5
	// checkpoint 5
}

func ExampleSpec_ParseConfig() {
	_, err := posSpec.ParseConfig(map[string]any{"apikey": "x"})
	fmt.Println(err)
	// Output:
	// invalid_config: api_key: is required: POS API key.
	// invalid_config: apikey: is not a pos config field (known: [api_key])
}

// A platform that asks the brand a question synchronously (Tmall's
// bind.query: "is this mobile a member, and bound to this account?") is
// answered from the hub through Host.LookupMember. Here the hub is the
// conformance kit's fake, which knows one number from another channel.
func ExampleHost_LookupMember() {
	ctx := context.Background()
	hub := conformance.NewFakeHost()
	mobile := mapping.Identity{Type: mapping.IDPhone, Value: "+8613800138000"}
	hub.Members = map[mapping.Identity]sdk.MemberLookup{mobile: {Found: true}}
	host := sdk.NewHost(zerolog.Nop(), hub, nil)

	account := mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: "shop-1", Value: "ou-42"}
	got, err := host.LookupMember(ctx, mobile, account)
	switch {
	case err != nil:
		fmt.Println("cannot ask the hub: answer 'retry'")
	case got.Linked:
		fmt.Println("bound: points", got.PointsBalance, "level", got.Level)
	case got.Found:
		fmt.Println("known from another channel or account: ask to bind")
	default:
		fmt.Println("unknown: ask to register")
	}
	// Output:
	// known from another channel or account: ask to bind
}
