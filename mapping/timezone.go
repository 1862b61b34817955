package mapping

import (
	"fmt"
	"time"
)

// Shanghai is China Standard Time, UTC+8. China has kept no daylight saving
// since 1991, so a fixed zone is exact for every timestamp a platform sends and
// needs no tz database on the machine.
var Shanghai = time.FixedZone("CST", 8*60*60)

// PlatformTimeLayout is the wall-clock layout Chinese platform APIs use
// (Taobao, Douyin): "2006-01-02 15:04:05", always in GMT+8.
const PlatformTimeLayout = "2006-01-02 15:04:05"

// ParseShanghai parses a wall-clock time in GMT+8 ("2024-05-01 10:00:00") and
// returns it in UTC.
func ParseShanghai(s string) (time.Time, error) {
	t, err := time.ParseInLocation(PlatformTimeLayout, s, Shanghai)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want %q in GMT+8: %w", s, PlatformTimeLayout, err)
	}
	return t.UTC(), nil
}

// FormatShanghai formats t as the platforms' GMT+8 wall clock.
func FormatShanghai(t time.Time) string { return t.In(Shanghai).Format(PlatformTimeLayout) }

// ParseBirthday parses a YYYY-MM-DD date. An empty string gives the zero time.
func ParseBirthday(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("birthday %q: want YYYY-MM-DD", s)
	}
	return t, nil
}
