package plugin_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/hub/plugin"
	"github.com/channelhub/channelhub/sdk"
)

// pluginDir builds the real wechat plugin into a fresh directory and indexes
// it, as `make plugins` does.
func pluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "wechat"), "github.com/channelhub/channelhub/plugins/wechat")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build plugin: %v\n%s", err, out)
	}
	if _, err := plugin.Index(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil {
		return false
	}
	// A zombie still answers kill(0); check its state.
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

func TestPluginLifecycle(t *testing.T) {
	dir := pluginDir(t)
	cat, err := plugin.LoadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := cat.Lookup("wechat")
	if !ok || e.Spec.Name != "wechat" || len(e.SHA256) != 64 || e.Protocol != sdk.ProtocolVersion {
		t.Fatalf("catalog entry = %+v", e)
	}
	m := plugin.NewManager(cat, zerolog.Nop(), plugin.Options{RestartBackoff: 10 * time.Millisecond})
	defer m.Shutdown()
	inst, err := m.Instance("t1", "c1", "wechat", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	r, err := inst.Remote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := r.Spec(ctx)
	if err != nil || spec.Name != "wechat" {
		t.Fatalf("spec over gRPC = %+v, %v", spec, err)
	}
	// A config error crosses the wire classed and naming the field.
	err = r.Check(ctx, []byte(`{"app_id":"wx1"}`))
	var se *sdk.Error
	if !errors.As(err, &se) || se.Class != sdk.ClassInvalidConfig || !strings.Contains(err.Error(), "app_secret") {
		t.Fatalf("check with missing secret = %v", err)
	}

	t.Run("crash is restarted", func(t *testing.T) {
		pid := inst.Pid()
		if !alive(pid) {
			t.Fatalf("plugin pid %d not alive", pid)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		// The next call finds it dead and starts it again.
		var r2 *sdk.Remote
		for time.Now().Before(deadline) {
			if r2, err = inst.Remote(ctx); err == nil && inst.Pid() != pid {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil || inst.Starts() != 2 {
			t.Fatalf("restart: starts = %d, err = %v", inst.Starts(), err)
		}
		if _, err := r2.Spec(ctx); err != nil {
			t.Fatalf("restarted plugin: %v", err)
		}
	})

	t.Run("crash loop is unavailable", func(t *testing.T) {
		loop := plugin.NewManager(cat, zerolog.Nop(), plugin.Options{RestartBackoff: time.Millisecond, CrashLoop: 3, CrashWindow: time.Minute})
		defer loop.Shutdown()
		li, _ := loop.Instance("t1", "c2", "wechat", nil)
		var err error
		for i := 0; i < 6; i++ {
			if _, err = li.Remote(ctx); err != nil {
				break
			}
			pid := li.Pid()
			_ = syscall.Kill(pid, syscall.SIGKILL)
			for j := 0; j < 200 && alive(pid); j++ {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond) // let go-plugin notice the exit
		}
		if !errors.Is(err, sdk.ErrUnavailable) || !strings.Contains(err.Error(), "crash-looping") {
			t.Fatalf("after repeated crashes: %v, want an unavailable crash-loop error (which the breaker counts)", err)
		}
	})

	t.Run("shutdown leaves no process", func(t *testing.T) {
		pid := inst.Pid()
		m.Shutdown()
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			t.Fatalf("plugin %d still running after shutdown", pid)
		}
	})
}

func TestChecksumMismatchIsRefused(t *testing.T) {
	dir := pluginDir(t)
	cat, _ := plugin.LoadCatalog(dir)
	f, err := os.OpenFile(filepath.Join(dir, "wechat"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()
	m := plugin.NewManager(cat, zerolog.Nop(), plugin.Options{})
	defer m.Shutdown()
	inst, _ := m.Instance("t1", "c1", "wechat", nil)
	_, err = inst.Remote(t.Context())
	var ce *plugin.ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a checksum error", err)
	}
	e, _ := cat.Lookup("wechat")
	actual, _ := plugin.Checksum(filepath.Join(dir, "wechat"))
	if !strings.Contains(err.Error(), e.SHA256) || !strings.Contains(err.Error(), actual) {
		t.Fatalf("error %q does not name expected %s and actual %s", err, e.SHA256, actual)
	}
}

// fakeCatalog writes a catalog whose one entry is the given script.
func fakeCatalog(t *testing.T, script string) *plugin.Catalog {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "fake")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, _ := plugin.Checksum(path)
	return &plugin.Catalog{Dir: dir, Plugins: []plugin.Entry{{Name: "fake", File: "fake", SHA256: sum, Spec: sdk.Spec{Name: "fake"}}}}
}

// A plugin that prints to stdout before sdk.Serve breaks the handshake. That
// is the plugin's fault, the same at every start: a permanent error quoting
// what it printed, never a crash loop (which the breaker would count).
func TestPluginPrintingBeforeServeFailsFast(t *testing.T) {
	t.Parallel()
	// It prints, then would serve: it stays up until killed.
	cat := fakeCatalog(t, "#!/bin/sh\necho hello, I am not a plugin\necho second line\nexec sleep 30\n")
	m := plugin.NewManager(cat, zerolog.Nop(), plugin.Options{StartTimeout: 3 * time.Second, RestartBackoff: time.Millisecond, CrashLoop: 2})
	defer m.Shutdown()
	inst, _ := m.Instance("t1", "c1", "fake", nil)
	for range 4 {
		start := time.Now()
		_, err := inst.Remote(t.Context())
		var he *plugin.HandshakeError
		if !errors.Is(err, sdk.ErrPermanent) || !errors.As(err, &he) || he.Line != "hello, I am not a plugin" ||
			!strings.Contains(err.Error(), `printed to stdout before the handshake: "hello, I am not a plugin"`) {
			t.Fatalf("err = %v, want a permanent handshake error quoting the first line", err)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("took %s", time.Since(start))
		}
	}
}

// A binary that exits before its handshake without printing anything is a
// crash: unavailable, restarted with backoff.
func TestPluginExitingBeforeHandshakeIsUnavailable(t *testing.T) {
	t.Parallel()
	cat := fakeCatalog(t, "#!/bin/sh\nexit 1\n")
	m := plugin.NewManager(cat, zerolog.Nop(), plugin.Options{StartTimeout: 3 * time.Second})
	defer m.Shutdown()
	inst, _ := m.Instance("t1", "c1", "fake", nil)
	_, err := inst.Remote(t.Context())
	if !errors.Is(err, sdk.ErrUnavailable) || !strings.Contains(err.Error(), "start plugin fake") {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

// A plugin gets the proxies, CA certificates and time zone of the hub's
// environment, and nothing else of it.
func TestPluginEnvironmentIsAnAllowlist(t *testing.T) {
	t.Parallel()
	envFile := filepath.Join(t.TempDir(), "env")
	cat := fakeCatalog(t, "#!/bin/sh\nenv > "+envFile+"\n")
	hubEnv := map[string]string{
		"HTTPS_PROXY": "http://proxy.corp:3128", "no_proxy": "localhost,.corp", "SSL_CERT_FILE": "/etc/corp-ca.pem", "TZ": "Asia/Shanghai",
		"HUB_SECRET_KEY": "hub-secret", "WECHAT_SECRET": "wx-secret", "HOME": "/home/hub",
	}
	m := plugin.NewManager(cat, zerolog.Nop(), plugin.Options{StartTimeout: 3 * time.Second, LookupEnv: func(k string) (string, bool) {
		v, ok := hubEnv[k]
		return v, ok
	}})
	defer m.Shutdown()
	inst, _ := m.Instance("t1", "c1", "fake", nil)
	_, _ = inst.Remote(t.Context()) // the script exits: no handshake
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	env := string(b)
	for _, want := range []string{"HTTPS_PROXY=http://proxy.corp:3128\n", "no_proxy=localhost,.corp\n", "SSL_CERT_FILE=/etc/corp-ca.pem\n", "TZ=Asia/Shanghai\n", sdk.Handshake.MagicCookieKey + "="} {
		if !strings.Contains(env, want) {
			t.Errorf("the plugin's environment lacks %q:\n%s", want, env)
		}
	}
	for _, secret := range []string{"hub-secret", "wx-secret", "HOME=/home/hub"} {
		if strings.Contains(env, secret) {
			t.Errorf("the plugin's environment has %q:\n%s", secret, env)
		}
	}
}

// Two binaries reporting one connector name make the index fail, naming both.
func TestIndexRefusesTwoPluginsOfOneName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"crm-v1", "crm-v2"} {
		script := "#!/bin/sh\necho '{\"name\":\"crm\",\"version\":\"1.0.0\",\"protocol\":1}'\n"
		if err := os.WriteFile(filepath.Join(dir, f), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := plugin.Index(t.Context(), dir)
	if err == nil || !strings.Contains(err.Error(), "crm-v1 and crm-v2") || !strings.Contains(err.Error(), `both report the name "crm"`) {
		t.Fatalf("index = %v, want an error naming both files", err)
	}
	if _, err := os.Stat(filepath.Join(dir, plugin.CatalogFile)); err == nil {
		t.Fatal("a catalog was written")
	}
}

func TestHandshakeTimeoutLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	cat := fakeCatalog(t, "#!/bin/sh\necho $$ > "+pidFile+"\nexec sleep 30\n")
	m := plugin.NewManager(cat, zerolog.Nop(), plugin.Options{StartTimeout: 500 * time.Millisecond})
	defer m.Shutdown()
	inst, _ := m.Instance("t1", "c1", "fake", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := inst.Remote(ctx)
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err = %v, want a start timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("start timeout took %s", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatalf("process %d left running after a failed handshake", pid)
	}
}
