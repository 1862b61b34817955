package mapping

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrPhone is wrapped by every phone normalisation error.
var ErrPhone = errors.New("malformed phone number")

// NormalizePhone brings a phone number in any common written form to E.164.
// Numbers without a country code are taken as mainland China (+86). Accepted:
// "+86 138-0013-8000", "8613800138000", "0086 13800138000", "138 0013 8000",
// "(138)00138000", "(+86)13800138000", "(86) 138 0013 8000", and the same in
// full-width characters ("１３８００１３８０００", "＋８６", "－", the
// ideographic space), which are folded to ASCII first. Spaces, dashes, dots
// and parentheses separate digits; parentheses must pair and not nest, and a
// "+" may only open the number (after spaces or a "("). Mainland mobiles must
// be 11 digits starting with 1; other country codes are accepted with 6–15
// digits in all, as E.164 allows.
func NormalizePhone(raw string) (string, error) {
	s := strings.TrimSpace(foldWidth(raw))
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrPhone)
	}
	var (
		b          strings.Builder
		plus, open bool
		inGroup    int // digits inside the open parentheses
		lead       = true
	)
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			inGroup++
			lead = false
		case r == '+' && lead && !plus:
			plus = true
		case r == '(' && !open:
			open, inGroup = true, 0
		case r == ')' && open:
			if inGroup == 0 {
				return "", fmt.Errorf("%w: empty parentheses", ErrPhone)
			}
			open = false
			lead = false
		case r == '(' || r == ')':
			return "", fmt.Errorf("%w: unbalanced parentheses", ErrPhone)
		case r == ' ' || r == '-' || r == '.':
			if r != ' ' {
				lead = false
			}
		default:
			return "", fmt.Errorf("%w: unexpected character %q", ErrPhone, r)
		}
	}
	if open {
		return "", fmt.Errorf("%w: unbalanced parentheses", ErrPhone)
	}
	d := b.String()
	switch {
	case plus:
	case strings.HasPrefix(d, "00"):
		d, plus = d[2:], true
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		plus = true
	}
	if !plus {
		d = "86" + d
	}
	if strings.HasPrefix(d, "86") {
		national := d[2:]
		if len(national) != 11 || national[0] != '1' {
			return "", fmt.Errorf("%w: a mainland China number has 11 digits starting with 1", ErrPhone)
		}
		return "+" + d, nil
	}
	if len(d) < 6 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("%w: want 6 to 15 digits with a country code", ErrPhone)
	}
	return "+" + d, nil
}

// foldWidth maps the full-width forms of ASCII (U+FF01–U+FF5E) to ASCII and
// the ideographic space (U+3000) to a space, as Chinese input methods type
// them; everything else is kept.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

// PhoneHash is the tenant-salted hash of an E.164 phone number, the only form
// in which phones are compared and matched. It is HMAC-SHA256 keyed with the
// tenant's salt, hex encoded.
func PhoneHash(salt []byte, e164 string) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(e164))
	return hex.EncodeToString(m.Sum(nil))
}

// MaskPhone renders an E.164 number for display with the middle digits hidden
// (+86138****8000), so that logs and CLI output never carry the number.
func MaskPhone(e164 string) string {
	if len(e164) < 8 {
		return "****"
	}
	return e164[:len(e164)-8] + "****" + e164[len(e164)-4:]
}
