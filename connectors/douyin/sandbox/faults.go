package sandbox

import (
	"net/http"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/gatewayfault"
)

// Faults are the shared gateway ones (connectors/gatewayfault).
type (
	// FaultKind says what an injected fault does.
	FaultKind = gatewayfault.Kind
	// Fault is an injected failure for the next Count calls of Method
	// ("order.searchList"; empty matches any).
	Fault = gatewayfault.Fault
)

// Fault kinds. FaultError answers the platform's error envelope for Code,
// SubCode and SubMsg (e.g. 20000 isp.service-error:20005, 60000, or 40003 isv.access-token-expired).
const (
	FaultHTTP5xx   = gatewayfault.HTTP5xx
	FaultDelay     = gatewayfault.Delay
	FaultMalformed = gatewayfault.Malformed
	FaultError     = gatewayfault.Error
)

// InjectFault queues f: the next f.Count API calls matching f.Method fail
// as f says. Faults apply in the order queued, before the QPS limit and the
// gateway checks.
func (s *Server) InjectFault(f Fault) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.Inject(f, doudian.CodeSuccess)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.Clear()
}

// takeFault consumes one hit of the first fault matching method. s.mu is held.
func (s *Server) takeFault(method string) *Fault { return s.faults.Take(method) }

// applyFault acts out f; it reports whether the request should still be
// served normally.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	return gatewayfault.Apply(w, r, f, `{"code":10000,"msg":"success","data":{"page":0,"shop_order_list":[{"order_id":"69`, func(w http.ResponseWriter, f *Fault) {
		s.mu.Lock()
		env := s.reply(nil, &apiErr{code: f.Code, subCode: f.SubCode, subMsg: f.SubMsg})
		s.mu.Unlock()
		writeJSON(w, env)
	})
}

// serveFaults serves POST /sandbox/faults (a Fault as JSON) and DELETE
// /sandbox/faults.
func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	gatewayfault.ServeAdmin(w, r, s.InjectFault, s.ClearFaults, maxRequestBody)
}
