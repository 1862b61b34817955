package mapping_test

import (
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/mapping"
)

func TestParseYuan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want mapping.Fen
		err  string
	}{
		{in: "12.30", want: 1230},
		{in: "12.3", want: 1230},
		{in: "0.1", want: 10},
		{in: "0.07", want: 7},
		{in: "7", want: 700},
		{in: ".5", want: 50},
		{in: "-0.05", want: -5},
		{in: "19.990", want: 1999},
		{in: "1234567.89", want: 123456789},
		{in: "0.29", want: 29}, // 0.29*100 is 28.999… as a float
		{in: "1.005", err: "more than two decimals"},
		{in: "", err: "malformed"},
		{in: "1,00", err: "malformed"},
		{in: "abc", err: "malformed"},
		{in: "1e3", err: "malformed"},
	}
	for _, tt := range tests {
		got, err := mapping.ParseYuan(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseYuan(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	if s := mapping.Fen(-1205).String(); s != "-12.05" {
		t.Errorf("Fen.String = %q", s)
	}
}

func TestShanghaiTimes(t *testing.T) {
	t.Parallel()
	got, err := mapping.ParseShanghai("2024-05-01 08:00:00")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("ParseShanghai = %v, want %v in UTC", got, want)
	}
	if s := mapping.FormatShanghai(got); s != "2024-05-01 08:00:00" {
		t.Fatalf("FormatShanghai = %q", s)
	}
	if _, err := mapping.ParseShanghai("2024/05/01"); err == nil {
		t.Fatal("want error for bad layout")
	}
}

func TestNormalizeGender(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]mapping.Gender{"1": mapping.GenderMale, "F": mapping.GenderFemale, "女": mapping.GenderFemale, "0": mapping.GenderUnknown, "x": mapping.GenderUnknown} {
		if got := mapping.NormalizeGender(in); got != want {
			t.Errorf("NormalizeGender(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOrderStatusRoundTrip(t *testing.T) {
	t.Parallel()
	for s := mapping.OrderUnknown; s <= mapping.OrderRefunded; s++ {
		b, _ := s.MarshalText()
		var back mapping.OrderStatus
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("round trip %v: got %v, %v", s, back, err)
		}
	}
	if _, err := mapping.ParseOrderStatus("shipping"); err == nil {
		t.Error("want error for unknown status")
	}
}
