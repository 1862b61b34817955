// Package config loads the hub's YAML config:
//
//	data_dir: ./data              # default "./data": the store and the generated secret key
//	plugins_dir: ./bin/plugins    # default "./bin/plugins": plugin binaries and catalog.json
//	                              # (Load takes relative directories from the config file's)
//	timezone: Asia/Shanghai       # default; cron schedules run in it
//	log_level: info               # debug, info, warn, error
//	secret_key: ${HUB_SECRET_KEY} # 32 bytes as hex or base64; absent: data_dir/secret.key is created
//	tenants:
//	  - id: brand-a               # [a-z0-9-], unique
//	    name: Brand A
//	    phone_salt: ${SALT}       # optional; generated and kept per tenant when absent
//	    identity:                 # optional: One ID rules (defaults in the README)
//	      types: {phone: {priority: 50, limit: 2}}
//	      blocked: ["4000000000"] # added to the default blocked values
//	      shared_limit: 5         # an identifier on more members than this stops linking
//	    sms:                      # optional: what the hub checks before any SMS goes out
//	      allowed_hours: "08:00-22:00"   # marketing only, in timezone
//	      opt_out_suffix: 拒收请回复R
//	      per_number: {per_minute: 1, per_hour: 5, per_day: 10}
//	      templates:
//	        SMS_PROMO: {marketing: true, text: "【品牌】会员日全场8折。拒收请回复R"}
//	    connections:
//	      - id: wechat-oa         # unique within the tenant
//	        connector: wechat     # a plugin name in the catalog
//	        config: {...}         # connector-specific; checked against the plugin's spec
//	        rate_limits: {"*": 10} # optional: requests/second per API group
//	    jobs:
//	      - id: wechat-followers  # unique within the tenant
//	        connection: wechat-oa
//	        read: [followers]     # streams to read
//	        write: [tags.add]     # write-back actions to deliver (at least one of read/write)
//	        mode: incremental     # full | incremental (default incremental)
//	        schedule: "*/15 * * * *"  # 5-field cron or @every/@daily; omit for manual runs
//	        breaker: {failures: 5, open_for: 1m}
//
// ${VAR} and ${VAR:-default} are replaced from the environment before
// parsing; $${...} stands for a literal ${...}. Every error names the file, the line and the field, and Load
// reports every problem at once. Values under a connection's config are
// never echoed in errors: they may be secrets.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/channelhub/channelhub/hub/campaign"
	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Config is the hub's config.
type Config struct {
	DataDir, PluginsDir, Timezone, LogLevel string
	// SecretKey is nil when the config gives none.
	SecretKey []byte
	Tenants   []Tenant
	// Path is the file the config came from; Dir is its directory,
	// absolute (Load sets it): relative paths in the config are taken
	// from it, those in connections' config too (plugins run in it).
	Path, Dir string
	// Location is Timezone loaded.
	Location *time.Location
}

// Tenant is one brand.
type Tenant struct {
	ID, Name, PhoneSalt string
	// Identity are the tenant's One ID rules: the defaults with the
	// config's changes.
	Identity identity.Rules
	// SMS is the tenant's SMS policy: the defaults with the config's
	// changes.
	SMS         campaign.Policy
	Connections []Connection
	Jobs        []Job
	Line        int
}

// Connection is a connector with a tenant's credentials.
type Connection struct {
	ID, Connector string
	Config        map[string]any
	RateLimits    map[string]float64
	Line          int
	// configLines are the lines of each config field, for errors.
	configLines map[string]int
}

// Job is what to sync and when.
type Job struct {
	ID, Connection string
	Read, Write    []string
	Mode           string
	Schedule       string
	Breaker        Breaker
	Line           int
	// readLines and writeLines are the lines of Read's and Write's
	// entries, for errors.
	readLines, writeLines []int
}

// Breaker overrides a job's circuit breaker settings; zero values mean the
// defaults (5 failures, open for 1 minute).
type Breaker struct {
	Failures int
	OpenFor  time.Duration
}

// Load reads, expands and parses the config file at path. env looks up
// environment variables (os.LookupEnv in production).
func Load(path string, env func(string) (string, bool)) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b, path, env)
	if err != nil {
		return nil, err
	}
	// Relative directories are the config file's, so that a config means
	// the same store and plugins whatever directory the hub starts in.
	if c.Dir, err = filepath.Abs(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for _, d := range []*string{&c.DataDir, &c.PluginsDir} {
		if !filepath.IsAbs(*d) {
			*d = filepath.Join(c.Dir, *d)
		}
	}
	return c, nil
}

var envRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// problems collects errors with their positions.
type problems struct {
	file string
	errs []error
}

func (p *problems) add(line int, field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.file, line, msg))
}

// Parse parses config text; path is used in error messages.
func Parse(data []byte, path string, env func(string) (string, bool)) (*Config, error) {
	file := path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		file = path[i+1:]
	}
	p := &problems{file: file}
	// Expand ${VAR} line by line so a missing variable names its line.
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		// $${...} is a literal ${...} (SMS templates use it for variables).
		l = strings.ReplaceAll(l, "$${", "\x00{")
		lines[i] = envRE.ReplaceAllStringFunc(l, func(m string) string {
			sub := envRE.FindStringSubmatch(m)
			if v, ok := env(sub[1]); ok && v != "" {
				return v
			}
			if sub[2] != "" {
				return sub[3]
			}
			p.add(i+1, "", "environment variable %s is not set (and has no ${%s:-default})", sub[1], sub[1])
			return ""
		})
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(strings.ReplaceAll(strings.Join(lines, "\n"), "\x00{", "${")), &root); err != nil {
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	c := &Config{Path: path, DataDir: "./data", PluginsDir: "./bin/plugins", Timezone: "Asia/Shanghai", LogLevel: "info"}
	if len(root.Content) == 0 {
		p.add(1, "", "the config is empty")
		return nil, errors.Join(p.errs...)
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		p.add(doc.Line, "", "the config must be a mapping of settings")
		return nil, errors.Join(p.errs...)
	}
	var secretKey string
	secretLine := 0
	eachKey(p, doc, "", []string{"data_dir", "plugins_dir", "timezone", "log_level", "secret_key", "tenants"}, func(key string, v *yaml.Node) {
		switch key {
		case "data_dir":
			c.DataDir = scalar(p, v, key)
		case "plugins_dir":
			c.PluginsDir = scalar(p, v, key)
		case "timezone":
			c.Timezone = scalar(p, v, key)
		case "log_level":
			c.LogLevel = scalar(p, v, key)
			if !slices.Contains([]string{"debug", "info", "warn", "error", "trace"}, c.LogLevel) {
				p.add(v.Line, key, "%q is not one of debug, info, warn, error", c.LogLevel)
			}
		case "secret_key":
			secretKey, secretLine = scalar(p, v, key), v.Line
		case "tenants":
			if v.Kind != yaml.SequenceNode {
				p.add(v.Line, key, "want a list of tenants")
				return
			}
			for i, tn := range v.Content {
				c.Tenants = append(c.Tenants, parseTenant(p, tn, fmt.Sprintf("tenants[%d]", i)))
			}
		}
	})
	if secretKey != "" {
		k, err := secret.ParseKey(secretKey)
		if err != nil {
			p.add(secretLine, "secret_key", "want 64 hex characters or base64 of 32 bytes (the value is not shown)")
		}
		c.SecretKey = k
	}
	if c.Timezone == "Asia/Shanghai" {
		c.Location = mapping.Shanghai
	} else if loc, err := time.LoadLocation(c.Timezone); err != nil {
		p.add(lineOf(doc, "timezone"), "timezone", "%q is not a known time zone", c.Timezone)
	} else {
		c.Location = loc
	}
	if len(c.Tenants) == 0 && len(p.errs) == 0 {
		p.add(doc.Line, "tenants", "at least one tenant is needed")
	}
	seen := map[string]int{}
	for _, t := range c.Tenants {
		if prev, ok := seen[t.ID]; ok && t.ID != "" {
			p.add(t.Line, "tenants", "duplicate tenant id %q (first at line %d)", t.ID, prev)
		}
		seen[t.ID] = t.Line
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// eachKey walks a mapping node, rejecting keys not in allowed.
func eachKey(p *problems, m *yaml.Node, path string, allowed []string, fn func(key string, v *yaml.Node)) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		field := k.Value
		if path != "" {
			field = path + "." + k.Value
		}
		if !slices.Contains(allowed, k.Value) {
			p.add(k.Line, field, "unknown setting (known: %s)", strings.Join(allowed, ", "))
			continue
		}
		fn(k.Value, v)
	}
}

func lineOf(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}

func scalar(p *problems, v *yaml.Node, field string) string {
	if v.Kind != yaml.ScalarNode {
		p.add(v.Line, field, "want a single value")
		return ""
	}
	return v.Value
}

func stringList(p *problems, v *yaml.Node, field string) []string {
	out, _ := stringListLines(p, v, field)
	return out
}

// stringListLines is stringList with the line of each entry.
func stringListLines(p *problems, v *yaml.Node, field string) ([]string, []int) {
	if v.Kind == yaml.ScalarNode && v.Value != "" {
		return []string{v.Value}, []int{v.Line}
	}
	if v.Kind != yaml.SequenceNode {
		p.add(v.Line, field, "want a list")
		return nil, nil
	}
	out, lines := make([]string, 0, len(v.Content)), make([]int, 0, len(v.Content))
	for _, n := range v.Content {
		out, lines = append(out, scalar(p, n, field)), append(lines, n.Line)
	}
	return out, lines
}

func parseTenant(p *problems, n *yaml.Node, path string) Tenant {
	t := Tenant{Line: n.Line, Identity: identity.DefaultRules(), SMS: campaign.DefaultPolicy()}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, path, "want a tenant (id, connections, jobs)")
		return t
	}
	eachKey(p, n, path, []string{"id", "name", "phone_salt", "identity", "sms", "connections", "jobs"}, func(key string, v *yaml.Node) {
		switch key {
		case "id":
			t.ID = scalar(p, v, path+".id")
			if !idRE.MatchString(t.ID) {
				p.add(v.Line, path+".id", "%q: use lower-case letters, digits and dashes", t.ID)
			}
		case "name":
			t.Name = scalar(p, v, path+".name")
		case "phone_salt":
			t.PhoneSalt = scalar(p, v, path+".phone_salt")
		case "identity":
			t.Identity = parseIdentity(p, v, path+".identity")
		case "sms":
			t.SMS = parseSMS(p, v, path+".sms")
		case "connections":
			if v.Kind != yaml.SequenceNode {
				p.add(v.Line, path+".connections", "want a list")
				return
			}
			for i, cn := range v.Content {
				t.Connections = append(t.Connections, parseConnection(p, cn, fmt.Sprintf("%s.connections[%d]", path, i)))
			}
		case "jobs":
			if v.Kind != yaml.SequenceNode {
				p.add(v.Line, path+".jobs", "want a list")
				return
			}
			for i, jn := range v.Content {
				t.Jobs = append(t.Jobs, parseJob(p, jn, fmt.Sprintf("%s.jobs[%d]", path, i)))
			}
		}
	})
	if t.ID == "" {
		p.add(n.Line, path+".id", "is required")
	}
	conns := map[string]int{}
	for _, c := range t.Connections {
		if prev, ok := conns[c.ID]; ok && c.ID != "" {
			p.add(c.Line, path+".connections", "duplicate connection id %q (first at line %d)", c.ID, prev)
		}
		conns[c.ID] = c.Line
	}
	jobs := map[string]int{}
	for i, j := range t.Jobs {
		jp := fmt.Sprintf("%s.jobs[%d]", path, i)
		if prev, ok := jobs[j.ID]; ok && j.ID != "" {
			p.add(j.Line, jp, "duplicate job id %q (first at line %d)", j.ID, prev)
		}
		jobs[j.ID] = j.Line
		if _, ok := conns[j.Connection]; !ok && j.Connection != "" {
			names := make([]string, 0, len(t.Connections))
			for _, c := range t.Connections {
				names = append(names, c.ID)
			}
			p.add(j.Line, jp+".connection", "%q is not a connection of tenant %s (have %v)", j.Connection, t.ID, names)
		}
	}
	return t
}

func parseIdentity(p *problems, n *yaml.Node, path string) identity.Rules {
	var o identity.Override
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, path, "want a mapping (types, blocked, shared_limit)")
		return identity.DefaultRules()
	}
	eachKey(p, n, path, []string{"types", "blocked", "shared_limit"}, func(key string, v *yaml.Node) {
		switch key {
		case "types":
			if v.Kind != yaml.MappingNode {
				p.add(v.Line, path+".types", "want a mapping of identity type to {priority, limit}")
				return
			}
			o.Types = map[string]identity.TypeRule{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				kn, tv := v.Content[i], v.Content[i+1]
				name := kn.Value
				tp := path + ".types." + name
				known := mapping.KnownIdentityType(mapping.IdentityType(name))
				if !known {
					p.add(kn.Line, tp, "not an identity type (want one of %s)", identityTypes())
				}
				if tv.Kind != yaml.MappingNode {
					p.add(tv.Line, tp, "want {priority, limit}")
					continue
				}
				tr := identity.DefaultRules().Types[mapping.IdentityType(name)]
				ok := known
				// Every bad field is reported, not only the first.
				eachKey(p, tv, tp, []string{"priority", "limit"}, func(k string, x *yaml.Node) {
					dst, least := &tr.Priority, 0
					if k == "limit" {
						dst, least = &tr.Limit, 1
					}
					n, good := wholeNumber(p, x, tp+"."+k, least)
					if !good {
						ok = false
						return
					}
					*dst = n
				})
				if ok {
					o.Types[name] = tr
				}
			}
		case "blocked":
			o.Blocked = stringList(p, v, path+".blocked")
		case "shared_limit":
			if n, ok := wholeNumber(p, v, path+".shared_limit", 1); ok {
				o.SharedLimit = n
			}
		}
	})
	r, err := o.Apply()
	if err != nil {
		p.add(n.Line, path, "%v", err)
		return identity.DefaultRules()
	}
	return r
}

// wholeNumber reads a whole number ≥ least, written as one: a
// fraction (2.9), a quoted string or a list is a problem naming the value as
// written, never rounded.
func wholeNumber(p *problems, v *yaml.Node, field string, least int) (int, bool) {
	var n int
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" && v.Decode(&n) == nil && n >= least {
		return n, true
	}
	written := "a " + kindName(v)
	if v.Kind == yaml.ScalarNode {
		written = v.Value
		if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			written = strconv.Quote(v.Value)
		}
	}
	p.add(v.Line, field, "%s: want a whole number ≥ %d", written, least)
	return 0, false
}

func kindName(v *yaml.Node) string {
	switch v.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func identityTypes() string {
	var names []string
	for _, t := range mapping.IdentityTypes() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

func parseSMS(p *problems, n *yaml.Node, path string) campaign.Policy {
	pol := campaign.DefaultPolicy()
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, path, "want a mapping (allowed_hours, opt_out_suffix, per_number, templates)")
		return pol
	}
	// 0 is no limit.
	whole := func(v *yaml.Node, field string, dst *int) {
		*dst, _ = wholeNumber(p, v, field, 0)
	}
	lines := map[string]int{}
	eachKey(p, n, path, []string{"allowed_hours", "opt_out_suffix", "per_number", "templates"}, func(key string, v *yaml.Node) {
		field := path + "." + key
		switch key {
		case "allowed_hours":
			from, to, err := campaign.ParseHours(scalar(p, v, field))
			if err != nil {
				p.add(v.Line, field, "%v", err)
				return
			}
			pol.AllowedFrom, pol.AllowedTo = from, to
		case "opt_out_suffix":
			if pol.OptOutSuffix = scalar(p, v, field); pol.OptOutSuffix == "" {
				p.add(v.Line, field, "must not be empty: every marketing SMS carries a way to refuse")
			}
		case "per_number":
			eachKey(p, v, field, []string{"per_minute", "per_hour", "per_day"}, func(k string, x *yaml.Node) {
				switch k {
				case "per_minute":
					whole(x, field+"."+k, &pol.PerNumber.PerMinute)
				case "per_hour":
					whole(x, field+"."+k, &pol.PerNumber.PerHour)
				case "per_day":
					whole(x, field+"."+k, &pol.PerNumber.PerDay)
				}
			})
		case "templates":
			if v.Kind != yaml.MappingNode {
				p.add(v.Line, field, "want a mapping of template code to {marketing, text}")
				return
			}
			for i := 0; i+1 < len(v.Content); i += 2 {
				code, tv := v.Content[i].Value, v.Content[i+1]
				var t campaign.Template
				eachKey(p, tv, field+"."+code, []string{"marketing", "text"}, func(k string, x *yaml.Node) {
					if k == "marketing" {
						if err := x.Decode(&t.Marketing); err != nil {
							p.add(x.Line, field+"."+code+".marketing", "want true or false")
						}
					} else {
						t.Text = scalar(p, x, field+"."+code+".text")
					}
				})
				pol.Templates[code], lines[code] = t, tv.Line
			}
		}
	})
	for code, t := range pol.Templates {
		if err := (campaign.Policy{OptOutSuffix: pol.OptOutSuffix, Templates: map[string]campaign.Template{code: t}}).Validate(); err != nil {
			p.add(lines[code], path+".templates."+code, "a marketing template must end with the opt-out suffix %q", pol.OptOutSuffix)
		}
	}
	return pol
}

func parseConnection(p *problems, n *yaml.Node, path string) Connection {
	c := Connection{Line: n.Line, configLines: map[string]int{}}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, path, "want a connection (id, connector, config)")
		return c
	}
	eachKey(p, n, path, []string{"id", "connector", "config", "rate_limits"}, func(key string, v *yaml.Node) {
		switch key {
		case "id":
			c.ID = scalar(p, v, path+".id")
			if !idRE.MatchString(c.ID) {
				p.add(v.Line, path+".id", "%q: use lower-case letters, digits and dashes", c.ID)
			}
		case "connector":
			c.Connector = scalar(p, v, path+".connector")
		case "config":
			if v.Kind != yaml.MappingNode {
				p.add(v.Line, path+".config", "want a mapping of the connector's settings")
				return
			}
			c.Config = map[string]any{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				var val any
				if err := v.Content[i+1].Decode(&val); err != nil {
					p.add(v.Content[i+1].Line, path+".config."+v.Content[i].Value, "cannot read the value")
					continue
				}
				c.Config[v.Content[i].Value] = val
				c.configLines[v.Content[i].Value] = v.Content[i].Line
			}
		case "rate_limits":
			if err := v.Decode(&c.RateLimits); err != nil {
				p.add(v.Line, path+".rate_limits", "want a mapping of API group to requests per second, e.g. {\"*\": 10}")
			}
		}
	})
	if c.ID == "" {
		p.add(n.Line, path+".id", "is required")
	}
	if c.Connector == "" {
		p.add(n.Line, path+".connector", "is required")
	}
	if c.Config == nil {
		c.Config = map[string]any{}
	}
	return c
}

func parseJob(p *problems, n *yaml.Node, path string) Job {
	j := Job{Line: n.Line, Mode: "incremental"}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, path, "want a job (id, connection, read/write, mode, schedule)")
		return j
	}
	eachKey(p, n, path, []string{"id", "connection", "read", "write", "mode", "schedule", "breaker"}, func(key string, v *yaml.Node) {
		field := path + "." + key
		switch key {
		case "id":
			j.ID = scalar(p, v, field)
			if !idRE.MatchString(j.ID) {
				p.add(v.Line, field, "%q: use lower-case letters, digits and dashes", j.ID)
			}
		case "connection":
			j.Connection = scalar(p, v, field)
		case "read":
			j.Read, j.readLines = stringListLines(p, v, field)
		case "write":
			j.Write, j.writeLines = stringListLines(p, v, field)
		case "mode":
			j.Mode = scalar(p, v, field)
			if j.Mode != "full" && j.Mode != "incremental" {
				p.add(v.Line, field, "%q: want full or incremental", j.Mode)
			}
		case "schedule":
			j.Schedule = scalar(p, v, field)
			if _, err := cron.ParseStandard(j.Schedule); err != nil {
				p.add(v.Line, field, "bad cron expression %q: %v", j.Schedule, err)
			}
		case "breaker":
			eachKey(p, v, field, []string{"failures", "open_for"}, func(k string, bv *yaml.Node) {
				switch k {
				case "failures":
					j.Breaker.Failures, _ = wholeNumber(p, bv, field+".failures", 1)
				case "open_for":
					d, err := time.ParseDuration(bv.Value)
					if err != nil || d <= 0 {
						p.add(bv.Line, field+".open_for", "%q: want a duration such as 30s or 5m", bv.Value)
					}
					j.Breaker.OpenFor = d
				}
			})
		}
	})
	if j.ID == "" {
		p.add(n.Line, path+".id", "is required")
	}
	if j.Connection == "" {
		p.add(n.Line, path+".connection", "is required")
	}
	if len(j.Read)+len(j.Write) == 0 {
		p.add(n.Line, path, "give at least one stream to read or action to write")
	}
	return j
}

// Tenant returns the tenant with id.
func (c *Config) Tenant(id string) (*Tenant, error) {
	for i := range c.Tenants {
		if c.Tenants[i].ID == id {
			return &c.Tenants[i], nil
		}
	}
	return nil, fmt.Errorf("no tenant %q in %s", id, c.Path)
}

// Connection returns the tenant's connection with id.
func (t *Tenant) Connection(id string) (*Connection, error) {
	for i := range t.Connections {
		if t.Connections[i].ID == id {
			return &t.Connections[i], nil
		}
	}
	return nil, fmt.Errorf("tenant %s has no connection %q", t.ID, id)
}

// Job returns the tenant's job with id.
func (t *Tenant) Job(id string) (*Job, error) {
	for i := range t.Jobs {
		if t.Jobs[i].ID == id {
			return &t.Jobs[i], nil
		}
	}
	return nil, fmt.Errorf("tenant %s has no job %q", t.ID, id)
}

// FindJob resolves "JOB" (unique across tenants) or "TENANT/JOB".
func (c *Config) FindJob(ref string) (*Tenant, *Job, error) {
	if tenant, job, ok := strings.Cut(ref, "/"); ok {
		t, err := c.Tenant(tenant)
		if err != nil {
			return nil, nil, err
		}
		j, err := t.Job(job)
		return t, j, err
	}
	var found []string
	var ft *Tenant
	var fj *Job
	for i := range c.Tenants {
		if j, err := c.Tenants[i].Job(ref); err == nil {
			ft, fj = &c.Tenants[i], j
			found = append(found, c.Tenants[i].ID+"/"+ref)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil, fmt.Errorf("no job %q in %s", ref, c.Path)
	case 1:
		return ft, fj, nil
	}
	return nil, nil, fmt.Errorf("job %q is in several tenants: name one of %s", ref, strings.Join(found, ", "))
}

// ValidateConnectors checks every connection against its connector's spec:
// the connector exists, and its config has the right fields and types; and
// every job's read streams and write actions are ones its connector has.
// Every problem names the file, the line, the tenant, the connection and the
// field; config values are never echoed.
func (c *Config) ValidateConnectors(specs func(name string) (sdk.Spec, bool), known []string) error {
	file := c.Path
	if i := strings.LastIndex(file, "/"); i >= 0 {
		file = file[i+1:]
	}
	var errs []error
	for ti, t := range c.Tenants {
		for ci, conn := range t.Connections {
			path := fmt.Sprintf("tenants[%d].connections[%d]", ti, ci)
			spec, ok := specs(conn.Connector)
			if !ok {
				errs = append(errs, fmt.Errorf("%s:%d: %s.connector: no plugin named %q (have: %s)", file, conn.Line, path, conn.Connector, strings.Join(known, ", ")))
				continue
			}
			_, err := spec.ParseConfig(conn.Config)
			for _, e := range unjoin(err) {
				var se *sdk.Error
				line := conn.Line
				msg := e.Error()
				if errors.As(e, &se) {
					if l, ok := conn.configLines[se.Field]; ok {
						line = l
					}
					msg = fmt.Sprintf("%s.config.%s: %s", path, se.Field, se.Message)
				}
				errs = append(errs, fmt.Errorf("%s:%d: tenant %s, connection %s: %s", file, line, t.ID, conn.ID, msg))
			}
		}
		for ji, job := range t.Jobs {
			conn, err := t.Connection(job.Connection)
			if err != nil {
				continue // Parse reported it
			}
			spec, ok := specs(conn.Connector)
			if !ok {
				continue // reported above
			}
			path := fmt.Sprintf("tenants[%d].jobs[%d]", ti, ji)
			for i, name := range job.Read {
				if _, ok := spec.Stream(name); !ok {
					errs = append(errs, fmt.Errorf("%s:%d: %s.read: connector %s (connection %s) has no stream %q (streams: %s)",
						file, lineAt(job.readLines, i, job.Line), path, spec.Name, conn.ID, name, namesOr(spec.Streams, func(s sdk.StreamSpec) string { return s.Name })))
				}
			}
			for i, name := range job.Write {
				if _, ok := spec.Action(name); !ok {
					errs = append(errs, fmt.Errorf("%s:%d: %s.write: connector %s (connection %s) has no write action %q (actions: %s)",
						file, lineAt(job.writeLines, i, job.Line), path, spec.Name, conn.ID, name, namesOr(spec.Actions, func(a sdk.ActionSpec) string { return a.Name })))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// lineAt is lines[i], or def where the line is not known.
func lineAt(lines []int, i, def int) int {
	if i < len(lines) {
		return lines[i]
	}
	return def
}

// namesOr lists the names of items, or says there are none.
func namesOr[T any](items []T, name func(T) string) string {
	if len(items) == 0 {
		return "none"
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = name(it)
	}
	return strings.Join(names, ", ")
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
