package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/connectors/wechat/sandbox"
	"github.com/channelhub/channelhub/sdk"
)

// Check uses the config a sync would: a stored patch that breaks syncs
// (here one stored before the host refused undeclared keys) fails the check
// too, instead of the check saying ok.
func TestCheckAppliesTheStoredPatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sandbox.Config{Members: 5}, "", "")
	ctx := t.Context()
	if err := h.eng.Check(ctx, "t1", "oa"); err != nil {
		t.Fatalf("check: %v", err)
	}
	if err := h.st.SaveConfigPatch(ctx, "t1", "oa", []byte(`{"refresh_token":"r2"}`)); err != nil {
		t.Fatal(err)
	}
	err := h.eng.Check(ctx, "t1", "oa")
	if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), "refresh_token") {
		t.Fatalf("check with a stored patch of an undeclared key = %v, want invalid_config naming refresh_token", err)
	}
	if _, err := h.run(t, "full"); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("sync with the same patch = %v, want the same invalid_config", err)
	}
}
