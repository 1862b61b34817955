package sandbox

import (
	"net/http"
	"slices"
	"strings"
)

// Tag endpoints (fact sheet §2.5). Limits: 100 user tags per account
// (45056), names 1–30 bytes (45158 too long, 45157 empty or taken), 20 tags
// per user (45059), 1–50 openids per (un)tagging call (40032), system tags
// 0/1/2 cannot be changed or deleted (45058), a tag with more than 100 000
// fans cannot be deleted (45057), an unknown tag is 45159. In the system
// range only 2 (星标组) exists and can be put on users; 0 and 1 (the
// blacklist, which has its own API) answer 45159 to tagging.
//
// openids in tagging calls: not openid-shaped (28 URL-safe characters) or of
// a user who no longer follows → 40003; well-formed but never seen by this
// account → 49003 (not of this app). The split between the two codes is the
// sandbox's reading of several SDK error tables [M]; the unfollowed case is
// a sandbox choice [L]. Unfollowing drops the user's tags.

type tagJSON struct {
	ID    int32  `json:"id"`
	Name  string `json:"name"`
	Count *int   `json:"count,omitempty"`
}

type tagRequest struct {
	Tag struct {
		ID   *int32  `json:"id"`
		Name *string `json:"name"`
	} `json:"tag"`
}

// tagsGet serves GET /cgi-bin/tags/get: every tag with its fan count, by id.
func (s *Server) tagsGet(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	all := s.sortedTags()
	out := make([]tagJSON, len(all))
	for i, t := range all {
		n := t.count
		out[i] = tagJSON{ID: t.id, Name: t.name, Count: &n}
	}
	s.mu.Unlock()
	writeJSON(w, struct {
		Tags []tagJSON `json:"tags"`
	}{out})
}

// checkName returns the errcode for an unusable tag name (other than the tag
// except), or 0. Guarded by mu.
func (s *Server) checkName(name string, except int32) int {
	switch {
	case strings.TrimSpace(name) == "":
		return codeInvalidTagName
	case len(name) > maxTagName:
		return codeTagNameTooLong
	}
	for _, t := range s.tags {
		if t.name == name && t.id != except {
			return codeInvalidTagName
		}
	}
	return 0
}

// userTags counts user-created tags. Guarded by mu.
func (s *Server) userTags() int {
	n := 0
	for id := range s.tags {
		if id >= firstTagID {
			n++
		}
	}
	return n
}

// tagsCreate serves POST /cgi-bin/tags/create {"tag":{"name":…}}.
func (s *Server) tagsCreate(w http.ResponseWriter, r *http.Request) {
	var req tagRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.Tag.Name == nil {
		s.fail(w, codeInvalidTagName, "")
		return
	}
	name := *req.Tag.Name
	s.mu.Lock()
	code := s.checkName(name, -1)
	if code == 0 && s.userTags() >= maxTags {
		code = codeTooManyTags
	}
	var t *tag
	if code == 0 {
		t = &tag{id: s.nextTagID, name: name}
		s.tags[t.id] = t
		s.nextTagID++
	}
	s.mu.Unlock()
	if code != 0 {
		s.fail(w, code, "")
		return
	}
	writeJSON(w, struct {
		Tag tagJSON `json:"tag"`
	}{tagJSON{ID: t.id, Name: t.name}})
}

// systemTag reports whether id is one of the reserved tags 0, 1, 2.
func systemTag(id int32) bool { return id >= 0 && id <= 2 }

// tagsUpdate serves POST /cgi-bin/tags/update {"tag":{"id":…,"name":…}}.
func (s *Server) tagsUpdate(w http.ResponseWriter, r *http.Request) {
	var req tagRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.Tag.ID == nil {
		s.fail(w, codeInvalidTagID, "")
		return
	}
	if req.Tag.Name == nil {
		s.fail(w, codeInvalidTagName, "")
		return
	}
	id, name := *req.Tag.ID, *req.Tag.Name
	s.mu.Lock()
	t := s.tags[id]
	var code int
	switch {
	case systemTag(id):
		code = codeSystemTag
	case t == nil:
		code = codeInvalidTagID
	default:
		if code = s.checkName(name, id); code == 0 {
			t.name = name
		}
	}
	s.mu.Unlock()
	if code != 0 {
		s.fail(w, code, "")
		return
	}
	ok(w)
}

// tagsDelete serves POST /cgi-bin/tags/delete {"tag":{"id":…}}; the tag
// comes off every user who had it.
func (s *Server) tagsDelete(w http.ResponseWriter, r *http.Request) {
	var req tagRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.Tag.ID == nil {
		s.fail(w, codeInvalidTagID, "")
		return
	}
	id := *req.Tag.ID
	s.mu.Lock()
	t := s.tags[id]
	var code int
	switch {
	case systemTag(id):
		code = codeSystemTag
	case t == nil:
		code = codeInvalidTagID
	case t.count > maxTagDelete:
		code = codeTagHasTooManyFans
	default:
		delete(s.tags, id)
		for i := range s.followers {
			f := &s.followers[i]
			if j := slices.Index(f.tags, id); j >= 0 {
				f.tags = slices.Delete(f.tags, j, j+1)
			}
		}
	}
	s.mu.Unlock()
	if code != 0 {
		s.fail(w, code, "")
		return
	}
	ok(w)
}

type taggingRequest struct {
	OpenIDList []string `json:"openid_list"`
	TagID      *int32   `json:"tagid"`
}

// openIDShaped reports whether id looks like an openid: 28 characters of
// the URL-safe base64 alphabet.
func openIDShaped(id string) bool {
	if len(id) != 28 {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// resolve finds the followers behind openids for a tagging call, or returns
// the errcode for the first bad one. Guarded by mu.
func (s *Server) resolve(openids []string) ([]*follower, int) {
	out := make([]*follower, 0, len(openids))
	for _, id := range openids {
		if !openIDShaped(id) {
			return nil, codeInvalidOpenID
		}
		i, found := s.index[id]
		switch {
		case !found:
			return nil, codeOpenIDNotOfThisApp
		case !s.followers[i].subscribed:
			return nil, codeInvalidOpenID
		}
		out = append(out, &s.followers[i])
	}
	return out, 0
}

// batchTagging serves POST /cgi-bin/tags/members/batchtagging. The call is
// all or nothing: any bad openid, or any user who would pass 20 tags, fails
// it. Users who already have the tag are left alone.
func (s *Server) batchTagging(w http.ResponseWriter, r *http.Request) {
	s.tagMembers(w, r, true)
}

// batchUntagging serves POST /cgi-bin/tags/members/batchuntagging, the
// reverse of batchTagging; users without the tag are left alone.
func (s *Server) batchUntagging(w http.ResponseWriter, r *http.Request) {
	s.tagMembers(w, r, false)
}

func (s *Server) tagMembers(w http.ResponseWriter, r *http.Request, add bool) {
	var req taggingRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if n := len(req.OpenIDList); n == 0 || n > maxTagCall {
		s.fail(w, codeInvalidListSize, "")
		return
	}
	if req.TagID == nil {
		s.fail(w, codeInvalidTagID, "")
		return
	}
	id := *req.TagID
	s.mu.Lock()
	code := s.tagMembersLocked(req.OpenIDList, id, add)
	s.mu.Unlock()
	if code != 0 {
		s.fail(w, code, "")
		return
	}
	ok(w)
}

func (s *Server) tagMembersLocked(openids []string, id int32, add bool) int {
	t := s.tags[id]
	if t == nil {
		return codeInvalidTagID
	}
	users, code := s.resolve(openids)
	if code != 0 {
		return code
	}
	if add {
		for _, f := range users {
			if len(f.tags) >= maxTagsOnUser && !slices.Contains(f.tags, id) {
				return codeTooManyTagsOnUser
			}
		}
	}
	for _, f := range users {
		j := slices.Index(f.tags, id)
		switch {
		case add && j < 0:
			f.tags = append(f.tags, id)
			t.count++
		case !add && j >= 0:
			f.tags = slices.Delete(f.tags, j, j+1)
			t.count--
		}
	}
	return 0
}

// tagIDList serves POST /cgi-bin/tags/getidlist {"openid":…}: the user's tag
// ids in the order they were put on. A user who unfollowed has none.
func (s *Server) tagIDList(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OpenID string `json:"openid"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.OpenID == "" {
		s.fail(w, codeOpenIDMissing, "")
		return
	}
	s.mu.Lock()
	i, found := s.index[req.OpenID]
	var ids []int32
	if found {
		ids = append(make([]int32, 0, len(s.followers[i].tags)), s.followers[i].tags...)
	}
	s.mu.Unlock()
	switch {
	case !openIDShaped(req.OpenID):
		s.fail(w, codeInvalidOpenID, "")
	case !found:
		s.fail(w, codeOpenIDNotOfThisApp, "")
	default:
		writeJSON(w, struct {
			TagIDList []int32 `json:"tagid_list"`
		}{ids})
	}
}

// tagFans serves POST /cgi-bin/user/tag/get {"tagid":…,"next_openid":…}:
// the tag's followers in follow order, paged like /cgi-bin/user/get but
// without total.
func (s *Server) tagFans(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TagID      *int32 `json:"tagid"`
		NextOpenID string `json:"next_openid"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.TagID == nil {
		s.fail(w, codeInvalidTagID, "")
		return
	}
	id := *req.TagID
	s.mu.Lock()
	var ids []string
	code := 0
	if s.tags[id] == nil {
		code = codeInvalidTagID
	} else if p, found := s.page(req.NextOpenID, func(f *follower) bool { return slices.Contains(f.tags, id) }); found {
		ids = p
	} else {
		code = codeInvalidOpenID
	}
	s.mu.Unlock()
	if code != 0 {
		s.fail(w, code, "")
		return
	}
	writeJSON(w, pageAnswer(ids))
}
