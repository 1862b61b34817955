package xiaohongshu_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/connectors/xiaohongshu"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/sandbox"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// patched returns the refresh tokens the connector saved through
// Host.UpdateConfig, in order.
func patched(t *testing.T, h *conformance.FakeHost) []string {
	t.Helper()
	var out []string
	for _, p := range h.Patches {
		var m map[string]string
		if err := json.Unmarshal(p, &m); err != nil {
			t.Fatalf("patch %s: %v", p, err)
		}
		if len(m) != 1 || m["refresh_token"] == "" {
			t.Fatalf("patch %s: want only refresh_token", p)
		}
		out = append(out, m["refresh_token"])
	}
	return out
}

// refreshWorks reports whether the sandbox still takes refresh token rt.
func (e *env) refreshWorks(t *testing.T, rt string) bool {
	t.Helper()
	c, err := ark.New(ark.Config{AppID: e.raw["app_id"].(string), AppSecret: e.raw["app_secret"].(string), BaseURL: e.url, Now: e.platform.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RefreshToken(t.Context(), rt)
	if err != nil && !ark.IsAuthInvalid(err) {
		t.Fatal(err)
	}
	return err == nil
}

// An access token the gateway stops taking is dropped from the shared
// cache, refreshed and the call retried once; the refresh rotates the refresh
// token, which is saved through Host.UpdateConfig before it is used.
func TestExpiredTokenRefreshedAndRotatedTokenSaved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 200, Orders: 100, History: 5 * 24 * time.Hour}, t0)
	c := e.connector(t, nil)
	cp := read(t, c, sdk.ModeFull, nil).last()
	if len(e.host.Patches) != 0 {
		t.Fatalf("a fresh token pair was rotated: %s", e.host.Patches)
	}
	old := e.raw["refresh_token"].(string)

	e.at(t0.Add(time.Hour))
	e.sb.ExpireTokens()
	changed := e.sb.Advance(3)
	e.hub.Add(2 * time.Minute)
	if got := read(t, c, sdk.ModeIncremental, cp).ids(); len(got) != len(changed) {
		t.Fatalf("after the token expired, read %v, want %v", got, changed)
	}
	saved := patched(t, e.host)
	if len(saved) != 1 || saved[0] == old {
		t.Fatalf("saved refresh tokens %v, want one new token", saved)
	}
	if e.refreshWorks(t, old) {
		t.Fatal("the old refresh token still works: nothing was rotated")
	}
	if !e.refreshWorks(t, saved[0]) {
		t.Fatal("the saved refresh token does not work")
	}

	// A connector started on the saved config (as the hub restarts it) reads on.
	e.host = conformance.NewFakeHost()
	e.raw["refresh_token"] = saved[0]
	if err := e.connector(t, nil).Check(t.Context()); err != nil {
		t.Fatalf("check with the saved refresh token: %v", err)
	}
}

// Tokens are renewed ahead of expiry: once the access token is within the
// platform's 30 min refresh window, the cache hands it out no more and the
// refresh rotates the pair.
func TestTokenRenewedAheadOfExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100, Orders: 50, History: 5 * 24 * time.Hour}, t0)
	c := e.connector(t, nil)
	cp := read(t, c, sdk.ModeFull, nil).last()
	refreshes := e.sb.Stats().ByMethod[ark.MethodRefreshToken]

	e.at(t0.Add(ark.AccessTokenTTL - 40*time.Minute)) // 40 min left: not yet due
	cp = read(t, c, sdk.ModeIncremental, cp).last()
	if n := e.sb.Stats().ByMethod[ark.MethodRefreshToken]; n != refreshes || len(e.host.Patches) != 0 {
		t.Fatalf("refreshed %d times with 40 min left", n-refreshes)
	}

	e.at(t0.Add(ark.AccessTokenTTL - 20*time.Minute)) // 20 min left: due
	read(t, c, sdk.ModeIncremental, cp)
	if n := e.sb.Stats().ByMethod[ark.MethodRefreshToken]; n != refreshes+1 {
		t.Fatalf("%d refreshes when the token was due, want 1", n-refreshes)
	}
	if saved := patched(t, e.host); len(saved) != 1 {
		t.Fatalf("saved %v, want the rotated refresh token", saved)
	}
}

// Many calls finding the token expired at once spend the refresh token once:
// refreshes are serialised, so none presents a token another just retired.
func TestConcurrentExpiryRefreshesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 200, Orders: 100}, t0)
	c := e.connector(t, nil)
	ids := e.sb.OrderIDs()[:12]
	if err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Cache a token, then expire it on the platform.
	if _, err := c.HandleWebhook(t.Context(), pushFor(t, e, ids[:1]...)); err != nil {
		t.Fatal(err)
	}
	e.sb.ExpireTokens()
	resp, err := c.HandleWebhook(t.Context(), pushFor(t, e, ids...))
	if err != nil {
		t.Fatalf("push after expiry: %v", err)
	}
	if len(resp.Records) != len(ids) {
		t.Fatalf("%d records for %d pushed orders", len(resp.Records), len(ids))
	}
	if saved := patched(t, e.host); len(saved) != 1 {
		t.Fatalf("saved %d refresh tokens, want 1", len(saved))
	}
}

// failingHost is a FakeHost whose UpdateConfig fails while fail is set.
type failingHost struct {
	*conformance.FakeHost
	mu   sync.Mutex
	fail bool
}

func (h *failingHost) UpdateConfig(ctx context.Context, patch []byte) error {
	h.mu.Lock()
	fail := h.fail
	h.mu.Unlock()
	if fail {
		return errors.New("store is down")
	}
	return h.FakeHost.UpdateConfig(ctx, patch)
}

// A rotated refresh token that cannot be saved fails the call (the hub
// retries), is kept in memory, and is saved on the next refresh.
func TestRotatedTokenSavedLaterWhenSavingFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100, Orders: 50}, t0)
	h := &failingHost{FakeHost: conformance.NewFakeHost(), fail: true}
	cfg, err := xiaohongshu.Spec.ParseConfig(e.raw)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := xiaohongshu.New(t.Context(), cfg, sdk.NewHost(zerolog.Nop(), h, e.hub.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	e.sb.ExpireTokens()
	err = conn.Check(t.Context())
	if !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("check while the store is down: %v, want unavailable", err)
	}
	if strings.Contains(err.Error(), "refresh-") {
		t.Fatalf("the error shows a token: %v", err)
	}
	h.mu.Lock()
	h.fail = false
	h.mu.Unlock()
	if err := conn.Check(t.Context()); err != nil {
		t.Fatalf("check once the store is back: %v", err)
	}
	saved := patched(t, h.FakeHost)
	if len(saved) != 1 || !e.refreshWorks(t, saved[0]) {
		t.Fatalf("saved %v, want the rotated refresh token", saved)
	}
}

// Check passes with good credentials and fails, classed and without echoing
// a secret, with bad ones.
func TestCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100, Orders: 20}, t0)
	if err := e.connector(t, nil).Check(t.Context()); err != nil {
		t.Fatalf("check: %v", err)
	}
	for _, tc := range []struct {
		name     string
		override map[string]any
		want     error
		field    string
	}{
		{"wrong secret", map[string]any{"app_secret": "0123456789abcdef0123456789abcdef"}, sdk.ErrAuth, ""},
		{"wrong app", map[string]any{"app_id": "ffffffffffffffff"}, sdk.ErrAuth, ""},
		{"unknown refresh token", map[string]any{"refresh_token": "refresh-not-issued-by-the-sandbox"}, sdk.ErrAuth, ""},
		{"another shop", map[string]any{"seller_id": "another-shop"}, sdk.ErrInvalidConfig, "seller_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.connector(t, tc.override).Check(t.Context())
			if !errors.Is(err, tc.want) {
				t.Fatalf("check: %v, want %v", err, tc.want)
			}
			if se, _ := errors.AsType[*sdk.Error](err); tc.field != "" && se.Field != tc.field {
				t.Fatalf("check: field %q, want %q", se.Field, tc.field)
			}
			for _, secret := range []string{e.raw["app_secret"].(string), e.raw["refresh_token"].(string), "0123456789abcdef0123456789abcdef", "refresh-not-issued-by-the-sandbox"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error shows a secret: %v", err)
				}
			}
		})
	}

	e.at(t0.Add(ark.RefreshTokenTTL + time.Hour))
	if err := e.connector(t, nil).Check(t.Context()); !errors.Is(err, sdk.ErrAuth) || !strings.Contains(err.Error(), "authorize") {
		t.Fatalf("check with a lapsed refresh token: %v, want an auth error asking for a new authorization", err)
	}
}

// New rejects configs the connector cannot work with, naming the field.
func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	base := map[string]any{"app_id": "a", "app_secret": "s", "seller_id": "x", "refresh_token": "r"}
	for _, tc := range []struct {
		field string
		value any
	}{
		{"backfill_days", 0},
		{"backfill_days", 731},
		{"lag", "-1s"},
		{"push_path", "webhooks/x"},
		{"api_base", "not a url"},
	} {
		raw := map[string]any{tc.field: tc.value}
		for k, v := range base {
			raw[k] = v
		}
		cfg, err := xiaohongshu.Spec.ParseConfig(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = xiaohongshu.New(t.Context(), cfg, nil)
		if se, ok := errors.AsType[*sdk.Error](err); !ok || se.Class != sdk.ClassInvalidConfig || se.Field != tc.field {
			t.Errorf("%s=%v: %v, want an invalid_config error on the field", tc.field, tc.value, err)
		}
	}
	if _, err := xiaohongshu.Spec.ParseConfig(map[string]any{"app_id": "a"}); err == nil {
		t.Error("a config without secret, shop and refresh token parsed")
	}
}

// A token rejected once is refreshed and the call retried; when the fresh
// token is rejected too, the read fails with an auth error (no retry loop).
func TestTokenRejectedRetriedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100, Orders: 60, History: 3 * 24 * time.Hour}, t0)
	c := e.connector(t, map[string]any{"backfill_days": 5})
	want := len(e.sb.OrderIDs())
	for _, m := range []string{ark.MethodGetOrderList, ark.MethodGetOrderDetail} {
		if err := e.sb.Inject(m, sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeAccessTokenInvalid}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(read(t, c, sdk.ModeFull, nil).ids()); got != want {
		t.Fatalf("read %d orders after a rejected token, want %d", got, want)
	}
	for _, m := range []string{ark.MethodGetOrderList, ark.MethodGetOrderDetail} {
		if err := e.sb.Inject(m, sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeAccessTokenInvalid, Times: -1}); err != nil {
			t.Fatal(err)
		}
		err := c.Read(t.Context(), sdk.ReadRequest{Stream: xiaohongshu.StreamOrders, Mode: sdk.ModeFull}, &recorder{})
		if !errors.Is(err, sdk.ErrAuth) {
			t.Fatalf("%s rejecting every token: %v, want auth", m, err)
		}
		e.sb.ClearFaults()
	}
}
