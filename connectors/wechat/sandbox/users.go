package sandbox

import (
	"net/http"
)

// openIDPage is a page of /cgi-bin/user/get and /cgi-bin/user/tag/get.
// Total is omitted by user/tag/get; Data is omitted on the empty last page.
type openIDPage struct {
	Total      *int        `json:"total,omitempty"`
	Count      int         `json:"count"`
	Data       *openIDList `json:"data,omitempty"`
	NextOpenID string      `json:"next_openid"`
}

type openIDList struct {
	OpenID []string `json:"openid"`
}

// page collects up to PageSize subscribed followers after the follower
// cursor (an openid; "" starts at the top) that keep(f) accepts. found is
// false when cursor is not an openid of this account.
func (s *Server) page(cursor string, keep func(*follower) bool) (ids []string, found bool) {
	start := 0
	if cursor != "" {
		i, known := s.index[cursor]
		if !known {
			return nil, false
		}
		start = int(i) + 1
	}
	for i := start; i < len(s.followers) && len(ids) < s.cfg.PageSize; i++ {
		if f := &s.followers[i]; f.subscribed && (keep == nil || keep(f)) {
			if ids == nil {
				ids = make([]string, 0, min(s.cfg.PageSize, len(s.followers)-i))
			}
			ids = append(ids, f.openid)
		}
	}
	return ids, true
}

// pageAnswer shapes ids as a page (fact sheet §2.3): next_openid is the last
// openid of a non-empty page, even the last one; after it comes a page with
// count 0, next_openid "" and no data key.
func pageAnswer(ids []string) openIDPage {
	if len(ids) == 0 {
		return openIDPage{}
	}
	return openIDPage{Count: len(ids), Data: &openIDList{OpenID: ids}, NextOpenID: ids[len(ids)-1]}
}

// userGet serves GET /cgi-bin/user/get?next_openid=: followers in follow
// order, PageSize at a time; total is the current number of followers. A
// next_openid that is no openid of this account gets 40003 [L: the real
// code for a bad cursor is not documented].
func (s *Server) userGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ids, found := s.page(r.URL.Query().Get("next_openid"), nil)
	total := s.subscribed
	s.mu.Unlock()
	if !found {
		s.fail(w, codeInvalidOpenID, "")
		return
	}
	p := pageAnswer(ids)
	p.Total = &total
	writeJSON(w, p)
}

// userInfoAnswer is a follower's user info, fields in the documented order.
// Without Config.LegacyProfile, nickname, sex, city, province, country and
// headimgurl are absent, as in the current doc example (no nickname or
// avatar since 2021-12-27 [H]; the legacy location fields: [L]).
type userInfoAnswer struct {
	Subscribe int    `json:"subscribe"`
	OpenID    string `json:"openid"`
	*legacyFields
	Language       string  `json:"language"`
	SubscribeTime  int64   `json:"subscribe_time"`
	UnionID        string  `json:"unionid"`
	Remark         string  `json:"remark"`
	GroupID        int     `json:"groupid"`
	TagIDList      []int32 `json:"tagid_list"`
	SubscribeScene string  `json:"subscribe_scene"`
	QRScene        int     `json:"qr_scene"`
	QRSceneStr     string  `json:"qr_scene_str"`
}

type legacyFields struct {
	Nickname   string `json:"nickname"`
	Sex        int    `json:"sex"`
	City       string `json:"city"`
	Province   string `json:"province"`
	Country    string `json:"country"`
	HeadImgURL string `json:"headimgurl"`
}

// unfollowedAnswer is user info of someone who no longer follows: only
// subscribe 0 and the openid (doc example of batchget).
type unfollowedAnswer struct {
	Subscribe int    `json:"subscribe"`
	OpenID    string `json:"openid"`
}

// info renders follower f. The unionid is always there: the sandbox account
// is bound to sandboxdata.OpenPlatformID.
func info(f *follower) any {
	if !f.subscribed {
		return unfollowedAnswer{OpenID: f.openid}
	}
	a := userInfoAnswer{
		Subscribe:      1,
		OpenID:         f.openid,
		Language:       langName(f.lang),
		SubscribeTime:  f.since,
		UnionID:        f.unionid,
		Remark:         f.remark,
		TagIDList:      append(make([]int32, 0, len(f.tags)), f.tags...),
		SubscribeScene: sceneName(f.scene),
	}
	if p := f.profile; p != nil {
		a.legacyFields = &legacyFields{Nickname: p.nickname, Sex: p.sex, City: p.city, Province: p.province}
		if p.city != "" {
			a.Country = "中国"
		}
	}
	return a
}

// userInfo serves GET /cgi-bin/user/info?openid=&lang=. lang is accepted
// and ignored: the sandbox's province and city names are Chinese only.
// No openid gets 41009; one that never followed gets 40003.
func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	openid := r.URL.Query().Get("openid")
	if openid == "" {
		s.fail(w, codeOpenIDMissing, "")
		return
	}
	s.mu.Lock()
	i, found := s.index[openid]
	var a any
	if found {
		a = info(&s.followers[i])
	}
	s.mu.Unlock()
	if !found {
		s.fail(w, codeInvalidOpenID, "")
		return
	}
	writeJSON(w, a)
}

type batchGetRequest struct {
	UserList []struct {
		OpenID string `json:"openid"`
		Lang   string `json:"lang"`
	} `json:"user_list"`
}

type batchGetAnswer struct {
	UserInfoList []any `json:"user_info_list"`
}

// userBatchGet serves POST /cgi-bin/user/info/batchget: 1–100 items, else
// 40032 (the sheet gives the limit, not the code [L]); any openid that never
// followed fails the whole call with 40003. Answers in request order.
func (s *Server) userBatchGet(w http.ResponseWriter, r *http.Request) {
	var req batchGetRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if n := len(req.UserList); n == 0 || n > maxBatchGet {
		s.fail(w, codeInvalidListSize, "")
		return
	}
	out := batchGetAnswer{UserInfoList: make([]any, 0, len(req.UserList))}
	s.mu.Lock()
	for _, item := range req.UserList {
		i, found := s.index[item.OpenID]
		if !found {
			s.mu.Unlock()
			s.fail(w, codeInvalidOpenID, "")
			return
		}
		out.UserInfoList = append(out.UserInfoList, info(&s.followers[i]))
	}
	s.mu.Unlock()
	writeJSON(w, out)
}
