package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMoney is wrapped by every money parsing error.
var ErrMoney = errors.New("malformed amount")

// Fen is an amount of money in fen (1/100 yuan). Money is never a float.
type Fen int64

// String renders the amount in yuan with two decimals, e.g. "12.30".
func (f Fen) String() string {
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	return fmt.Sprintf("%s%d.%02d", sign, f/100, f%100)
}

// ParseYuan converts a decimal yuan string ("12.3", "12.30", "-0.05", "7")
// to fen exactly, without going through a float. More than two decimals is
// an error unless the extra digits are zero.
func ParseYuan(s string) (Fen, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%w: %q", ErrMoney, s)
	}
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return 0, fmt.Errorf("%w: %q has more than two decimals", ErrMoney, s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, fmt.Errorf("%w: %q", ErrMoney, s)
			}
		}
	}
	y, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || y > (1<<62)/100 {
		return 0, fmt.Errorf("%w: %q out of range", ErrMoney, s)
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	v := Fen(y*100 + f)
	if neg {
		v = -v
	}
	return v, nil
}
