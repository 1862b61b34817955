package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSandboxConfigDrivesTheCLI runs `hub sandbox --write-config` as its own
// process and drives the written config through sync, members and tags.
func TestSandboxConfigDrivesTheCLI(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "hub.yaml")
	sb := hubCmd(t.Context(), "sandbox", "--platforms", "wechat", "--members", "400", "--write-config", cfgPath)
	stdout, err := sb.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Process.Kill(); _ = sb.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Sandboxes map[string]struct {
			URL         string            `json:"url"`
			Credentials map[string]string `json:"credentials"`
		} `json:"sandboxes"`
	}
	if err := json.Unmarshal([]byte(line), &info); err != nil || !strings.HasPrefix(info.Sandboxes["wechat"].URL, "http://127.0.0.1:") || info.Sandboxes["wechat"].Credentials["app_id"] == "" {
		t.Fatalf("sandbox line %q: %v", line, err)
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(cfgPath); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Point the written config at this test's data dir and plugins.
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("data_dir: .hub-sandbox/data"), []byte("data_dir: "+filepath.Join(dir, "data")), 1)
	b = bytes.Replace(b, []byte("plugins_dir: bin/plugins"), []byte("plugins_dir: "+filepath.Join(binDir, "plugins")), 1)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	hub := func(args ...string) string {
		t.Helper()
		out, err := hubCmd(t.Context(), append([]string{"--config", cfgPath, "--log-level", "warn"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("hub %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := hub("sync", "wechat-followers", "--mode", "full")
	if !strings.Contains(out, "records read") {
		t.Fatalf("sync output: %s", out)
	}
	export := hub("members", "export")
	first := strings.SplitN(export, "\n", 2)[0]
	var m struct {
		MemberID   string `json:"member_id"`
		Identities []struct{ Type, Scope, Value string }
	}
	if err := json.Unmarshal([]byte(first), &m); err != nil || m.MemberID == "" {
		t.Fatalf("export line %q: %v", first, err)
	}
	var openid string
	for _, id := range m.Identities {
		if id.Type == "wechat_openid" {
			openid = id.Type + ":" + id.Scope + ":" + id.Value
		}
	}
	got := hub("members", "get", "--identity", openid, "--json")
	if !strings.Contains(got, m.MemberID) {
		t.Fatalf("members get by %s = %s", openid, got)
	}
	if out := hub("members", "tag", "--id", m.MemberID, "--add", "cli-vip"); !strings.Contains(out, "1 write-back actions queued") {
		t.Fatalf("tag: %s", out)
	}
	if out := hub("sync", "wechat-followers"); !strings.Contains(out, "write-back: 1 delivered") {
		t.Fatalf("delivery: %s", out)
	}
	if got := hub("members", "get", "--id", m.MemberID); !strings.Contains(got, "cli-vip") {
		t.Fatalf("member after delivery: %s", got)
	}
	if out := hub("jobs", "status"); !strings.Contains(out, "wechat-followers") || !strings.Contains(out, "done") {
		t.Fatalf("jobs status: %s", out)
	}
	if out := hub("connections", "check"); !strings.Contains(out, "ok   demo/wechat-oa") {
		t.Fatalf("connections check: %s", out)
	}

	// One ID from the CLI: the offline-store export links store members to
	// their WeChat followers.
	if out := hub("sync", "pos-members"); !strings.Contains(out, "1 dead-lettered") {
		t.Fatalf("file import: %s", out)
	}
	var linked struct {
		MemberID   string                                `json:"member_id"`
		Identities []struct{ Type, Scope, Value string } `json:"identities"`
		Sources    []struct{ Connection string }         `json:"sources"`
	}
	for _, line := range strings.Split(strings.TrimSpace(hub("members", "export")), "\n") {
		if err := json.Unmarshal([]byte(line), &linked); err != nil {
			t.Fatal(err)
		}
		conns := map[string]bool{}
		for _, s := range linked.Sources {
			conns[s.Connection] = true
		}
		if conns["wechat-oa"] && conns["pos-members"] {
			break
		}
		linked.MemberID = ""
	}
	if linked.MemberID == "" {
		t.Fatal("no store member was linked to a WeChat follower")
	}
	explain := hub("identity", "explain", linked.MemberID)
	for _, want := range []string{"member " + linked.MemberID, "wechat_unionid:", "on pos-members/members/POS", "on wechat-oa/followers/", "journal:", "link"} {
		if !strings.Contains(explain, want) {
			t.Fatalf("explain lacks %q:\n%s", want, explain)
		}
	}
	// The clerk's phone on a few walk-ins' cards: refused, each with its rule.
	if out := hub("identity", "conflicts"); !strings.Contains(out, "would break limit:member_card") || !strings.Contains(out, "shared identifiers (stopped linking):") {
		t.Fatalf("conflicts: %s", out)
	}
	var union string
	for _, id := range linked.Identities {
		if id.Type == "wechat_unionid" {
			union = id.Type + ":" + id.Scope + ":" + id.Value
		}
	}
	out = hub("identity", "unmerge", linked.MemberID, "--identity", union)
	if !strings.Contains(out, "unmerged wechat_unionid from "+linked.MemberID) || !strings.Contains(out, ", ") {
		t.Fatalf("unmerge: %s", out)
	}
	// Erasure: the member is gone, and the next sync does not bring it back.
	out = hub("identity", "erase", linked.MemberID, "--yes")
	if !strings.Contains(out, "erased "+linked.MemberID) {
		t.Fatalf("erase: %s", out)
	}
	hub("sync", "wechat-followers", "--mode", "full")
	hub("sync", "pos-members", "--mode", "full")
	res, err := hubCmd(t.Context(), "--config", cfgPath, "members", "get", "--id", linked.MemberID).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "erased") {
		t.Fatalf("erased member after a re-sync: %v\n%s", err, res)
	}
	if res, err := hubCmd(t.Context(), "--config", cfgPath, "identity", "erase", linked.MemberID).CombinedOutput(); err == nil || !strings.Contains(string(res), "--yes") {
		t.Fatalf("erase without --yes: %v\n%s", err, res)
	}
}
