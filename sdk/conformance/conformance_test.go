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

// sandbox is the toy platform: n records r0…r(n-1), and the write keys
// applied on it with how many times each was.
type sandbox struct {
	mu      sync.Mutex
	n       int
	applied map[string]int
}

func (s *sandbox) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// fake is an in-memory connector; broken selects a deliberate bug.
type fake struct {
	sb     *sandbox
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
	n := f.sb.size()
	if f.broken == "stops-early" {
		n -= 5
	}
	start := 0
	if len(req.Checkpoint) == 8 && f.broken != "restarts-on-resume" {
		start = int(binary.BigEndian.Uint64(req.Checkpoint))
		switch {
		case f.broken == "lossy-resume":
			start++
		case f.broken == "repeats-boundary" && req.Mode == sdk.ModeFull:
			// An inclusive bound: the last record of the window again.
			start--
		}
	}
	for i := start; i < n; i++ {
		if err := ctx.Err(); err != nil && f.broken != "ignores-cancel" {
			return err
		}
		rec := sdk.Record{ID: fmt.Sprint("r", i), Member: &mapping.Member{Identities: []mapping.Identity{{Type: mapping.IDMemberCard, Scope: "b", Value: fmt.Sprint(i)}}}}
		if i == 7 {
			switch f.broken {
			case "unknown-identity":
				rec.Member.Identities = append(rec.Member.Identities, mapping.Identity{Type: "loyalty_id", Value: "L7"})
			case "unscoped-identity":
				rec.Member.Identities[0].Scope = ""
			}
		}
		err := out.Emit(ctx, rec)
		if err != nil && f.broken != "ignores-cancel" {
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
			if err := out.Checkpoint(ctx, cp[:]); err != nil && f.broken != "ignores-cancel" {
				return err
			}
		}
	}
	return nil
}

// writer is the fake with write-back.
type writer struct{ *fake }

func (w writer) Write(_ context.Context, actions []sdk.Action) []sdk.ActionResult {
	w.sb.mu.Lock()
	defer w.sb.mu.Unlock()
	out := make([]sdk.ActionResult, len(actions))
	for i, a := range actions {
		out[i] = sdk.ActionResult{Key: a.Key, Status: sdk.StatusApplied}
		if w.sb.applied[a.Key] > 0 && w.broken != "applies-twice" {
			out[i].Status = sdk.StatusDuplicate
			continue
		}
		w.sb.applied[a.Key]++
	}
	return out
}

func harness(broken string) conformance.Harness {
	sb := &sandbox{n: 55, applied: map[string]int{}}
	spec := sdk.Spec{Name: "fake", Version: "1", Streams: []sdk.StreamSpec{{Name: "members", Kind: sdk.KindMembers, Cursor: "offset", Incremental: true}},
		Actions: []sdk.ActionSpec{{Name: "tags.add"}},
		Config:  []sdk.Field{{Name: "api_token", Type: sdk.TypeString, Secret: true}}}
	h := conformance.Harness{
		Plugin: sdk.Plugin{Spec: spec, New: func(_ context.Context, _ sdk.Config, host *sdk.Host) (sdk.Connector, error) {
			f := &fake{sb: sb, broken: broken, host: host}
			if broken == "no-writer" {
				return f, nil
			}
			return writer{f}, nil
		}},
		Config: map[string]any{"api_token": "t"},
		Seeded: map[string]int{"members": 55},
		Mutate: func(*testing.T, string) []string {
			sb.mu.Lock()
			defer sb.mu.Unlock()
			sb.n += 3
			return []string{fmt.Sprint("r", sb.n-3), fmt.Sprint("r", sb.n-2), fmt.Sprint("r", sb.n-1)}
		},
		WriteAction: &sdk.Action{Key: "k1", Type: "tags.add", Params: map[string]string{"tag": "vip"},
			Target: []mapping.Identity{{Type: mapping.IDMemberCard, Scope: "b", Value: "1"}}},
		VerifyWrite: func(t *testing.T) {
			sb.mu.Lock()
			defer sb.mu.Unlock()
			if n := sb.applied["k1"]; n != 1 {
				t.Fatalf("k1 applied %d times", n)
			}
		},
	}
	switch broken {
	case "stops-early", "unseeded":
		// Without Mutate only Seeded can tell a read that stops early.
		h.Mutate = nil
		if broken == "unseeded" {
			h.Seeded = nil
		}
	case "applies-twice":
		h.VerifyWrite = nil
	}
	return h
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

// runKit runs the kit on the connector with a deliberate bug in a child
// process, and returns whether it passed and what it printed.
func runKit(t *testing.T, broken string) (bool, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBrokenHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "CONFORMANCE_BROKEN="+broken)
	out, err := cmd.CombinedOutput()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatal(err)
	}
	return err == nil, string(out)
}

func TestKitCatchesBrokenConnectors(t *testing.T) {
	t.Parallel()
	for broken, want := range map[string]string{
		"duplicate":          "returned twice by one full read",
		"lossy-resume":       "lost record",
		"restarts-on-resume": "do not start over",
		"stops-early":        "returned 50 distinct records, want 55",
		// The hub refuses the patch; the kit's host must too.
		"undeclared-patch":  "refresh_token: config patch refused",
		"unknown-identity":  `record r7: identity loyalty_id (scope "") is malformed`,
		"unscoped-identity": `record r7: identity member_card (scope "") is malformed`,
		"ignores-cancel":    "Read returned nil after its ctx was cancelled",
		"no-writer":         "does not implement sdk.Writer",
	} {
		t.Run(broken, func(t *testing.T) {
			t.Parallel()
			passed, out := runKit(t, broken)
			if passed {
				t.Fatalf("the kit passed a connector with a %s bug:\n%s", broken, out)
			}
			if !strings.Contains(out, want) {
				t.Fatalf("the kit failed, but not with %q:\n%s", want, out)
			}
		})
	}
}

// What the harness leaves unchecked passes, and the log says so.
func TestKitSaysWhatItDidNotCheck(t *testing.T) {
	t.Parallel()
	for variant, want := range map[string]string{
		// An inclusive time bound repeats the window's last record on
		// resume: harmless, the hub upserts by ID.
		"repeats-boundary": "",
		"unseeded":         `completeness not checked: set Harness.Seeded["members"]`,
		"applies-twice":    "write idempotency not verified: set Harness.VerifyWrite",
	} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			passed, out := runKit(t, variant)
			if !passed {
				t.Fatalf("the kit failed:\n%s", out)
			}
			if !strings.Contains(out, want) {
				t.Fatalf("the kit's log lacks %q:\n%s", want, out)
			}
		})
	}
}
