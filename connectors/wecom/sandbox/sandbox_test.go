package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/wecom/sandbox"
)

type answer struct {
	ErrCode             int             `json:"errcode"`
	ErrMsg              string          `json:"errmsg"`
	AccessToken         string          `json:"access_token"`
	ExpiresIn           int             `json:"expires_in"`
	FollowUser          json.RawMessage `json:"follow_user"`
	ExternalUserID      []string        `json:"external_userid"`
	ExternalContactList []struct {
		ExternalContact struct {
			ExternalUserID string `json:"external_userid"`
		} `json:"external_contact"`
		FollowInfo struct {
			UserID string `json:"userid"`
		} `json:"follow_info"`
	} `json:"external_contact_list"`
	NextCursor string `json:"next_cursor"`
}

type client struct {
	t   *testing.T
	url string
}

func (c client) do(method, path string, q url.Values, body any) answer {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, c.url+path+"?"+q.Encode(), rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		c.t.Fatalf("%s: %v", path, err)
	}
	return a
}

func start(t *testing.T, cfg sandbox.Config) (*sandbox.Server, client, string) {
	t.Helper()
	sb := sandbox.New(cfg)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := client{t, srv.URL}
	a := c.do(http.MethodGet, "/cgi-bin/gettoken", url.Values{"corpid": {sb.Config().CorpID}, "corpsecret": {sb.Config().CorpSecret}}, nil)
	if a.ErrCode != 0 || a.AccessToken == "" || a.ExpiresIn != 7200 {
		t.Fatalf("gettoken: %+v", a)
	}
	return sb, c, a.AccessToken
}

func TestTokens(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sb, c, tok := start(t, sandbox.Config{Members: 50, Now: func() time.Time { return now }})
	cfg := sb.Config()
	for q, code := range map[string]int{
		"corpsecret=x":                           41002,
		"corpid=ww0&corpsecret=x":                40013,
		"corpid=" + cfg.CorpID:                   41004,
		"corpid=" + cfg.CorpID + "&corpsecret=x": 40001,
	} {
		v, _ := url.ParseQuery(q)
		if a := c.do(http.MethodGet, "/cgi-bin/gettoken", v, nil); a.ErrCode != code || !strings.Contains(a.ErrMsg, "hint: [") {
			t.Errorf("gettoken?%s = %+v, want %d", q, a, code)
		}
	}
	// The same token while valid.
	if a := c.do(http.MethodGet, "/cgi-bin/gettoken", url.Values{"corpid": {cfg.CorpID}, "corpsecret": {cfg.CorpSecret}}, nil); a.AccessToken != tok {
		t.Fatal("a second gettoken changed the token")
	}
	path := "/cgi-bin/externalcontact/get_follow_user_list"
	for token, code := range map[string]int{"": 41001, "nope": 40014, tok: 0} {
		if a := c.do(http.MethodGet, path, url.Values{"access_token": {token}}, nil); a.ErrCode != code {
			t.Errorf("token %q: %d, want %d", token, a.ErrCode, code)
		}
	}
	sb.ExpireTokens()
	if a := c.do(http.MethodGet, path, url.Values{"access_token": {tok}}, nil); a.ErrCode != 42001 {
		t.Fatalf("expired token: %d", a.ErrCode)
	}
	if a := c.do(http.MethodPost, path, url.Values{"access_token": {tok}}, nil); a.ErrCode != 43001 {
		t.Fatalf("POST to a GET API: %d", a.ErrCode)
	}
}

func TestBatchPagingAndLimits(t *testing.T) {
	t.Parallel()
	sb, c, tok := start(t, sandbox.Config{Members: 600, Staff: 10})
	q := url.Values{"access_token": {tok}}
	path := "/cgi-bin/externalcontact/batch/get_by_user"
	staff := sb.Staff()
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		a := c.do(http.MethodPost, path, q, map[string]any{"userid_list": staff, "cursor": cursor, "limit": 7})
		if a.ErrCode != 0 || len(a.ExternalContactList) > 7 {
			t.Fatalf("page %d: %+v", pages, a.ErrMsg)
		}
		for _, e := range a.ExternalContactList {
			id := e.ExternalContact.ExternalUserID + "/" + e.FollowInfo.UserID
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
		}
		pages++
		// A relation removed between pages does not shift the cursor.
		if pages == 2 {
			r := sb.Relations()[len(sb.Relations())-1]
			if _, err := sb.RemoveCustomer(r.UserID, r.ExternalUserID, false); err != nil {
				t.Fatal(err)
			}
		}
		if a.NextCursor == "" {
			break
		}
		cursor = a.NextCursor
	}
	if len(seen) != len(sb.Relations()) || pages < 3 {
		t.Fatalf("%d relations in %d pages, sandbox has %d", len(seen), pages, len(sb.Relations()))
	}
	long := make([]string, 101)
	for i := range long {
		long[i] = staff[0]
	}
	for name, body := range map[string]map[string]any{
		"101 userids":  {"userid_list": long},
		"limit 101":    {"userid_list": staff, "limit": 101},
		"bad cursor":   {"userid_list": staff, "cursor": "!!"},
		"empty list":   {"userid_list": []string{}},
		"unknown user": {"userid_list": []string{"nobody"}},
		"no customers": {"userid_list": staff[len(staff)-2:]},
	} {
		want := map[string]int{"unknown user": 60111, "no customers": 84061}[name]
		if want == 0 {
			want = 40058
		}
		if a := c.do(http.MethodPost, path, q, body); a.ErrCode != want {
			t.Errorf("%s: %d, want %d", name, a.ErrCode, want)
		}
	}
	if a := c.do(http.MethodGet, "/cgi-bin/externalcontact/list", url.Values{"access_token": {tok}, "userid": {staff[len(staff)-1]}}, nil); a.ErrCode != 84061 {
		t.Fatalf("list of a staff member without customers: %d", a.ErrCode)
	}
	if a := c.do(http.MethodGet, "/cgi-bin/externalcontact/list", url.Values{"access_token": {tok}, "userid": {staff[0]}}, nil); a.ErrCode != 0 || len(a.ExternalUserID) == 0 {
		t.Fatalf("list: %+v", a)
	}
}

func TestGetMarkTagAndErrors(t *testing.T) {
	t.Parallel()
	sb, c, tok := start(t, sandbox.Config{Members: 300})
	q := url.Values{"access_token": {tok}}
	r := sb.Relations()[0]
	g := url.Values{"access_token": {tok}, "external_userid": {r.ExternalUserID}}
	if a := c.do(http.MethodGet, "/cgi-bin/externalcontact/get", g, nil); a.ErrCode != 0 || !strings.Contains(string(a.FollowUser), r.UserID) {
		t.Fatalf("get: %+v", a)
	}
	for ext, code := range map[string]int{"": 41035, "wmnope": 40096} {
		g.Set("external_userid", ext)
		if a := c.do(http.MethodGet, "/cgi-bin/externalcontact/get", g, nil); a.ErrCode != code {
			t.Errorf("get %q: %d", ext, a.ErrCode)
		}
	}
	vip, _ := sb.TagID("VIP")
	mark := "/cgi-bin/externalcontact/mark_tag"
	for name, tc := range map[string]struct {
		body map[string]any
		code int
	}{
		"ok":           {map[string]any{"userid": r.UserID, "external_userid": r.ExternalUserID, "add_tag": []string{vip}}, 0},
		"bad tag":      {map[string]any{"userid": r.UserID, "external_userid": r.ExternalUserID, "add_tag": []string{"etnope"}}, 40068},
		"no tags":      {map[string]any{"userid": r.UserID, "external_userid": r.ExternalUserID}, 40058},
		"not follower": {map[string]any{"userid": sb.Staff()[len(sb.Staff())-1], "external_userid": r.ExternalUserID, "add_tag": []string{vip}}, 84061},
	} {
		if a := c.do(http.MethodPost, mark, q, tc.body); a.ErrCode != tc.code {
			t.Errorf("mark_tag %s: %d, want %d", name, a.ErrCode, tc.code)
		}
	}
	if got, _ := sb.RelationOf(r.UserID, r.ExternalUserID); !strings.Contains(strings.Join(got.Tags, ","), "VIP") {
		t.Fatalf("tags %v", got.Tags)
	}
}

func TestRateLimitAndFaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sb, c, tok := start(t, sandbox.Config{Members: 50, PerMinute: 2, Now: func() time.Time { return now }})
	q := url.Values{"access_token": {tok}}
	path := "/cgi-bin/externalcontact/get_follow_user_list"
	codes := []int{}
	for range 3 {
		codes = append(codes, c.do(http.MethodGet, path, q, nil).ErrCode)
	}
	if codes[0] != 0 || codes[1] != 0 || codes[2] != 45009 {
		t.Fatalf("codes %v", codes)
	}
	sb.Inject(sandbox.AnyPath, sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: -1})
	if a := c.do(http.MethodGet, "/cgi-bin/gettoken", url.Values{}, nil); a.ErrCode != -1 {
		t.Fatalf("injected: %d", a.ErrCode)
	}
}

func TestDeterministicAndForHub(t *testing.T) {
	t.Parallel()
	a, b := sandbox.New(sandbox.Config{Members: 200}), sandbox.New(sandbox.Config{Members: 200})
	ra, rb := a.Relations(), b.Relations()
	if len(ra) == 0 || len(ra) != len(rb) || ra[0].ExternalUserID != rb[0].ExternalUserID {
		t.Fatal("same seed, different data")
	}
	h, creds, conn := sandbox.ForHub(1, 200)
	if h == nil || creds["corp_id"] == "" || conn["encoding_aes_key"] == "" || conn["api_base"] != nil {
		t.Fatalf("ForHub: %v %v", creds, conn)
	}
}
