package doudian

import (
	"context"
	"fmt"
)

// Member API methods (会员通).
const (
	MethodMemberBatchUpdate              = "member.batchUpdate"
	MethodMemberBatchGetUnionIDByOpenIDs = "member.batchGetUnionIdByOpenIdList"
)

// MaxMemberBatch is how many members one member.batchUpdate call may carry.
const MaxMemberBatch = 5

// MemberUpdate is one row of member.batchUpdate: the new state of one shop
// member. Nil fields are left unchanged.
type MemberUpdate struct {
	// OpenID is the member's shop-scoped open_id (required).
	OpenID string `json:"open_id"`
	// UnionID is the brand-level id; required for brand members (the platform
	// refuses their rows without it, SubMemberNeedsUnionID).
	UnionID string `json:"union_id,omitempty"`
	// Mobile is a new phone number.
	Mobile string `json:"mobile,omitempty"`
	// Level is the new member level.
	Level *int64 `json:"level,omitempty"`
	// Unbind ends the membership.
	Unbind *bool `json:"unbind,omitempty"`
	// PointCent is the new points balance ×100 (100 = 1 point; negatives and
	// two decimals allowed). It wins over Integral.
	PointCent *int64 `json:"pointCent,omitempty"`
	// Integral is the legacy whole-point balance, for older merchants only.
	Integral *int64 `json:"integral,omitempty"`
}

// MemberBatchUpdateRequest is member.batchUpdate's param_json.
type MemberBatchUpdateRequest struct {
	// AppID is the membership app id (表明外部平台) configured for the shop.
	AppID   int64          `json:"app_id"`
	Members []MemberUpdate `json:"member_info_list"`
}

// MemberBatchUpdate pushes member levels and points to the platform, at most
// MaxMemberBatch members per call (more is refused before calling).
func (c *Client) MemberBatchUpdate(ctx context.Context, accessToken string, req MemberBatchUpdateRequest) error {
	if n := len(req.Members); n == 0 || n > MaxMemberBatch {
		return fmt.Errorf("doudian %s: %d members: want 1 to %d per call", MethodMemberBatchUpdate, n, MaxMemberBatch)
	}
	return c.Call(ctx, MethodMemberBatchUpdate, accessToken, req, nil)
}

// MemberBatchGetUnionIDByOpenIDList maps shop member open_ids to their
// brand-level union_ids. Open ids without a union id (not members, or the
// shop is not a brand shop) are missing from the map.
func (c *Client) MemberBatchGetUnionIDByOpenIDList(ctx context.Context, accessToken string, appID int64, openIDs []string) (map[string]string, error) {
	if len(openIDs) == 0 {
		return map[string]string{}, nil
	}
	var res struct {
		UnionIDInfo map[string]string `json:"union_id_info"`
	}
	params := map[string]any{"app_id": appID, "open_id_list": openIDs}
	if err := c.Call(ctx, MethodMemberBatchGetUnionIDByOpenIDs, accessToken, params, &res); err != nil {
		return nil, err
	}
	if res.UnionIDInfo == nil {
		res.UnionIDInfo = map[string]string{}
	}
	return res.UnionIDInfo, nil
}
