// Package sandboxes starts the platform emulators together, each on its own
// loopback listener, for `hub sandbox`, `hub demo` and end-to-end tests. Every
// sandbox serves the same seeded people (connectors/sandboxdata), so one
// person's records on several platforms join into one member.
package sandboxes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	douyinsandbox "github.com/channelhub/channelhub/connectors/douyin/sandbox"
	minisandbox "github.com/channelhub/channelhub/connectors/miniprogram/sandbox"
	"github.com/channelhub/channelhub/connectors/sandboxdata"
	smssandbox "github.com/channelhub/channelhub/connectors/sms/sandbox"
	taobaosandbox "github.com/channelhub/channelhub/connectors/taobao/sandbox"
	wechatsandbox "github.com/channelhub/channelhub/connectors/wechat/sandbox"
	wecomsandbox "github.com/channelhub/channelhub/connectors/wecom/sandbox"
	xhssandbox "github.com/channelhub/channelhub/connectors/xiaohongshu/sandbox"
)

// Options configure Start. Zero values are the documented defaults.
type Options struct {
	// Platforms to start; default all of Available(). "sms" names both SMS
	// providers (sms-aliyun, sms-tencent).
	Platforms []string
	// Seed and Members shape the seeded people; defaults 1 and 3000.
	Seed    uint64
	Members int
	// Listen is the address of the first sandbox ("127.0.0.1:0" picks free
	// ports); with a fixed port, later sandboxes take the following ports.
	Listen string
}

// Connection is a ready hub connection for a sandbox.
type Connection struct {
	ID        string         `json:"id"`
	Connector string         `json:"connector"`
	Config    map[string]any `json:"config"`
	// RateLimits override the plugin's declared limits: the sandboxes take
	// more than the real platforms allow.
	RateLimits map[string]float64 `json:"rate_limits,omitempty" yaml:"rate_limits,omitempty"`
}

// Job is a ready hub job for a sandbox.
type Job struct {
	ID         string   `json:"id"`
	Connection string   `json:"connection"`
	Read       []string `json:"read,omitempty" yaml:"read,omitempty"`
	Write      []string `json:"write,omitempty" yaml:"write,omitempty"`
	Mode       string   `json:"mode"`
	Schedule   string   `json:"schedule,omitempty" yaml:"schedule,omitempty"`
}

// Running is one started sandbox.
type Running struct {
	Platform    string            `json:"platform"`
	URL         string            `json:"url"`
	Credentials map[string]string `json:"credentials"`
	Connections []Connection      `json:"-"`
	Jobs        []Job             `json:"-"`
	// Server is the emulator itself, for tests and the demo to inspect and
	// drive (e.g. *wechatsandbox.Server).
	Server http.Handler `json:"-"`

	srv *http.Server
}

// Set is the started sandboxes.
type Set struct {
	Running []*Running
}

// platform describes how to build one sandbox.
type platform struct {
	name  string
	build func(o Options) (http.Handler, map[string]string, []Connection, []Job)
}

// platforms is the explicit list of sandboxes, in start order.
var platforms = []platform{
	{name: "wechat", build: buildWechat},
	{name: "wecom", build: buildWecom},
	{name: "miniprogram", build: buildMiniprogram},
	{name: "taobao", build: buildTaobao},
	{name: "douyin", build: buildDouyin},
	{name: "xiaohongshu", build: buildXiaohongshu},
	{name: "sms-aliyun", build: buildSMS("aliyun")},
	{name: "sms-tencent", build: buildSMS("tencent")},
}

// Available lists the platforms that have a sandbox.
func Available() []string {
	out := make([]string, len(platforms))
	for i, p := range platforms {
		out[i] = p.name
	}
	return out
}

func buildWechat(o Options) (http.Handler, map[string]string, []Connection, []Job) {
	s := wechatsandbox.New(wechatsandbox.Config{Seed: o.Seed, Members: o.Members})
	cfg := s.Config()
	creds := map[string]string{"app_id": cfg.AppID, "app_secret": cfg.AppSecret, "open_platform_id": sandboxdata.OpenPlatformID}
	conn := Connection{ID: "wechat-oa", Connector: "wechat", Config: map[string]any{
		"app_id": cfg.AppID, "app_secret": cfg.AppSecret, "open_platform_id": sandboxdata.OpenPlatformID,
	}}
	job := Job{ID: "wechat-followers", Connection: conn.ID, Read: []string{"followers"}, Write: []string{"tags.add", "tags.remove"}, Mode: "incremental", Schedule: "*/15 * * * *"}
	return s, creds, []Connection{conn}, []Job{job}
}

func buildWecom(o Options) (http.Handler, map[string]string, []Connection, []Job) {
	h, creds, cfg := wecomsandbox.ForHub(o.Seed, o.Members)
	conn := Connection{ID: "wecom-cc", Connector: "wecom", Config: cfg, RateLimits: map[string]float64{"*": 500}}
	job := Job{ID: "wecom-customers", Connection: conn.ID, Read: []string{"customers"}, Write: []string{"tags.add", "tags.remove"}, Mode: "full", Schedule: "0 */2 * * *"}
	return h, creds, []Connection{conn}, []Job{job}
}

func buildMiniprogram(o Options) (http.Handler, map[string]string, []Connection, []Job) {
	h, creds, cfg := minisandbox.ForHub(o.Seed, o.Members)
	conn := Connection{ID: "miniprogram", Connector: "miniprogram", Config: cfg, RateLimits: map[string]float64{"*": 500}}
	job := Job{ID: "miniprogram-orders", Connection: conn.ID, Read: []string{"orders"}, Mode: "incremental", Schedule: "0 * * * *"}
	return h, creds, []Connection{conn}, []Job{job}
}

// buildSMS builds one SMS provider's sandbox: each takes its own listener,
// since the official SDKs take a bare host:port endpoint.
func buildSMS(provider string) func(o Options) (http.Handler, map[string]string, []Connection, []Job) {
	return func(o Options) (http.Handler, map[string]string, []Connection, []Job) {
		h, creds, cfg := smssandbox.ForHub(provider, o.Seed)
		cfg["callback_token"] = "cb-" + sandboxdata.ID(o.Seed, "sms-callback-"+provider, 0, 16)
		conn := Connection{ID: "sms-" + provider, Connector: "sms", Config: cfg, RateLimits: map[string]float64{"*": 500}}
		job := Job{ID: "sms-" + provider, Connection: conn.ID, Write: []string{"sms.send"}, Mode: "incremental"}
		if provider == "tencent" {
			// Tencent is pulled for replies (opt-outs) and receipts;
			// Alibaba pushes them to the hub's webhook.
			job.Read, job.Schedule = []string{"replies", "receipts"}, "*/5 * * * *"
		}
		return h, creds, []Connection{conn}, []Job{job}
	}
}

func buildTaobao(o Options) (http.Handler, map[string]string, []Connection, []Job) {
	h, creds, cfg := taobaosandbox.ForHub(o.Seed, o.Members)
	conn := Connection{ID: "taobao-shop", Connector: "taobao", Config: cfg, RateLimits: map[string]float64{"*": 500}}
	job := Job{ID: "taobao-orders", Connection: conn.ID, Read: []string{"orders", "members"}, Write: []string{"member.level", "points.set"}, Mode: "incremental", Schedule: "*/10 * * * *"}
	// TMC every minute: point changes are answered by the run after the one
	// that stored them.
	tmc := Job{ID: "taobao-tmc", Connection: conn.ID, Read: []string{"tmc"}, Mode: "incremental", Schedule: "@every 1m"}
	return h, creds, []Connection{conn}, []Job{job, tmc}
}

func buildDouyin(o Options) (http.Handler, map[string]string, []Connection, []Job) {
	h, creds, cfg := douyinsandbox.ForHub(o.Seed, o.Members)
	conn := Connection{ID: "douyin-shop", Connector: "douyin", Config: cfg, RateLimits: map[string]float64{"*": 500}}
	job := Job{ID: "douyin-orders", Connection: conn.ID, Read: []string{"orders"}, Write: []string{"member.level", "points.set", "member.erase"}, Mode: "incremental", Schedule: "*/10 * * * *"}
	return h, creds, []Connection{conn}, []Job{job}
}

func buildXiaohongshu(o Options) (http.Handler, map[string]string, []Connection, []Job) {
	h, creds, cfg := xhssandbox.ForHub(o.Seed, o.Members)
	conn := Connection{ID: "xhs-shop", Connector: "xiaohongshu", Config: cfg, RateLimits: map[string]float64{"*": 500}}
	job := Job{ID: "xhs-orders", Connection: conn.ID, Read: []string{"orders"}, Mode: "incremental", Schedule: "*/10 * * * *"}
	return h, creds, []Connection{conn}, []Job{job}
}

// Start starts the chosen sandboxes.
func Start(ctx context.Context, o Options) (*Set, error) {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Members == 0 {
		o.Members = 3000
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	var names []string
	for _, n := range o.Platforms {
		if n == "sms" { // both providers
			names = append(names, "sms-aliyun", "sms-tencent")
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		names = Available()
	}
	for _, n := range names {
		if !slices.Contains(Available(), n) {
			return nil, fmt.Errorf("no sandbox for platform %q (have %s)", n, strings.Join(Available(), ", "))
		}
	}
	host, port, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", o.Listen, err)
	}
	set := &Set{}
	next := 0
	fmt.Sscan(port, &next)
	for _, p := range platforms {
		if !slices.Contains(names, p.name) {
			continue
		}
		addr := net.JoinHostPort(host, "0")
		if next > 0 {
			addr = net.JoinHostPort(host, fmt.Sprint(next))
			next++
		}
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err != nil {
			set.Close()
			return nil, fmt.Errorf("sandbox %s: listen %s: %w", p.name, addr, err)
		}
		h, creds, conns, jobs := p.build(o)
		url := "http://" + ln.Addr().String()
		for i := range conns {
			if conns[i].Connector == "sms" {
				conns[i].Config["endpoint"] = ln.Addr().String()
				creds["endpoint"] = ln.Addr().String()
				continue
			}
			conns[i].Config["api_base"] = url
		}
		r := &Running{Platform: p.name, URL: url, Credentials: creds, Connections: conns, Jobs: jobs, Server: h,
			srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
		go func() {
			if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				_ = err // the listener closed under us; Close reports nothing more
			}
		}()
		set.Running = append(set.Running, r)
	}
	return set, nil
}

// Get returns the running sandbox of a platform, or nil.
func (s *Set) Get(platform string) *Running {
	for _, r := range s.Running {
		if r.Platform == platform {
			return r
		}
	}
	return nil
}

// Close stops every sandbox.
func (s *Set) Close() {
	for _, r := range s.Running {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = r.srv.Shutdown(ctx)
		cancel()
	}
}
