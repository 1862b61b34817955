package top

import (
	"strconv"
	"time"
)

// CRM limits: taobao.crm.members.get pages 1..1000 of at most 100.
const (
	MaxCRMPage     = 1000
	MaxCRMPageSize = 100
)

// BasicMember is a shop CRM member (taobao.crm.members.get and
// .increment.get). Open UID and OMID are not in the fact sheet's field list
// (L): the connector uses them when the answer carries them.
type BasicMember struct {
	BuyerNick        string `json:"buyer_nick,omitempty"` // masked: display only
	OUID             string `json:"ouid,omitempty"`
	OpenUID          string `json:"open_uid,omitempty"`
	OMID             string `json:"omid,omitempty"`
	Grade            int64  `json:"grade"` // 0 = not a member
	GradeName        string `json:"grade_name,omitempty"`
	Status           string `json:"status,omitempty"` // normal | blacklist
	RelationSource   int64  `json:"relation_source,omitempty"`
	TradeAmount      string `json:"trade_amount,omitempty"`
	TradeCount       int64  `json:"trade_count"`
	ItemNum          int64  `json:"item_num,omitempty"`
	CloseTradeAmount string `json:"close_trade_amount,omitempty"`
	CloseTradeCount  int64  `json:"close_trade_count,omitempty"`
	LastTradeTime    string `json:"last_trade_time,omitempty"`
	GroupIDs         string `json:"group_ids,omitempty"`
}

// MembersResult is the answer of the CRM member list APIs.
type MembersResult struct {
	Members     []BasicMember `json:"members"`
	TotalResult int64         `json:"total_result"`
}

// MembersGetParams are the parameters of taobao.crm.members.get.
func MembersGetParams(page, size int) map[string]string {
	return map[string]string{"current_page": strconv.Itoa(page), "page_size": strconv.Itoa(size)}
}

// MembersIncrementParams are the parameters of
// taobao.crm.members.increment.get for members modified in [start, end].
func MembersIncrementParams(start, end time.Time, page, size int) map[string]string {
	return map[string]string{"start_modify": FormatTime(start), "end_modify": FormatTime(end),
		"current_page": strconv.Itoa(page), "page_size": strconv.Itoa(size)}
}

// Level types of tmall.mei.crm.member.sync.
const (
	LevelTypeGrade  = 1
	LevelTypeGrowth = 2
)

// MemberSync is a tmall.mei.crm.member.sync request: the brand pushes a
// 会员通 member's points balance and level to Tmall. Point and Level are
// absolute values (nil: not sent). The member is named by Mobile or MixNick.
type MemberSync struct {
	Mobile     string
	MixNick    string
	Point      *int64
	Level      *int64
	LevelType  int
	LevelPoint *int64
	// Version orders updates of one member (L: a larger version wins).
	Version int64
	Extend  string
}

// Params renders the request's parameters.
func (r MemberSync) Params() map[string]string {
	p := map[string]string{"mobile": r.Mobile, "mix_nick": r.MixNick, "extend": r.Extend}
	if r.Point != nil {
		p["point"] = strconv.FormatInt(*r.Point, 10)
	}
	if r.Level != nil {
		p["level"] = strconv.FormatInt(*r.Level, 10)
		lt := r.LevelType
		if lt == 0 {
			lt = LevelTypeGrade
		}
		p["level_type"] = strconv.Itoa(lt)
	}
	if r.LevelPoint != nil {
		p["level_point"] = strconv.FormatInt(*r.LevelPoint, 10)
	}
	if r.Version != 0 {
		p["version"] = strconv.FormatInt(r.Version, 10)
	}
	return p
}

// FlagResult is the answer of tmall.mei.crm.member.sync and
// tmall.mei.crm.callback.point.change (L: the sheet gives no response
// fields; a result flag is assumed).
type FlagResult struct {
	Result bool `json:"result"`
}

// PointChangeAnswer is a tmall.mei.crm.callback.point.change request: the
// brand tells Tmall it processed (Result PointChangeDone) or could not
// process (PointChangeFailed, with ErrorCode) a tmall_mei_PointChange
// message. Point and MixMobile echo the message's (H: the sheet names the
// parameters; L: whether point is the change or a balance).
type PointChangeAnswer struct {
	RecordID  string
	Result    int
	ErrorCode string
	Point     string
	MixMobile string
}

// Results of a point change answer.
const (
	PointChangeDone   = 0
	PointChangeFailed = 1
)

// Params renders the request's parameters.
func (a PointChangeAnswer) Params() map[string]string {
	p := map[string]string{"record_id": a.RecordID, "result": strconv.Itoa(a.Result), "point": a.Point, "mix_mobile": a.MixMobile}
	if a.ErrorCode != "" {
		p["error_code"] = a.ErrorCode
	}
	return p
}
