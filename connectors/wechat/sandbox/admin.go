package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxAdminAdd bounds one /sandbox/followers/add call.
const maxAdminAdd = 1_000_000

// admin serves the /sandbox/ endpoints listed on ServeHTTP. Answers are JSON;
// bad requests get HTTP 400 with a text body.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	switch key {
	case "POST /sandbox/faults":
		data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			http.Error(w, "sandbox: reading the fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		var where struct {
			Path string `json:"path"`
		}
		var f Fault
		if err := json.Unmarshal(data, &where); err != nil {
			http.Error(w, "sandbox: fault JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := json.Unmarshal(data, &f); err != nil {
			http.Error(w, "sandbox: fault JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := f.Validate(); err != nil {
			http.Error(w, "sandbox: "+err.Error(), http.StatusBadRequest)
			return
		}
		if where.Path != AnyPath && !strings.HasPrefix(where.Path, "/") {
			http.Error(w, `sandbox: fault "path" must be an API path such as /cgi-bin/user/get, or "*"`, http.StatusBadRequest)
			return
		}
		s.Inject(where.Path, f)
		ok(w)
	case "DELETE /sandbox/faults":
		s.ClearFaults()
		ok(w)
	case "POST /sandbox/tokens/expire":
		s.ExpireTokens()
		ok(w)
	case "POST /sandbox/followers/add":
		var req struct {
			N int `json:"n"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil || req.N < 1 || req.N > maxAdminAdd {
			http.Error(w, `sandbox: want {"n": 1..1000000}`, http.StatusBadRequest)
			return
		}
		writeJSON(w, struct {
			OpenIDs []string `json:"openids"`
		}{s.AddFollowers(req.N)})
	case "POST /sandbox/followers/unfollow":
		var req struct {
			OpenID string `json:"openid"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil || req.OpenID == "" {
			http.Error(w, `sandbox: want {"openid": "o…"}`, http.StatusBadRequest)
			return
		}
		if !s.Unfollow(req.OpenID) {
			http.Error(w, "sandbox: "+req.OpenID+" does not follow the account", http.StatusBadRequest)
			return
		}
		ok(w)
	case "GET /sandbox/stats":
		s.mu.Lock()
		reqs := make(map[string]int, len(s.requests))
		for p, n := range s.requests {
			reqs[p] = n
		}
		followers := s.subscribed
		s.mu.Unlock()
		writeJSON(w, struct {
			Followers int            `json:"followers"`
			Requests  map[string]int `json:"requests"`
		}{followers, reqs})
	default:
		http.Error(w, "sandbox: no admin endpoint "+key, http.StatusNotFound)
	}
}
