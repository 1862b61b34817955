package sdk

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/channelhub/channelhub/mapping"
)

// Connector is what a connector author implements: check credentials, read a
// stream from a checkpoint, and close. Extra abilities are optional
// interfaces (Writer, WebhookHandler), found by type assertion and advertised
// in the Spec.
type Connector interface {
	// Check verifies the connection's credentials with the platform. A nil
	// error means a sync can start. Return a classed error (AuthError,
	// ConfigError…) naming what the user must fix.
	Check(ctx context.Context) error
	// Read emits the records of one stream, from req.Checkpoint on, through
	// out, each record at most once. Call out.Checkpoint only at a safe
	// boundary: every record before it has been emitted; a read resumed from
	// it loses nothing and repeats at most the records of the window that
	// ended at it. Return nil when the stream is done; return promptly with
	// ctx.Err() (or an error wrapping it) when ctx is cancelled — out's
	// methods fail with it then. Do not sleep and retry on throttling or
	// outages: return ThrottledError / UnavailableError and let the hub
	// decide.
	Read(ctx context.Context, req ReadRequest, out Emitter) error
	// Close releases what the connector holds. It is called once.
	Close(ctx context.Context) error
}

// Writer is implemented by connectors that write changes back (tags, points,
// messages). Write applies actions and returns one result per action, in the
// same order. An action whose Key was applied before must not be applied
// again on the platform: return it as StatusDuplicate or StatusApplied.
type Writer interface {
	Write(ctx context.Context, actions []Action) []ActionResult
}

// WebhookHandler is implemented by connectors that take platform callbacks.
// HandleWebhook must verify the platform's signature before it parses the
// body any further, and reply what the platform expects.
type WebhookHandler interface {
	HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResponse, error)
}

// NewFunc builds a connector from a validated config and the host services.
// It is called once per connection config; keep it cheap (no network).
type NewFunc func(ctx context.Context, cfg Config, host *Host) (Connector, error)

// Plugin is what a plugin's main hands to Serve.
type Plugin struct {
	Spec Spec
	New  NewFunc
}

// Mode is a read mode.
type Mode int

// Read modes.
const (
	// ModeFull reads everything. The hub drops the checkpoint a completed
	// run left before a full run starts, so a Checkpoint in a ModeFull
	// request is always this run's own resume point (after a retry or a
	// crash): resume from it.
	ModeFull Mode = iota + 1
	// ModeIncremental reads what changed since the checkpoint (everything
	// when there is none).
	ModeIncremental
)

// String returns "full" or "incremental".
func (m Mode) String() string {
	switch m {
	case ModeFull:
		return "full"
	case ModeIncremental:
		return "incremental"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "full" or "incremental".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "full":
		return ModeFull, nil
	case "incremental":
		return ModeIncremental, nil
	}
	return 0, fmt.Errorf("mode %q: want full or incremental", s)
}

// ReadRequest asks for one stream.
type ReadRequest struct {
	Stream string
	Mode   Mode
	// Checkpoint is the cursor last committed for this stream, or nil.
	// Resume from it whatever the Mode (see ModeFull).
	Checkpoint []byte
}

// Emitter receives what Read produces. The sdk batches records; the hub
// commits each batch with the checkpoint that follows it in one transaction.
type Emitter interface {
	// Emit sends one record.
	Emit(ctx context.Context, r Record) error
	// Checkpoint marks a safe resume point after every record emitted so far.
	Checkpoint(ctx context.Context, cursor []byte) error
	// Progress reports how far the stream is (total 0 when unknown).
	Progress(ctx context.Context, done, total int64) error
}

// Record is one canonical record. Exactly one of Member, Order, Points,
// Receipt or Bad is set.
type Record struct {
	Stream string
	// ID is the platform's id for the record, unique within the connection and
	// stream. The hub upserts by it.
	ID        string
	UpdatedAt time.Time
	// Deleted says the record is gone on the platform (unfollowed, erased).
	Deleted bool
	Member  *mapping.Member
	Order   *mapping.Order
	Points  *mapping.PointsEntry
	Bad     *BadRecord
	Receipt *Receipt
}

// Identities returns the identities the record carries: a member's, an
// order's buyer's, or the member a points entry names. The hub joins records
// into members by them; one that mapping.Identity.Validate refuses (a type
// the hub does not know, a scoped type without its scope, an empty value)
// joins nothing.
func (r Record) Identities() []mapping.Identity {
	switch {
	case r.Member != nil:
		return r.Member.Identities
	case r.Order != nil:
		return r.Order.Buyer
	case r.Points != nil:
		return []mapping.Identity{r.Points.Member}
	}
	return nil
}

// Receipt is the platform's later report on an action the hub delivered (an
// SMS reaching the handset, or not). The hub files it with the outbox item
// of ActionKey or, when the platform does not echo the key, of PlatformRef
// (what the action's ActionResult returned).
type Receipt struct {
	ActionKey   string
	PlatformRef string
	Delivered   bool
	// Code is the platform's status code (DELIVRD, UNDELIV…), Detail its
	// text.
	Code, Detail string
	At           time.Time
}

// BadRecord is a record the connector could not map. The hub sends it to the
// dead-letter table with its reason; the run goes on. Give the Record its ID
// when the record's id could be read: the dead letter then names the record,
// and erasing the record's person deletes it.
type BadRecord struct {
	Reason string
	// Raw is the platform payload, as received. The hub keeps it encrypted
	// (it may hold phones) and prints it only when asked to.
	Raw []byte
	// Location says where it was found (page, file line…).
	Location string
}

// Action is one change to apply on the platform. The hub sends these types
// (a connector lists the ones it applies in Spec.Actions, and a job writes
// only those it names), with these Params:
//
//   - "tags.add", "tags.remove": put on, or take off, the member the hub tag
//     named by Params["tag"].
//   - "member.level": set the member's level to Params["level"], a whole
//     number ≥ 0.
//   - "points.set": set the member's points balance to Params["points"], a
//     whole number: the sum of the member's ledger in the hub, a balance
//     and not a change, so applying it twice does no harm.
//   - "member.erase": delete or unbind the member on the platform (an erasure
//     the brand was asked for); no params.
//   - "sms.send": send one SMS: Params["template"] is the provider's template
//     code, Params["template_params"] its variables as a JSON object, and
//     Params["campaign"] the hub's campaign id.
//
// Target holds only identities that this connection's own records carried,
// never one learnt from another platform: a member can be written back to
// only if the connector emitted the platform's own id for it (openid,
// external_userid, open_uid…) as an identity when it read it. Phones are in
// Target, in clear (E.164), only where the platform names members by phone:
// for member.level and points.set, the phones this connection's records
// brought; for sms.send, the one phone the message goes to. Other actions
// carry no phone.
type Action struct {
	// Key is the idempotency key; an action retried with the same key is
	// applied once.
	Key string
	// Type is the action's name, one of those above.
	Type string
	// Target are the member's identities in this connection's scope (see
	// above).
	Target []mapping.Identity
	Params map[string]string
}

// ActionStatus is the outcome of one action.
type ActionStatus int

// Action outcomes.
const (
	StatusApplied ActionStatus = iota + 1
	// StatusDuplicate: the key was applied before; nothing was done again.
	StatusDuplicate
	// StatusFailed: not applied; Err says why and its class says whether a
	// retry may help.
	StatusFailed
	// StatusRefused: not applied by policy (consent, limits); not retried.
	StatusRefused
)

// String returns the status name.
func (s ActionStatus) String() string {
	switch s {
	case StatusApplied:
		return "applied"
	case StatusDuplicate:
		return "duplicate"
	case StatusFailed:
		return "failed"
	case StatusRefused:
		return "refused"
	}
	return fmt.Sprintf("ActionStatus(%d)", int(s))
}

// ActionResult is the outcome of one action.
type ActionResult struct {
	Key    string
	Status ActionStatus
	Err    error
	// PlatformRef is the platform's id for what was done (message id, …).
	PlatformRef string
	// Consent is what the platform revealed of the recipient's consent
	// while acting: a send refused because the recipient unsubscribed sets
	// an opt-out. The hub records it on the member, as if a record of this
	// connection had carried it, so its policy stops the next send (through
	// any connection).
	Consent *mapping.Consent
}

// WebhookRequest is an inbound platform callback as the hub received it.
type WebhookRequest struct {
	Method string
	Path   string
	// Query is the raw query string.
	Query  string
	Header http.Header
	Body   []byte
}

// WebhookResponse is what the hub answers the platform, plus the records the
// callback produced.
type WebhookResponse struct {
	Status  int
	Header  http.Header
	Body    []byte
	Records []Record
}
