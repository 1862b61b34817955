package identity

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/channelhub/channelhub/mapping"
)

// TypeRule is how one identifier type links.
type TypeRule struct {
	// Priority orders evidence: links through higher-priority identifiers
	// are made first, so a limit is charged to the weaker identifier.
	Priority int `yaml:"priority" json:"priority"`
	// Limit is how many distinct identifiers of the type (per scope) one
	// member may hold; a merge that would exceed it is refused.
	Limit int `yaml:"limit" json:"limit"`
}

// Rules are a tenant's identity rules. The zero value is not useful: start
// from DefaultRules and override.
type Rules struct {
	// Types gives each identifier type's priority and limit.
	Types map[mapping.IdentityType]TypeRule
	// Blocked values identify nobody: they are dropped from every record
	// (compared case-insensitively, after trimming). A blocked value that is
	// a phone number blocks that phone in any written form: both are
	// compared by their E.164 form.
	Blocked []string
	// SharedLimit is the shared-identifier guard: an identifier carried by
	// records of more than SharedLimit otherwise-unrelated members stops
	// linking and is reported.
	SharedLimit int

	// blockedPhones are the E.164 forms of the Blocked values that are
	// phone numbers, made once by DefaultRules and Override.Apply (which
	// are where Blocked is set): a sync checks every phone against them.
	blockedPhones map[string]bool
}

// indexBlocked makes blockedPhones from Blocked.
func (r *Rules) indexBlocked() {
	r.blockedPhones = map[string]bool{}
	for _, b := range r.Blocked {
		if digits(b) < 6 {
			continue
		}
		if n, err := mapping.NormalizePhone(b); err == nil {
			r.blockedPhones[n] = true
		}
	}
}

// Defaults of the rules (README "Identity rules").
const (
	DefaultSharedLimit = 5
	defaultPhoneLimit  = 3
)

// defaultBlocked are placeholder values typed into forms and exports.
var defaultBlocked = []string{
	"", "null", "nil", "none", "undefined", "unknown", "n/a", "na", "-", "0", "test",
	// Well-known test and placeholder mobile numbers.
	"13800138000", "13900139000", "12345678901", "13812345678", "18812345678",
}

// DefaultRules returns the rules a tenant gets unless its config says
// otherwise: unionids and every scoped id at most one per member (per
// scope), phones and emails at most three, the default blocked values, and
// the shared guard at DefaultSharedLimit members.
func DefaultRules() Rules {
	r := Rules{Types: map[mapping.IdentityType]TypeRule{}, Blocked: slices.Clone(defaultBlocked), SharedLimit: DefaultSharedLimit}
	for _, t := range mapping.IdentityTypes() {
		tr := TypeRule{Priority: 70, Limit: 1}
		switch t {
		case mapping.IDWechatUnionID:
			tr.Priority = 100
		case mapping.IDDouyinUnionID, mapping.IDTaobaoOMID:
			tr.Priority = 90
		case mapping.IDMemberCard:
			tr.Priority = 80
		case mapping.IDPhone:
			tr = TypeRule{Priority: 50, Limit: defaultPhoneLimit}
		case mapping.IDEmail:
			tr = TypeRule{Priority: 40, Limit: defaultPhoneLimit}
		}
		r.Types[t] = tr
	}
	r.indexBlocked()
	return r
}

// Override is a tenant's identity section in the config: what it changes
// from the defaults.
type Override struct {
	Types map[string]TypeRule `yaml:"types"`
	// Blocked values are added to the defaults.
	Blocked []string `yaml:"blocked"`
	// SharedLimit, when set, replaces the default.
	SharedLimit int `yaml:"shared_limit"`
}

// Apply returns the default rules with o's changes, or an error naming every
// bad entry.
func (o Override) Apply() (Rules, error) {
	r := DefaultRules()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(o.Types)) {
		tr := o.Types[name]
		t := mapping.IdentityType(name)
		if !mapping.KnownIdentityType(t) {
			errs = append(errs, fmt.Errorf("types.%s: not an identity type (want one of %s)", name, typeList()))
			continue
		}
		ok := true
		if tr.Priority < 0 {
			errs = append(errs, fmt.Errorf("types.%s.priority: %d: want a whole number ≥ 0", name, tr.Priority))
			ok = false
		}
		if tr.Limit < 1 {
			errs = append(errs, fmt.Errorf("types.%s.limit: %d: want a whole number ≥ 1", name, tr.Limit))
			ok = false
		}
		if ok {
			r.Types[t] = tr
		}
	}
	r.Blocked = append(r.Blocked, o.Blocked...)
	r.indexBlocked()
	switch {
	case o.SharedLimit < 0:
		errs = append(errs, fmt.Errorf("shared_limit: %d: want a whole number ≥ 1", o.SharedLimit))
	case o.SharedLimit > 0:
		r.SharedLimit = o.SharedLimit
	}
	return r, errors.Join(errs...)
}

func typeList() string {
	var names []string
	for _, t := range mapping.IdentityTypes() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// ErrBlocked marks an identifier dropped by the rules.
var ErrBlocked = errors.New("blocked")

// Key is an identifier as it is matched: phones by salted hash, emails
// lower-cased, everything else as given.
type Key struct {
	Type  mapping.IdentityType
	Scope string
	Value string
}

// String renders the key as stored: type, scope and value joined by 0x1f.
func (k Key) String() string { return string(k.Type) + "\x1f" + k.Scope + "\x1f" + k.Value }

// Display renders the key as TYPE:SCOPE:VALUE (phones as their hash).
func (k Key) Display() string { return string(k.Type) + ":" + k.Scope + ":" + k.Value }

// ParseKey parses what String rendered.
func ParseKey(s string) (Key, error) {
	parts := strings.SplitN(s, "\x1f", 3)
	if len(parts) != 3 {
		return Key{}, fmt.Errorf("identity key %q is malformed", s)
	}
	return Key{Type: mapping.IdentityType(parts[0]), Scope: parts[1], Value: parts[2]}, nil
}

// Key returns the matching key of an identity and, for phones, the clear
// E.164 form to store encrypted. A malformed identity is an error; a blocked
// value is an error wrapping ErrBlocked. Either way the identifier is
// dropped, not matched.
func (r *Rules) Key(salt []byte, id mapping.Identity) (Key, string, error) {
	if err := id.Validate(); err != nil {
		return Key{}, "", err
	}
	v := strings.TrimSpace(id.Value)
	if r.blocked(v) {
		return Key{}, "", fmt.Errorf("identity %s: value %q is %w", id.Type, v, ErrBlocked)
	}
	switch id.Type {
	case mapping.IDPhone:
		e164, err := mapping.NormalizePhone(v)
		if err != nil {
			return Key{}, "", fmt.Errorf("identity phone: %w", err)
		}
		if r.blockedPhone(e164) || placeholderPhone(e164) {
			return Key{}, "", fmt.Errorf("identity phone: a placeholder or test number is %w", ErrBlocked)
		}
		return Key{Type: id.Type, Value: mapping.PhoneHash(salt, e164)}, e164, nil
	case mapping.IDEmail:
		v = strings.ToLower(v)
	}
	return Key{Type: id.Type, Scope: id.Scope, Value: v}, "", nil
}

func (r *Rules) blocked(v string) bool {
	for _, b := range r.Blocked {
		if strings.EqualFold(v, b) {
			return true
		}
	}
	return false
}

// blockedPhone reports whether a blocked value is the phone e164 in any
// written form: blocked values that are phone numbers are compared by their
// E.164 form, so "139-0571-6666", "+86 139 0571 6666" and "13905716666" all
// block +8613905716666 (indexBlocked: values with fewer than six digits
// cannot be phones and are not parsed).
func (r *Rules) blockedPhone(e164 string) bool {
	return r.blockedPhones[e164] || r.blocked(e164)
}

// digits counts the decimal digits of s, full-width ones too.
func digits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' || r >= '０' && r <= '９' {
			n++
		}
	}
	return n
}

// placeholderPhone reports a number whose last eight digits are all the
// same (13800000000, 18888888888): typed in when a form demands a phone.
func placeholderPhone(e164 string) bool {
	if len(e164) < 8 {
		return false
	}
	tail := e164[len(e164)-8:]
	return strings.Count(tail, tail[:1]) == len(tail)
}

// rule returns the rule of a type; an unknown type gets the strictest one.
func (r *Rules) rule(t mapping.IdentityType) TypeRule {
	if tr, ok := r.Types[t]; ok {
		return tr
	}
	return TypeRule{Limit: 1}
}
