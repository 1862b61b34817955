package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"

	"github.com/channelhub/channelhub/connectors/wechat/wxfault"
)

// admin serves the /sandbox/ endpoints listed on ServeHTTP. Bad requests get
// HTTP 400 with a text body.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	switch key {
	case "POST /sandbox/faults":
		path, f, err := wxfault.DecodeInjection(r, maxBody)
		if err != nil {
			http.Error(w, "sandbox: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.Inject(path, f)
		writeJSON(w, okBody)
	case "DELETE /sandbox/faults":
		s.ClearFaults()
		writeJSON(w, okBody)
	case "POST /sandbox/tokens/expire":
		s.ExpireTokens()
		writeJSON(w, okBody)
	case "POST /sandbox/customers/add":
		var req struct {
			UserID string `json:"userid"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
			http.Error(w, `sandbox: want {"userid": "staff001"}`, http.StatusBadRequest)
			return
		}
		ev, err := s.AddCustomer(req.UserID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, struct {
			ExternalUserID string `json:"external_userid"`
		}{ev.ExternalUserID})
	case "GET /sandbox/stats":
		s.mu.Lock()
		reqs := make(map[string]int, len(s.requests))
		for p, n := range s.requests {
			reqs[p] = n
		}
		customers, relations := s.counts()
		s.mu.Unlock()
		writeJSON(w, struct {
			Customers int            `json:"customers"`
			Relations int            `json:"relations"`
			Requests  map[string]int `json:"requests"`
		}{customers, relations, reqs})
	default:
		http.Error(w, "sandbox: no admin endpoint "+key, http.StatusNotFound)
	}
}

// counts returns how many customers have a follow user and how many follow
// relations there are. Guarded by mu.
func (s *Server) counts() (customers, relations int) {
	for _, c := range s.customers {
		if len(c.follows) > 0 {
			customers++
			relations += len(c.follows)
		}
	}
	return customers, relations
}

// Staff returns the userids with customer contact, sorted.
func (s *Server) Staff() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.staff)
}

// Relation is one staff member following one customer, as the tests see it.
type Relation struct {
	UserID, ExternalUserID, UnionID string
	// Tags are the corp tag names on the relation, in the order put on.
	Tags []string
}

// Relations returns every live relation, by staff userid then age.
func (s *Server) Relations() []Relation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Relation
	for _, u := range s.staff {
		for _, r := range s.relationsOf(u) {
			out = append(out, s.view(r))
		}
	}
	return out
}

// RelationOf returns the live relation of userid and ext.
func (s *Server) RelationOf(userid, ext string) (Relation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.relation(userid, ext)
	if err != nil {
		return Relation{}, false
	}
	return s.view(r), true
}

func (s *Server) view(r *relation) Relation {
	v := Relation{UserID: r.userid, ExternalUserID: r.cust.ext, UnionID: r.cust.unionid}
	for _, id := range r.tags {
		if t := s.tagByID(id); t != nil {
			v.Tags = append(v.Tags, t.name)
		}
	}
	return v
}

// FollowUsers returns the userids following customer ext, oldest first.
func (s *Server) FollowUsers(ext string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.byExt[ext]
	if c == nil {
		return nil
	}
	out := make([]string, len(c.follows))
	for i, r := range c.follows {
		out[i] = r.userid
	}
	return out
}

// TagID returns the id of the corp tag named name (in any group).
func (s *Server) TagID(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		for _, t := range g.tags {
			if t.name == name {
				return t.id, true
			}
		}
	}
	return "", false
}
