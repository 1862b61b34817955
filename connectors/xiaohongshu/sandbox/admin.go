package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
)

// maxAdminAdd bounds one /sandbox/orders/add or /advance call.
const maxAdminAdd = 1_000_000

// admin serves the /sandbox/ endpoints listed on ServeHTTP. Answers are JSON;
// bad requests get HTTP 400 with a text body.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	read := func(v any) bool {
		data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err == nil {
			err = json.Unmarshal(data, v)
		}
		if err != nil {
			http.Error(w, "sandbox: request JSON: "+err.Error(), http.StatusBadRequest)
			return false
		}
		return true
	}
	count := func() (int, bool) {
		var req struct {
			N int `json:"n"`
		}
		if !read(&req) {
			return 0, false
		}
		if req.N < 1 || req.N > maxAdminAdd {
			http.Error(w, `sandbox: want {"n": 1..1000000}`, http.StatusBadRequest)
			return 0, false
		}
		return req.N, true
	}
	okBody := struct {
		OK bool `json:"ok"`
	}{true}
	switch r.Method + " " + r.URL.Path {
	case "POST /sandbox/faults":
		data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			http.Error(w, "sandbox: reading the fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		var where struct {
			Method string `json:"method"`
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
		if err := s.Inject(where.Method, f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, okBody)
	case "DELETE /sandbox/faults":
		s.ClearFaults()
		writeJSON(w, okBody)
	case "POST /sandbox/tokens/code":
		writeJSON(w, struct {
			Code string `json:"code"`
		}{s.AuthCode()})
	case "POST /sandbox/tokens/issue":
		writeJSON(w, s.IssueToken())
	case "POST /sandbox/tokens/expire":
		s.ExpireTokens()
		writeJSON(w, okBody)
	case "POST /sandbox/orders/touch":
		var req struct {
			OrderID     string `json:"orderId"`
			OrderStatus int    `json:"orderStatus"`
		}
		if !read(&req) {
			return
		}
		o, err := s.TouchOrder(req.OrderID, req.OrderStatus)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, o)
	case "POST /sandbox/orders/advance":
		if n, ok := count(); ok {
			writeJSON(w, struct {
				OrderIDs []string `json:"orderIds"`
			}{s.Advance(n)})
		}
	case "POST /sandbox/orders/add":
		if n, ok := count(); ok {
			writeJSON(w, struct {
				OrderIDs []string `json:"orderIds"`
			}{s.AddOrders(n)})
		}
	case "GET /sandbox/stats":
		writeJSON(w, s.Stats())
	default:
		http.Error(w, "sandbox: no admin endpoint "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}
