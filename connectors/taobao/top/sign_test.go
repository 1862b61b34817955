package top

import (
	"strings"
	"testing"
)

// t1 is the official worked example T1 (TOP “API调用方法详解”).
func t1(method SignMethod) map[string]string {
	return map[string]string{
		"method": "taobao.item.seller.get", "app_key": "12345678", "session": "test",
		"timestamp": "2016-01-01 12:00:00", "format": "json", "v": "2.0", "sign_method": string(method),
		"fields": "num_iid,title,nick,price,num", "num_iid": "11223344",
	}
}

func TestSignString(t *testing.T) {
	want := "app_key12345678fieldsnum_iid,title,nick,price,numformatjsonmethodtaobao.item.seller.getnum_iid11223344sessiontestsign_methodmd5timestamp2016-01-01 12:00:00v2.0"
	p := t1(SignMD5)
	p["sign"] = "IGNORED"
	p["empty"] = ""
	if got := SignString(p); got != want {
		t.Fatalf("SignString = %q\nwant %q", got, want)
	}
}

func TestSignVectors(t *testing.T) {
	cases := []struct {
		name   string
		method SignMethod
		secret string
		params map[string]string
		want   string
	}{
		{"T1 md5 (official)", SignMD5, "helloworld", t1(SignMD5), "66987CB115214E59E6EC978214934FB8"},
		{"T2 md5 (official)", SignMD5, "test", map[string]string{
			"method": "taobao.user.seller.get", "timestamp": "2013-05-06 13:52:03", "format": "xml",
			"app_key": "test", "v": "2.0", "fields": "nick", "sign_method": "md5", "session": "test",
		}, "72CB4D809B375A54502C09360D879C64"},
		{"C1 hmac", SignHMAC, "helloworld", t1(SignHMAC), "D56D7858309C31B6251083A874D48273"},
		{"C2 hmac-sha256", SignHMACSHA256, "helloworld", t1(SignHMACSHA256), "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8"},
		// RFC 2202 / RFC 4231 case 1: key 0x0b×20 (16 for MD5), data "Hi There",
		// signed as the single parameter "Hi" = " There".
		{"RFC 2202 hmac-md5", SignHMAC, strings.Repeat("\x0b", 16), map[string]string{"Hi": " There"}, "9294727A3638BB1C13F48EF8158BFC9D"},
		{"RFC 4231 hmac-sha256", SignHMACSHA256, strings.Repeat("\x0b", 20), map[string]string{"Hi": " There"}, "B0344C61D8DB38535CA8AFCEAF0BF12B881DC200C9833DA726E9376C2E32CFF7"},
	}
	for _, c := range cases {
		got, err := Sign(c.method, c.secret, c.params)
		if err != nil || got != c.want {
			t.Errorf("%s: Sign = %s, %v; want %s", c.name, got, err, c.want)
		}
	}
	if _, err := Sign("sha1", "x", nil); err == nil {
		t.Error("unknown sign method accepted")
	}
}

func TestTMCConnectSign(t *testing.T) {
	if got := TMCConnectSign("tb-secret", "12345678", "default", "1700000000000"); got != "91443E7C4AA31DEACC2F89F9B710A56E" {
		t.Fatalf("C7 = %s", got)
	}
}

func TestSPISign(t *testing.T) {
	// Hand-built from the rule: md5("s" + "a1" + "b" + "{}" + "s").
	p := map[string]string{"b": "", "a": "1", "sign": "X"}
	got := SPISign("s", p, []byte("{}"))
	if len(got) != 32 || got != strings.ToUpper(got) {
		t.Fatalf("SPISign = %s", got)
	}
	if got != SPISign("s", map[string]string{"a": "1", "b": ""}, []byte("{}")) {
		t.Fatal("sign parameter not excluded")
	}
	if got == SPISign("s", map[string]string{"a": "1", "b": ""}, []byte("{ }")) {
		t.Fatal("body not covered")
	}
}
