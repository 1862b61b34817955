package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
)

func TestThrottleAtQPS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{QPS: 3})
	id := e.s.OrderID(0)
	var throttled int
	for i := range 5 {
		_, err := e.c.OrderDetail(t.Context(), e.tok, id)
		switch {
		case i < 3 && err != nil:
			t.Fatalf("request %d: %v", i, err)
		case i >= 3:
			if ae := apiErr(t, err); ae.Code != doudian.CodeThrottled || ae.Msg != "触发限流，请稍后重试" || !doudian.IsThrottled(err) {
				t.Fatalf("request %d: %+v", i, ae)
			}
			throttled++
		}
	}
	if e.s.Throttled() != 2 || e.s.Requests() != 5 {
		t.Fatalf("Throttled %d Requests %d, want 2 and 5", e.s.Throttled(), e.s.Requests())
	}
	e.clk.Add(time.Second) // a new second, a new budget
	if _, err := e.c.OrderDetail(t.Context(), e.tok, id); err != nil {
		t.Fatalf("next second: %v", err)
	}
}

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault sandbox.Fault
		check func(t *testing.T, err error)
	}{
		{"5xx", sandbox.Fault{Method: doudian.MethodOrderDetail, Kind: sandbox.FaultHTTP5xx, Status: 502}, func(t *testing.T, err error) {
			he, ok := errors.AsType[*doudian.HTTPError](err)
			if !ok || he.StatusCode != 502 || !doudian.IsUnavailable(err) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"malformed", sandbox.Fault{Kind: sandbox.FaultMalformed}, func(t *testing.T, err error) {
			if !errors.Is(err, doudian.ErrMalformedResponse) || !doudian.IsUnavailable(err) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"service error", sandbox.Fault{Kind: sandbox.FaultError, Code: 20000, SubCode: "isp.service-error:20005", SubMsg: "系统繁忙，请稍后重试"}, func(t *testing.T, err error) {
			if ae := apiErr(t, err); ae.Code != 20000 || ae.SubCode != "isp.service-error:20005" || !ae.Unavailable() {
				t.Fatalf("err = %+v", ae)
			}
		}},
		{"token expiry", sandbox.Fault{Kind: sandbox.FaultError, Code: 40003, SubCode: doudian.SubAccessTokenExpired}, func(t *testing.T, err error) {
			if !doudian.IsAuthExpired(err) {
				t.Fatalf("err = %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Config{})
			id := e.s.OrderID(1)
			f := tt.fault
			f.Count = 2
			if err := e.s.InjectFault(f); err != nil {
				t.Fatal(err)
			}
			// Another method is untouched when the fault names one.
			if f.Method != "" {
				if _, err := e.c.OrderSearchList(t.Context(), e.tok, doudian.UpdatedIn(history(e.s.Now()), 0, 1)); err != nil {
					t.Fatalf("other method: %v", err)
				}
			}
			for range 2 {
				_, err := e.c.OrderDetail(t.Context(), e.tok, id)
				tt.check(t, err)
			}
			if _, err := e.c.OrderDetail(t.Context(), e.tok, id); err != nil {
				t.Fatalf("after the fault's count: %v", err)
			}
		})
	}
}

func TestDelayFault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	if err := e.s.InjectFault(sandbox.Fault{Kind: sandbox.FaultDelay, Delay: time.Minute}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := e.c.OrderDetail(ctx, e.tok, e.s.OrderID(0))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delayed call: %v", err)
	}
	if err := e.s.InjectFault(sandbox.Fault{Kind: sandbox.FaultDelay, Delay: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.OrderDetail(t.Context(), e.tok, e.s.OrderID(0)); err != nil {
		t.Fatalf("short delay then served: %v", err)
	}
}

func TestFaultsEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	post := func(body string) int {
		resp, err := e.srv.Client().Post(e.srv.URL+sandbox.FaultsPath, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"method":"order.orderDetail","kind":"error","count":3,"code":60000}`); code != http.StatusNoContent {
		t.Fatalf("POST status %d", code)
	}
	if _, err := e.c.OrderDetail(t.Context(), e.tok, e.s.OrderID(0)); !doudian.IsThrottled(err) {
		t.Fatalf("injected 60000: %v", err)
	}
	if e.s.Throttled() != 0 {
		t.Fatal("an injected 60000 counted as throttled by the QPS limit")
	}
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+sandbox.FaultsPath, nil)
	resp, err := e.srv.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := e.c.OrderDetail(t.Context(), e.tok, e.s.OrderID(0)); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
	for _, bad := range []string{`{"kind":"explode"}`, `{"kind":"error"}`, `{"kind":"delay"}`, `{"kind":"5xx","status":404}`, `{"kind":"5xx","bogus":1}`, `not json`} {
		if code := post(bad); code != http.StatusBadRequest {
			t.Errorf("POST %s: status %d, want 400", bad, code)
		}
	}
	if code := post(`{"kind":"delay","delay_ms":1}`); code != http.StatusNoContent {
		t.Fatalf("delay_ms: status %d", code)
	}
}
