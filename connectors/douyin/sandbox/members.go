package sandbox

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
)

// Member is a person's state on the shop's Douyin membership.
type Member struct {
	// PersonIndex is the sandboxdata person.
	PersonIndex int
	// OpenID is shop-scoped, UnionID brand-scoped.
	OpenID  string
	UnionID string
	// Active is false for buyers who are not (or no longer) members.
	Active    bool
	Level     int64
	PointCent int64
	// Mobile is the national number (no +86).
	Mobile string
	Joined time.Time
}

func (s *Server) member(b *buyer) Member {
	m := Member{PersonIndex: b.person, OpenID: b.openID, UnionID: b.unionID, Active: b.member, Level: b.level, PointCent: b.pointCent, Mobile: b.mobile}
	if b.joined != 0 {
		m.Joined = time.Unix(b.joined, 0).UTC()
	}
	return m
}

// Buyers returns every person on Douyin (members or not), by person index.
func (s *Server) Buyers() []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Member, len(s.buyers))
	for i := range s.buyers {
		out[i] = s.member(&s.buyers[i])
	}
	return out
}

// Member looks a buyer up by open_id.
func (s *Server) Member(openID string) (Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byOpen[openID]
	if !ok {
		return Member{}, false
	}
	return s.member(&s.buyers[i]), true
}

// MemberByPerson looks a buyer up by sandboxdata person index.
func (s *Server) MemberByPerson(personIndex int) (Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byIndex[personIndex]
	if !ok {
		return Member{}, false
	}
	return s.member(&s.buyers[i]), true
}

func (s *Server) checkMemberApp(p map[string]any, code int, sub string) *apiErr {
	app, _, e := paramInt(p, "app_id")
	if e != nil {
		return e
	}
	if app != s.cfg.MemberAppID {
		return errf(code, sub, "会员店铺不存在")
	}
	return nil
}

func (s *Server) memberBatchUpdate(p map[string]any) (any, *apiErr) {
	if e := s.checkMemberApp(p, doudian.CodeInvalidBizParam, doudian.SubMemberBadParam); e != nil {
		return nil, e
	}
	raw, _ := json.Marshal(p["member_info_list"])
	var rows []struct {
		OpenID    string       `json:"open_id"`
		UnionID   string       `json:"union_id"`
		Mobile    string       `json:"mobile"`
		Level     *json.Number `json:"level"`
		Unbind    *bool        `json:"unbind"`
		PointCent *json.Number `json:"pointCent"`
		Integral  *json.Number `json:"integral"`
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubParamInvalid, "member_info_list格式非法")
	}
	if len(rows) == 0 || len(rows) > doudian.MaxMemberBatch {
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubParamInvalid, "member_info_list数组中一次最多可更新%d个用户的信息", doudian.MaxMemberBatch)
	}
	type change struct {
		b             *buyer
		level, points *int64
		unbind        bool
		mobile        string
	}
	changes := make([]change, 0, len(rows))
	for _, row := range rows { // validate every row before changing any
		i, ok := s.byOpen[row.OpenID]
		if !ok || !s.buyers[i].member {
			return nil, errf(doudian.CodeInvalidBizParam, doudian.SubMemberOpenIDInvalid, "openId非法")
		}
		b := &s.buyers[i]
		switch {
		case row.UnionID == "":
			return nil, errf(doudian.CodeBusinessFailed, doudian.SubMemberNeedsUnionID, "用户是品牌会员，必须使用品牌唯一身份的UnionId来更新")
		case row.UnionID != b.unionID:
			return nil, errf(doudian.CodeInvalidBizParam, doudian.SubMemberOpenIDInvalid, "openId与unionId不匹配")
		}
		c := change{b: b, unbind: row.Unbind != nil && *row.Unbind, mobile: row.Mobile}
		var err error
		if row.Level != nil {
			var n int64
			if n, err = row.Level.Int64(); err == nil && n < 0 {
				err = fmt.Errorf("negative level")
			}
			c.level = &n
		}
		if err == nil && row.PointCent != nil {
			var n int64
			n, err = row.PointCent.Int64()
			c.points = &n
		} else if err == nil && row.Integral != nil {
			var n int64
			n, err = row.Integral.Int64()
			n *= 100
			c.points = &n
		}
		if err != nil {
			return nil, errf(doudian.CodeInvalidBizParam, doudian.SubParamInvalid, "level/pointCent/integral须为整数")
		}
		changes = append(changes, c)
	}
	for _, c := range changes {
		if c.level != nil {
			c.b.level = *c.level
		}
		if c.points != nil {
			c.b.pointCent = *c.points
		}
		if c.mobile != "" {
			c.b.mobile = c.mobile
		}
		if c.unbind {
			c.b.member = false
		}
	}
	return struct{}{}, nil
}

func (s *Server) memberUnionIDs(p map[string]any) (any, *apiErr) {
	if e := s.checkMemberApp(p, doudian.CodeBusinessFailed, doudian.SubMemberShopMissing); e != nil {
		return nil, e
	}
	list, ok := p["open_id_list"].([]any)
	if !ok || len(list) == 0 {
		return nil, errf(doudian.CodeBusinessFailed, "isv.business-failed:-100001", "请求参数非法")
	}
	info := map[string]string{}
	for _, v := range list {
		id, _ := v.(string)
		if i, ok := s.byOpen[id]; ok && s.buyers[i].member {
			info[id] = s.buyers[i].unionID
		}
	}
	return map[string]any{"union_id_info": info}, nil
}
