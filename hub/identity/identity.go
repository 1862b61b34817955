// Package identity decides which member a record's identifiers belong to.
//
// This is the minimal step of the walking skeleton: identifiers that appear
// together on a record belong to one member; when they point at several
// members, those merge into the oldest one (the survivor keeps its id, the
// others become aliases). Scoped identifiers only match within their scope,
// and phones match by the tenant's salted hash, never in clear.
package identity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/channelhub/channelhub/mapping"
)

// Key is an identifier as it is matched: phones by salted hash, emails
// lower-cased, everything else as given.
type Key struct {
	Type  mapping.IdentityType
	Scope string
	Value string
}

// String renders the key as stored: type, scope and value joined by 0x1f.
func (k Key) String() string { return string(k.Type) + "\x1f" + k.Scope + "\x1f" + k.Value }

// blocked are values that identify nobody (defaults of issue 3's rules).
var blocked = []string{"", "null", "undefined", "none", "0", "nil", "-"}

// KeyOf returns the matching key of an identity and, for phones, the clear
// E.164 form to store encrypted. A blocked or malformed value is an error:
// the identifier is dropped, not matched.
func KeyOf(salt []byte, id mapping.Identity) (Key, string, error) {
	if err := id.Validate(); err != nil {
		return Key{}, "", err
	}
	v := strings.TrimSpace(id.Value)
	if slices.Contains(blocked, strings.ToLower(v)) {
		return Key{}, "", fmt.Errorf("identity %s: value %q is blocked", id.Type, v)
	}
	switch id.Type {
	case mapping.IDPhone:
		e164, err := mapping.NormalizePhone(v)
		if err != nil {
			return Key{}, "", fmt.Errorf("identity phone: %w", err)
		}
		return Key{Type: id.Type, Value: mapping.PhoneHash(salt, e164)}, e164, nil
	case mapping.IDEmail:
		v = strings.ToLower(v)
	}
	return Key{Type: id.Type, Scope: id.Scope, Value: v}, "", nil
}

// Owner is a member holding some of a record's keys.
type Owner struct {
	MemberID string
	// Seq orders members by creation; the smallest is the oldest.
	Seq int64
}

// Decide picks the member a record belongs to from the owners of its keys:
// none means a new member; one means that member; several merge into the
// oldest, which is returned with the others to merge into it.
func Decide(owners []Owner) (survivor Owner, mergeAway []Owner, isNew bool) {
	if len(owners) == 0 {
		return Owner{}, nil, true
	}
	sorted := slices.Clone(owners)
	slices.SortFunc(sorted, func(a, b Owner) int {
		if a.Seq != b.Seq {
			return int(a.Seq - b.Seq)
		}
		return strings.Compare(a.MemberID, b.MemberID)
	})
	sorted = slices.CompactFunc(sorted, func(a, b Owner) bool { return a.MemberID == b.MemberID })
	return sorted[0], sorted[1:], false
}
