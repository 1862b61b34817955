package sandbox

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
)

// queue is the TMC message queue: one for every group_name.
type queue struct {
	seq  int64
	msgs []*queued
	// changes are the point changes published, by record_id, with the
	// brand's answers to them.
	changes map[string]*pointChange
}

// pointChange is a tmall_mei_PointChange published: whose balance it moved
// (buyer -1: none), by how much, and the answers received.
type pointChange struct {
	buyer   int
	delta   int64
	answers []PointAnswer
}

// PointAnswer is one tmall.mei.crm.callback.point.change received.
type PointAnswer struct {
	Result    int
	ErrorCode string
	Point     string
	MixMobile string
}

type queued struct {
	msg       top.Message
	delivered time.Time // zero: never delivered
	confirmed bool
}

// PublishMessage publishes a TMC message with content as it is, malformed
// or not, and returns its id. A point change's record_id, when it has one,
// can be answered.
func (s *Server) PublishMessage(topic string, content any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publish(topic, content)
}

// publish adds a message. s.mu is held.
func (s *Server) publish(topic string, content any) int64 {
	b, _ := json.Marshal(content)
	if topic == top.TopicPointChange {
		var c struct {
			RecordID string `json:"record_id"`
		}
		if json.Unmarshal(b, &c) == nil && c.RecordID != "" && s.tmc.changes[c.RecordID] == nil {
			if s.tmc.changes == nil {
				s.tmc.changes = map[string]*pointChange{}
			}
			s.tmc.changes[c.RecordID] = &pointChange{buyer: -1}
		}
	}
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
	c := s.tmc.changes[rec]
	c.buyer, c.delta = k, delta
	return rec
}

// PointAnswers returns the answers the brand sent for a point change.
func (s *Server) PointAnswers(recordID string) []PointAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.tmc.changes[recordID]; c != nil {
		return slices.Clone(c.answers)
	}
	return nil
}

// pointChangeCallback takes the brand's answer to a point change. The first
// answer decides: a failed change is rolled back from the member's Tmall
// balance; later answers are recorded and change nothing.
func (s *Server) pointChangeCallback(p params) (any, *apiErr) {
	if e := p.required("record_id", "result"); e != nil {
		return nil, e
	}
	c := s.tmc.changes[p["record_id"]]
	if c == nil {
		return nil, errf(top.CodeInvalidArguments, top.SubInvalidParameter, "no point change with record_id %s", p["record_id"])
	}
	result, e := p.int("result", 0, top.PointChangeDone, top.PointChangeFailed)
	if e != nil {
		return nil, e
	}
	if result == top.PointChangeFailed && p["error_code"] == "" {
		return nil, &apiErr{code: top.CodeMissingRequired, msg: "Missing required arguments:error_code"}
	}
	if len(c.answers) == 0 && result == top.PointChangeFailed && c.buyer >= 0 {
		s.buyers[c.buyer].point -= c.delta
	}
	c.answers = append(c.answers, PointAnswer{Result: int(result), ErrorCode: p["error_code"], Point: p["point"], MixMobile: p["mix_mobile"]})
	return top.FlagResult{Result: true}, nil
}
