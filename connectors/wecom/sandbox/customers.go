package sandbox

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Customer-contact limits (fact sheet §3.2).
const (
	maxUserIDList = 100 // userid_list of batch/get_by_user
	maxLimit      = 100 // limit of batch/get_by_user
	defaultLimit  = 50
)

// externalContact is the external_contact object.
type externalContact struct {
	ExternalUserID string `json:"external_userid"`
	Name           string `json:"name"`
	Avatar         string `json:"avatar"`
	Type           int    `json:"type"`
	Gender         int    `json:"gender"`
	UnionID        string `json:"unionid,omitempty"`
}

// followTag is one tag of follow_user[].tags (externalcontact/get).
type followTag struct {
	GroupName string `json:"group_name"`
	TagName   string `json:"tag_name"`
	TagID     string `json:"tag_id"`
	Type      int    `json:"type"`
}

// followUser is follow_user[] of externalcontact/get.
type followUser struct {
	UserID         string      `json:"userid"`
	Remark         string      `json:"remark"`
	Description    string      `json:"description"`
	CreateTime     int64       `json:"createtime"`
	Tags           []followTag `json:"tags"`
	RemarkCorpName string      `json:"remark_corp_name,omitempty"`
	RemarkMobiles  []string    `json:"remark_mobiles"`
	OperUserID     string      `json:"oper_userid"`
	AddWay         int         `json:"add_way"`
	State          string      `json:"state,omitempty"`
}

// followInfo is follow_info of batch/get_by_user: corp tag ids only.
type followInfo struct {
	UserID         string   `json:"userid"`
	Remark         string   `json:"remark"`
	Description    string   `json:"description"`
	CreateTime     int64    `json:"createtime"`
	TagID          []string `json:"tag_id"`
	RemarkCorpName string   `json:"remark_corp_name,omitempty"`
	RemarkMobiles  []string `json:"remark_mobiles"`
	OperUserID     string   `json:"oper_userid"`
	AddWay         int      `json:"add_way"`
	State          string   `json:"state,omitempty"`
}

func (c *customer) contact() externalContact {
	return externalContact{
		ExternalUserID: c.ext, Name: c.name, Type: 1, Gender: c.gender, UnionID: c.unionid,
		Avatar: "http://wx.qlogo.cn/mmhead/sandbox/" + c.ext + "/0",
	}
}

func (s *Server) followUser(r *relation) followUser {
	f := followUser{UserID: r.userid, Remark: r.remark, Description: r.description, CreateTime: r.createtime,
		Tags: []followTag{}, RemarkMobiles: []string{}, OperUserID: r.operUserID, AddWay: r.addWay, State: r.state}
	for _, id := range r.tags {
		if t := s.tagByID(id); t != nil {
			f.Tags = append(f.Tags, followTag{GroupName: t.group.name, TagName: t.name, TagID: t.id, Type: 1})
		}
	}
	return f
}

func followInfoOf(r *relation) followInfo {
	return followInfo{UserID: r.userid, Remark: r.remark, Description: r.description, CreateTime: r.createtime,
		TagID: append([]string{}, r.tags...), RemarkMobiles: []string{}, OperUserID: r.operUserID, AddWay: r.addWay, State: r.state}
}

// followUserList serves GET /cgi-bin/externalcontact/get_follow_user_list.
func (s *Server) followUserList(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	staff := slices.Clone(s.staff)
	s.mu.Unlock()
	writeJSON(w, struct {
		errorBody
		FollowUser []string `json:"follow_user"`
	}{okBody, staff})
}

// list serves GET /cgi-bin/externalcontact/list?userid=: the staff member's
// customers; 84061 when there are none (fact sheet §3.2), 60111 for a
// userid the corp does not have [L].
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	userid := r.URL.Query().Get("userid")
	s.mu.Lock()
	known := slices.Contains(s.staff, userid)
	var ids []string
	for _, rel := range s.relationsOf(userid) {
		ids = append(ids, rel.cust.ext)
	}
	s.mu.Unlock()
	switch {
	case !known:
		s.fail(w, codeUserIDNotFound)
	case len(ids) == 0:
		s.fail(w, codeNotExternalContact)
	default:
		writeJSON(w, struct {
			errorBody
			ExternalUserID []string `json:"external_userid"`
		}{okBody, ids})
	}
}

// get serves GET /cgi-bin/externalcontact/get?external_userid=&cursor=: the
// customer and its follow users, FollowUserPage at a time. Missing id →
// 41035, unknown → 40096, a customer nobody follows any more → 84061.
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ext := q.Get("external_userid")
	if ext == "" {
		s.fail(w, codeExternalIDMissing)
		return
	}
	start := 0
	if cur := q.Get("cursor"); cur != "" {
		n, err := strconv.Atoi(cur)
		if err != nil || n < 0 {
			s.fail(w, codeInvalidParam)
			return
		}
		start = n
	}
	s.mu.Lock()
	c := s.byExt[ext]
	if c == nil || len(c.follows) == 0 {
		s.mu.Unlock()
		if c == nil {
			s.fail(w, codeInvalidExternalID)
		} else {
			s.fail(w, codeNotExternalContact)
		}
		return
	}
	end := min(start+s.cfg.FollowUserPage, len(c.follows))
	out := struct {
		errorBody
		ExternalContact externalContact `json:"external_contact"`
		FollowUser      []followUser    `json:"follow_user"`
		NextCursor      string          `json:"next_cursor"`
	}{errorBody: okBody, ExternalContact: c.contact(), FollowUser: []followUser{}}
	for _, rel := range c.follows[min(start, end):end] {
		out.FollowUser = append(out.FollowUser, s.followUser(rel))
	}
	if end < len(c.follows) {
		out.NextCursor = strconv.Itoa(end)
	}
	s.mu.Unlock()
	writeJSON(w, out)
}

type batchRequest struct {
	UserIDList []string `json:"userid_list"`
	Cursor     string   `json:"cursor"`
	Limit      int      `json:"limit"`
}

type batchEntry struct {
	ExternalContact externalContact `json:"external_contact"`
	FollowInfo      followInfo      `json:"follow_info"`
}

// batchGetByUser serves POST /cgi-bin/externalcontact/batch/get_by_user:
// the relations of each listed staff member in list order, each staff
// member's oldest first, limit (default 50, at most 100) per page, with an
// opaque next_cursor ("" on the last page). The cursor names the last
// relation returned, so relations added or removed between pages neither
// repeat nor skip others. An empty or >100 userid_list, a limit over 100 or
// a cursor this sandbox did not make → 40058 [L]; an unknown userid → 60111
// [L]; when no listed staff member has any customer → 84061, as
// externalcontact/list answers for one (the sheet does not say what
// batch/get_by_user answers [L]).
func (s *Server) batchGetByUser(w http.ResponseWriter, r *http.Request) {
	var req batchRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	limit := req.Limit
	if limit == 0 {
		limit = defaultLimit
	}
	if n := len(req.UserIDList); n == 0 || n > maxUserIDList || limit < 0 || limit > maxLimit {
		s.fail(w, codeInvalidParam)
		return
	}
	users := slices.Clone(req.UserIDList)
	users = slices.DeleteFunc(users, func(u string) bool { return u == "" })
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range users {
		if !slices.Contains(s.staff, u) {
			s.fail(w, codeUserIDNotFound)
			return
		}
	}
	k, after := 0, (*relation)(nil)
	if req.Cursor != "" {
		var ok bool
		if k, after, ok = s.parseCursor(req.Cursor, users); !ok {
			s.fail(w, codeInvalidParam)
			return
		}
	}
	out := struct {
		errorBody
		ExternalContactList []batchEntry `json:"external_contact_list"`
		NextCursor          string       `json:"next_cursor"`
	}{errorBody: okBody, ExternalContactList: []batchEntry{}}
	has := false
	for _, u := range users {
		if len(s.relationsOf(u)) > 0 {
			has = true
		}
	}
	if !has {
		s.fail(w, codeNotExternalContact)
		return
	}
	var last *relation
	lastK := k
scan:
	for ; k < len(users); k++ {
		rels := s.relationsOf(users[k])
		i := 0
		if after != nil {
			i, _ = slices.BinarySearchFunc(rels, after, byTimeThenExt)
			if i < len(rels) && rels[i].cust.ext == after.cust.ext && rels[i].createtime == after.createtime {
				i++
			}
			after = nil
		}
		for ; i < len(rels); i++ {
			if len(out.ExternalContactList) == limit {
				break scan
			}
			out.ExternalContactList = append(out.ExternalContactList, batchEntry{ExternalContact: rels[i].cust.contact(), FollowInfo: followInfoOf(rels[i])})
			last, lastK = rels[i], k
		}
	}
	if k < len(users) && last != nil {
		out.NextCursor = makeCursor(users[lastK], last)
	}
	writeJSON(w, out)
}

// makeCursor encodes the position after relation r of staff member userid.
func makeCursor(userid string, r *relation) string {
	raw := userid + "\x00" + strconv.FormatInt(r.createtime, 10) + "\x00" + r.cust.ext
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// parseCursor returns the staff position and a relation key to resume
// after. Guarded by mu.
func (s *Server) parseCursor(cur string, users []string) (int, *relation, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return 0, nil, false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return 0, nil, false
	}
	k := slices.Index(users, parts[0])
	ct, err := strconv.ParseInt(parts[1], 10, 64)
	if k < 0 || err != nil {
		return 0, nil, false
	}
	return k, &relation{createtime: ct, cust: &customer{ext: parts[2]}}, true
}
