package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store/sqlite"
)

// binDir holds the hub and plugin binaries built once for these tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hub-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := func(out, pkg string) {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, out), pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, b)
			os.Exit(1)
		}
	}
	build("hub", "github.com/channelhub/channelhub/cmd/hub")
	for _, p := range []string{"wechat", "synthetic", "file", "miniprogram", "sms", "taobao", "douyin"} {
		build(filepath.Join("plugins", p), "github.com/channelhub/channelhub/plugins/"+p)
	}
	if err := exec.Command(filepath.Join(dir, "hub"), "plugins", "index", filepath.Join(dir, "plugins")).Run(); err != nil {
		fmt.Fprintln(os.Stderr, "index plugins:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syntheticConfig writes a config syncing n synthetic members into dir.
func syntheticConfig(t *testing.T, dir string, n int) string {
	t.Helper()
	return writeConfig(t, dir, fmt.Sprintf(`tenants:
  - id: t1
    phone_salt: fixed-for-comparison
    connections:
      - id: syn
        connector: synthetic
        config: {records: %d}
    jobs:
      - id: members
        connection: syn
        read: [members]
        mode: full
`, n))
}

// writeConfig writes dir/hub.yaml with the store in dir/data, the plugins
// built for these tests, and the given tenants section; it returns its path.
func writeConfig(t *testing.T, dir, tenants string) string {
	t.Helper()
	cfg := fmt.Sprintf("data_dir: %s\nplugins_dir: %s\n", filepath.Join(dir, "data"), filepath.Join(binDir, "plugins")) + tenants
	path := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func hubCmd(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, filepath.Join(binDir, "hub"), args...)
}

func export(t *testing.T, cfg string) []byte {
	t.Helper()
	out, err := hubCmd(t.Context(), "--config", cfg, "members", "export").Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return out
}

// pluginProcesses counts running processes started from this test's plugins.
func pluginProcesses(t *testing.T) int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", filepath.Join(binDir, "plugins")).Output()
	return len(strings.Fields(string(out)))
}

func TestKilledSyncResumesToTheSameStore(t *testing.T) {
	const n = 60000
	ref := syntheticConfig(t, t.TempDir(), n)
	if out, err := hubCmd(t.Context(), "--config", ref, "sync", "members").CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted sync: %v\n%s", err, out)
	}
	want := export(t, ref)
	if got := bytes.Count(want, []byte("\n")); got < n*9/10 {
		t.Fatalf("reference export has %d members for %d records", got, n)
	}

	dir := t.TempDir()
	cfg := syntheticConfig(t, dir, n)
	cmd := hubCmd(t.Context(), "--config", cfg, "--log-level", "warn", "sync", "members")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the hub once part of the stream is committed.
	// A read-only connection cannot read a live WAL database; this one only reads.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "data", "hub.db")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	var committed int64
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "data", "hub.db")); err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		_ = db.QueryRow(`SELECT COALESCE(SUM(records), 0) FROM stream_state`).Scan(&committed)
		if committed >= n/6 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if committed == 0 || committed >= n {
		t.Fatalf("could not catch the sync mid-way (committed %d of %d)", committed, n)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The plugin notices its hub is gone and exits: no orphan.
	for i := 0; i < 100 && pluginProcesses(t) > 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if n := pluginProcesses(t); n > 0 {
		t.Fatalf("%d plugin processes outlived the killed hub", n)
	}
	out, err := hubCmd(t.Context(), "--config", cfg, "sync", "members").CombinedOutput()
	if err != nil {
		t.Fatalf("resumed sync: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "records read") {
		t.Fatalf("resumed sync output: %s", out)
	}
	// The killed run is marked interrupted when the next one starts.
	var statuses []string
	rows, err := db.Query(`SELECT status FROM runs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, st)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(statuses, ",") != "interrupted,ok" {
		t.Errorf("runs after kill + resume: %v, want [interrupted ok]", statuses)
	}
	got := export(t, cfg)
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := range min(len(gl), len(wl)) {
			if !bytes.Equal(gl[i], wl[i]) {
				t.Errorf("first difference, member %d:\n got  %s\n want %s", i, gl[i], wl[i])
				break
			}
		}
		t.Fatalf("store after kill + resume differs from an uninterrupted run (%d vs %d bytes)", len(got), len(want))
	}
}

func TestBadInputFailsClearlyAndWritesNothing(t *testing.T) {
	t.Parallel()
	plugins := filepath.Join(binDir, "plugins")
	base := func(extra string) string {
		return "data_dir: DATA\nplugins_dir: " + plugins + "\ntenants:\n  - id: t1\n" + extra
	}
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"malformed yaml", "data_dir: [unclosed\n", []string{"hub.yaml:"}},
		{"unknown connector", base("    connections:\n      - id: c1\n        connector: wechatt\n        config: {}\n    jobs:\n      - id: j1\n        connection: c1\n        read: [followers]\n"),
			[]string{"hub.yaml:", "wechatt", "wechat"}},
		{"missing credential", base("    connections:\n      - id: c1\n        connector: wechat\n        config: {app_id: wx1, open_platform_id: o}\n    jobs:\n      - id: j1\n        connection: c1\n        read: [followers]\n"),
			[]string{"hub.yaml:", "app_secret"}},
		{"bad cron", base("    connections:\n      - id: c1\n        connector: synthetic\n        config: {}\n    jobs:\n      - id: j1\n        connection: c1\n        read: [members]\n        schedule: \"*/15 * * *\"\n"),
			[]string{"hub.yaml:", "schedule", "*/15 * * *"}},
		{"unknown stream", base("    connections:\n      - id: c1\n        connector: synthetic\n        config: {}\n    jobs:\n      - id: j1\n        connection: c1\n        read: [members, fans]\n"),
			[]string{"hub.yaml:12:", "jobs[0].read", `no stream "fans"`, "streams: members"}},
		{"unknown action", base("    connections:\n      - id: c1\n        connector: wechat\n        config: {app_id: wx1, app_secret: s, open_platform_id: o}\n    jobs:\n      - id: j1\n        connection: c1\n        write: [tags.add, sms.send]\n"),
			[]string{"hub.yaml:12:", "jobs[0].write", `no write action "sms.send"`, "tags.add"}},
	}
	// Every command that reads the config checks all of it first.
	commands := [][]string{{"sync", "j1"}, {"jobs", "status"}, {"members", "export", "--tenant", "t1"}, {"connections", "list"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			path := filepath.Join(dir, "hub.yaml")
			if err := os.WriteFile(path, []byte(strings.ReplaceAll(tt.yaml, "DATA", data)), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range commands {
				var stdout, stderr bytes.Buffer
				err := run(t.Context(), append([]string{"--config", path}, args...), &stdout, &stderr)
				if err == nil {
					t.Fatalf("%v with a bad config succeeded", args)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%v: error %q does not mention %q", args, err, w)
					}
				}
				if _, statErr := os.Stat(data); !os.IsNotExist(statErr) {
					t.Errorf("%v: a failed config wrote %s", args, data)
				}
			}
		})
	}
}

// A config's relative paths are its directory's, whatever directory the hub
// runs in: the store's, and those in a connection's config (plugins run in
// the config's directory).
func TestRelativePathsAreTheConfigsDirectory(t *testing.T) {
	t.Parallel()
	dir, elsewhere := t.TempDir(), t.TempDir()
	cfg := `data_dir: data
plugins_dir: ` + filepath.Join(binDir, "plugins") + `
tenants:
  - id: t1
    connections:
      - id: pos
        connector: file
        config: {path: exports/members.jsonl, format: jsonl, stream: members}
    jobs:
      - {id: pos-members, connection: pos, read: [members]}
`
	rows := `{"id": "S1", "identities": [{"type": "member_card", "scope": "brand", "value": "C1"}], "name": "A", "updated_at": "2026-01-01T00:00:00+08:00"}
{"id": "S2", "identities": [{"type": "member_card", "scope": "brand", "value": "C2"}], "name": "B", "updated_at": "2026-01-01T00:00:00+08:00"}
`
	if err := os.MkdirAll(filepath.Join(dir, "exports"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"hub.yaml": cfg, "exports/members.jsonl": rows} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := hubCmd(t.Context(), "--config", filepath.Join(dir, "hub.yaml"), "sync", "pos-members")
	cmd.Dir = elsewhere
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "members: 2 records read") {
		t.Errorf("sync from another directory did not read the config's file:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "hub.db")); err != nil {
		t.Errorf("store not beside the config: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("the hub wrote into its working directory: %v", entries)
	}
}

// A value a plugin stored that its connector refuses breaks every run;
// `connections check` names it and `connections reset` forgets it.
func TestConnectionsResetForgetsStoredValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := syntheticConfig(t, dir, 10)
	hub := hubWith(t, cfg)
	hub("sync", "members")
	// What an older hub let a plugin store: a field the connector lacks.
	key, err := secret.LoadOrCreateKey(filepath.Join(dir, "data", "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "data", "hub.db"), box, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.SaveConfigPatch(t.Context(), "t1", "syn", []byte(`{"refresh_token": "rt-SECRET-9"}`))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := hubCmd(t.Context(), "--config", cfg, "connections", "check").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refresh_token") || strings.Contains(string(out), "rt-SECRET-9") {
		t.Fatalf("check with a bad stored value: %v\n%s", err, out)
	}
	if out := hub("connections", "reset", "syn"); !strings.Contains(out, "t1/syn: forgot the stored refresh_token; it runs on the config file's values again") {
		t.Fatalf("reset: %s", out)
	}
	if out := hub("connections", "check"); !strings.Contains(out, "ok   t1/syn") {
		t.Fatalf("check after reset: %s", out)
	}
	if out := hub("connections", "reset", "syn"); !strings.Contains(out, "nothing stored") {
		t.Fatalf("second reset: %s", out)
	}
	if out, err := hubCmd(t.Context(), "--config", cfg, "connections", "reset", "nosuch").CombinedOutput(); err == nil || !strings.Contains(string(out), `no connection "nosuch"`) {
		t.Fatalf("reset of an unknown connection: %v\n%s", err, out)
	}
}

// A job runs once at a time across hub processes: a sync started while
// another process runs the job is deferred, naming that process.
func TestJobRunsOnceAcrossProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := syntheticConfig(t, dir, 300000)
	first := hubCmd(t.Context(), "--config", cfg, "--log-level", "warn", "sync", "members")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Process.Kill(); _ = first.Wait() }()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "data", "hub.db")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var running int
	for deadline := time.Now().Add(60 * time.Second); running == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "data", "hub.db")); err == nil {
			_ = db.QueryRow(`SELECT COUNT(*) FROM runs WHERE status = 'running'`).Scan(&running)
		}
	}
	if running == 0 {
		t.Fatal("the first sync never started its run")
	}
	out, err := hubCmd(t.Context(), "--config", cfg, "sync", "members").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another hub process is running this job") {
		t.Fatalf("second sync beside a running one: %v\n%s", err, out)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM runs`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d runs recorded (%v), want the first only", n, err)
	}
}
