package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/officialaccount"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/user"
	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat/sandbox"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a sandbox behind an httptest server.
type env struct {
	t   *testing.T
	sb  *sandbox.Server
	srv *httptest.Server
	clk *clock
}

func start(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	clk := newClock()
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if cfg.Members == 0 {
		cfg.Members = 40
	}
	sb := sandbox.New(cfg)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{t: t, sb: sb, srv: srv, clk: clk}
}

// answer is a decoded JSON answer with its raw keys.
type answer struct {
	status int
	raw    []byte
	keys   map[string]json.RawMessage
}

func (a answer) code() int {
	var c int
	if m, ok := a.keys["errcode"]; ok {
		_ = json.Unmarshal(m, &c)
	}
	return c
}

func (a answer) str(key string) string {
	var s string
	_ = json.Unmarshal(a.keys[key], &s)
	return s
}

func (a answer) num(key string) int {
	var n int
	_ = json.Unmarshal(a.keys[key], &n)
	return n
}

func (a answer) into(v any) {
	if err := json.Unmarshal(a.raw, v); err != nil {
		panic(err)
	}
}

// do sends a request; body is JSON-encoded unless it is a string.
func (e *env) do(method, path string, q url.Values, body any) answer {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		noError(e.t, err)
		rd = bytes.NewReader(data)
	}
	u := e.srv.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, u, rd)
	noError(e.t, err)
	resp, err := e.srv.Client().Do(req)
	noError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	noError(e.t, err)
	a := answer{status: resp.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &a.keys)
	return a
}

func (e *env) get(path string, q url.Values) answer { return e.do(http.MethodGet, path, q, nil) }

// call makes a business call with token.
func (e *env) call(method, path, token string, q url.Values, body any) answer {
	e.t.Helper()
	if q == nil {
		q = url.Values{}
	}
	q.Set("access_token", token)
	return e.do(method, path, q, body)
}

func (e *env) token() string {
	e.t.Helper()
	cfg := e.sb.Config()
	a := e.get("/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {cfg.AppID}, "secret": {cfg.AppSecret}})
	equal(e.t, 0, a.code(), string(a.raw))
	return a.str("access_token")
}

func (e *env) stable(force bool) answer {
	e.t.Helper()
	cfg := e.sb.Config()
	return e.do(http.MethodPost, "/cgi-bin/stable_token", nil, map[string]any{
		"grant_type": "client_credential", "appid": cfg.AppID, "secret": cfg.AppSecret, "force_refresh": force,
	})
}

// probe makes a cheap business call and returns its errcode.
func (e *env) probe(token string) int {
	e.t.Helper()
	return e.call(http.MethodGet, "/cgi-bin/tags/get", token, nil, nil).code()
}

var ridRE = regexp.MustCompile(` rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$`)

func TestTokenRotationGraceAndExpiry(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{})

	a := e.token()
	first := e.get("/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {sandbox.DefaultAppID}, "secret": {sandbox.DefaultAppSecret}})
	equal(t, 7200, first.num("expires_in"))
	b := first.str("access_token")
	notEqual(t, a, b, "/cgi-bin/token rotates on every call")
	greater(t, len(b), 100)

	equal(t, 0, e.probe(a), "the previous token works during the grace period")
	equal(t, 0, e.probe(b))
	e.clk.Advance(5*time.Minute - time.Second)
	equal(t, 0, e.probe(a))
	e.clk.Advance(time.Second)
	equal(t, 40001, e.probe(a), "superseded past the grace period")
	equal(t, 0, e.probe(b))

	e.clk.Advance(7200*time.Second - 5*time.Minute)
	equal(t, 42001, e.probe(b), "expired")
	equal(t, 42001, e.probe(a), "expired wins over superseded")

	equal(t, 40014, e.probe("not-a-token"))
	missing := e.get("/cgi-bin/tags/get", nil)
	equal(t, 41001, missing.code())
	matches(t, ridRE, missing.str("errmsg"))
}

func TestTokenGraceConfigurable(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{TokenGrace: -1, TokenTTL: time.Minute})
	a := e.token()
	equal(t, 0, e.probe(a))
	b := e.token()
	equal(t, 40001, e.probe(a), "no grace: the old token dies at once")
	equal(t, 0, e.probe(b))
	e.clk.Advance(time.Minute)
	equal(t, 42001, e.probe(b))
}

func TestExpireTokens(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{})
	tok := e.token()
	st := e.stable(false).str("access_token")
	e.sb.ExpireTokens()
	equal(t, 42001, e.probe(tok))
	equal(t, 42001, e.probe(st))
	fresh := e.stable(false)
	notEqual(t, st, fresh.str("access_token"))
	equal(t, 7200, fresh.num("expires_in"))
	equal(t, 0, e.probe(fresh.str("access_token")))

	// The same over the admin API.
	equal(t, http.StatusOK, e.do(http.MethodPost, "/sandbox/tokens/expire", nil, nil).status)
	equal(t, 42001, e.probe(fresh.str("access_token")))
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: -1})
	good := map[string]string{"grant_type": "client_credential", "appid": sandbox.DefaultAppID, "secret": sandbox.DefaultAppSecret}
	tests := []struct {
		name   string
		change map[string]string
		code   int
		msg    string
	}{
		{"bad grant_type", map[string]string{"grant_type": "password"}, 40002, "invalid grant_type"},
		{"missing appid", map[string]string{"appid": ""}, 41002, "appid missing"},
		{"wrong appid", map[string]string{"appid": "wx0000000000000000"}, 40013, "invalid appid"},
		{"missing secret", map[string]string{"secret": ""}, 41004, "appsecret missing"},
		{"wrong secret", map[string]string{"secret": "nope"}, 40125, "invalid appsecret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]any{}
			q := url.Values{}
			for k, v := range good {
				if c, ok := tc.change[k]; ok {
					v = c
				}
				params[k] = v
				q.Set(k, v)
			}
			for _, a := range []answer{
				e.get("/cgi-bin/token", q),
				e.do(http.MethodPost, "/cgi-bin/stable_token", nil, params),
			} {
				equal(t, http.StatusOK, a.status)
				equal(t, tc.code, a.code(), string(a.raw))
				matches(t, "^"+tc.msg+ridRE.String(), a.str("errmsg"))
				lacksKey(t, a.keys, "access_token")
			}
		})
	}

	equal(t, 43002, e.get("/cgi-bin/stable_token", nil).code())
	equal(t, 43001, e.do(http.MethodPost, "/cgi-bin/token", nil, "{}").code())
	equal(t, 44002, e.do(http.MethodPost, "/cgi-bin/stable_token", nil, "").code())
	equal(t, 47001, e.do(http.MethodPost, "/cgi-bin/stable_token", nil, "{grant_type").code())
}

func TestStableToken(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{})

	first := e.stable(false)
	tok := first.str("access_token")
	equal(t, 7200, first.num("expires_in"))

	e.clk.Advance(1000 * time.Second)
	again := e.stable(false)
	equal(t, tok, again.str("access_token"), "same token while valid")
	equal(t, 6200, again.num("expires_in"), "remaining lifetime")

	// /cgi-bin/token does not touch stable tokens.
	e.token()
	e.token()
	e.clk.Advance(10 * time.Minute)
	equal(t, 0, e.probe(tok))
	equal(t, tok, e.stable(false).str("access_token"))

	// 5 minutes before expiry the platform rotates; the old token lives on.
	e.clk.Advance(7200*time.Second - 1000*time.Second - 10*time.Minute - 5*time.Minute)
	rotated := e.stable(false)
	notEqual(t, tok, rotated.str("access_token"))
	equal(t, 7200, rotated.num("expires_in"))
	equal(t, 0, e.probe(tok), "old stable token valid until it expires")
	e.clk.Advance(5 * time.Minute)
	equal(t, 42001, e.probe(tok))

	// force_refresh: new token, old one dead at once; 30 s apart.
	cur := rotated.str("access_token")
	forced := e.stable(true)
	equal(t, 0, forced.code())
	notEqual(t, cur, forced.str("access_token"))
	equal(t, 40001, e.probe(cur))
	equal(t, 0, e.probe(forced.str("access_token")))
	equal(t, 45011, e.stable(true).code(), "force refreshes must be 30 s apart")
	e.clk.Advance(30 * time.Second)
	equal(t, 0, e.stable(true).code())
}

func TestStableTokenForceRefreshDailyLimit(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: -1})
	// The clock starts at 18:00 Beijing: 20 refreshes 31 s apart fit in the day.
	for i := range 20 {
		equal(t, 0, e.stable(true).code(), "refresh %d", i)
		e.clk.Advance(31 * time.Second)
	}
	equal(t, 45009, e.stable(true).code())
	e.clk.Advance(6 * time.Hour) // next day in Beijing
	equal(t, 0, e.stable(true).code())
}

// page is /cgi-bin/user/get's answer.
type page struct {
	Total int `json:"total"`
	Count int `json:"count"`
	Data  struct {
		OpenID []string `json:"openid"`
	} `json:"data"`
	NextOpenID string `json:"next_openid"`
}

func TestUserGetPaging(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 60, PageSize: 7})
	tok := e.token()
	followers := e.sb.Followers()
	equal(t, len(e.sb.OpenIDs()), followers)
	greater(t, followers, 7*3, "several pages")

	var got []string
	next := ""
	for pages := 0; ; pages++ {
		less(t, pages, 20)
		q := url.Values{}
		if next != "" {
			q.Set("next_openid", next)
		}
		a := e.call(http.MethodGet, "/cgi-bin/user/get", tok, q, nil)
		equal(t, 0, a.code(), string(a.raw))
		lacksKey(t, a.keys, "errcode", "success answers carry no errcode")
		var p page
		a.into(&p)
		equal(t, followers, p.Total, "total is constant")
		if p.Count == 0 {
			equal(t, "", p.NextOpenID)
			lacksKey(t, a.keys, "data", "the empty last page has no data key")
			break
		}
		equal(t, p.Count, len(p.Data.OpenID))
		atMost(t, p.Count, 7)
		equal(t, p.Data.OpenID[p.Count-1], p.NextOpenID, "next_openid is the page's last openid, on the last page too")
		got = append(got, p.Data.OpenID...)
		next = p.NextOpenID
	}
	equal(t, e.sb.OpenIDs(), got)
	equal(t, (followers+6)/7+1, e.sb.Requests("/cgi-bin/user/get"), "every page, then the empty one")

	bad := e.call(http.MethodGet, "/cgi-bin/user/get", tok, url.Values{"next_openid": {"oNotAFollower"}}, nil)
	equal(t, 40003, bad.code())
	equal(t, 43001, e.call(http.MethodPost, "/cgi-bin/user/get", tok, nil, "{}").code())
}

func TestUserGetExactPages(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 30})
	n := e.sb.Followers()
	e2 := start(t, sandbox.Config{Members: 30, PageSize: n})
	tok := e2.token()
	var p page
	e2.call(http.MethodGet, "/cgi-bin/user/get", tok, nil, nil).into(&p)
	equal(t, n, p.Count)
	equal(t, p.Data.OpenID[n-1], p.NextOpenID)
	last := e2.call(http.MethodGet, "/cgi-bin/user/get", tok, url.Values{"next_openid": {p.NextOpenID}}, nil)
	jsonEq(t, fmt.Sprintf(`{"total":%d,"count":0,"next_openid":""}`, n), string(last.raw))
}

func TestUserGetEmptyAccount(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: -1})
	a := e.call(http.MethodGet, "/cgi-bin/user/get", e.token(), nil, nil)
	jsonEq(t, `{"total":0,"count":0,"next_openid":""}`, string(a.raw))
}

func TestDefaultsAndDeterminism(t *testing.T) {
	t.Parallel()
	a := sandbox.New(sandbox.Config{Now: newClock().Now})
	b := sandbox.New(sandbox.Config{Seed: 1, Members: 3000})
	cfg := a.Config()
	equal(t, sandbox.DefaultAppID, cfg.AppID)
	equal(t, 10000, cfg.PageSize)
	equal(t, 7200*time.Second, cfg.TokenTTL)
	equal(t, 5*time.Minute, cfg.TokenGrace)
	equal(t, a.OpenIDs(), b.OpenIDs())
	isTrue(t, a.Followers() > 2400 && a.Followers() < 2700, "about 85% of 3000 follow, got ", a.Followers())
	c := sandbox.New(sandbox.Config{Seed: 2, Members: 50})
	notEqual(t, a.OpenIDs()[:5], c.OpenIDs()[:5])
}

// userKeys are the keys of a follower's user info, none of the legacy ones.
var userKeys = []string{"subscribe", "openid", "language", "subscribe_time", "unionid", "remark", "groupid", "tagid_list", "subscribe_scene", "qr_scene", "qr_scene_str"}

func keysOf(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestBatchGet(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 300})
	tok := e.token()
	ids := e.sb.OpenIDs()

	// openid → person, to check the data comes from sandboxdata.
	people := map[string]sandboxdata.Person{}
	for _, p := range sandboxdata.Persons(1, 300) {
		people[sandbox.OpenID(1, p.Index)] = p
	}

	list := func(ids []string) map[string]any {
		items := make([]map[string]string, len(ids))
		for i, id := range ids {
			items[i] = map[string]string{"openid": id, "lang": "zh_CN"}
		}
		return map[string]any{"user_list": items}
	}
	batch := func(ids []string) answer {
		return e.call(http.MethodPost, "/cgi-bin/user/info/batchget", tok, nil, list(ids))
	}

	equal(t, 40032, batch(ids[:101]).code(), "at most 100 items")
	equal(t, 40032, batch(nil).code())
	equal(t, 40003, batch([]string{ids[0], "oUnknownOpenidUnknownOpenid0"}).code())
	equal(t, 44002, e.call(http.MethodPost, "/cgi-bin/user/info/batchget", tok, nil, "").code())
	equal(t, 47001, e.call(http.MethodPost, "/cgi-bin/user/info/batchget", tok, nil, `{"user_list":"x"}`).code())

	gone := ids[3]
	isTrue(t, e.sb.Unfollow(gone))
	isTrue(t, !e.sb.Unfollow(gone))
	a := batch(ids[:100])
	equal(t, 0, a.code(), string(a.raw))
	var res struct {
		UserInfoList []map[string]json.RawMessage `json:"user_info_list"`
	}
	a.into(&res)
	equal(t, 100, len(res.UserInfoList))
	var prev int64
	for i, u := range res.UserInfoList {
		var openid string
		noError(t, json.Unmarshal(u["openid"], &openid))
		equal(t, ids[i], openid, "answers in request order")
		if openid == gone {
			jsonEq(t, fmt.Sprintf(`{"subscribe":0,"openid":%q}`, gone), mustJSON(t, u))
			continue
		}
		equal(t, sorted(userKeys), keysOf(u), "no nickname, headimgurl, sex, city…")
		var info user.Info
		noError(t, json.Unmarshal([]byte(mustJSON(t, u)), &info))
		p := people[openid]
		equal(t, int32(1), info.Subscribe)
		equal(t, p.UnionID, info.UnionID, "bound to the open platform: every follower has a unionid")
		equal(t, p.Since.Unix(), int64(info.SubscribeTime))
		atLeast(t, int64(info.SubscribeTime), prev, "follow order")
		prev = int64(info.SubscribeTime)
		isTrue(t, strings.HasPrefix(info.SubscribeScene, "ADD_SCENE_"), info.SubscribeScene)
		has(t, []string{"zh_CN", "zh_TW", "en"}, info.Language)
		equal(t, string(u["tagid_list"])[0], byte('['), "tagid_list is a list, never null")
		equal(t, 28, len(openid))
	}

	// user/info answers the same shapes.
	one := e.call(http.MethodGet, "/cgi-bin/user/info", tok, url.Values{"openid": {ids[0]}, "lang": {"zh_CN"}}, nil)
	equal(t, sorted(userKeys), keysOf(one.keys))
	equal(t, people[ids[0]].UnionID, one.str("unionid"))
	jsonEq(t, fmt.Sprintf(`{"subscribe":0,"openid":%q}`, gone), string(e.call(http.MethodGet, "/cgi-bin/user/info", tok, url.Values{"openid": {gone}}, nil).raw))
	equal(t, 41009, e.call(http.MethodGet, "/cgi-bin/user/info", tok, nil, nil).code())
	equal(t, 40003, e.call(http.MethodGet, "/cgi-bin/user/info", tok, url.Values{"openid": {"oUnknownOpenidUnknownOpenid0"}}, nil).code())
}

func TestLegacyProfile(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 20, LegacyProfile: true})
	id := e.sb.OpenIDs()[0]
	a := e.call(http.MethodGet, "/cgi-bin/user/info", e.token(), url.Values{"openid": {id}}, nil)
	var info user.Info
	a.into(&info)
	var p sandboxdata.Person
	for _, q := range sandboxdata.Persons(1, 20) {
		if sandbox.OpenID(1, q.Index) == id {
			p = q
		}
	}
	equal(t, p.City, info.City)
	equal(t, p.Province, info.Province)
	equal(t, int32(p.Gender), info.Sex)
	equal(t, p.Name, info.Nickname)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	noError(t, err)
	return string(b)
}

type tagList struct {
	Tags []struct {
		ID    int    `json:"id"`
		Name  string `json:"name"`
		Count int    `json:"count"`
	} `json:"tags"`
}

func TestSeededTags(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 2000})
	var tl tagList
	e.call(http.MethodGet, "/cgi-bin/tags/get", e.token(), nil, nil).into(&tl)
	names := map[string]int{}
	for _, tg := range tl.Tags {
		names[tg.Name] = tg.Count
		equal(t, e.sb.TagCount(tg.ID), tg.Count)
	}
	_, star := names["星标组"]
	isTrue(t, star, "the system tag 2 is listed: ", names)
	for _, n := range []string{"VIP", "新客", "沉睡"} {
		id, ok := e.sb.TagByName(n)
		isTrue(t, ok, n)
		atLeast(t, id, 100)
		greater(t, names[n], 0, n)
		// Counts agree with the followers' tags.
		count := 0
		for _, o := range e.sb.OpenIDs() {
			if slices.Contains(e.sb.TagIDsOf(o), id) {
				count++
			}
		}
		equal(t, names[n], count, n)
	}
	_, ok := e.sb.TagByName("nope")
	isTrue(t, !ok)
}

func TestTagManagement(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 10})
	tok := e.token()
	post := func(path string, body any) answer { return e.call(http.MethodPost, path, tok, nil, body) }
	create := func(name string) answer {
		return post("/cgi-bin/tags/create", map[string]any{"tag": map[string]any{"name": name}})
	}

	a := create("广东")
	equal(t, 0, a.code(), string(a.raw))
	var created struct {
		Tag struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"tag"`
	}
	a.into(&created)
	equal(t, "广东", created.Tag.Name)
	id, ok := e.sb.TagByName("广东")
	isTrue(t, ok)
	equal(t, id, created.Tag.ID)
	isTrue(t, !strings.Contains(string(a.raw), `\u`), "Chinese is sent unescaped: ", string(a.raw))

	tests := []struct {
		name string
		path string
		body any
		code int
	}{
		{"duplicate name", "/cgi-bin/tags/create", map[string]any{"tag": map[string]any{"name": "VIP"}}, 45157},
		{"empty name", "/cgi-bin/tags/create", map[string]any{"tag": map[string]any{"name": ""}}, 45157},
		{"name of 31 bytes", "/cgi-bin/tags/create", map[string]any{"tag": map[string]any{"name": strings.Repeat("a", 31)}}, 45158},
		{"Chinese name of 33 bytes", "/cgi-bin/tags/create", map[string]any{"tag": map[string]any{"name": strings.Repeat("汉", 11)}}, 45158},
		{"update system tag 2", "/cgi-bin/tags/update", map[string]any{"tag": map[string]any{"id": 2, "name": "x"}}, 45058},
		{"update system tag 0", "/cgi-bin/tags/update", map[string]any{"tag": map[string]any{"id": 0, "name": "x"}}, 45058},
		{"delete system tag 1", "/cgi-bin/tags/delete", map[string]any{"tag": map[string]any{"id": 1}}, 45058},
		{"update unknown tag", "/cgi-bin/tags/update", map[string]any{"tag": map[string]any{"id": 999, "name": "x"}}, 45159},
		{"update to a taken name", "/cgi-bin/tags/update", map[string]any{"tag": map[string]any{"id": id, "name": "VIP"}}, 45157},
		{"delete unknown tag", "/cgi-bin/tags/delete", map[string]any{"tag": map[string]any{"id": 999}}, 45159},
		{"bad JSON", "/cgi-bin/tags/create", `{"tag":`, 47001},
		{"empty body", "/cgi-bin/tags/delete", "", 44002},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := post(tc.path, tc.body)
			equal(t, tc.code, a.code(), string(a.raw))
			matches(t, ridRE, a.str("errmsg"))
		})
	}

	equal(t, 0, create(strings.Repeat("汉", 10)).code(), "30 bytes is fine")
	equal(t, 0, post("/cgi-bin/tags/update", map[string]any{"tag": map[string]any{"id": id, "name": "广州"}}).code())
	_, ok = e.sb.TagByName("广东")
	isTrue(t, !ok)
	equal(t, 0, post("/cgi-bin/tags/delete", map[string]any{"tag": map[string]any{"id": id}}).code())
	equal(t, -1, e.sb.TagCount(id))

	// 100 user tags at most; 3 seeded + 1 created so far.
	for i := 0; ; i++ {
		a := create(fmt.Sprintf("t%d", i))
		if a.code() != 0 {
			equal(t, 45056, a.code())
			equal(t, 96, i)
			break
		}
	}
	var tl tagList
	e.call(http.MethodGet, "/cgi-bin/tags/get", tok, nil, nil).into(&tl)
	equal(t, 101, len(tl.Tags), "100 user tags and 星标组")
}

func TestTaggingMembers(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 200, PageSize: 4})
	tok := e.token()
	post := func(path string, body any) answer { return e.call(http.MethodPost, path, tok, nil, body) }
	ids := e.sb.OpenIDs()
	var created struct {
		Tag struct {
			ID int `json:"id"`
		} `json:"tag"`
	}
	post("/cgi-bin/tags/create", map[string]any{"tag": map[string]any{"name": "广东"}}).into(&created)
	tag := created.Tag.ID
	tagging := func(path string, openids []string, tagid int) answer {
		return post(path, map[string]any{"openid_list": openids, "tagid": tagid})
	}
	const tagPath, untagPath = "/cgi-bin/tags/members/batchtagging", "/cgi-bin/tags/members/batchuntagging"

	gone := ids[len(ids)-1]
	isTrue(t, e.sb.Unfollow(gone))
	tests := []struct {
		name    string
		openids []string
		tagid   int
		code    int
	}{
		{"51 openids", ids[:51], tag, 40032},
		{"no openids", nil, tag, 40032},
		{"unknown tag", ids[:2], 999, 45159},
		{"blacklist tag 1", ids[:2], 1, 45159},
		{"malformed openid", []string{ids[0], "bad"}, tag, 40003},
		{"openid of another app", []string{ids[0], "oAnotherAppAnotherAppAnother"}, tag, 49003},
		{"unfollowed", []string{gone}, tag, 40003},
	}
	for _, tc := range tests {
		for _, path := range []string{tagPath, untagPath} {
			t.Run(tc.name+path, func(t *testing.T) {
				equal(t, tc.code, tagging(path, tc.openids, tc.tagid).code())
			})
		}
	}
	equal(t, 0, len(e.sb.TagIDsOf(ids[0])), "failed calls change nothing")

	equal(t, 0, tagging(tagPath, ids[:50], tag).code())
	equal(t, 0, tagging(tagPath, ids[:3], tag).code(), "tagging twice is a no-op")
	equal(t, 50, e.sb.TagCount(tag))
	idl := post("/cgi-bin/tags/getidlist", map[string]any{"openid": ids[1]})
	var got struct {
		TagIDList []int `json:"tagid_list"`
	}
	idl.into(&got)
	has(t, got.TagIDList, tag)
	equal(t, e.sb.TagIDsOf(ids[1]), got.TagIDList)

	// Fans of the tag, paged by PageSize in follow order.
	var fans []string
	next := ""
	for {
		var p page
		a := post("/cgi-bin/user/tag/get", map[string]any{"tagid": tag, "next_openid": next})
		equal(t, 0, a.code(), string(a.raw))
		a.into(&p)
		if p.Count == 0 {
			lacksKey(t, a.keys, "data")
			break
		}
		atMost(t, p.Count, 4)
		fans = append(fans, p.Data.OpenID...)
		next = p.NextOpenID
	}
	equal(t, ids[:50], fans)
	equal(t, 45159, post("/cgi-bin/user/tag/get", map[string]any{"tagid": 999}).code())

	equal(t, 0, tagging(untagPath, ids[:10], tag).code())
	hasNot(t, e.sb.TagIDsOf(ids[0]), tag)
	has(t, e.sb.TagIDsOf(ids[10]), tag)
	equal(t, 40, e.sb.TagCount(tag))
	equal(t, 0, tagging(untagPath, ids[:10], tag).code(), "untagging twice is a no-op")

	// System tag 2 can be put on users.
	equal(t, 0, tagging(tagPath, ids[:1], 2).code())
	has(t, e.sb.TagIDsOf(ids[0]), 2)

	// getidlist errors.
	equal(t, 41009, post("/cgi-bin/tags/getidlist", map[string]any{}).code())
	equal(t, 40003, post("/cgi-bin/tags/getidlist", map[string]any{"openid": "bad"}).code())
	equal(t, 49003, post("/cgi-bin/tags/getidlist", map[string]any{"openid": "oAnotherAppAnotherAppAnother"}).code())

	// Deleting a tag takes it off everyone.
	equal(t, 0, post("/cgi-bin/tags/delete", map[string]any{"tag": map[string]any{"id": tag}}).code())
	hasNot(t, e.sb.TagIDsOf(ids[20]), tag)
}

func TestTwentyTagsPerUser(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 10})
	tok := e.token()
	ids := e.sb.OpenIDs()
	post := func(path string, body any) answer { return e.call(http.MethodPost, path, tok, nil, body) }
	target := ids[0]
	for len(e.sb.TagIDsOf(target)) < 20 {
		var created struct {
			Tag struct {
				ID int `json:"id"`
			} `json:"tag"`
		}
		post("/cgi-bin/tags/create", map[string]any{"tag": map[string]any{"name": fmt.Sprintf("t%d", len(e.sb.TagIDsOf(target)))}}).into(&created)
		equal(t, 0, post("/cgi-bin/tags/members/batchtagging", map[string]any{"openid_list": []string{target}, "tagid": created.Tag.ID}).code())
	}
	var created struct {
		Tag struct {
			ID int `json:"id"`
		} `json:"tag"`
	}
	post("/cgi-bin/tags/create", map[string]any{"tag": map[string]any{"name": "one too many"}}).into(&created)
	a := post("/cgi-bin/tags/members/batchtagging", map[string]any{"openid_list": []string{ids[1], target}, "tagid": created.Tag.ID})
	equal(t, 45059, a.code())
	hasNot(t, e.sb.TagIDsOf(ids[1]), created.Tag.ID, "the call is all or nothing")
	// Re-tagging a tag the user already has is fine at 20.
	have := e.sb.TagIDsOf(target)[0]
	equal(t, 0, post("/cgi-bin/tags/members/batchtagging", map[string]any{"openid_list": []string{target}, "tagid": have}).code())
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 10, QPS: 2})
	tok := e.token()
	equal(t, 0, e.probe(tok))
	equal(t, 0, e.probe(tok))
	a := e.call(http.MethodGet, "/cgi-bin/user/get", tok, nil, nil)
	equal(t, 45011, a.code())
	matches(t, "^api minute-quota reach limit", a.str("errmsg"))
	e.token() // token endpoints are not limited
	e.clk.Advance(500 * time.Millisecond)
	equal(t, 0, e.probe(tok))
	equal(t, 45011, e.probe(tok))
	e.clk.Advance(time.Second)
	equal(t, 0, e.probe(tok))
}

func TestDailyQuota(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 10, DailyQuota: 2})
	tok := e.token()
	get := func() int { return e.call(http.MethodGet, "/cgi-bin/user/get", tok, nil, nil).code() }
	equal(t, 0, get())
	equal(t, 0, get())
	a := e.call(http.MethodGet, "/cgi-bin/user/get", tok, nil, nil)
	equal(t, 45009, a.code())
	matches(t, "^reach max api daily quota limit"+ridRE.String(), a.str("errmsg"))
	equal(t, 0, e.probe(tok), "quotas are per API")
	e.clk.Advance(14 * time.Hour) // 10:00 UTC + 14 h = 08:00 next day in Beijing
	tok = e.stable(false).str("access_token")
	equal(t, 0, get())
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault sandbox.Fault
		check func(t *testing.T, resp *http.Response, body []byte, err error)
	}{
		{"http 500", sandbox.Fault{Kind: sandbox.FaultHTTP500}, func(t *testing.T, resp *http.Response, _ []byte, err error) {
			noError(t, err)
			equal(t, 500, resp.StatusCode)
		}},
		{"http 502", sandbox.Fault{Kind: sandbox.FaultHTTP502}, func(t *testing.T, resp *http.Response, body []byte, err error) {
			noError(t, err)
			equal(t, 502, resp.StatusCode)
			isTrue(t, strings.Contains(resp.Header.Get("Content-Type"), "text/html"), resp.Header)
			isTrue(t, strings.Contains(string(body), "<html>"), string(body))
		}},
		{"malformed json", sandbox.Fault{Kind: sandbox.FaultMalformed}, func(t *testing.T, resp *http.Response, body []byte, err error) {
			noError(t, err)
			equal(t, 200, resp.StatusCode)
			var v any
			isError(t, json.Unmarshal(body, &v))
		}},
		{"errcode -1", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: -1}, errcodeIs(-1, "system error")},
		{"errcode 45009", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 45009}, errcodeIs(45009, "reach max api daily quota limit")},
		{"errcode 40001", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 40001}, errcodeIs(40001, "invalid credential")},
		{"errcode 42001 custom msg", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 42001, ErrMsg: "access_token expired hint: [x]"}, errcodeIs(42001, "access_token expired hint: [x]")},
		{"delay", sandbox.Fault{Kind: sandbox.FaultDelay, Delay: 5 * time.Second}, func(t *testing.T, _ *http.Response, _ []byte, err error) {
			isError(t, err)
			isTrue(t, errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout"), err.Error())
		}},
	}
	for _, tc := range tests {
		for _, via := range []string{"go", "http"} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				t.Parallel()
				e := start(t, sandbox.Config{Members: 10})
				tok := e.token()
				const path = "/cgi-bin/user/get"
				f := tc.fault
				f.Times = 2
				if via == "go" {
					e.sb.Inject(path, f)
				} else {
					body := map[string]any{"path": path}
					raw, err := json.Marshal(f)
					noError(t, err)
					noError(t, json.Unmarshal(raw, &body))
					a := e.do(http.MethodPost, "/sandbox/faults", nil, body)
					equal(t, http.StatusOK, a.status, string(a.raw))
				}
				client := &http.Client{Timeout: 100 * time.Millisecond}
				for range 2 {
					resp, err := client.Get(e.srv.URL + path + "?access_token=" + url.QueryEscape(tok))
					var body []byte
					if err == nil {
						body, err = io.ReadAll(resp.Body)
						noError(t, resp.Body.Close())
					}
					tc.check(t, resp, body, err)
				}
				a := e.call(http.MethodGet, path, tok, nil, nil)
				equal(t, 0, a.code(), "the third call is normal: %s", a.raw)
				equal(t, 3, e.sb.Requests(path))
			})
		}
	}
}

func errcodeIs(code int, msg string) func(*testing.T, *http.Response, []byte, error) {
	return func(t *testing.T, resp *http.Response, body []byte, err error) {
		noError(t, err)
		equal(t, 200, resp.StatusCode)
		var b struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		noError(t, json.Unmarshal(body, &b))
		equal(t, code, b.ErrCode)
		matches(t, "^"+regexp.QuoteMeta(msg)+".*"+ridRE.String(), b.ErrMsg)
	}
}

func TestFaultQueueAndAdmin(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 10})
	tok := e.token()

	// A short delay that the client waits out: the call then succeeds.
	e.sb.Inject("/cgi-bin/tags/get", sandbox.Fault{Kind: sandbox.FaultDelay, Delay: 20 * time.Millisecond})
	begin := time.Now()
	equal(t, 0, e.probe(tok))
	atLeast(t, time.Since(begin), 20*time.Millisecond)

	// Faults for one path run in order; AnyPath hits every path.
	e.sb.Inject("/cgi-bin/tags/get", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 45011})
	e.sb.Inject("/cgi-bin/tags/get", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: -1})
	equal(t, 45011, e.probe(tok))
	equal(t, -1, e.probe(tok))
	equal(t, 0, e.probe(tok))

	e.sb.Inject(sandbox.AnyPath, sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: -1, Times: -1})
	for range 3 {
		equal(t, -1, e.probe(tok))
		equal(t, -1, e.stable(false).code())
	}
	equal(t, http.StatusOK, e.do(http.MethodDelete, "/sandbox/faults", nil, nil).status)
	equal(t, 0, e.probe(tok))

	for _, body := range []string{`{"path":"/cgi-bin/user/get","kind":"boom"}`, `{"path":"/x","kind":"delay"}`, `{"path":"/x","kind":"errcode"}`, `{"path":"x","kind":"http_500"}`, `{"kind":"delay","delay":"soon"}`, `{`} {
		equal(t, http.StatusBadRequest, e.do(http.MethodPost, "/sandbox/faults", nil, body).status, body)
	}
	panics(t, func() { e.sb.Inject("/x", sandbox.Fault{Kind: "boom"}) })

	// The fault JSON round-trips.
	f := sandbox.Fault{Kind: sandbox.FaultDelay, Times: 3, Delay: 1500 * time.Millisecond}
	raw, err := json.Marshal(f)
	noError(t, err)
	jsonEq(t, `{"kind":"delay","times":3,"delay":"1.5s"}`, string(raw))
	var back sandbox.Fault
	noError(t, json.Unmarshal(raw, &back))
	equal(t, f, back)

	// Followers and stats over the admin API.
	var added struct {
		OpenIDs []string `json:"openids"`
	}
	e.do(http.MethodPost, "/sandbox/followers/add", nil, map[string]int{"n": 2}).into(&added)
	equal(t, 2, len(added.OpenIDs))
	equal(t, http.StatusOK, e.do(http.MethodPost, "/sandbox/followers/unfollow", nil, map[string]string{"openid": added.OpenIDs[0]}).status)
	equal(t, http.StatusBadRequest, e.do(http.MethodPost, "/sandbox/followers/unfollow", nil, map[string]string{"openid": added.OpenIDs[0]}).status)
	var stats struct {
		Followers int            `json:"followers"`
		Requests  map[string]int `json:"requests"`
	}
	e.get("/sandbox/stats", nil).into(&stats)
	equal(t, e.sb.Followers(), stats.Followers)
	equal(t, e.sb.Requests("/cgi-bin/tags/get"), stats.Requests["/cgi-bin/tags/get"])
	equal(t, http.StatusNotFound, e.get("/sandbox/nope", nil).status)
	equal(t, http.StatusNotFound, e.get("/cgi-bin/nope", nil).status)
}

func TestAddFollowersAppearAtEnd(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 30, PageSize: 10})
	tok := e.token()
	before := e.sb.OpenIDs()
	last := before[len(before)-1]

	// The reader finished: its cursor is the last openid, and there is nothing after it.
	empty := e.call(http.MethodGet, "/cgi-bin/user/get", tok, url.Values{"next_openid": {last}}, nil)
	equal(t, 0, empty.num("count"))

	e.clk.Advance(time.Hour)
	added := e.sb.AddFollowers(3)
	equal(t, 3, len(added))
	equal(t, len(before)+3, e.sb.Followers())
	equal(t, append(slices.Clone(before), added...), e.sb.OpenIDs())

	var p page
	e.call(http.MethodGet, "/cgi-bin/user/get", tok, url.Values{"next_openid": {last}}, nil).into(&p)
	equal(t, added, p.Data.OpenID, "an incremental read from the old cursor sees exactly the new followers")
	equal(t, len(before)+3, p.Total)

	info := e.call(http.MethodGet, "/cgi-bin/user/info", tok, url.Values{"openid": {added[0]}}, nil)
	equal(t, int(e.clk.Now().Unix()), info.num("subscribe_time"))
	equal(t, "o6_b"+sandboxdata.ID(1, "unionid", 30, 24), info.str("unionid"))
	equal(t, sandbox.OpenID(1, 30), added[0])

	// Unfollowing leaves the list; the cursor of an unfollowed user still works.
	isTrue(t, e.sb.Unfollow(added[1]))
	e.call(http.MethodGet, "/cgi-bin/user/get", tok, url.Values{"next_openid": {last}}, nil).into(&p)
	equal(t, []string{added[0], added[2]}, p.Data.OpenID)
	equal(t, len(before)+2, p.Total)
	e.call(http.MethodGet, "/cgi-bin/user/get", tok, url.Values{"next_openid": {added[1]}}, nil).into(&p)
	equal(t, []string{added[2]}, p.Data.OpenID)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 200, PageSize: 20})
	tok := e.token()
	ids := e.sb.OpenIDs()
	id, _ := e.sb.TagByName("VIP")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				switch (g + i) % 4 {
				case 0:
					e.call(http.MethodGet, "/cgi-bin/user/get", tok, nil, nil)
				case 1:
					e.call(http.MethodPost, "/cgi-bin/tags/members/batchtagging", tok, nil, map[string]any{"openid_list": ids[g : g+5], "tagid": id})
				case 2:
					e.sb.AddFollowers(1)
				case 3:
					e.stable(false)
				}
			}
		})
	}
	wg.Wait()
	equal(t, len(ids)+20, e.sb.Followers())
}

// rewrite sends requests for https://api.weixin.qq.com to the sandbox.
type rewrite struct{ to *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "api.weixin.qq.com" {
		return nil, fmt.Errorf("unexpected host %q", req.URL.Host)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = r.to.Scheme, r.to.Host, r.to.Host
	return http.DefaultTransport.RoundTrip(out)
}

// TestSilenceperWechat drives the sandbox with github.com/silenceper/wechat/v2,
// redirected by a RoundTripper: stable token, follower list, batchget and
// tags work as against the real API. The library sends through the
// process-wide util.DefaultHTTPClient; no other test here uses it. (Its root
// package, not imported here, points logrus at stdout in an init.)
func TestSilenceperWechat(t *testing.T) {
	t.Parallel()
	e := start(t, sandbox.Config{Members: 50, PageSize: 10})
	u, err := url.Parse(e.srv.URL)
	noError(t, err)
	saved := util.DefaultHTTPClient
	util.DefaultHTTPClient = &http.Client{Transport: rewrite{to: u}, Timeout: 5 * time.Second}
	t.Cleanup(func() { util.DefaultHTTPClient = saved })

	oa := officialaccount.NewOfficialAccount(&oaconfig.Config{
		AppID: sandbox.DefaultAppID, AppSecret: sandbox.DefaultAppSecret, Cache: cache.NewMemory(), UseStableAK: true,
	})
	users := oa.GetUser()

	first, err := users.ListUserOpenIDs()
	noError(t, err)
	equal(t, e.sb.Followers(), first.Total)
	equal(t, 10, first.Count)
	equal(t, first.Data.OpenIDs[9], first.NextOpenID)

	all, err := users.ListAllUserOpenIDs()
	noError(t, err)
	equal(t, e.sb.OpenIDs(), all)

	params := user.BatchGetUserInfoParams{}
	for _, id := range all[:5] {
		params.UserList = append(params.UserList, user.BatchGetUserListItem{OpenID: id, Lang: "zh_CN"})
	}
	infos, err := users.BatchGetUserInfo(params)
	noError(t, err)
	equal(t, 5, len(infos.UserInfoList))
	for i, in := range infos.UserInfoList {
		equal(t, all[i], in.OpenID)
		equal(t, int32(1), in.Subscribe)
		isTrue(t, in.UnionID != "", "unionid")
		equal(t, "", in.Nickname)
	}

	tags, err := users.GetTag()
	noError(t, err)
	atLeast(t, len(tags), 4)
	created, err := users.CreateTag("广东")
	noError(t, err)
	noError(t, users.BatchTag(all[:3], created.ID))
	tids, err := users.UserTidList(all[0])
	noError(t, err)
	has(t, tids, created.ID)

	// One stable token fetch served every call; the library caches it.
	equal(t, 1, e.sb.Requests("/cgi-bin/stable_token"))
	equal(t, 0, e.sb.Requests("/cgi-bin/token"))

	// Errors come back typed where the library decodes them.
	e.sb.Inject("/cgi-bin/user/info/batchget", sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: 45011})
	_, err = users.BatchGetUserInfo(params)
	var ce *util.CommonError
	isTrue(t, errors.As(err, &ce), "want a *util.CommonError, got ", err)
	equal(t, int64(45011), ce.ErrCode)
}

// benchServer is a sandbox of members people behind an httptest server, and
// a token for it.
func benchServer(b *testing.B, members int) (*sandbox.Server, *httptest.Server, string) {
	b.Helper()
	sb := sandbox.New(sandbox.Config{Members: members})
	srv := httptest.NewServer(sb)
	b.Cleanup(srv.Close)
	q := url.Values{"grant_type": {"client_credential"}, "appid": {sandbox.DefaultAppID}, "secret": {sandbox.DefaultAppSecret}}
	resp, err := srv.Client().Get(srv.URL + "/cgi-bin/token?" + q.Encode())
	noError(b, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	noError(b, json.NewDecoder(resp.Body).Decode(&tok))
	return sb, srv, tok.AccessToken
}

func drain(b *testing.B, resp *http.Response, err error) {
	b.Helper()
	noError(b, err)
	_, err = io.Copy(io.Discard, resp.Body)
	noError(b, err)
	noError(b, resp.Body.Close())
	equal(b, http.StatusOK, resp.StatusCode)
}

// BenchmarkUserGetPage reads one full 10 000-openid page of a 100 000-person
// account.
func BenchmarkUserGetPage(b *testing.B) {
	sb, srv, tok := benchServer(b, 100_000)
	ids := sb.OpenIDs()
	u := srv.URL + "/cgi-bin/user/get?" + url.Values{"access_token": {tok}, "next_openid": {ids[len(ids)/2]}}.Encode()
	for b.Loop() {
		resp, err := srv.Client().Get(u)
		drain(b, resp, err)
	}
}

// BenchmarkBatchGet fetches user info of 100 followers.
func BenchmarkBatchGet(b *testing.B) {
	sb, srv, tok := benchServer(b, 100_000)
	ids := sb.OpenIDs()
	items := make([]map[string]string, 100)
	for i := range items {
		items[i] = map[string]string{"openid": ids[i*500], "lang": "zh_CN"}
	}
	body, err := json.Marshal(map[string]any{"user_list": items})
	noError(b, err)
	u := srv.URL + "/cgi-bin/user/info/batchget?access_token=" + url.QueryEscape(tok)
	for b.Loop() {
		resp, err := srv.Client().Post(u, "application/json", bytes.NewReader(body))
		drain(b, resp, err)
	}
}
