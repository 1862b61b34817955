package mapping

import (
	"fmt"
	"slices"
	"strings"
)

// IdentityType names a kind of identifier. The names are fixed: they appear in
// files, configs and the API.
type IdentityType string

// The identifier types and the scope each is unique within.
const (
	IDPhone               IdentityType = "phone"                 // scope: tenant (empty)
	IDEmail               IdentityType = "email"                 // scope: tenant (empty)
	IDWechatUnionID       IdentityType = "wechat_unionid"        // scope: open platform account
	IDWechatOpenID        IdentityType = "wechat_openid"         // scope: official-account appid
	IDMiniprogramOpenID   IdentityType = "miniprogram_openid"    // scope: mini-program appid
	IDWecomExternalUserID IdentityType = "wecom_external_userid" // scope: corp id
	IDTaobaoBuyerOpenUID  IdentityType = "taobao_buyer_open_uid" // scope: app key
	IDTaobaoOUID          IdentityType = "taobao_ouid"           // scope: shop
	IDTaobaoOMID          IdentityType = "taobao_omid"           // scope: brand
	IDDouyinOpenID        IdentityType = "douyin_open_id"        // scope: shop
	IDDouyinUnionID       IdentityType = "douyin_union_id"       // scope: brand
	IDXHSOpenID           IdentityType = "xhs_open_id"           // scope: shop
	IDMemberCard          IdentityType = "member_card"           // scope: brand
)

// identityTypes lists every known type with whether it needs a scope.
var identityTypes = map[IdentityType]bool{
	IDPhone: false, IDEmail: false,
	IDWechatUnionID: true, IDWechatOpenID: true, IDMiniprogramOpenID: true,
	IDWecomExternalUserID: true, IDTaobaoBuyerOpenUID: true, IDTaobaoOUID: true,
	IDTaobaoOMID: true, IDDouyinOpenID: true, IDDouyinUnionID: true,
	IDXHSOpenID: true, IDMemberCard: true,
}

// KnownIdentityType reports whether t is one of the fixed identifier types.
func KnownIdentityType(t IdentityType) bool {
	_, ok := identityTypes[t]
	return ok
}

// IdentityTypes returns every known type, sorted.
func IdentityTypes() []IdentityType {
	out := make([]IdentityType, 0, len(identityTypes))
	for t := range identityTypes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Scoped reports whether identifiers of type t are unique only within a scope
// (an app id, corp id, shop…) and so never match across scopes.
func (t IdentityType) Scoped() bool { return identityTypes[t] }

// Identity is one identifier of a person: (type, scope, value). For phones,
// Value is the E.164 form while in memory; what is stored and compared is the
// tenant's salted hash (see PhoneHash).
type Identity struct {
	Type  IdentityType `json:"type"`
	Scope string       `json:"scope,omitempty"`
	Value string       `json:"value"`
}

// String renders the identity as TYPE:SCOPE:VALUE, the form the CLI accepts.
func (id Identity) String() string {
	return string(id.Type) + ":" + id.Scope + ":" + id.Value
}

// ParseIdentity parses TYPE:SCOPE:VALUE (SCOPE may be empty: "phone::+86…").
// The value may itself contain colons.
func ParseIdentity(s string) (Identity, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return Identity{}, fmt.Errorf("identity %q: want TYPE:SCOPE:VALUE", s)
	}
	id := Identity{Type: IdentityType(parts[0]), Scope: parts[1], Value: parts[2]}
	return id, id.Validate()
}

// Validate checks the type is known, a scoped type has a scope, an unscoped
// type has none, and the value is not empty.
func (id Identity) Validate() error {
	scoped, ok := identityTypes[id.Type]
	switch {
	case !ok:
		return fmt.Errorf("identity type %q is not known (want one of phone, email, wechat_unionid, wechat_openid, miniprogram_openid, wecom_external_userid, taobao_buyer_open_uid, taobao_ouid, taobao_omid, douyin_open_id, douyin_union_id, xhs_open_id, member_card)", id.Type)
	case scoped && id.Scope == "":
		return fmt.Errorf("identity type %q needs a scope", id.Type)
	case !scoped && id.Scope != "":
		return fmt.Errorf("identity type %q takes no scope (got %q)", id.Type, id.Scope)
	case strings.TrimSpace(id.Value) == "":
		return fmt.Errorf("identity %s: empty value", id.Type)
	}
	return nil
}
