package douyin_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/sdk"
)

func patchedRefresh(t *testing.T, patch []byte) string {
	t.Helper()
	var p map[string]string
	if err := json.Unmarshal(patch, &p); err != nil || len(p) != 1 || p["refresh_token"] == "" {
		t.Fatalf("config patch %s: want only a refresh_token", patch)
	}
	return p["refresh_token"]
}

func TestRefreshTokenRotationIsSaved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 30, Members: 100})
	_, first := e.sb.IssueToken()
	c := e.connector(t, map[string]any{"refresh_token": first})

	// No cached token: the connector refreshes, which rotates the refresh
	// token; the new one is saved before it is used.
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(e.host.Patches) != 1 {
		t.Fatalf("%d config patches after the first refresh, want 1", len(e.host.Patches))
	}
	second := patchedRefresh(t, e.host.Patches[0])
	if second == first {
		t.Fatal("the saved refresh token is the old one")
	}

	// The platform expires the access token: the connector drops it,
	// refreshes with the rotated token (the old one is dead), saves the next,
	// and retries the call once.
	e.sb.ExpireTokens()
	r := read(t, c, sdk.ModeFull, nil)
	if len(r.records()) != 30 {
		t.Fatalf("read %d orders, want 30", len(r.records()))
	}
	if len(e.host.Patches) != 2 {
		t.Fatalf("%d config patches after the second refresh, want 2", len(e.host.Patches))
	}
	third := patchedRefresh(t, e.host.Patches[1])
	if third == second || third == first {
		t.Fatal("the second refresh did not save a new refresh token")
	}

	// The saved token is the live one; the earlier ones no longer work.
	dd, err := doudian.New(doudian.Config{AppKey: e.sb.Config().AppKey, AppSecret: e.sb.Config().AppSecret, BaseURL: e.srv.URL, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dd.RefreshToken(t.Context(), second); !doudian.IsAuthInvalid(err) {
		t.Fatalf("refreshing with a rotated-out token: %v, want an auth error", err)
	}
	if _, err := dd.RefreshToken(t.Context(), third); err != nil {
		t.Fatalf("refreshing with the saved token: %v", err)
	}
}

func TestSelfUseAppCreatesTokensAndSavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 50})
	c := e.connector(t, nil)
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sb.ExpireTokens()
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(e.host.Patches) != 0 {
		t.Fatalf("a self-use app saved %d config patches", len(e.host.Patches))
	}
}

func TestDeadRefreshTokenIsAnAuthError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 50})
	c := e.connector(t, map[string]any{"refresh_token": "refresh-revoked-by-the-merchant"})
	err := c.Check(t.Context())
	if !errors.Is(err, sdk.ErrAuth) || !strings.Contains(err.Error(), "authorize") {
		t.Fatalf("error %v, want an auth error asking to authorize again", err)
	}
	if strings.Contains(err.Error(), "refresh-revoked-by-the-merchant") {
		t.Fatal("the error shows the refresh token")
	}
}

type failingSave struct {
	sdk.HostService
	mu sync.Mutex
	n  int
}

func (f *failingSave) UpdateConfig(context.Context, []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return errors.New("store is down")
}

func TestUnsavedRotationFailsTheCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 50})
	_, rt := e.sb.IssueToken()
	fs := &failingSave{HostService: e.host}
	e.hostService = fs
	c := e.connector(t, map[string]any{"refresh_token": rt})
	if err := c.Check(t.Context()); !errors.Is(err, sdk.ErrUnavailable) || fs.n != 1 {
		t.Fatalf("check with an unsaved rotation: %v (%d saves), want unavailable", err, fs.n)
	}
	// The process kept the rotated token, so the next attempt refreshes with
	// it (and tries to save again).
	if err := c.Check(t.Context()); !errors.Is(err, sdk.ErrUnavailable) || fs.n != 2 {
		t.Fatalf("second check: %v (%d saves)", err, fs.n)
	}
}
