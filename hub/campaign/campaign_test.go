package campaign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/hub/campaign"
	"github.com/channelhub/channelhub/mapping"
)

func policy() campaign.Policy {
	p := campaign.DefaultPolicy()
	p.Templates = map[string]campaign.Template{
		"PROMO":  {Marketing: true, Text: "【品牌】会员日全场8折。拒收请回复R"},
		"NOTICE": {Text: "【品牌】您的订单已发货"},
	}
	return p
}

func at(hhmm string) time.Time {
	t, _ := time.ParseInLocation("2006-01-02 15:04", "2026-12-02 "+hhmm, mapping.Shanghai)
	return t
}

func TestDecide(t *testing.T) {
	t.Parallel()
	optIn := &mapping.Consent{Channel: mapping.ConsentSMS, OptIn: true, At: at("09:00")}
	optOut := &mapping.Consent{Channel: mapping.ConsentSMS, OptIn: false, Source: "sms-aliyun", At: at("09:30")}
	for _, tc := range []struct {
		name, template, now string
		facts               campaign.Facts
		want                string // "" means sent
	}{
		{"marketing to an opted-in member in hours", "PROMO", "10:00", campaign.Facts{HasPhone: true, Consent: optIn}, ""},
		{"marketing without an opt-in", "PROMO", "10:00", campaign.Facts{HasPhone: true}, campaign.ReasonNoOptIn},
		{"marketing to an opted-out member", "PROMO", "10:00", campaign.Facts{HasPhone: true, Consent: optOut}, "opted out of SMS on 2026-12-02 09:30 (via sms-aliyun)"},
		{"notification to an opted-out member", "NOTICE", "10:00", campaign.Facts{HasPhone: true, Consent: optOut}, campaign.ReasonOptedOut},
		{"notification without any consent", "NOTICE", "23:30", campaign.Facts{HasPhone: true}, ""},
		{"marketing before 08:00", "PROMO", "07:59", campaign.Facts{HasPhone: true, Consent: optIn}, "outside the allowed hours for marketing (08:00–22:00"},
		{"marketing at 22:00", "PROMO", "22:00", campaign.Facts{HasPhone: true, Consent: optIn}, campaign.ReasonHours},
		{"no phone", "NOTICE", "10:00", campaign.Facts{}, campaign.ReasonNoPhone},
		{"undeclared template", "OTHER", "10:00", campaign.Facts{HasPhone: true}, campaign.ReasonNotTemplate},
		{"one a minute", "NOTICE", "10:00", campaign.Facts{HasPhone: true, Sent: []time.Time{at("10:00")}}, "per-number frequency limit: 1 a minute"},
		{"the minute is calendar-aligned", "NOTICE", "10:01", campaign.Facts{HasPhone: true, Sent: []time.Time{at("10:00").Add(59 * time.Second)}}, ""},
		{"five an hour", "NOTICE", "10:50", campaign.Facts{HasPhone: true, Sent: []time.Time{at("10:01"), at("10:02"), at("10:03"), at("10:04"), at("10:05")}}, "5 an hour"},
		{"the hour is calendar-aligned", "NOTICE", "11:00", campaign.Facts{HasPhone: true, Sent: []time.Time{at("10:01"), at("10:02"), at("10:03"), at("10:04"), at("10:05")}}, ""},
		{"ten a rolling day", "NOTICE", "10:00", campaign.Facts{HasPhone: true, Sent: tenBefore(at("10:00"))}, "10 a day"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := policy().Decide(at(tc.now), tc.template, tc.facts)
			if tc.want == "" {
				if !ok {
					t.Fatalf("refused: %s", reason)
				}
				return
			}
			if ok || !strings.Contains(reason, tc.want) {
				t.Fatalf("Decide = %v %q, want refused with %q", ok, reason, tc.want)
			}
		})
	}
}

// tenBefore returns ten sends spread over the 23 hours before now.
func tenBefore(now time.Time) []time.Time {
	var out []time.Time
	for i := range 10 {
		out = append(out, now.Add(-time.Duration(2+2*i)*time.Hour-time.Minute))
	}
	return out
}

func TestCategory(t *testing.T) {
	t.Parallel()
	for reason, want := range map[string]string{
		"opted out of SMS on 2026-12-02 09:30 (via pos)": campaign.ReasonOptedOut,
		"per-number frequency limit: 5 an hour":          campaign.ReasonFrequency,
		campaign.ReasonNoPhone:                           campaign.ReasonNoPhone,
		"member not found or erased":                     "member not found or erased",
	} {
		if got := campaign.Category(reason); got != want {
			t.Errorf("Category(%q) = %q, want %q", reason, got, want)
		}
	}
}

func TestValidateAndHours(t *testing.T) {
	t.Parallel()
	p := policy()
	p.Templates["BAD"] = campaign.Template{Marketing: true, Text: "【品牌】大促开始"}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "templates.BAD") {
		t.Fatalf("Validate = %v", err)
	}
	from, to, err := campaign.ParseHours("08:30-21:00")
	if err != nil || from != 510 || to != 1260 {
		t.Fatalf("ParseHours = %d %d %v", from, to, err)
	}
	if from, to, err := campaign.ParseHours("00:00-24:00"); err != nil || from != 0 || to != 1440 {
		t.Fatalf("ParseHours(all day) = %d %d %v", from, to, err)
	}
	for _, bad := range []string{"8-21", "22:00-08:00", "08:00", "24:00-24:00"} {
		if _, _, err := campaign.ParseHours(bad); err == nil {
			t.Errorf("ParseHours(%q) accepted", bad)
		}
	}
}
