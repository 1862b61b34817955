package sandbox

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
)

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// pageOf cuts page no (1-based) of size from n items.
func pageOf(n int, no, size int64) (lo, hi int) {
	lo = int(min((no-1)*size, int64(n)))
	hi = int(min(int64(lo)+size, int64(n)))
	return lo, hi
}

func (s *Server) tradeList(p params, idx []int, total bool, no, size int64) any {
	lo, hi := pageOf(len(idx), no, size)
	res := top.TradesResult{Trades: []top.Trade{}}
	for _, i := range idx[lo:hi] {
		res.Trades = append(res.Trades, s.render(i, s.cfg.SellerNick))
	}
	if p["use_has_next"] == "true" {
		res.HasNext = hi < len(idx)
		return struct {
			Trades  []top.Trade `json:"trades"`
			HasNext bool        `json:"has_next"`
		}{res.Trades, res.HasNext}
	}
	res.TotalResults = int64(len(idx))
	res.HasNext = hi < len(idx)
	return res
}

func (s *Server) soldGet(p params) (any, *apiErr) {
	if e := p.required("fields"); e != nil {
		return nil, e
	}
	no, e := p.int("page_no", 1, 1, 1<<31)
	if e != nil {
		return nil, e
	}
	size, e := p.int("page_size", 40, 1, top.MaxPageSize)
	if e != nil {
		return nil, e
	}
	start, hasStart, e := p.time("start_created")
	if e != nil {
		return nil, e
	}
	end, hasEnd, e := p.time("end_created")
	if e != nil {
		return nil, e
	}
	horizon := s.now().Add(-top.History).Unix()
	if !hasStart || start < horizon {
		start = horizon
	}
	if !hasEnd {
		end = s.now().Unix()
	}
	// The window of byCreated (newest first) whose trades were created in
	// [start, end]: a search, not a scan, so a big sandbox pages fast.
	lo := sort.Search(len(s.byCreated), func(k int) bool { return s.trades[s.byCreated[k]].created <= end })
	hi := sort.Search(len(s.byCreated), func(k int) bool { return s.trades[s.byCreated[k]].created < start })
	idx := s.byCreated[lo:hi]
	if st := p["status"]; st != "" {
		idx = slices.DeleteFunc(slices.Clone(idx), func(i int) bool { return s.trades[i].status != st })
	}
	return s.tradeList(p, idx, true, no, size), nil
}

func (s *Server) incrementGet(p params) (any, *apiErr) {
	if e := p.required("fields", "start_modified", "end_modified"); e != nil {
		return nil, e
	}
	no, e := p.int("page_no", 1, 1, 1<<31)
	if e != nil {
		return nil, e
	}
	size, e := p.int("page_size", 40, 1, top.MaxPageSize)
	if e != nil {
		return nil, e
	}
	start, _, e := p.time("start_modified")
	if e != nil {
		return nil, e
	}
	end, _, e := p.time("end_modified")
	if e != nil {
		return nil, e
	}
	switch {
	case start > end:
		return nil, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "end_modified must not be before start_modified")
	case end-start > int64(top.MaxIncrementSpan/time.Second):
		return nil, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "start_modified and end_modified must be within one day")
	case start < s.now().Add(-top.History).Unix():
		return nil, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "only the last three months can be queried")
	}
	var idx []int
	for i, t := range s.trades {
		if t.modified >= start && t.modified <= end && (p["status"] == "" || p["status"] == t.status) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(s.trades[b].modified, s.trades[a].modified), cmp.Compare(b, a))
	})
	return s.tradeList(p, idx, true, no, size), nil
}

func (s *Server) fullinfoGet(p params) (any, *apiErr) {
	if e := p.required("fields", "tid"); e != nil {
		return nil, e
	}
	i, ok := s.tradeIndex(p["tid"])
	if !ok {
		return nil, errf(top.CodeRemoteServiceError, "isv.trade-not-exist", "trade %s does not exist", p["tid"])
	}
	t := s.render(i, s.cfg.SellerNick)
	return top.FullinfoResult{Trade: &t}, nil
}

func (s *Server) memberPage(p params, keep func(*buyer) bool) (any, *apiErr) {
	if e := p.required("current_page"); e != nil {
		return nil, e
	}
	page, e := p.int("current_page", 1, 1, top.MaxCRMPage)
	if e != nil {
		return nil, e
	}
	size, e := p.int("page_size", 20, 1, top.MaxCRMPageSize)
	if e != nil {
		return nil, e
	}
	var idx []int
	for k := range s.buyers {
		if b := &s.buyers[k]; b.grade > 0 && keep(b) {
			idx = append(idx, k)
		}
	}
	lo, hi := pageOf(len(idx), page, size)
	res := top.MembersResult{Members: []top.BasicMember{}, TotalResult: int64(len(idx))}
	for _, k := range idx[lo:hi] {
		res.Members = append(res.Members, s.member(k))
	}
	return res, nil
}

func (s *Server) membersGet(p params) (any, *apiErr) {
	return s.memberPage(p, func(*buyer) bool { return true })
}

func (s *Server) membersIncrementGet(p params) (any, *apiErr) {
	if e := p.required("start_modify"); e != nil {
		return nil, e
	}
	start, _, e := p.time("start_modify")
	if e != nil {
		return nil, e
	}
	end, hasEnd, e := p.time("end_modify")
	if e != nil {
		return nil, e
	}
	if !hasEnd {
		end = s.now().Unix()
	}
	if start > end {
		return nil, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "end_modify must not be before start_modify")
	}
	return s.memberPage(p, func(b *buyer) bool { return b.modified >= start && b.modified <= end })
}

func (s *Server) memberSync(p params) (any, *apiErr) {
	if p["mobile"] == "" && p["mix_nick"] == "" && p["nick"] == "" {
		return nil, &apiErr{code: top.CodeMissingRequired, msg: "Missing required arguments:mobile"}
	}
	k := -1
	for j := range s.buyers {
		b := &s.buyers[j]
		if b.omid != "" && ((p["mobile"] != "" && b.mobile == p["mobile"]) || (p["mix_nick"] != "" && p["mix_nick"] == mixNick(b))) {
			k = j
			break
		}
	}
	if k < 0 {
		return nil, errf(top.CodeRemoteServiceError, top.SubMemberNotFound, "no brand member with that mobile or nick")
	}
	point, hasPoint, e := optInt(p, "point")
	if e != nil {
		return nil, e
	}
	level, hasLevel, e := optInt(p, "level")
	if e != nil {
		return nil, e
	}
	version, _, e := optInt(p, "version")
	if e != nil {
		return nil, e
	}
	b := &s.buyers[k]
	if version != 0 && version < b.version {
		return top.FlagResult{Result: true}, nil // stale update: ignored
	}
	b.version = max(b.version, version)
	if hasPoint {
		b.point = point
	}
	if hasLevel {
		if level < 0 {
			return nil, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "level must be ≥ 0")
		}
		b.level = level
	}
	return top.FlagResult{Result: true}, nil
}

func optInt(p params, name string) (int64, bool, *apiErr) {
	v := p[name]
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, true, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "%s must be a whole number", name)
	}
	return n, true, nil
}

// mixNick is the buyer's obfuscated nick as 会员通 APIs carry it.
func mixNick(b *buyer) string { return "mx_" + b.ouid }

func (s *Server) tokenRefresh(p params) (any, *apiErr) {
	if e := p.required("refresh_token"); e != nil {
		return nil, e
	}
	if p["refresh_token"] != s.refresh {
		return nil, errf(top.CodeRemoteServiceError, top.SubInvalidRefreshToken, "refresh token is invalid or was rotated")
	}
	s.tokenSeq++
	sess := fmt.Sprintf("%s-r%d", s.cfg.Session, s.tokenSeq)
	s.refresh = fmt.Sprintf("%s-r%d", s.cfg.RefreshToken, s.tokenSeq)
	s.sessions[sess] = s.now().Add(s.cfg.SessionTTL)
	tok, _ := json.Marshal(top.TokenResult{AccessToken: sess, TokenType: "Bearer", ExpiresIn: int64(s.cfg.SessionTTL / time.Second),
		RefreshToken: s.refresh, ReExpiresIn: int64(s.cfg.SessionTTL / time.Second), TaobaoUserID: s.cfg.SellerID, TaobaoUserNick: s.cfg.SellerNick})
	return top.TokenRefreshResult{TokenResult: string(tok)}, nil
}
