package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/miniprogram"
	"github.com/channelhub/channelhub/hub/config"
	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/store"
)

// sandboxInfo is the JSON line `hub sandbox` prints.
type sandboxInfo struct {
	Sandboxes map[string]struct {
		URL         string            `json:"url"`
		Credentials map[string]string `json:"credentials"`
	} `json:"sandboxes"`
}

// startSandbox runs `hub sandbox --write-config` as its own process for the
// given platforms and returns the config it wrote (naming this test's
// plugins, its data directory beside it) and what the sandbox printed.
func startSandbox(t *testing.T, platforms, members string) (string, sandboxInfo) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "hub.yaml")
	sb := hubCmd(t.Context(), "sandbox", "--platforms", platforms, "--members", members, "--write-config", cfgPath, "--plugins-dir", filepath.Join(binDir, "plugins"))
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
	var info sandboxInfo
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("sandbox line %q: %v", line, err)
	}
	return cfgPath, info
}

// hubWith returns a runner of hub commands on the config at cfgPath that
// fails the test when a command fails, and returns its output.
func hubWith(t *testing.T, cfgPath string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		out, err := hubCmd(t.Context(), append([]string{"--config", cfgPath, "--log-level", "warn"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("hub %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
}

// TestSandboxConfigDrivesTheCLI runs `hub sandbox --write-config` as its own
// process and drives the written config through sync, members and tags.
func TestSandboxConfigDrivesTheCLI(t *testing.T) {
	cfgPath, info := startSandbox(t, "wechat", "400")
	if !strings.HasPrefix(info.Sandboxes["wechat"].URL, "http://127.0.0.1:") || info.Sandboxes["wechat"].Credentials["app_id"] == "" {
		t.Fatalf("sandbox line: %+v", info)
	}
	hub := hubWith(t, cfgPath)
	out := hub("sync", "wechat-followers", "--mode", "full")
	if !strings.Contains(out, "records read") {
		t.Fatalf("sync output: %s", out)
	}
	// The written config's data directory is beside it, whatever the
	// directory the hub runs in.
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfgPath), ".hub-sandbox", "data", "hub.db")); err != nil {
		t.Fatalf("store beside the config: %v", err)
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
	// Every configured job, with its next and latest run; the job not run
	// yet and its stream say so.
	out = hub("jobs", "status")
	for _, want := range []string{
		`(?m)^demo\s+wechat-followers\s+wechat-oa\s+\*/15 \* \* \* \*\s+\S+:00\+08:00\s+\S+\+08:00\s+ok$`,
		`(?m)^demo\s+pos-members\s+pos-members\s+0 \* \* \* \*\s+\S+T\d\d:00:00\+08:00\s+never\s+-$`,
		`(?m)^demo\s+wechat-followers\s+followers\s+done\s+\d+\s`,
		`(?m)^demo\s+pos-members\s+members\s+never run\s+0\s+-`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Fatalf("jobs status lacks %s:\n%s", want, out)
		}
	}
	// Every time in the config's time zone (streams and runs too).
	if utc := regexp.MustCompile(`\d\d:\d\dZ\s`).FindString(out); utc != "" {
		t.Fatalf("jobs status shows a UTC time %q:\n%s", utc, out)
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

// TestMiniprogramIntakeThroughServe posts signed brand events to a running
// `hub serve --listen` and checks what is stored, refused and answered.
func TestMiniprogramIntakeThroughServe(t *testing.T) {
	cfgPath, info := startSandbox(t, "miniprogram", "50")
	creds := info.Sandboxes["miniprogram"].Credentials
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	serve := hubCmd(t.Context(), "--config", cfgPath, "--log-level", "warn", "serve", "--listen", addr)
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	url := "http://" + addr + "/webhooks/demo/miniprogram"
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatal("hub serve did not listen")
		}
		time.Sleep(25 * time.Millisecond)
	}
	post := func(body []byte, ts int64, sig string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Channelhub-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Channelhub-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		text, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(text)
	}
	secret, app := creds["event_secret"], creds["app_id"]
	now := time.Now().Unix()
	login := []byte(`{"event_id": "evt-e2e-1", "type": "login", "occurred_at": "` + time.Now().Format(time.RFC3339) + `", "data": {"appid": "` + app + `", "openid": "o-e2e-1", "unionid": "u-e2e-1"}}`)
	if code, text := post(login, now, miniprogram.Sign(secret, now, login)); code != http.StatusOK {
		t.Fatalf("signed login: %d %s", code, text)
	}
	if code, text := post(login, now, miniprogram.Sign(secret, now, login)); code != http.StatusOK || !strings.Contains(text, `"repeated":true`) {
		t.Fatalf("repeat: %d %s, want 200 repeated", code, text)
	}
	forged := bytes.Replace(login, []byte("evt-e2e-1"), []byte("evt-e2e-2"), 1)
	if code, _ := post(forged, now, miniprogram.Sign("not-the-secret", now, forged)); code != http.StatusUnauthorized {
		t.Fatalf("forged: %d, want 401", code)
	}
	stale := bytes.Replace(login, []byte("evt-e2e-1"), []byte("evt-e2e-3"), 1)
	old := now - 3600
	if code, _ := post(stale, old, miniprogram.Sign(secret, old, stale)); code != http.StatusBadRequest {
		t.Fatalf("stale: %d, want 400", code)
	}
	malformed := []byte(`{"event_id": "evt-e2e-4", "type": "login", "data": {`)
	if code, text := post(malformed, now, miniprogram.Sign(secret, now, malformed)); code != http.StatusBadRequest || !strings.Contains(text, "malformed") {
		t.Fatalf("malformed: %d %s", code, text)
	}
	out, err := hubCmd(t.Context(), "--config", cfgPath, "members", "get", "--identity", "miniprogram_openid:"+app+":o-e2e-1", "--json").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "u-e2e-1") {
		t.Fatalf("member from the intake: %v\n%s", err, out)
	}
	out, _ = hubCmd(t.Context(), "--config", cfgPath, "members", "export").CombinedOutput()
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, `"o-e2e-`) {
			n++
		}
	}
	if n != 1 || strings.Contains(string(out), "o-e2e-2") {
		t.Fatalf("%d members from the intake, want 1 (refused events store nothing):\n%s", n, out)
	}
}

// TestCPUProfile: --cpuprofile writes a pprof profile (gzipped protobuf) of
// the command, also when the command fails.
func TestCPUProfile(t *testing.T) {
	for name, args := range map[string][]string{
		"ok":     {"plugins", "index", filepath.Join(t.TempDir())},
		"failed": {"--config", filepath.Join(t.TempDir(), "missing.yaml"), "jobs", "status"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cpu.pprof")
			out, err := hubCmd(t.Context(), append([]string{"--cpuprofile", path}, args...)...).CombinedOutput()
			if (err != nil) != (name == "failed") {
				t.Fatalf("hub %v: %v\n%s", args, err, out)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
				t.Fatalf("%s is not a pprof profile (%d bytes)", path, len(b))
			}
		})
	}
}

// An SMS campaign from the CLI, its delivery through the Tencent plugin, and
// the provider's delivery reports pulled back and filed with the sends:
// `hub sms report` shows every sent message as reached.
func TestSMSReceiptsThroughTheCLI(t *testing.T) {
	cfgPath, _ := startSandbox(t, "sms", "300")
	hub := hubWith(t, cfgPath)
	hub("sync", "pos-members")
	// A connection that cannot send SMS is refused before anything is queued.
	refused, err := hubCmd(t.Context(), "--config", cfgPath, "sms", "send", "--connection", "pos-members", "--template", "2000001", "--all").CombinedOutput()
	if err == nil || !strings.Contains(string(refused), "--connection pos-members: its connector cannot send SMS") || !strings.Contains(string(refused), "sms-tencent") {
		t.Fatalf("sms send on the file connection: %v\n%s", err, refused)
	}
	var queued store.SMSResult
	out := hub("sms", "send", "--connection", "sms-tencent", "--template", "2000001", "--params", `{"1":"会员"}`, "--all", "--json")
	if err := json.Unmarshal([]byte(out), &queued); err != nil || queued.Queued == 0 {
		t.Fatalf("sms send: %s (%v)", out, err)
	}
	if out := hub("sync", "sms-tencent"); !strings.Contains(out, fmt.Sprintf("write-back: %d delivered", queued.Queued)) {
		t.Fatalf("delivery: %s", out)
	}
	// The next run pulls the delivery reports of those sends.
	if out := hub("sync", "sms-tencent"); !strings.Contains(out, fmt.Sprintf("%d delivery receipts filed, 0 for messages the hub did not send", queued.Queued)) {
		t.Fatalf("receipts: %s", out)
	}
	var rep store.SMSCampaignReport
	out = hub("sms", "report", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("sms report: %s (%v)", out, err)
	}
	if rep.Campaign != queued.Campaign || rep.Sent != queued.Queued || rep.Delivered != queued.Queued || rep.NoReceipt != 0 || len(rep.Undelivered) != 0 {
		t.Fatalf("report %+v after %d sent", rep, queued.Queued)
	}
	if out := hub("sms", "report"); !strings.Contains(out, fmt.Sprintf("of the sent: %d reached the handset, 0 did not, 0 without a receipt yet", queued.Queued)) {
		t.Fatalf("sms report: %s", out)
	}
}

// TestBenchPrintsEveryFigure runs `hub bench` small: every figure is
// printed, and the counts behind them are the ones the runs must produce
// (timings are not asserted; `make bench` is where they are read).
func TestBenchPrintsEveryFigure(t *testing.T) {
	out, err := hubCmd(t.Context(), "bench", "--plugins-dir", filepath.Join(binDir, "plugins"),
		"--records", "3000", "--orders", "300", "--qps", "200").CombinedOutput()
	if err != nil {
		t.Fatalf("hub bench: %v\n%s", err, out)
	}
	var linksStored, linksResolved, members int
	for _, want := range []string{
		"transport floor", "insert floor", "store floor", "end to end", "random ids", "peak RSS (hub)",
		"backfill taobao", "backfill douyin", "identity",
		"host steal       transport ", ", insert ", ", end to end ", ", store floor ", ", random ids ",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q figure in:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "(") && strings.Contains(line, "identifier links;") {
			var m, r int
			if _, err := fmt.Sscanf(line, "(%d members, %d records, %d identifier links;", &m, &r, &linksStored); err != nil || r != 3000 {
				t.Errorf("store floor copied %q: %v", line, err)
			}
		}
		if strings.HasSuffix(line, "of CPU, the hub's and its plugin's)") {
			// The sync's CPU time, the hub's and its plugin's: more than
			// none, and no more than every core gives in the sync's time.
			var took, cpu float64
			if _, err := fmt.Sscanf(line, "(%f s, %f s of CPU", &took, &cpu); err != nil || took <= 0 || cpu <= 0 || cpu > took*float64(runtime.NumCPU())+0.5 {
				t.Errorf("end to end CPU line %q: took %v, CPU %v, %v", line, took, cpu, err)
			}
		}
		if strings.HasPrefix(line, "identity ") {
			if _, err := fmt.Sscanf(line, "identity %d records → %d identifier links → %d members", new(int), &linksResolved, &members); err != nil {
				t.Errorf("identity line %q: %v", line, err)
			}
		}
	}
	// The store floor inserts exactly the links the sync stored.
	if linksStored == 0 || linksStored != linksResolved || members == 0 {
		t.Errorf("store floor copied %d links, the sync stored %d (members %d):\n%s", linksStored, linksResolved, members, out)
	}
}

// TestErasureReachesDouyinThroughTheCLI: `hub identity erase` of a Douyin
// shop member names the job that will end the membership, and the next
// `hub sync` of that job delivers it.
func TestErasureReachesDouyinThroughTheCLI(t *testing.T) {
	cfgPath, _ := startSandbox(t, "douyin", "300")
	hub := hubWith(t, cfgPath)
	hub("sync", "douyin-orders", "--mode", "full")
	// A buyer with a union id is a shop member: the platform gives union
	// ids for members only.
	var member string
	for _, line := range strings.Split(strings.TrimSpace(hub("members", "export")), "\n") {
		var m struct {
			MemberID   string `json:"member_id"`
			Identities []struct{ Type string }
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		for _, id := range m.Identities {
			if id.Type == "douyin_union_id" {
				member = m.MemberID
			}
		}
		if member != "" {
			break
		}
	}
	if member == "" {
		t.Fatal("no Douyin shop member among the synced buyers")
	}
	out := hub("identity", "erase", member, "--yes")
	if !strings.Contains(out, "deletion requested from: douyin-shop (delivered by the next run of douyin-orders)") {
		t.Fatalf("erase: %s", out)
	}
	outbox := func() store.OutboxCount {
		t.Helper()
		var st struct{ Outbox []store.OutboxCount }
		if err := json.Unmarshal([]byte(hub("jobs", "status", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		for _, o := range st.Outbox {
			if o.Connection == "douyin-shop" && o.Action == "member.erase" {
				return o
			}
		}
		return store.OutboxCount{}
	}
	if o := outbox(); o.Pending != 1 || o.Delivered != 0 {
		t.Fatalf("outbox before delivery: %+v", o)
	}
	if out := hub("jobs", "status"); !regexp.MustCompile(`douyin-shop\s+member\.erase\s+1\s+0\s+0\s+0\s+delivered by the next run of douyin-orders`).MatchString(out) {
		t.Fatalf("jobs status does not show the pending erasure and its job:\n%s", out)
	}
	if out := hub("sync", "douyin-orders"); !strings.Contains(out, "write-back: 1 delivered") {
		t.Fatalf("delivery: %s", out)
	}
	if o := outbox(); o.Pending != 0 || o.Delivered != 1 {
		t.Fatalf("outbox after delivery: %+v", o)
	}

	// A write-back the platform refuses for good is listed with its
	// reason, and can be queued again once fixed.
	other := ""
	for _, line := range strings.Split(strings.TrimSpace(hub("members", "export")), "\n") {
		if strings.Contains(line, `"douyin_union_id"`) {
			var m struct {
				MemberID string `json:"member_id"`
			}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			other = m.MemberID
			break
		}
	}
	if out := hub("members", "push", "--id", other, "--level", "gold"); !strings.Contains(out, "member.level queued for douyin-shop") {
		t.Fatalf("push: %s", out)
	}
	if out := hub("sync", "douyin-orders"); !strings.Contains(out, "1 failed") {
		t.Fatalf("delivery of a bad level: %s", out)
	}
	var failed store.OutboxEntry
	if err := json.Unmarshal([]byte(hub("jobs", "writes", "--json")), &failed); err != nil {
		t.Fatal(err)
	}
	if failed.MemberID != other || failed.Action != "member.level" || failed.Attempts != 1 || !strings.Contains(failed.LastError, `"gold" is not a whole number`) {
		t.Fatalf("failed write: %+v", failed)
	}
	if out := hub("jobs", "retry-writes", "--connection", "douyin-shop", "--action", "member.level"); !strings.Contains(out, "1 failed member.level actions of douyin-shop queued again (delivered by the next run of douyin-orders)") {
		t.Fatalf("retry-writes: %s", out)
	}
	if out := hub("jobs", "writes", "--status", "pending"); !strings.Contains(out, other) {
		t.Fatalf("the requeued action is not pending:\n%s", out)
	}
	if out := hub("jobs", "writes"); strings.Contains(out, other) {
		t.Fatalf("the requeued action is still listed as failed:\n%s", out)
	}
}

// TestDeadLettersThroughTheCLI reads an offline-store CSV export with bad
// rows twice through the file plugin: `hub jobs dead-letters` lists each
// bad row once, with its record id and how often it failed, and shows the
// row itself (phones and all) only with --show-raw; the store file never
// holds those phones in clear.
func TestDeadLettersThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "pos-members.csv")
	if err := os.WriteFile(export, []byte(`id,phone,name,birthday,updated_at
S001,13912340001,张三,1990-01-01,2024-05-01 10:00:00
S003,13912340003,王五,1990-13-45,2024-05-01 10:00:00
S005,13912340005,钱七,1990-01-01
J002,,李四,1990-01-01,2024-05-01 10:00:00
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeConfig(t, dir, fmt.Sprintf(`tenants:
  - id: t1
    connections:
      - id: pos
        connector: file
        config: {path: %s, format: csv, stream: members}
    jobs:
      - id: pos-members
        connection: pos
        read: [members]
        mode: full
`, export))
	hub := hubWith(t, cfgPath)
	for range 2 { // a second full read fails the same rows again
		if out := hub("sync", "pos-members", "--mode", "full"); !strings.Contains(out, "3 dead-lettered") {
			t.Fatalf("sync: %s", out)
		}
	}
	type line struct {
		RecordID string  `json:"record_id"`
		Reason   string  `json:"reason"`
		Location string  `json:"location"`
		Times    int     `json:"times"`
		Raw      *string `json:"raw"`
	}
	// list runs jobs dead-letters; showRaw says whether the rows' phones
	// must be in its output.
	list := func(showRaw bool, args ...string) map[string]line {
		t.Helper()
		out := hub(append([]string{"jobs", "dead-letters"}, args...)...)
		got := map[string]line{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var d line
			if err := json.Unmarshal([]byte(l), &d); err != nil {
				t.Fatalf("dead-letters line %q: %v", l, err)
			}
			got[d.Location] = d
		}
		if strings.Contains(out, "13912340005") != showRaw {
			t.Fatalf("jobs dead-letters %v: phones shown %v, want %v:\n%s", args, !showRaw, showRaw, out)
		}
		return got
	}
	got := list(false)
	for _, want := range []struct{ line, id, reason string }{{"3", "S003", `birthday "1990-13-45"`}, {"4", "", "row has 4 columns"}, {"5", "J002", "no identity"}} {
		d, ok := got[export+":"+want.line]
		if !ok || d.RecordID != want.id || !strings.Contains(d.Reason, want.reason) || d.Times != 2 || d.Raw != nil {
			t.Errorf("dead letter of line %s = %+v (found %v), want record id %q, a reason with %q, seen twice, no raw row", want.line, d, ok, want.id, want.reason)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d dead letters, want 3: %+v", len(got), got)
	}
	if d := list(true, "--show-raw")[export+":4"]; d.Raw == nil || *d.Raw != "S005,13912340005,钱七,1990-01-01" {
		t.Errorf("--show-raw of line 4 = %+v", d)
	}
	for _, f := range []string{"hub.db", "hub.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, "data", f))
		if err != nil {
			continue
		}
		for _, phone := range []string{"13912340003", "13912340005"} {
			if bytes.Contains(b, []byte(phone)) {
				t.Errorf("%s holds the dead-lettered phone %s in clear", f, phone)
			}
		}
	}
}

func TestDeliveredBy(t *testing.T) {
	tenant := &config.Tenant{Jobs: []config.Job{
		{ID: "orders", Connection: "shop", Write: []string{"member.level", "member.erase"}},
		{ID: "nightly", Connection: "shop", Write: []string{"member.erase"}},
		{ID: "followers", Connection: "oa", Write: []string{"tags.add"}},
	}}
	tests := []struct {
		conns []string
		want  string
	}{
		{[]string{"shop"}, "shop (delivered by the next run of orders, nightly)"},
		{[]string{"oa"}, "oa (no job writes member.erase for it yet: add it to a job's write list)"},
		{[]string{"shop", "oa"}, "shop (delivered by the next run of orders, nightly); oa (no job writes member.erase for it yet: add it to a job's write list)"},
	}
	for _, tt := range tests {
		if got := deliveredBy(tenant, tt.conns, "member.erase"); got != tt.want {
			t.Errorf("deliveredBy(%v) = %q, want %q", tt.conns, got, tt.want)
		}
	}
}

// storeMembers is an offline store's export for the file connector: three
// members, one with a phone.
const storeMembers = `{"id": "S1", "identities": [{"type": "member_card", "scope": "brand", "value": "C1"}, {"type": "phone", "value": "135 0011 2648"}], "name": "王芳", "updated_at": "2024-05-01T10:00:00+08:00"}
{"id": "S2", "identities": [{"type": "member_card", "scope": "brand", "value": "C2"}], "name": "李雷", "updated_at": "2024-05-01T10:00:00+08:00"}
{"id": "S3", "identities": [{"type": "member_card", "scope": "brand", "value": "C3"}], "name": "韩梅", "updated_at": "2024-05-01T10:00:00+08:00"}
`

// fileHub writes a config with no platform behind it: job "store" reads
// the offline store's export (file connector), job "empty" a path that
// matches no file. It returns the data directory and a runner of hub
// commands giving stdout, stderr and the command's error.
func fileHub(t *testing.T) (string, func(args ...string) (string, string, error)) {
	t.Helper()
	dir := t.TempDir()
	export := filepath.Join(dir, "store.jsonl")
	if err := os.WriteFile(export, []byte(storeMembers), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cfg := fmt.Sprintf(`data_dir: %s
plugins_dir: %s
tenants:
  - id: t1
    connections:
      - id: store
        connector: file
        config: {path: %s}
      - id: nothing
        connector: file
        config: {path: %s, format: jsonl}
    jobs:
      - id: store
        connection: store
        read: [members]
        mode: incremental
      - id: empty
        connection: nothing
        read: [members]
`, data, filepath.Join(binDir, "plugins"), export, filepath.Join(dir, "none-*.jsonl"))
	cfgPath := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return data, func(args ...string) (string, string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := hubCmd(t.Context(), append([]string{"--config", cfgPath}, args...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
}

// snakeKeys fails the test for every object key in the JSON v that is not
// snake_case.
func snakeKeys(t *testing.T, what string, v any) {
	t.Helper()
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if !snake.MatchString(k) {
				t.Errorf("%s: key %q is not snake_case", what, k)
			}
			snakeKeys(t, what, e)
		}
	case []any:
		for _, e := range v {
			snakeKeys(t, what, e)
		}
	}
}

// logLines decodes the JSON log lines in stderr, failing the test for a
// line with a key given twice.
func logLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("log line is not a JSON object: %s", line)
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("log line %s: %v", line, err)
			}
			k := tok.(string)
			if seen[k] {
				t.Errorf("log line has %q twice: %s", k, line)
			}
			seen[k] = true
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatalf("log line %s: %v", line, err)
			}
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestJSONOutputIsSnakeCase: `sync --json` and `jobs status --json` use
// snake_case keys with units in the names, as the other commands do, and
// `hub bench` still reads the sync's JSON.
func TestJSONOutputIsSnakeCase(t *testing.T) {
	t.Parallel()
	_, hub := fileHub(t)
	stdout, stderr, err := hub("sync", "store", "--json")
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, stderr)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("sync --json: %s (%v)", stdout, err)
	}
	snakeKeys(t, "sync --json", raw)
	if ms, ok := raw["duration_ms"].(float64); !ok || ms <= 0 {
		t.Errorf("sync --json has no duration_ms: %s", stdout)
	}
	var res engine.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Records() != 3 || res.Streams[0].Written != 3 || res.Duration <= 0 {
		t.Errorf("sync --json read back as %+v (%v): want 3 records written and the duration", res, err)
	}

	stdout, _, err = hub("jobs", "status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("jobs status --json: %v", err)
	}
	snakeKeys(t, "jobs status --json", raw)
	var status struct {
		Jobs []struct {
			Job     string         `json:"job"`
			LastRun map[string]any `json:"last_run"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(stdout), &status); err != nil || len(status.Jobs) != 2 || status.Jobs[0].LastRun["started_at"] == nil || status.Jobs[0].LastRun["records"] != 3.0 {
		t.Errorf("jobs status --json: %s", stdout)
	}
}

// TestLogLinesGiveEveryKeyOnce: log lines, the plugin's forwarded through
// go-plugin included, give every key once, durations in milliseconds by
// name, and a connector's own fields under their own names.
func TestLogLinesGiveEveryKeyOnce(t *testing.T) {
	t.Parallel()
	_, hub := fileHub(t)
	_, stderr, err := hub("--log-level", "debug", "sync", "store")
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, stderr)
	}
	finished := false
	for _, l := range logLines(t, stderr) {
		for _, k := range []string{"plugin_path", "took", "wait"} {
			if _, ok := l[k]; ok {
				t.Errorf("log line has %q: %v", k, l)
			}
		}
		if l["message"] == "job run finished" {
			_, finished = l["took_ms"].(float64)
		}
	}
	if !finished {
		t.Errorf("no job run finished line with took_ms:\n%s", stderr)
	}

	// The file connector's warning names its path as "path", once, with
	// the hub's tenant and connection.
	_, stderr, err = hub("--log-level", "warn", "sync", "empty")
	if err != nil {
		t.Fatalf("sync empty: %v\n%s", err, stderr)
	}
	warned := false
	for _, l := range logLines(t, stderr) {
		if l["message"] == "the path matches no file" {
			warned = strings.HasSuffix(fmt.Sprint(l["path"]), "none-*.jsonl") && l["connection"] == "nothing" && l["tenant"] == "t1" && l["plugin"] == "file"
		}
	}
	if !warned {
		t.Errorf("no warning naming the path under \"path\":\n%s", stderr)
	}
}

// TestSyncRejectsBadArguments: a mode, a stream to reset or a log level
// the job or the hub does not know is a usage error naming what it takes,
// and records no run.
func TestSyncRejectsBadArguments(t *testing.T) {
	t.Parallel()
	data, hub := fileHub(t)
	fails := func(want []string, args ...string) {
		t.Helper()
		_, stderr, err := hub(args...)
		if err == nil {
			t.Fatalf("hub %v succeeded", args)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("hub %v: %q does not say %q", args, stderr, w)
			}
		}
	}
	fails([]string{`--mode: mode "bogus": want full or incremental`}, "sync", "store", "--mode", "bogus")
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a bad --mode opened the store: %v", err)
	}
	fails([]string{`--log-level "bogus": want one of trace, debug, info, warn, error`}, "--log-level", "bogus", "jobs", "status")
	fails([]string{`--reset "nosuch": job store does not read that stream; it reads members`}, "sync", "store", "--reset", "nosuch")
	stdout, _, err := hub("jobs", "status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout, `"runs":[{`) {
		t.Errorf("a rejected sync recorded a run: %s", stdout)
	}
}

// TestMemberCommandsThroughTheCLI: tags are checked before anything is
// changed; a tag change no connection can deliver says so; a pasted phone
// hash is answered with the form to give; an erased member's record read
// again is counted as skipped.
func TestMemberCommandsThroughTheCLI(t *testing.T) {
	t.Parallel()
	_, hub := fileHub(t)
	ok := func(args ...string) string {
		t.Helper()
		stdout, stderr, err := hub(args...)
		if err != nil {
			t.Fatalf("hub %v: %v\n%s", args, err, stderr)
		}
		return stdout
	}
	ok("sync", "store")
	var m store.MemberView
	if err := json.Unmarshal([]byte(ok("members", "get", "--identity", "member_card:brand:C1", "--json")), &m); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--add", ""}, `--add "": a tag cannot be empty or blank`},
		{[]string{"--add", "vip", "--remove", "  "}, `--remove "  ": a tag cannot be empty or blank`},
		{[]string{"--add", "vip", "--remove", "vip"}, `tag "vip" is given to both --add and --remove`},
	} {
		_, stderr, err := hub(append([]string{"members", "tag", "--id", m.MemberID}, tt.args...)...)
		if err == nil || !strings.Contains(stderr, tt.want) {
			t.Errorf("members tag %q: %v %q, want %q", tt.args, err, stderr, tt.want)
		}
	}
	if got := ok("members", "get", "--id", m.MemberID); strings.Contains(got, "tags:") {
		t.Errorf("a rejected tag change changed the tags:\n%s", got)
	}
	if out := ok("members", "tag", "--id", m.MemberID, "--add", "vip"); !strings.Contains(out, "member "+m.MemberID+": tags changed in the hub only: no connection of the member (store) can write tags") {
		t.Errorf("tag with no connection that writes tags: %s", out)
	}

	var hash string
	for _, id := range m.Identities {
		if id.Type == "phone" {
			hash = id.Value
		}
	}
	_, stderr, err := hub("members", "get", "--identity", "phone::"+hash)
	if err == nil || !strings.Contains(stderr, "a phone is looked up by its number in clear, e.g. phone::+86 139 0571 2468") {
		t.Errorf("members get by the shown phone hash: %v %s", err, stderr)
	}
	if _, stderr, err := hub("identity", "unmerge", m.MemberID, "--identity", "phone::"+hash); err == nil || !strings.Contains(stderr, "a phone is looked up by its number in clear") {
		t.Errorf("identity unmerge of the shown phone hash: %v %s", err, stderr)
	}
	if got := ok("members", "get", "--identity", "phone::+86 135 0011 2648"); !strings.Contains(got, m.MemberID) {
		t.Errorf("members get by the phone in clear: %s", got)
	}

	ok("identity", "erase", m.MemberID, "--yes")
	out := ok("sync", "store", "--mode", "full")
	if !strings.Contains(out, "t1/store members: 3 records read, 0 written, 2 unchanged, 0 new members, 0 merges, 0 dead-lettered, 1 erased (skipped), 0 retries") {
		t.Errorf("re-sync after the erasure does not count the erased record:\n%s", out)
	}
}

// `jobs status` says whether a scheduler runs: none before `hub serve`
// starts (and no next run for an @every job, which counts from a
// scheduler's start), the serve process while it runs (and the @every
// job's next run an interval after its start), none once it is killed.
func TestJobsStatusShowsTheScheduler(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	members := filepath.Join(dir, "members.jsonl")
	if err := os.WriteFile(members, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeConfig(t, dir, fmt.Sprintf(`tenants:
  - id: t1
    connections:
      - id: pos
        connector: file
        config: {path: %s, format: jsonl, stream: members}
    jobs:
      - id: pos-members
        connection: pos
        read: [members]
        schedule: "@every 1h"
`, members))
	hub := hubWith(t, cfgPath)
	idle := regexp.MustCompile(`(?m)^t1\s+pos-members\s+pos\s+@every 1h\s+-\s+never`)
	if out := hub("jobs", "status"); !strings.Contains(out, "scheduler: not running") || !idle.MatchString(out) {
		t.Fatalf("before serve:\n%s", out)
	}

	serve := hubCmd(t.Context(), "--config", cfgPath, "--log-level", "warn", "serve")
	started := time.Now()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	running := regexp.MustCompile(`scheduler: running in hub process \S+/` + strconv.Itoa(serve.Process.Pid) + ` since `)
	var out string
	for i := 0; ; i++ {
		if out = hub("jobs", "status"); running.MatchString(out) {
			break
		}
		if i == 100 {
			t.Fatalf("jobs status does not show the running serve:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := regexp.MustCompile(`(?m)^t1\s+pos-members\s+pos\s+@every 1h\s+(\S+)\s+never`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no next run for the @every job:\n%s", out)
	}
	next, err := time.Parse(time.RFC3339, m[1])
	if err != nil || next.Before(started.Add(time.Hour-time.Second)) || next.After(time.Now().Add(time.Hour+time.Second)) {
		t.Fatalf("next run %s (%v), want an hour after serve started at %s", m[1], err, started.Format(time.RFC3339))
	}
	var status struct {
		Schedulers []store.Scheduler `json:"schedulers"`
	}
	if err := json.Unmarshal([]byte(hub("jobs", "status", "--json")), &status); err != nil || len(status.Schedulers) != 1 ||
		!strings.HasSuffix(status.Schedulers[0].Process, "/"+strconv.Itoa(serve.Process.Pid)) {
		t.Fatalf("jobs status --json schedulers: %+v %v", status.Schedulers, err)
	}

	// Killed, it cannot say it stopped: its process being gone is enough.
	if err := serve.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = serve.Wait()
	if out := hub("jobs", "status"); !strings.Contains(out, "scheduler: not running") || !idle.MatchString(out) {
		t.Fatalf("after serve was killed:\n%s", out)
	}
}
