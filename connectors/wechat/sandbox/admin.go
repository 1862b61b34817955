package sandbox

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/channelhub/channelhub/connectors/wechat/wxfault"
)

// maxAdminAdd bounds one /sandbox/followers/add call.
const maxAdminAdd = 1_000_000

// admin serves the /sandbox/ endpoints listed on ServeHTTP. Answers are JSON;
// bad requests get HTTP 400 with a text body.
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
