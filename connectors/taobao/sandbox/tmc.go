package sandbox

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
)

// queue is the TMC message queue: one for every group_name.
type queue struct {
	seq  int64
	msgs []*queued
}

type queued struct {
	msg       top.Message
	delivered time.Time // zero: never delivered
	confirmed bool
}

// publish adds a message. s.mu is held.
func (s *Server) publish(topic string, content any) int64 {
	b, _ := json.Marshal(content)
	s.tmc.seq++
	id := 1000000000 + s.tmc.seq
	uid, _ := strconv.ParseInt(s.cfg.SellerID, 10, 64)
	s.tmc.msgs = append(s.tmc.msgs, &queued{msg: top.Message{
		ID: id, Topic: topic, PubTime: top.FormatTime(s.now()), PubAppKey: s.cfg.AppKey,
		UserID: uid, UserNick: s.cfg.SellerNick, Content: string(b),
	}})
	return id
}

func (s *Server) tmcConsume(p params) (any, *apiErr) {
	n, e := p.int("quantity", 100, top.MinConsume, top.MaxConsume)
	if e != nil {
		return nil, e
	}
	now := s.now()
	res := top.ConsumeResult{Messages: []top.Message{}}
	kept := s.tmc.msgs[:0]
	for _, q := range s.tmc.msgs {
		if q.confirmed {
			continue
		}
		kept = append(kept, q)
		if len(res.Messages) < int(n) && (q.delivered.IsZero() || now.Sub(q.delivered) >= s.cfg.Redeliver) {
			q.delivered = now
			res.Messages = append(res.Messages, q.msg)
		}
	}
	s.tmc.msgs = kept
	return res, nil
}

func (s *Server) tmcConfirm(p params) (any, *apiErr) {
	if e := p.required("s_message_ids"); e != nil {
		return nil, e
	}
	ids := strings.Split(p["s_message_ids"], ",")
	if len(ids) > top.MaxConfirmIDs {
		return nil, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "at most %d ids", top.MaxConfirmIDs)
	}
	want := map[int64]bool{}
	for _, id := range ids {
		n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		if err != nil {
			return nil, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "s_message_ids must be numbers")
		}
		want[n] = true
	}
	for _, q := range s.tmc.msgs {
		if want[q.msg.ID] {
			q.confirmed = true
		}
	}
	return top.ConfirmResult{IsSuccess: true}, nil
}

// Unconfirmed is the number of TMC messages not confirmed yet.
func (s *Server) Unconfirmed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.tmc.msgs {
		if !q.confirmed {
			n++
		}
	}
	return n
}

// PublishPointChange publishes a tmall_mei_PointChange message for the
// brand member with ouid (delta points, positive earns) and returns its
// record_id; "" when ouid is not a brand member.
func (s *Server) PublishPointChange(ouid string, delta int64, biz string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byOUID[ouid]
	if !ok || s.buyers[k].omid == "" {
		return ""
	}
	b := &s.buyers[k]
	b.point += delta
	s.tmc.seq++
	rec := "PC" + strconv.FormatInt(s.tmc.seq, 10)
	mob := b.mobile[:3] + "****" + b.mobile[len(b.mobile)-4:]
	s.publish(top.TopicPointChange, map[string]any{
		"record_id": rec, "ouid": b.ouid, "omid": b.omid, "mix_mobile": mob,
		"point": delta, "biz_type": biz, "gmt_create": top.FormatTime(s.now()),
	})
	return rec
}
