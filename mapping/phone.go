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
// "(138)00138000". Mainland mobiles must be 11 digits starting with 1; other
// country codes are accepted with 6–15 digits in all, as E.164 allows.
func NormalizePhone(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrPhone)
	}
	plus := strings.HasPrefix(s, "+")
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", fmt.Errorf("%w: unexpected character %q", ErrPhone, r)
		}
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
