package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat/sandbox"
	"github.com/channelhub/channelhub/hub/config"
	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/plugin"
	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/mapping"
)

var (
	buildOnce  sync.Once
	pluginsDir string
	buildErr   error
)

// plugins builds the real wechat, mini-program and SMS plugins once and
// indexes them.
func plugins(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "engine-plugins")
		if err != nil {
			buildErr = err
			return
		}
		for _, name := range []string{"wechat", "miniprogram", "sms", "taobao", "douyin"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), "github.com/channelhub/channelhub/plugins/"+name).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("build plugin %s: %v\n%s", name, err, out)
				return
			}
		}
		_, buildErr = plugin.Index(context.Background(), dir)
		pluginsDir = dir
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return pluginsDir
}

// harness is an engine wired to a wechat sandbox.
type harness struct {
	sb    *sandbox.Server
	eng   *engine.Engine
	st    *sqlite.Store
	mu    sync.Mutex
	slept []time.Duration
}

func (h *harness) sleeps() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.slept)
}

func newHarness(t *testing.T, sbCfg sandbox.Config, jobExtra, connExtra string) *harness {
	t.Helper()
	h := &harness{sb: sandbox.New(sbCfg)}
	srv := httptest.NewServer(h.sb)
	t.Cleanup(srv.Close)
	cfg := h.sb.Config()
	yaml := fmt.Sprintf(`data_dir: %s
plugins_dir: %s
tenants:
  - id: t1
    connections:
      - id: oa
        connector: wechat
        config:
          app_id: %s
          app_secret: %s
          open_platform_id: %s
          api_base: %s
%s
        rate_limits: {"*": 0}
    jobs:
      - id: followers
        connection: oa
        read: [followers]
        write: [tags.add, tags.remove]
        mode: incremental
%s
`, t.TempDir(), plugins(t), cfg.AppID, cfg.AppSecret, sandboxdata.OpenPlatformID, srv.URL, connExtra, jobExtra)
	c, err := config.Parse([]byte(yaml), "hub.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	box, _ := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	h.st, err = sqlite.Open(t.Context(), filepath.Join(c.DataDir, "hub.db"), box, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := plugin.LoadCatalog(c.PluginsDir)
	if err != nil {
		t.Fatal(err)
	}
	pm := plugin.NewManager(cat, zerolog.Nop(), plugin.Options{})
	h.eng = engine.New(c, h.st, pm, zerolog.Nop(), engine.Options{
		Backoff: 10 * time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.slept = append(h.slept, d)
			h.mu.Unlock()
			return ctx.Err()
		},
	})
	t.Cleanup(func() { h.eng.Shutdown(); h.st.Close() })
	return h
}

func (h *harness) run(t *testing.T, mode string) (*engine.Result, error) {
	t.Helper()
	return h.eng.Run(t.Context(), engine.Request{Tenant: "t1", Job: "followers", Mode: mode})
}

func TestFullThenIncrementalRead(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sandbox.Config{Members: 600, PageSize: 100}, "", "")
	res, err := h.run(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	followers := h.sb.Followers()
	if got := res.Records(); got != int64(followers) {
		t.Fatalf("full read %d records, sandbox has %d followers", got, followers)
	}
	stats, _ := h.st.Stats(t.Context(), "t1")
	if stats.Sources != int64(followers) || stats.Members != int64(followers) {
		t.Fatalf("stats = %+v", stats)
	}
	// Every follower's unionid is kept, in the open platform's scope.
	m, err := h.st.FindMember(t.Context(), "t1", mapping.Identity{Type: mapping.IDWechatOpenID, Scope: h.sb.Config().AppID, Value: h.sb.OpenIDs()[0]})
	if err != nil || len(m.Identities) != 2 {
		t.Fatalf("member = %+v, %v", m, err)
	}
	added := h.sb.AddFollowers(7)
	res, err = h.run(t, "incremental")
	if err != nil {
		t.Fatal(err)
	}
	if res.Records() != 7 || res.Streams[0].NewMembers != 7 {
		t.Fatalf("incremental read %+v, want exactly the 7 new followers", res.Streams)
	}
	if _, err := h.st.FindMember(t.Context(), "t1", mapping.Identity{Type: mapping.IDWechatOpenID, Scope: h.sb.Config().AppID, Value: added[6]}); err != nil {
		t.Fatalf("new follower not stored: %v", err)
	}
	// A second full read rewrites nothing.
	res, err = h.run(t, "full")
	if err != nil || res.Streams[0].Written != 0 || res.Streams[0].Unchanged != int64(followers+7) {
		t.Fatalf("second full read = %+v, %v", res.Streams, err)
	}
}

// An unknown mode is the caller's mistake: Run fails before it records a
// run.
func TestUnknownModeRecordsNoRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sandbox.Config{Members: 10}, "", "")
	if _, err := h.run(t, "bogus"); err == nil || !strings.Contains(err.Error(), `mode "bogus": want full or incremental`) {
		t.Fatalf("run with mode bogus: %v", err)
	}
	if runs, err := h.st.Runs(t.Context(), "t1", 10); err != nil || len(runs) != 0 {
		t.Fatalf("runs after a bad mode: %+v, %v", runs, err)
	}
}

func TestPlatformFaultsAreRetriedAsClassed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		fault    sandbox.Fault
		retries  int
		minSleep time.Duration
	}{
		{"5xx", "/cgi-bin/user/info/batchget", sandbox.Fault{Kind: sandbox.FaultHTTP500, Times: 2}, 2, 0},
		{"gateway html", "/cgi-bin/user/get", sandbox.Fault{Kind: sandbox.FaultHTTP502}, 1, 0},
		{"malformed json", "/cgi-bin/user/info/batchget", sandbox.Fault{Kind: sandbox.FaultMalformed, Times: 2}, 2, 0},
		{"timeout", "/cgi-bin/user/info/batchget", sandbox.Fault{Kind: sandbox.FaultDelay, Delay: 2 * time.Second}, 1, 0},
		{"system busy", "/cgi-bin/user/get", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: -1}, 1, 0},
		{"minute quota", "/cgi-bin/user/info/batchget", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 45011}, 1, time.Minute},
		{"token invalid", "/cgi-bin/user/info/batchget", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 40001}, 0, 0},
		{"token expired", "/cgi-bin/user/get", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 42001}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, sandbox.Config{Members: 300, PageSize: 100}, "", "          timeout: 500ms")
			h.sb.Inject(tt.path, tt.fault)
			res, err := h.run(t, "full")
			if err != nil {
				t.Fatalf("run failed: %v", err)
			}
			if res.Records() != int64(h.sb.Followers()) {
				t.Fatalf("read %d of %d followers", res.Records(), h.sb.Followers())
			}
			if got := res.Streams[0].Retries; got != tt.retries {
				t.Fatalf("retries = %d, want %d", got, tt.retries)
			}
			if tt.minSleep > 0 && (len(h.sleeps()) == 0 || slices.Max(h.sleeps()) < tt.minSleep) {
				t.Fatalf("waited %v, want at least %s for throttling", h.sleeps(), tt.minSleep)
			}
		})
	}
}

func TestExpiredTokensAreRefreshed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sandbox.Config{Members: 200}, "", "")
	if _, err := h.run(t, "full"); err != nil {
		t.Fatal(err)
	}
	h.sb.ExpireTokens()
	h.sb.AddFollowers(3)
	res, err := h.run(t, "incremental")
	if err != nil || res.Records() != 3 || res.Streams[0].Retries != 0 {
		t.Fatalf("after token expiry: %+v, %v", res, err)
	}
}

func TestBreakerOpensAndRecoversThroughHalfOpen(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sandbox.Config{Members: 200}, "        breaker: {failures: 3, open_for: 300ms}", "")
	h.sb.Inject(sandbox.AnyPath, sandbox.Fault{Kind: sandbox.FaultHTTP502, Times: -1})
	_, err := h.run(t, "full")
	var deferred *engine.DeferredError
	if !errors.As(err, &deferred) {
		t.Fatalf("err = %v, want the run deferred by the breaker", err)
	}
	runs, _ := h.st.Runs(t.Context(), "t1", 1)
	if len(runs) != 1 || runs[0].Status != "deferred" || runs[0].Error == "" {
		t.Fatalf("run = %+v, want a visible deferral", runs)
	}
	// Still open: deferred at once, without calling the platform.
	before := h.sb.Requests("/cgi-bin/user/get")
	if _, err := h.run(t, "full"); !errors.As(err, &deferred) || h.sb.Requests("/cgi-bin/user/get") != before {
		t.Fatalf("open breaker let a call through: %v", err)
	}
	h.sb.ClearFaults()
	time.Sleep(350 * time.Millisecond) // gobreaker's own clock: half-open after open_for
	res, err := h.run(t, "full")
	if err != nil || res.Records() != int64(h.sb.Followers()) {
		t.Fatalf("after recovery: %+v, %v", res, err)
	}
	if got := h.eng.Breakers().State("t1/oa/read"); got != "closed" {
		t.Fatalf("breaker = %s after a good half-open trial", got)
	}
}

func TestAuthErrorsFailWithoutRetryOrBreaker(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sandbox.Config{Members: 50}, "        breaker: {failures: 1}", "")
	h.sb.Inject("/cgi-bin/stable_token", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 40125, Times: -1})
	res, err := h.run(t, "full")
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("40125")) {
		t.Fatalf("err = %v, want the platform's 40125", err)
	}
	if res.Streams[0].Retries != 0 || h.eng.Breakers().State("t1/oa/read") != "closed" {
		t.Fatalf("auth error retried (%d) or opened the breaker", res.Streams[0].Retries)
	}
}

func TestHubTagIsWrittenBackOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sandbox.Config{Members: 120}, "", "")
	if _, err := h.run(t, "full"); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	openid := h.sb.OpenIDs()[5]
	m, err := h.st.FindMember(ctx, "t1", mapping.Identity{Type: mapping.IDWechatOpenID, Scope: h.sb.Config().AppID, Value: openid})
	if err != nil {
		t.Fatal(err)
	}
	writers := func(string) []string { return []string{"tags.add", "tags.remove"} }
	if n, err := h.st.ChangeTags(ctx, "t1", m.MemberID, []string{"hub-vip"}, nil, writers); err != nil || n != 1 {
		t.Fatalf("queued %d, %v", n, err)
	}
	res, err := h.run(t, "incremental")
	if err != nil || res.Writes.Delivered != 1 {
		t.Fatalf("write-back = %+v, %v", res.Writes, err)
	}
	id, ok := h.sb.TagByName("hub-vip")
	if !ok || !slices.Contains(h.sb.TagIDsOf(openid), id) {
		t.Fatalf("tag not on the follower in the sandbox (tags %v)", h.sb.TagIDsOf(openid))
	}
	calls := h.sb.Requests("/cgi-bin/tags/members/batchtagging")
	res, err = h.run(t, "incremental")
	if err != nil || res.Writes.Delivered != 0 || h.sb.Requests("/cgi-bin/tags/members/batchtagging") != calls {
		t.Fatalf("delivered twice: %+v, %v", res.Writes, err)
	}
	// The next full read sees the tag as the platform's: no echo queued.
	if _, err := h.run(t, "full"); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.st.ChangeTags(ctx, "t1", m.MemberID, []string{"hub-vip"}, nil, writers); n != 0 {
		t.Fatalf("re-adding a tag the platform has queued %d actions", n)
	}
}

func TestFailedFullRunNeverResumesFromTheOldEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sandbox.Config{Members: 300, PageSize: 100}, "        breaker: {failures: 100}", "")
	if _, err := h.run(t, "full"); err != nil {
		t.Fatal(err)
	}
	// A new full run fails before committing anything (auth errors are not
	// retried): the completed run's end checkpoint must be gone, or the next
	// run would resume from there and skip everyone.
	h.sb.Inject("/cgi-bin/tags/get", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 40013})
	if _, err := h.run(t, "full"); err == nil {
		t.Fatal("the faulted run succeeded")
	}
	st, err := h.st.StreamState(t.Context(), "t1", "followers", "followers")
	if err != nil || st.Checkpoint != nil {
		t.Fatalf("checkpoint after a failed fresh full run = %q, %v; want none", st.Checkpoint, err)
	}
	res, err := h.run(t, "incremental")
	if err != nil || res.Records() != int64(h.sb.Followers()) {
		t.Fatalf("next run read %v records, want all %d: %v", res.Records(), h.sb.Followers(), err)
	}
}
