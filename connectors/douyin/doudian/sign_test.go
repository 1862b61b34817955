package doudian_test

import (
	"errors"
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
)

// Vectors C3–C5 of shared/platforms/commerce.md §5.
const (
	vecAppKey    = "7000000000000000001"
	vecSecret    = "dy-secret"
	vecParamJSON = `{"page":0,"size":100,"update_time_end":1700003600,"update_time_start":1700000000}`
)

func TestSignVectors(t *testing.T) {
	t.Parallel()
	p := doudian.SignParams{AppKey: vecAppKey, Method: "order.searchList", ParamJSON: vecParamJSON, Timestamp: "1700000000", V: "2"}
	tests := []struct {
		name   string
		method doudian.SignMethod
		want   string
	}{
		{"C3 hmac-sha256", doudian.SignHMACSHA256, "f3820e223d86e79b28448421a281fbb10451cff8f3acafec3b975fedc2f06320"},
		{"C4 md5", doudian.SignMD5, "3f8dc05159752013ea293e74a7e0040a"},
		{"absent method signs as md5", "", "3f8dc05159752013ea293e74a7e0040a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := doudian.Sign(tt.method, vecSecret, p); got != tt.want {
				t.Fatalf("Sign = %s, want %s", got, tt.want)
			}
		})
	}
	// V defaults to "2".
	q := p
	q.V = ""
	if doudian.Sign(doudian.SignMD5, vecSecret, q) != "3f8dc05159752013ea293e74a7e0040a" {
		t.Fatal("empty V does not sign as v=2")
	}
}

func TestCanonicalJSONMatchesVector(t *testing.T) {
	t.Parallel()
	// The request helper must produce the vector's param_json byte for byte.
	got, err := doudian.CanonicalJSON(map[string]any{"update_time_start": 1700000000, "size": 100, "update_time_end": 1700003600, "page": 0})
	if err != nil || string(got) != vecParamJSON {
		t.Fatalf("CanonicalJSON = %s, %v; want %s", got, err, vecParamJSON)
	}
	got, err = doudian.CanonicalJSON(doudian.OrderSearchListRequest{UpdateTimeStart: 1700000000, UpdateTimeEnd: 1700003600, Page: 0, Size: 100})
	if err != nil || string(got) != vecParamJSON {
		t.Fatalf("CanonicalJSON(request) = %s, %v; want %s", got, err, vecParamJSON)
	}
}

func TestCanonicalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		err            error
	}{
		{name: "nested maps and arrays sorted at every level",
			in:   `{"b":{"z":1,"a":[{"y":2,"x":1}]},"a":{"d":{"c":3,"b":2},"a":1}}`,
			want: `{"a":{"a":1,"d":{"b":2,"c":3}},"b":{"a":[{"x":1,"y":2}],"z":1}}`},
		{name: "no spaces", in: "{ \"b\" : [ 1 , 2 ] ,\n \"a\" : true }", want: `{"a":true,"b":[1,2]}`},
		{name: "html not escaped", in: `{"q":"a&b<c>d"}`, want: `{"q":"a&b<c>d"}`},
		{name: "escaped html decoded then written literally", in: `{"q":"\u003cb\u003e \u0026"}`, want: `{"q":"<b> &"}`},
		{name: "utf-8 literal", in: `{"name":"\u6296\u5e97","city":"上海"}`, want: `{"city":"上海","name":"抖店"}`},
		{name: "numbers keep their text", in: `{"a":1.50,"b":6900000000000000001,"c":1e3,"d":-0.0}`, want: `{"a":1.50,"b":6900000000000000001,"c":1e3,"d":-0.0}`},
		{name: "quotes and controls escaped", in: `{"s":"say \"hi\"\n\\"}`, want: `{"s":"say \"hi\"\n\\"}`},
		{name: "empty object", in: `{}`, want: `{}`},
		{name: "empty input", in: ``, want: `{}`},
		{name: "null", in: `null`, want: `{}`},
		{name: "array refused", in: `[1]`, err: doudian.ErrNotObject},
		{name: "garbage refused", in: `{"a":`, err: doudian.ErrNotObject},
		{name: "trailing data refused", in: `{"a":1}{"b":2}`, err: doudian.ErrNotObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := doudian.Canonicalize([]byte(tt.in))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Canonicalize(%s) error = %v, want %v", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Canonicalize(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCanonicalJSONOfStructs(t *testing.T) {
	t.Parallel()
	type inner struct {
		Zeta  string `json:"zeta"`
		Alpha int64  `json:"alpha"`
	}
	type outer struct {
		List  []inner        `json:"list"`
		Skip  string         `json:"skip,omitempty"`
		Map   map[string]int `json:"map"`
		Title string         `json:"title"`
	}
	got, err := doudian.CanonicalJSON(outer{List: []inner{{Zeta: "<z>", Alpha: 6900000000000000001}}, Map: map[string]int{"b": 2, "a": 1}, Title: "T&C"})
	want := `{"list":[{"alpha":6900000000000000001,"zeta":"<z>"}],"map":{"a":1,"b":2},"title":"T&C"}`
	if err != nil || string(got) != want {
		t.Fatalf("CanonicalJSON = %s, %v; want %s", got, err, want)
	}
	if got, err := doudian.CanonicalJSON(nil); err != nil || string(got) != "{}" {
		t.Fatalf("CanonicalJSON(nil) = %s, %v", got, err)
	}
	if got, err := doudian.CanonicalJSON(struct {
		A string `json:"a,omitempty"`
	}{}); err != nil || string(got) != "{}" {
		t.Fatalf("CanonicalJSON(empty struct) = %s, %v", got, err)
	}
	if _, err := doudian.CanonicalJSON([]int{1}); !errors.Is(err, doudian.ErrNotObject) {
		t.Fatalf("CanonicalJSON(slice) error = %v", err)
	}
}

func TestSPISign(t *testing.T) {
	t.Parallel()
	// Independently computed (Python hashlib) from the §2.8 SPI construction:
	// secret + "app_key"… + "param_json"… + "timestamp"… + secret.
	tests := []struct {
		method doudian.SignMethod
		want   string
	}{
		{doudian.SignMD5, "0f613d3a10e87efc254f833ff3a0c94c"},
		{doudian.SignHMACSHA256, "5a30e05b988b18e30ccadd3cdd003ee2d78463f415d4391649ffae7d71b8e84f"},
	}
	for _, tt := range tests {
		if got := doudian.SPISign(tt.method, vecAppKey, vecSecret, "1700000000", `{"a":1}`); got != tt.want {
			t.Errorf("SPISign(%s) = %s, want %s", tt.method, got, tt.want)
		}
	}
}
