package gatewayfault_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/connectors/gatewayfault"
)

func TestQueue(t *testing.T) {
	t.Parallel()
	var q gatewayfault.Queue
	for _, bad := range []gatewayfault.Fault{
		{Kind: gatewayfault.Error, Code: 10000},
		{Kind: gatewayfault.HTTP5xx, Status: 404},
		{Kind: gatewayfault.Delay},
		{Kind: "boom"},
	} {
		if err := q.Inject(bad, 10000); err == nil {
			t.Errorf("Inject(%+v) accepted", bad)
		}
	}
	if err := q.Inject(gatewayfault.Fault{Method: "order.searchList", Kind: gatewayfault.Error, Code: 60000, Count: 2}, 10000); err != nil {
		t.Fatal(err)
	}
	if err := q.Inject(gatewayfault.Fault{Kind: gatewayfault.Delay, DelayMS: 5}, 10000); err != nil {
		t.Fatal(err)
	}
	if f := q.Take("order.orderDetail"); f == nil || f.Kind != gatewayfault.Delay || f.Delay.Milliseconds() != 5 {
		t.Fatalf("another method took %+v, want the any-method delay", f)
	}
	for range 2 {
		if f := q.Take("order.searchList"); f == nil || f.Code != 60000 {
			t.Fatalf("took %+v", f)
		}
	}
	if f := q.Take("order.searchList"); f != nil {
		t.Fatalf("a used-up fault hit again: %+v", f)
	}
}

func TestServeAdmin(t *testing.T) {
	t.Parallel()
	var q gatewayfault.Queue
	inject := func(f gatewayfault.Fault) error { return q.Inject(f, 0) }
	post := func(body string) int {
		w := httptest.NewRecorder()
		gatewayfault.ServeAdmin(w, httptest.NewRequest(http.MethodPost, "/sandbox/faults", strings.NewReader(body)), inject, q.Clear, 1<<10)
		return w.Code
	}
	if code := post(`{"kind": "5xx", "status": 502}`); code != http.StatusNoContent {
		t.Fatalf("POST = %d", code)
	}
	if code := post(`{"kind": "5xx", "statuz": 502}`); code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", code)
	}
	w := httptest.NewRecorder()
	gatewayfault.ServeAdmin(w, httptest.NewRequest(http.MethodDelete, "/sandbox/faults", nil), inject, q.Clear, 1<<10)
	if w.Code != http.StatusNoContent || q.Take("x") != nil {
		t.Fatal("DELETE did not clear the queue")
	}
	w = httptest.NewRecorder()
	if gatewayfault.Apply(w, httptest.NewRequest(http.MethodGet, "/", nil), &gatewayfault.Fault{Kind: gatewayfault.HTTP5xx}, "", nil) || w.Code != http.StatusServiceUnavailable {
		t.Fatalf("5xx fault answered %d", w.Code)
	}
}
