package sandboxes

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
)

// FileExport writes the offline-store export of the seeded people who shop
// in stores (Person.On["file"]) as JSON Lines into dir, the format the file
// connector reads: a member card, the phone in the many forms cashiers type,
// and, for members who bound their card in the official account, their
// WeChat unionid — the link between offline members and WeChat followers.
// Most rows record the member's SMS marketing consent. Like real exports it
// has noise: a few rows carry a placeholder test number
// or the store clerk's phone, and one line is malformed. It returns a ready
// connection and job.
func FileExport(dir string, seed uint64, members int) (Connection, Job, error) {
	if seed == 0 {
		seed = 1
	}
	if members == 0 {
		members = 3000
	}
	path := filepath.Join(dir, "pos-members.jsonl")
	f, err := os.Create(path)
	if err != nil {
		return Connection{}, Job{}, fmt.Errorf("file export: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	type identity struct {
		Type  string `json:"type"`
		Scope string `json:"scope,omitempty"`
		Value string `json:"value"`
	}
	levels := []string{"普通", "银卡", "金卡", "钻石"}
	for _, p := range sandboxdata.Persons(seed, members) {
		if !p.On["file"] {
			continue
		}
		r := rand.New(rand.NewPCG(seed, uint64(p.Index)+1<<40))
		national := p.Phone[3:]
		phone := []string{p.Phone, "86" + national, national[:3] + " " + national[3:7] + " " + national[7:], "+86 " + national[:3] + "-" + national[3:7] + "-" + national[7:]}[r.IntN(4)]
		switch r.IntN(100) {
		case 0, 1:
			phone = "13800138000" // typed when the customer would not say
		case 2, 3:
			phone = "13700001111" // the clerk's own phone
		}
		ids := []identity{{Type: "member_card", Scope: "brand", Value: fmt.Sprintf("C%06d", p.Index)}, {Type: "phone", Value: phone}}
		if p.On["wechat"] && r.IntN(100) < 60 {
			ids = append(ids, identity{Type: "wechat_unionid", Scope: sandboxdata.OpenPlatformID, Value: p.UnionID})
		}
		gender := map[int]string{1: "男", 2: "女"}[p.Gender]
		// Most members ticked the SMS box at the till; a few said no.
		var consents []map[string]any
		switch n := r.IntN(100); {
		case n < 70:
			consents = append(consents, map[string]any{"channel": "sms", "opt_in": true, "at": p.Since.Format(time.RFC3339)})
		case n < 80:
			consents = append(consents, map[string]any{"channel": "sms", "opt_in": false, "at": p.Since.Format(time.RFC3339)})
		}
		line := map[string]any{
			"id": fmt.Sprintf("POS%06d", p.Index), "identities": ids, "name": p.Name, "gender": gender, "birthday": p.Birthday,
			"city": p.City, "level": levels[r.IntN(len(levels))], "points": r.IntN(5000), "tags": []string{"门店会员"}, "consents": consents,
			"updated_at": p.Since.Add(24 * 3600e9).Format("2006-01-02T15:04:05+08:00"),
		}
		if err := enc.Encode(line); err != nil {
			f.Close()
			return Connection{}, Job{}, err
		}
		if p.Index == 7 {
			fmt.Fprintln(w, `{"id": "POS-BROKEN", "identities": [`) // a cut-off row, as exports have
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return Connection{}, Job{}, err
	}
	if err := f.Close(); err != nil {
		return Connection{}, Job{}, err
	}
	conn := Connection{ID: "pos-members", Connector: "file", Config: map[string]any{"path": path, "format": "jsonl", "stream": "members"}}
	job := Job{ID: "pos-members", Connection: conn.ID, Read: []string{"members"}, Mode: "incremental", Schedule: "0 * * * *"}
	return conn, job, nil
}
