package mapping_test

import (
	"strings"
	"testing"

	"github.com/channelhub/channelhub/mapping"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, err string
	}{
		{in: "+86 138-0013-8000", want: "+8613800138000"},
		{in: "8613800138000", want: "+8613800138000"},
		{in: "138 0013 8000", want: "+8613800138000"},
		{in: "0086 13800138000", want: "+8613800138000"},
		{in: "(138)00138000", want: "+8613800138000"},
		{in: "  13912345678 ", want: "+8613912345678"},
		{in: "+852 9123 4567", want: "+85291234567"},
		{in: "+1 415 555 2671", want: "+14155552671"},
		// The country code in parentheses.
		{in: "(+86)13905712468", want: "+8613905712468"},
		{in: "(86) 139 0571 2468", want: "+8613905712468"},
		{in: "(0086)13905712468", want: "+8613905712468"},
		{in: " ( +852 ) 9123 4567", want: "+85291234567"},
		// Full-width digits, plus, dash and the ideographic space.
		{in: "１３９０５７１２４６８", want: "+8613905712468"},
		{in: "＋８６　１３９－０５７１－２４６８", want: "+8613905712468"},
		{in: "（＋８６）１３９０５７１２４６８", want: "+8613905712468"},
		{in: "　13905712468　", want: "+8613905712468"},
		{in: "", err: "empty"},
		{in: "1380013800", err: "11 digits"},
		{in: "23800138000", err: "11 digits"},
		{in: "+86 138001380001", err: "11 digits"},
		{in: "138-0013-800x", err: "unexpected character"},
		{in: "1+3800138000", err: "unexpected character"},
		{in: "+12345", err: "6 to 15 digits"},
		{in: "(+86(13905712468))", err: "unbalanced parentheses"},
		{in: "(+8613905712468", err: "unbalanced parentheses"},
		{in: "+86)13905712468", err: "unbalanced parentheses"},
		{in: "()13905712468", err: "empty parentheses"},
		{in: "(86)+13905712468", err: "unexpected character '+'"},
		{in: "+(+86)13905712468", err: "unexpected character '+'"},
		{in: "-+8613905712468", err: "unexpected character '+'"},
		{in: "１３９０５７１２４６Ｘ", err: "unexpected character 'X'"},
		{in: "１３９０５７１２４６", err: "11 digits"},
		{in: "１３９０５７１２４６８９", err: "11 digits"},
		{in: "139 0571 2468 ＃", err: "unexpected character '#'"},
	}
	for _, tt := range tests {
		got, err := mapping.NormalizePhone(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizePhone(%q) error = %v, want containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestPhoneHashIsSaltedAndStable(t *testing.T) {
	t.Parallel()
	a := mapping.PhoneHash([]byte("tenant-a"), "+8613800138000")
	if a != mapping.PhoneHash([]byte("tenant-a"), "+8613800138000") {
		t.Fatal("hash not stable")
	}
	if a == mapping.PhoneHash([]byte("tenant-b"), "+8613800138000") {
		t.Fatal("hash ignores the salt")
	}
	if strings.Contains(a, "13800138000") || len(a) != 64 {
		t.Fatalf("hash %q leaks the number or is not hex sha256", a)
	}
}

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	if got := mapping.MaskPhone("+8613800138000"); got != "+86138****8000" {
		t.Fatalf("MaskPhone = %q", got)
	}
}

func TestParseIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in  string
		err string
	}{
		{in: "wechat_openid:wx123:oABC"},
		{in: "phone::+8613800138000"},
		{in: "member_card:brand:a:b"},
		{in: "wechat_openid::oABC", err: "needs a scope"},
		{in: "phone:t1:+8613800138000", err: "takes no scope"},
		{in: "qq:x:1", err: "not known"},
		{in: "wechat_openid:wx", err: "TYPE:SCOPE:VALUE"},
		{in: "wechat_openid:wx: ", err: "empty value"},
	}
	for _, tt := range tests {
		id, err := mapping.ParseIdentity(tt.in)
		if tt.err == "" {
			if err != nil || id.String() != tt.in {
				t.Errorf("ParseIdentity(%q) = %v, %v", tt.in, id, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseIdentity(%q) error = %v, want %q", tt.in, err, tt.err)
		}
	}
}
