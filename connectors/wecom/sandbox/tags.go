package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Corp tag limits (fact sheet §3.2): 3000 corp tags (40126). Names longer
// than 30 characters are refused with 40058 [L].
const (
	maxCorpTags   = 3000
	maxTagNameLen = 30
)

type corpTagJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CreateTime int64  `json:"create_time"`
	Order      int    `json:"order"`
	Deleted    bool   `json:"deleted,omitempty"`
}

type tagGroupJSON struct {
	GroupID    string        `json:"group_id"`
	GroupName  string        `json:"group_name"`
	CreateTime int64         `json:"create_time"`
	Order      int           `json:"order"`
	Deleted    bool          `json:"deleted,omitempty"`
	Tag        []corpTagJSON `json:"tag"`
}

func groupJSON(g *tagGroup, only func(*corpTag) bool) tagGroupJSON {
	out := tagGroupJSON{GroupID: g.id, GroupName: g.name, CreateTime: g.createTime, Order: g.order, Tag: []corpTagJSON{}}
	for _, t := range g.tags {
		if only == nil || only(t) {
			out.Tag = append(out.Tag, corpTagJSON{ID: t.id, Name: t.name, CreateTime: t.createTime, Order: t.order})
		}
	}
	return out
}

// corpTagList serves POST /cgi-bin/externalcontact/get_corp_tag_list
// {"tag_id":[...],"group_id":[...]}: both empty means the whole library; a
// group_id selects whole groups (tag_id is then ignored, as the doc says).
// The body may be empty.
func (s *Server) corpTagList(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TagID   []string `json:"tag_id"`
		GroupID []string `json:"group_id"`
	}
	if !s.decodeBodyOrEmpty(w, r, &req) {
		return
	}
	s.mu.Lock()
	out := []tagGroupJSON{}
	for _, g := range s.groups {
		switch {
		case len(req.GroupID) > 0:
			if slices.Contains(req.GroupID, g.id) {
				out = append(out, groupJSON(g, nil))
			}
		case len(req.TagID) > 0:
			gj := groupJSON(g, func(t *corpTag) bool { return slices.Contains(req.TagID, t.id) })
			if len(gj.Tag) > 0 {
				out = append(out, gj)
			}
		default:
			out = append(out, groupJSON(g, nil))
		}
	}
	s.mu.Unlock()
	writeJSON(w, struct {
		errorBody
		TagGroup []tagGroupJSON `json:"tag_group"`
	}{okBody, out})
}

// decodeBodyOrEmpty is decodeBody that accepts an empty body.
func (s *Server) decodeBodyOrEmpty(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case err != nil:
		s.fail(w, codeSystemBusy)
		return false
	case len(bytes.TrimSpace(data)) == 0:
		return true
	case len(data) > maxBody || json.Unmarshal(data, v) != nil:
		s.fail(w, codeBadJSON)
		return false
	}
	return true
}

type addTagRequest struct {
	GroupID   string `json:"group_id"`
	GroupName string `json:"group_name"`
	Order     int    `json:"order"`
	Tag       []struct {
		Name  string `json:"name"`
		Order int    `json:"order"`
	} `json:"tag"`
}

// addCorpTag serves POST /cgi-bin/externalcontact/add_corp_tag: adds tags to
// the group group_id, or to the group named group_name (created when
// missing). A tag whose name the group has already is not added again; its
// existing id comes back [L: the real API may answer an error instead]. No
// tags, an unknown group_id, or an empty or over-long name → 40058 [L];
// more than 3000 tags in all → 40126.
func (s *Server) addCorpTag(w http.ResponseWriter, r *http.Request) {
	var req addTagRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if len(req.Tag) == 0 || (req.GroupID == "" && strings.TrimSpace(req.GroupName) == "") {
		s.fail(w, codeInvalidParam)
		return
	}
	for _, t := range req.Tag {
		if n := utf8.RuneCountInString(t.Name); strings.TrimSpace(t.Name) == "" || n > maxTagNameLen {
			s.fail(w, codeInvalidParam)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *tagGroup
	for _, x := range s.groups {
		if (req.GroupID != "" && x.id == req.GroupID) || (req.GroupID == "" && x.name == req.GroupName) {
			g = x
		}
	}
	if g == nil && req.GroupID != "" {
		s.fail(w, codeInvalidParam)
		return
	}
	total := 0
	for _, x := range s.groups {
		total += len(x.tags)
	}
	if total+len(req.Tag) > maxCorpTags {
		s.fail(w, codeTooManyTags)
		return
	}
	now := s.now().Unix()
	if g == nil {
		g = &tagGroup{id: s.newTagID("etG"), name: req.GroupName, createTime: now, order: req.Order}
		s.groups = append(s.groups, g)
	}
	var added []string
	for _, rt := range req.Tag {
		var t *corpTag
		for _, x := range g.tags {
			if x.name == rt.Name {
				t = x
			}
		}
		if t == nil {
			t = s.addTag(g, rt.Name, now, rt.Order)
		}
		added = append(added, t.id)
	}
	writeJSON(w, struct {
		errorBody
		TagGroup tagGroupJSON `json:"tag_group"`
	}{okBody, groupJSON(g, func(t *corpTag) bool { return slices.Contains(added, t.id) })})
}

// markTag serves POST /cgi-bin/externalcontact/mark_tag
// {"userid","external_userid","add_tag":[...],"remove_tag":[...]}: tags on
// one follow relation. Adding a tag it has or removing one it lacks changes
// nothing. Both lists empty or no userid → 40058 [L]; no external_userid →
// 41035; unknown external_userid → 40096; userid not following the customer
// → 84061; any unknown tag id → 40068 (nothing applied).
func (s *Server) markTag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID         string   `json:"userid"`
		ExternalUserID string   `json:"external_userid"`
		AddTag         []string `json:"add_tag"`
		RemoveTag      []string `json:"remove_tag"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	switch {
	case req.ExternalUserID == "":
		s.fail(w, codeExternalIDMissing)
		return
	case req.UserID == "" || len(req.AddTag)+len(req.RemoveTag) == 0:
		s.fail(w, codeInvalidParam)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.byExt[req.ExternalUserID]
	if c == nil {
		s.fail(w, codeInvalidExternalID)
		return
	}
	rel := c.follow(req.UserID)
	if rel == nil {
		s.fail(w, codeNotExternalContact)
		return
	}
	for _, id := range slices.Concat(req.AddTag, req.RemoveTag) {
		if s.tagByID(id) == nil {
			s.fail(w, codeInvalidTagID)
			return
		}
	}
	for _, id := range req.AddTag {
		if !slices.Contains(rel.tags, id) {
			rel.tags = append(rel.tags, id)
		}
	}
	rel.tags = slices.DeleteFunc(rel.tags, func(id string) bool { return slices.Contains(req.RemoveTag, id) })
	writeJSON(w, okBody)
}
