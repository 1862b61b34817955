package conformance_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// fake is an in-memory connector; broken selects a deliberate bug.
type fake struct {
	mu     *sync.Mutex
	n      *int
	broken string
	host   *sdk.Host
}

func (f *fake) Check(ctx context.Context) error {
	if f.broken == "undeclared-patch" {
		// Persists a key its spec does not declare.
		return f.host.UpdateConfig(ctx, []byte(`{"refresh_token":"r2"}`))
	}
	return f.host.UpdateConfig(ctx, []byte(`{"api_token":"t"}`))
}
func (f *fake) Close(context.Context) error { return nil }

func (f *fake) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	f.mu.Lock()
	n := *f.n
	f.mu.Unlock()
	start := 0
	if len(req.Checkpoint) == 8 {
		start = int(binary.BigEndian.Uint64(req.Checkpoint))
		if f.broken == "lossy-resume" {
			start++
		}
	}
	for i := start; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := sdk.Record{ID: fmt.Sprint("r", i), Member: &mapping.Member{Identities: []mapping.Identity{{Type: mapping.IDMemberCard, Scope: "b", Value: fmt.Sprint(i)}}}}
		if err := out.Emit(ctx, rec); err != nil {
			return err
		}
		if f.broken == "duplicate" && i == 3 {
			if err := out.Emit(ctx, rec); err != nil {
				return err
			}
		}
		if (i+1)%10 == 0 || i+1 == n {
			var cp [8]byte
			binary.BigEndian.PutUint64(cp[:], uint64(i+1))
			if err := out.Checkpoint(ctx, cp[:]); err != nil {
				return err
			}
		}
	}
	return nil
}

func harness(broken string) conformance.Harness {
	mu, n := &sync.Mutex{}, new(int)
	*n = 55
	spec := sdk.Spec{Name: "fake", Version: "1", Streams: []sdk.StreamSpec{{Name: "members", Kind: sdk.KindMembers, Cursor: "offset", Incremental: true}},
		Config: []sdk.Field{{Name: "api_token", Type: sdk.TypeString, Secret: true}}}
	return conformance.Harness{
		Plugin: sdk.Plugin{Spec: spec, New: func(_ context.Context, _ sdk.Config, host *sdk.Host) (sdk.Connector, error) {
			return &fake{mu: mu, n: n, broken: broken, host: host}, nil
		}},
		Config: map[string]any{"api_token": "t"},
		Mutate: func(*testing.T, string) []string {
			mu.Lock()
			defer mu.Unlock()
			*n += 3
			return []string{fmt.Sprint("r", *n-3), fmt.Sprint("r", *n-2), fmt.Sprint("r", *n-1)}
		},
	}
}

func TestKitPassesAGoodConnector(t *testing.T) {
	conformance.Run(t, harness(""))
}

// TestBrokenHelper runs the kit on a broken connector; it is meant to fail
// and runs only as a child of TestKitCatchesBrokenConnectors.
func TestBrokenHelper(t *testing.T) {
	broken := os.Getenv("CONFORMANCE_BROKEN")
	if broken == "" {
		t.Skip("runs only as a child of TestKitCatchesBrokenConnectors")
	}
	conformance.Run(t, harness(broken))
}

func TestKitCatchesBrokenConnectors(t *testing.T) {
	for broken, want := range map[string]string{
		"duplicate":    "returned twice",
		"lossy-resume": "lost record",
		// The hub refuses the patch; the kit's host must too.
		"undeclared-patch": "refresh_token: config patch refused",
	} {
		t.Run(broken, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestBrokenHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "CONFORMANCE_BROKEN="+broken)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the kit passed a connector with a %s bug:\n%s", broken, out)
			}
			if !strings.Contains(string(out), want) {
				t.Fatalf("the kit failed, but not with %q:\n%s", want, out)
			}
		})
	}
}
