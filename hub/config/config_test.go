package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/hub/config"
	"github.com/channelhub/channelhub/sdk"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestLoadGoodConfig(t *testing.T) {
	t.Parallel()
	c, err := config.Load("testdata/good.yaml", env(map[string]string{"WECHAT_SECRET": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != dir || c.DataDir != filepath.Join(dir, "data") || len(c.Tenants) != 2 || c.Location.String() != "CST" {
		t.Fatalf("config = %+v", c)
	}
	a := c.Tenants[0]
	if a.Connections[0].Config["app_secret"] != "s3cret" || a.Connections[0].RateLimits["*"] != 10 {
		t.Fatalf("connection = %+v", a.Connections[0])
	}
	j := a.Jobs[0]
	if j.Mode != "full" || j.Breaker.Failures != 3 || j.Breaker.OpenFor != 30*time.Second || j.Line != 15 {
		t.Fatalf("job = %+v", j)
	}
	if r := a.Identity; r.Types["phone"].Limit != 2 || r.Types["phone"].Priority != 50 || r.SharedLimit != 8 || !slices.Contains(r.Blocked, "4000000000") || !slices.Contains(r.Blocked, "null") {
		t.Fatalf("identity rules = %+v", r)
	}
	if got := a.SMS.Templates["SMS_SHIP"].Text; got != "【A】${name}，您的订单已发货" {
		t.Fatalf("escaped template text = %q", got)
	}
	if sms := a.SMS; sms.AllowedFrom != 9*60 || sms.PerNumber.PerDay != 3 || !sms.Templates["SMS_PROMO"].Marketing || sms.OptOutSuffix != "拒收请回复R" {
		t.Fatalf("sms policy = %+v", sms)
	}
	if r := c.Tenants[1].Identity; r.Types["phone"].Limit != 3 || r.SharedLimit != 5 {
		t.Fatalf("default identity rules = %+v", r)
	}
	if c.Tenants[1].Jobs[0].Mode != "incremental" {
		t.Fatal("mode default is not incremental")
	}
	if _, _, err := c.FindJob("followers"); err == nil || !strings.Contains(err.Error(), "brand-a/followers") {
		t.Fatalf("ambiguous job: %v", err)
	}
	if tn, j, err := c.FindJob("brand-b/followers"); err != nil || tn.ID != "brand-b" || j.ID != "followers" {
		t.Fatalf("FindJob = %v", err)
	}
	if _, j, err := c.FindJob("only-b"); err != nil || j.Schedule != "@every 1h" {
		t.Fatalf("FindJob(only-b) = %v", err)
	}
}

// A config's relative directories are its own directory's, whatever the
// working directory; absolute ones are kept.
func TestRelativeDirectoriesAreTheConfigFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml        string
		data, pluginsWant string
	}{
		{"relative", "data_dir: .hub/data\nplugins_dir: ../plugins\n", filepath.Join(dir, ".hub/data"), filepath.Join(filepath.Dir(dir), "plugins")},
		{"defaults", "", filepath.Join(dir, "data"), filepath.Join(dir, "bin/plugins")},
		{"absolute", "data_dir: /srv/hub/data\nplugins_dir: /opt/hub/plugins\n", "/srv/hub/data", "/opt/hub/plugins"},
	} {
		path := filepath.Join(dir, tc.name+".yaml")
		text := tc.yaml + "tenants:\n  - id: a\n"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path, env(nil))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.DataDir != tc.data || c.PluginsDir != tc.pluginsWant {
			t.Errorf("%s: data_dir %q, plugins_dir %q; want %q, %q", tc.name, c.DataDir, c.PluginsDir, tc.data, tc.pluginsWant)
		}
	}
}

func TestErrorsNameFileLineAndField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"malformed", "tenants: [\n  - id: a\n", []string{"hub.yaml:", "did not find expected"}},
		{"unknown key", "tenants:\n  - id: a\n    conections: []\n", []string{"hub.yaml:3: tenants[0].conections: unknown setting", "connections"}},
		{"bad cron", "tenants:\n  - id: a\n    connections:\n      - {id: c, connector: wechat}\n    jobs:\n      - id: j\n        connection: c\n        read: [x]\n        schedule: \"*/15 * * *\"\n",
			[]string{"hub.yaml:9: tenants[0].jobs[0].schedule: bad cron expression \"*/15 * * *\"", "expected exactly 5 fields, found 4"}},
		{"missing connection", "tenants:\n  - id: a\n    jobs:\n      - id: j\n        connection: nope\n        read: [x]\n", []string{"hub.yaml:4: tenants[0].jobs[0].connection: \"nope\" is not a connection"}},
		{"bad mode", "tenants:\n  - id: a\n    connections:\n      - {id: c, connector: w}\n    jobs:\n      - {id: j, connection: c, read: [x], mode: both}\n", []string{"mode: \"both\": want full or incremental"}},
		{"duplicate ids", "tenants:\n  - id: a\n    connections:\n      - {id: c, connector: w}\n      - {id: c, connector: w}\n", []string{"hub.yaml:5:", "duplicate connection id \"c\" (first at line 4)"}},
		{"nothing to do", "tenants:\n  - id: a\n    connections:\n      - {id: c, connector: w}\n    jobs:\n      - {id: j, connection: c}\n", []string{"give at least one stream"}},
		{"unset variable", "secret_key: ${NOPE}\ntenants:\n  - id: a\n", []string{"hub.yaml:1: environment variable NOPE is not set"}},
		{"bad secret key", "secret_key: ${KEY}\ntenants:\n  - id: a\n", []string{"hub.yaml:1: secret_key: want 64 hex"}},
		{"bad timezone", "timezone: Mars/Base\ntenants:\n  - id: a\n", []string{"hub.yaml:1: timezone: \"Mars/Base\""}},
		{"bad id", "tenants:\n  - id: Brand A\n", []string{"hub.yaml:2: tenants[0].id: \"Brand A\""}},
		{"no tenants", "data_dir: x\n", []string{"at least one tenant"}},
		{"unknown identity type", "tenants:\n  - id: a\n    identity:\n      types:\n        fax: {limit: 1}\n", []string{"hub.yaml:5: tenants[0].identity.types.fax: not an identity type"}},
		{"bad identity limit", "tenants:\n  - id: a\n    identity:\n      types:\n        phone: {limit: 0}\n", []string{"hub.yaml:5: tenants[0].identity.types.phone.limit: 0: want a whole number ≥ 1"}},
		{"bad shared limit", "tenants:\n  - id: a\n    identity:\n      shared_limit: many\n", []string{"hub.yaml:4: tenants[0].identity.shared_limit: many: want a whole number ≥ 1"}},
		{"marketing template without the suffix", "tenants:\n  - id: a\n    sms:\n      templates:\n        PROMO: {marketing: true, text: \"大促\"}\n", []string{"hub.yaml:5: tenants[0].sms.templates.PROMO: a marketing template must end with the opt-out suffix \"拒收请回复R\""}},
		{"bad allowed hours", "tenants:\n  - id: a\n    sms:\n      allowed_hours: 22:00-08:00\n", []string{"hub.yaml:4: tenants[0].sms.allowed_hours:", "must start before it ends"}},
		{"unknown identity setting", "tenants:\n  - id: a\n    identity:\n      limits: {}\n", []string{"hub.yaml:4: tenants[0].identity.limits: unknown setting"}},
		{"fractional sms limit", "tenants:\n  - id: a\n    sms:\n      per_number: {per_day: 2.5, per_hour: -1}\n",
			[]string{"hub.yaml:4: tenants[0].sms.per_number.per_day: 2.5: want a whole number ≥ 0", "hub.yaml:4: tenants[0].sms.per_number.per_hour: -1: want a whole number ≥ 0"}},
		{"fractional breaker failures", "tenants:\n  - id: a\n    connections:\n      - {id: c, connector: w}\n    jobs:\n      - {id: j, connection: c, read: [x], breaker: {failures: 1.5}}\n",
			[]string{"hub.yaml:6: tenants[0].jobs[0].breaker.failures: 1.5: want a whole number ≥ 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse([]byte(tt.yaml), "conf/hub.yaml", env(map[string]string{"KEY": "not-a-key-SECRETVALUE"}))
			if err == nil {
				t.Fatal("parsed a bad config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "SECRETVALUE") {
				t.Errorf("error echoes a secret: %q", err)
			}
		})
	}
}

// Identity rules' numbers are whole as written: a fraction is reported with
// its value, never truncated, and every bad field is reported at once.
func TestIdentityNumbersAreWhole(t *testing.T) {
	t.Parallel()
	const head = "tenants:\n  - id: a\n    identity:\n"
	tests := []struct {
		name, yaml string
		want       []string // every problem, exactly
	}{
		{"fractional limit", "      types:\n        wechat_unionid: {limit: 2.9}\n",
			[]string{"hub.yaml:5: tenants[0].identity.types.wechat_unionid.limit: 2.9: want a whole number ≥ 1"}},
		{"fraction below one", "      types:\n        phone:\n          limit: 0.5\n",
			[]string{"hub.yaml:6: tenants[0].identity.types.phone.limit: 0.5: want a whole number ≥ 1"}},
		{"fractional priority", "      types:\n        phone: {priority: 3.7}\n",
			[]string{"hub.yaml:5: tenants[0].identity.types.phone.priority: 3.7: want a whole number ≥ 0"}},
		{"fractional shared limit", "      shared_limit: 2.5\n",
			[]string{"hub.yaml:4: tenants[0].identity.shared_limit: 2.5: want a whole number ≥ 1"}},
		{"whole float", "      shared_limit: 3.0\n",
			[]string{"hub.yaml:4: tenants[0].identity.shared_limit: 3.0: want a whole number ≥ 1"}},
		{"quoted", "      types:\n        phone: {limit: \"2\"}\n",
			[]string{`hub.yaml:5: tenants[0].identity.types.phone.limit: "2": want a whole number ≥ 1`}},
		{"list", "      shared_limit: [1]\n",
			[]string{"hub.yaml:4: tenants[0].identity.shared_limit: a list: want a whole number ≥ 1"}},
		{"every bad field", "      types:\n        member_card: {limit: -1, priority: -5}\n        fax: {limit: 1.5}\n      shared_limit: 0\n", []string{
			"hub.yaml:5: tenants[0].identity.types.member_card.limit: -1: want a whole number ≥ 1",
			"hub.yaml:5: tenants[0].identity.types.member_card.priority: -5: want a whole number ≥ 0",
			"hub.yaml:6: tenants[0].identity.types.fax: not an identity type",
			"hub.yaml:6: tenants[0].identity.types.fax.limit: 1.5: want a whole number ≥ 1",
			"hub.yaml:7: tenants[0].identity.shared_limit: 0: want a whole number ≥ 1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse([]byte(head+tt.yaml), "hub.yaml", env(nil))
			if err == nil {
				t.Fatal("parsed a bad config")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	c, err := config.Parse([]byte(head+"      types:\n        phone: {priority: 0, limit: 0x2}\n      shared_limit: 7\n"), "hub.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Tenants[0].Identity; r.Types["phone"].Priority != 0 || r.Types["phone"].Limit != 2 || r.SharedLimit != 7 {
		t.Fatalf("identity rules = %+v", r)
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := config.Parse([]byte("log_level: loud\ntenants:\n  - id: a\n    jobs:\n      - {id: j, connection: c, read: [x], mode: x, schedule: nope}\n"), "hub.yaml", env(nil))
	if err == nil || strings.Count(err.Error(), "\n") < 3 {
		t.Fatalf("want four problems, got %v", err)
	}
}

func TestValidateConnectors(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte(`tenants:
  - id: a
    connections:
      - id: c1
        connector: wechat
        config:
          app_id: 7
          app_scret: oops
      - id: c2
        connector: wechatt
    jobs:
      - {id: j, connection: c1, read: [followers], write: [tags.add]}
      - id: k
        connection: c1
        read:
          - followers
          - fans
        write: [sms.send]
      - {id: l, connection: c2, read: [anything]}
`), "hub.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	spec := sdk.Spec{Name: "wechat", Version: "1", Config: []sdk.Field{
		{Name: "app_id", Type: sdk.TypeString, Required: true},
		{Name: "app_secret", Type: sdk.TypeString, Required: true, Secret: true},
	}, Streams: []sdk.StreamSpec{{Name: "followers", Kind: sdk.KindMembers}},
		Actions: []sdk.ActionSpec{{Name: "tags.add"}, {Name: "tags.remove"}}}
	err = c.ValidateConnectors(func(n string) (sdk.Spec, bool) { return spec, n == "wechat" }, []string{"wechat"})
	for _, w := range []string{
		"hub.yaml:7: tenant a, connection c1: tenants[0].connections[0].config.app_id: want a string",
		"hub.yaml:4: tenant a, connection c1: tenants[0].connections[0].config.app_secret: is required",
		"hub.yaml:8: tenant a, connection c1: tenants[0].connections[0].config.app_scret: is not a wechat config field",
		"hub.yaml:9: tenants[0].connections[1].connector: no plugin named \"wechatt\" (have: wechat)",
		"hub.yaml:17: tenants[0].jobs[1].read: connector wechat (connection c1) has no stream \"fans\" (streams: followers)",
		"hub.yaml:18: tenants[0].jobs[1].write: connector wechat (connection c1) has no write action \"sms.send\" (actions: tags.add, tags.remove)",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 6 {
		t.Errorf("want 6 problems (none for job j, none for job l of the unknown connector), got %d: %v", n, err)
	}
	if strings.Contains(err.Error(), "oops") {
		t.Error("a config value was echoed")
	}
}
