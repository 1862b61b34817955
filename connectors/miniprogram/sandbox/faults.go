package sandbox

import (
	"net/http"

	"github.com/channelhub/channelhub/connectors/wechat/wxfault"
)

// Faults are the shared WeChat-family ones (connectors/wechat/wxfault).
type (
	// FaultKind is what goes wrong in a faulted call.
	FaultKind = wxfault.Kind
	// Fault is a failure injected into the next calls of one path; its
	// JSON form is the body of POST /sandbox/faults, plus a "path" key.
	Fault = wxfault.Fault
)

// The fault kinds.
const (
	FaultErrCode   = wxfault.ErrCode
	FaultHTTP500   = wxfault.HTTP500
	FaultHTTP502   = wxfault.HTTP502
	FaultMalformed = wxfault.Malformed
	FaultDelay     = wxfault.Delay
)

// AnyPath, given to Inject, makes a fault hit any API path. Faults for the
// exact path go first.
const AnyPath = wxfault.AnyPath

// Inject queues f for the next calls to path (e.g. PathOrderList, or
// AnyPath). It panics if f is invalid (see Fault.Validate): that is a bug
// in the test calling it.
func (s *Server) Inject(path string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.faults.Inject(path, f); err != nil {
		panic("sandbox: Inject(" + path + "): " + err.Error())
	}
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.Clear()
}

// takeFault uses up one hit of the fault due for path. Guarded by mu.
func (s *Server) takeFault(path string) (Fault, bool) { return s.faults.Take(path) }

// applyFault carries out f and reports whether the call should go on.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	return wxfault.Apply(w, r, f, contentType, `{"errcode":0,"errmsg":"ok","order_list":[`, s.fail)
}
