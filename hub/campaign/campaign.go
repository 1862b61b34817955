// Package campaign decides, before anything is sent, whether an SMS may go
// to a member: consent, the tenant's allowed hours, the opt-out suffix of
// marketing templates and per-number frequency limits. It is pure: the store
// gathers the facts, Policy.Decide rules on them, and a refused recipient
// always gets a reason.
package campaign

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/channelhub/channelhub/mapping"
)

// Template is an SMS template registered with the provider, as the tenant
// declares it.
type Template struct {
	// Marketing templates (推广短信) need a recorded opt-in, the allowed
	// hours and the opt-out suffix; notifications only need no opt-out.
	Marketing bool `json:"marketing"`
	// Text is the template as registered, for the suffix check.
	Text string `json:"text"`
}

// Limits are per-number frequency limits: minute and hour windows are
// calendar-aligned in the policy's zone, the day is a rolling 24 h.
type Limits struct {
	PerMinute, PerHour, PerDay int
}

// Policy is a tenant's SMS policy.
type Policy struct {
	// AllowedFrom and AllowedTo bound marketing sends, as minutes after
	// midnight in Location: [AllowedFrom, AllowedTo).
	AllowedFrom, AllowedTo int
	Location               *time.Location
	// OptOutSuffix must end every marketing template.
	OptOutSuffix string
	PerNumber    Limits
	Templates    map[string]Template
}

// Defaults of the policy (README "SMS").
const (
	DefaultAllowedHours = "08:00-22:00"
	DefaultOptOutSuffix = "拒收请回复R"
)

// DefaultPolicy is the policy of a tenant that declares only templates:
// marketing 08:00–22:00 Asia/Shanghai, the suffix 拒收请回复R, and the
// providers' default per-number limits (1 a minute, 5 an hour, 10 a day).
func DefaultPolicy() Policy {
	return Policy{AllowedFrom: 8 * 60, AllowedTo: 22 * 60, Location: mapping.Shanghai, OptOutSuffix: DefaultOptOutSuffix,
		PerNumber: Limits{PerMinute: 1, PerHour: 5, PerDay: 10}, Templates: map[string]Template{}}
}

// ParseHours parses "HH:MM-HH:MM" into minutes after midnight; the end may
// be 24:00.
func ParseHours(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want HH:MM-HH:MM", s)
	}
	parse := func(x string) (int, error) {
		if strings.TrimSpace(x) == "24:00" {
			return 24 * 60, nil
		}
		t, err := time.Parse("15:04", strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q: want HH:MM-HH:MM", s)
		}
		return t.Hour()*60 + t.Minute(), nil
	}
	if from, err = parse(a); err != nil {
		return 0, 0, err
	}
	if to, err = parse(b); err != nil {
		return 0, 0, err
	}
	if from >= to {
		return 0, 0, fmt.Errorf("%q: the window must start before it ends", s)
	}
	return from, to, nil
}

// Validate checks the policy: every marketing template ends with the
// opt-out suffix.
func (p Policy) Validate() error {
	var errs []error
	for code, t := range p.Templates {
		if t.Marketing && !strings.HasSuffix(strings.TrimSpace(t.Text), p.OptOutSuffix) {
			errs = append(errs, fmt.Errorf("templates.%s: a marketing template must end with the opt-out suffix %q", code, p.OptOutSuffix))
		}
	}
	return errors.Join(errs...)
}

// Facts are what the store knows of one recipient.
type Facts struct {
	// HasPhone says the member has a phone on record.
	HasPhone bool
	// Consent is the member's latest SMS consent; nil when none is
	// recorded.
	Consent *mapping.Consent
	// Sent are earlier sends to the same number (queued or delivered), for
	// the frequency limits.
	Sent []time.Time
}

// Reasons a recipient is refused.
const (
	ReasonNoPhone     = "no phone number on record"
	ReasonNoOptIn     = "no recorded SMS opt-in (marketing needs one)"
	ReasonOptedOut    = "opted out of SMS"
	ReasonHours       = "outside the allowed hours for marketing"
	ReasonFrequency   = "per-number frequency limit"
	ReasonDuplicate   = "already a recipient of this campaign (same number)"
	ReasonNotTemplate = "template not declared"
)

// Category returns the kind of a refusal reason — one of the Reason
// constants, without the reason's details (dates, limits) — for grouping.
func Category(reason string) string {
	for _, r := range []string{ReasonNoPhone, ReasonNoOptIn, ReasonOptedOut, ReasonHours, ReasonFrequency, ReasonDuplicate, ReasonNotTemplate} {
		if strings.HasPrefix(reason, r) {
			return r
		}
	}
	return reason
}

// Decide says whether a send of template at now may go to a recipient with
// these facts; when not, why.
func (p Policy) Decide(now time.Time, template string, f Facts) (ok bool, reason string) {
	t, known := p.Templates[template]
	switch {
	case !known:
		return false, ReasonNotTemplate
	case !f.HasPhone:
		return false, ReasonNoPhone
	case f.Consent != nil && !f.Consent.OptIn:
		return false, fmt.Sprintf("%s on %s (%s)", ReasonOptedOut, f.Consent.At.In(p.Location).Format("2006-01-02 15:04"), orUnknown(f.Consent.Source))
	case t.Marketing && f.Consent == nil:
		return false, ReasonNoOptIn
	case t.Marketing && !p.InHours(now):
		return false, fmt.Sprintf("%s (%s–%s %s)", ReasonHours, clock(p.AllowedFrom), clock(p.AllowedTo), p.Location)
	}
	if why := p.frequency(now, f.Sent); why != "" {
		return false, why
	}
	return true, ""
}

// InHours reports whether now falls in the marketing window.
func (p Policy) InHours(now time.Time) bool {
	l := now.In(p.Location)
	m := l.Hour()*60 + l.Minute()
	return m >= p.AllowedFrom && m < p.AllowedTo
}

func (p Policy) frequency(now time.Time, sent []time.Time) string {
	l := now.In(p.Location)
	minute := l.Truncate(time.Minute)
	hour := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, p.Location)
	var perMinute, perHour, perDay int
	for _, s := range sent {
		switch {
		case !s.Before(minute):
			perMinute++
			fallthrough
		case !s.Before(hour):
			perHour++
		}
		if now.Sub(s) < 24*time.Hour {
			perDay++
		}
	}
	switch {
	case p.PerNumber.PerMinute > 0 && perMinute >= p.PerNumber.PerMinute:
		return fmt.Sprintf("%s: %d a minute", ReasonFrequency, p.PerNumber.PerMinute)
	case p.PerNumber.PerHour > 0 && perHour >= p.PerNumber.PerHour:
		return fmt.Sprintf("%s: %d an hour", ReasonFrequency, p.PerNumber.PerHour)
	case p.PerNumber.PerDay > 0 && perDay >= p.PerNumber.PerDay:
		return fmt.Sprintf("%s: %d a day", ReasonFrequency, p.PerNumber.PerDay)
	}
	return ""
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func orUnknown(s string) string {
	if s == "" {
		return "source unknown"
	}
	return "via " + s
}
