package wxfault_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxfault"
)

func TestQueue(t *testing.T) {
	t.Parallel()
	var q wxfault.Queue
	if err := q.Inject("/a", wxfault.Fault{Kind: wxfault.ErrCode}); err == nil {
		t.Fatal("an errcode fault without a code was accepted")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(q.Inject("/a", wxfault.Fault{Kind: wxfault.ErrCode, ErrCode: 45009, Times: 2}))
	must(q.Inject("/a", wxfault.Fault{Kind: wxfault.HTTP500}))
	must(q.Inject(wxfault.AnyPath, wxfault.Fault{Kind: wxfault.HTTP502, Times: -1}))
	var got []wxfault.Kind
	for range 5 {
		f, ok := q.Take("/a")
		if !ok {
			t.Fatal("no fault due")
		}
		got = append(got, f.Kind)
	}
	want := []wxfault.Kind{wxfault.ErrCode, wxfault.ErrCode, wxfault.HTTP500, wxfault.HTTP502, wxfault.HTTP502}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("faults taken %v, want %v", got, want)
		}
	}
	q.Clear()
	if _, ok := q.Take("/b"); ok {
		t.Fatal("a fault after Clear")
	}
}

func TestJSONAndApply(t *testing.T) {
	t.Parallel()
	var f wxfault.Fault
	if err := json.Unmarshal([]byte(`{"path": "/x", "kind": "delay", "delay": "20ms"}`), &f); err != nil || f.Delay != 20*time.Millisecond {
		t.Fatalf("decoded %+v, %v", f, err)
	}
	b, _ := json.Marshal(f)
	var back wxfault.Fault
	if err := json.Unmarshal(b, &back); err != nil || back != f {
		t.Fatalf("round trip %s → %+v", b, back)
	}
	code := 0
	w := httptest.NewRecorder()
	goOn := wxfault.Apply(w, httptest.NewRequest(http.MethodGet, "/x", nil), wxfault.Fault{Kind: wxfault.ErrCode, ErrCode: 42001}, "application/json", "{", func(http.ResponseWriter, int, string) { code = 42001 })
	if goOn || code != 42001 {
		t.Fatalf("errcode fault: goOn %v, code %d", goOn, code)
	}
	w = httptest.NewRecorder()
	if wxfault.Apply(w, httptest.NewRequest(http.MethodGet, "/x", nil), wxfault.Fault{Kind: wxfault.Malformed}, "application/json", `{"a":`, nil) || w.Body.String() != `{"a":` {
		t.Fatalf("malformed fault wrote %q", w.Body.String())
	}
	if !wxfault.Apply(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil), f, "", "", nil) {
		t.Fatal("a delay fault stopped the call")
	}
}
