package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
)

// hook is a webhook receiver that verifies as the connector will.
type hook struct {
	key, secret string
	mu          sync.Mutex
	msgs        []doudian.PushMessage
	events      []*doudian.MemberSPIEvent
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.URL.Path == "/spi" {
		req, err := doudian.ParseSPIRequest(r)
		if err == nil {
			err = req.Verify(h.key, h.secret)
		}
		if err != nil {
			_, _ = w.Write(doudian.SPIBadSignReply())
			return
		}
		ev, err := req.MemberEvent()
		if err != nil {
			_, _ = w.Write(doudian.MemberSPIReply(doudian.MemberSPIRejected, err.Error()))
			return
		}
		h.events = append(h.events, ev)
		_, _ = w.Write(doudian.MemberSPIReply(doudian.MemberSPIOK, ""))
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get(doudian.HeaderAppID) != h.key || doudian.VerifyEventSign(h.key, h.secret, body, r.Header.Get(doudian.HeaderEventSign)) != nil {
		_, _ = w.Write(doudian.PushFail("bad signature"))
		return
	}
	msgs, err := doudian.ParsePush(body)
	if err != nil {
		_, _ = w.Write(doudian.PushFail(err.Error()))
		return
	}
	h.msgs = append(h.msgs, msgs...)
	_, _ = w.Write(doudian.PushOK())
}

func send(t *testing.T, req *http.Request) []byte {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

func TestOrderPush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	cfg := e.s.Config()
	h := &hook{key: cfg.AppKey, secret: cfg.AppSecret}
	target := httptest.NewServer(h)
	t.Cleanup(target.Close)

	wantTag := map[int]string{1: "100", 105: "101", 2: "101", 101: "108", 3: "102", 4: "106", 5: "103"}
	var msgs []doudian.PushMessage
	for i := range 7 {
		m, err := e.s.OrderMessage(e.s.OrderID(i))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	req, err := e.s.PushRequest(t.Context(), target.URL+"/douyin", msgs...)
	if err != nil {
		t.Fatal(err)
	}
	var reply doudian.PushReply
	if err := json.Unmarshal(send(t, req), &reply); err != nil || reply.Code != 0 {
		t.Fatalf("reply %+v, %v", reply, err)
	}
	if len(h.msgs) != 7 {
		t.Fatalf("received %d messages", len(h.msgs))
	}
	for i, m := range h.msgs {
		ev, err := m.Trade()
		if err != nil {
			t.Fatal(err)
		}
		o, _ := e.s.Order(e.s.OrderID(i))
		if ev.OrderID() != o.OrderID || ev.OrderStatus != o.OrderStatus || ev.ShopID != cfg.ShopID || len(ev.SIDs) != len(o.SkuOrderList) || m.Tag != wantTag[o.OrderStatus] {
			t.Fatalf("message %d %+v (tag %s) for order %s status %d", i, ev, m.Tag, o.OrderID, o.OrderStatus)
		}
		if m.Tag == doudian.TagOrderPaid && ev.PayAmount != o.PayAmount {
			t.Fatalf("paid message amount %d, order %d", ev.PayAmount, o.PayAmount)
		}
	}
	// A body changed on the way fails verification.
	req, _ = e.s.PushRequest(t.Context(), target.URL, msgs[0])
	sig := req.Header.Get(doudian.HeaderEventSign)
	other, _ := e.s.PushRequest(t.Context(), target.URL, msgs[1])
	other.Header.Set(doudian.HeaderEventSign, sig)
	if err := json.Unmarshal(send(t, other), &reply); err != nil || reply.Code == 0 {
		t.Fatalf("tampered push accepted: %+v", reply)
	}
	if _, err := e.s.OrderMessage("42"); err == nil {
		t.Fatal("message for an unknown order")
	}
}

func TestMemberSPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	cfg := e.s.Config()
	h := &hook{key: cfg.AppKey, secret: cfg.AppSecret}
	target := httptest.NewServer(h)
	t.Cleanup(target.Close)
	_, o := split(t, e.s)

	req, err := e.s.MemberSPIRequest(t.Context(), target.URL+"/spi?tenant=t1", o.PersonIndex, doudian.MemberEventJoin)
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.Query().Get("tenant") != "t1" {
		t.Fatal("target query lost")
	}
	var reply doudian.SPIReply
	if err := json.Unmarshal(send(t, req), &reply); err != nil || reply.Code != doudian.SPICodeOK || reply.Data == nil || reply.Data.ErrorCode != doudian.MemberSPIOK {
		t.Fatalf("reply %+v, %v", reply, err)
	}
	ev := h.events[0]
	if ev.Event != doudian.MemberEventJoin || ev.OpenID != o.OpenID || ev.UnionID != o.UnionID || ev.Mobile != o.Mobile || ev.ShopID != cfg.ShopID {
		t.Fatalf("event %+v for %+v", ev, o)
	}
	if m, _ := e.s.Member(o.OpenID); !m.Active || m.Level != 1 {
		t.Fatalf("after join: %+v", m)
	}
	req, _ = e.s.MemberSPIRequest(t.Context(), target.URL+"/spi", o.PersonIndex, doudian.MemberEventLeave)
	q := req.URL.Query()
	q.Set("timestamp", strconv.FormatInt(e.s.Now().Unix()+1, 10)) // no longer matches the sign
	req.URL.RawQuery = q.Encode()
	if err := json.Unmarshal(send(t, req), &reply); err != nil || reply.Code != doudian.SPICodeBadSign {
		t.Fatalf("tampered spi: %+v", reply)
	}
	if m, _ := e.s.Member(o.OpenID); m.Active {
		t.Fatal("after leave: still active")
	}
	if _, err := e.s.MemberSPIRequest(t.Context(), target.URL, -1, doudian.MemberEventJoin); err == nil {
		t.Fatal("spi for a person not on douyin")
	}
}
