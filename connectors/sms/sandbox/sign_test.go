package sandbox_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/channelhub/channelhub/connectors/sms/sandbox"
)

// TV-A1: Alibaba's legacy RPC signature, the official SMS doc example
// (fact sheet §5).
func TestSignRPCOfficialVector(t *testing.T) {
	t.Parallel()
	p := url.Values{}
	for k, v := range map[string]string{
		"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
		"PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
		"SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": `{"customer":"test"}`,
		"Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
	} {
		p.Set(k, v)
	}
	const want = "zJDF+Lrzhj/ThnlvIToysFRq6t4="
	if got := sandbox.SignRPC("GET", "testSecret", p); got != want {
		t.Fatalf("SignRPC = %s, want %s", got, want)
	}
	if got := sandbox.PercentEncode(want); got != "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D" {
		t.Fatalf("PercentEncode(signature) = %s", got)
	}
	// Signature itself is never part of what is signed.
	p.Set("Signature", want)
	if got := sandbox.SignRPC("GET", "testSecret", p); got != want {
		t.Fatalf("SignRPC with Signature present = %s, want %s", got, want)
	}
}

// TV-A2: ACS3-HMAC-SHA256, the official V3 signature doc example.
func TestSignACS3OfficialVector(t *testing.T) {
	t.Parallel()
	empty := sha256.Sum256(nil)
	r := sandbox.ACS3Request{
		Method: "POST", Path: "/",
		Query: url.Values{"ImageId": {"win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"}, "RegionId": {"cn-shanghai"}},
		Headers: map[string]string{
			"host":                  "ecs.cn-shanghai.aliyuncs.com",
			"x-acs-action":          "RunInstances",
			"x-acs-version":         "2014-05-26",
			"x-acs-date":            "2023-10-26T09:01:01Z",
			"x-acs-signature-nonce": "d410180a5abf7fe235dd9b74aca91fc0",
			"x-acs-content-sha256":  hex.EncodeToString(empty[:]),
		},
		SignedHeaders: []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"},
		PayloadHash:   hex.EncodeToString(empty[:]),
	}
	const want = "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"
	if got := sandbox.SignACS3("YourAccessKeySecret", r); got != want {
		t.Fatalf("SignACS3 = %s, want %s\ncanonical request:\n%s", got, want, r.CanonicalRequest())
	}
}

// TV-T1: TC3-HMAC-SHA256, Tencent's official CVM example.
func TestSignTC3OfficialVector(t *testing.T) {
	t.Parallel()
	r := sandbox.TC3Request{
		Method: "POST", ContentType: "application/json; charset=utf-8", Host: "cvm.tencentcloudapi.com",
		Body:    []byte(`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`),
		Service: "cvm", Timestamp: 1551113065,
	}
	body := sha256.Sum256(r.Body)
	if got := hex.EncodeToString(body[:]); got != "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064" {
		t.Fatalf("payload hash %s", got)
	}
	cr := sha256.Sum256([]byte(r.CanonicalRequest()))
	if got := hex.EncodeToString(cr[:]); got != "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031" {
		t.Fatalf("canonical request hash %s\n%s", got, r.CanonicalRequest())
	}
	if r.Scope() != "2019-02-25/cvm/tc3_request" {
		t.Fatalf("scope %s", r.Scope())
	}
	const want = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
	if got := sandbox.SignTC3("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", r); got != want {
		t.Fatalf("SignTC3 = %s, want %s", got, want)
	}
}

func TestParseAuthorizations(t *testing.T) {
	t.Parallel()
	a, err := sandbox.ParseACS3Authorization("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-date,Signature=abc")
	if err != nil || a.AccessKeyID != "AK" || len(a.SignedHeaders) != 2 || a.Signature != "abc" {
		t.Fatalf("ACS3: %+v %v", a, err)
	}
	if _, err := sandbox.ParseACS3Authorization("ACS3-HMAC-SHA256 Credential=AK"); err == nil {
		t.Fatal("ACS3 without signature parsed")
	}
	tc, err := sandbox.ParseTC3Authorization("TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e4")
	if err != nil || tc.SecretID != "AKID" || tc.Date != "2019-02-25" || tc.Service != "cvm" || tc.SignedHeaders != "content-type;host" || tc.Signature != "72e4" {
		t.Fatalf("TC3: %+v %v", tc, err)
	}
	if _, err := sandbox.ParseTC3Authorization("TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm, Signature=x"); err == nil {
		t.Fatal("TC3 with a short credential parsed")
	}
}
