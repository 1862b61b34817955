// Package store defines what the hub keeps — members and their identities,
// platform records, orders, points, per-stream checkpoints, the write-back
// outbox, dead letters and runs — as one interface. hub/store/sqlite is the
// embedded default.
//
// The central promise: ApplyBatch writes a batch of records and the
// checkpoint that follows them in one transaction, with idempotent upserts
// keyed by platform ids, so a crash at any moment loses nothing and a replay
// doubles nothing.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/channelhub/channelhub/hub/campaign"
	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// ErrNotFound is returned when a member, job or stream does not exist.
var ErrNotFound = errors.New("not found")

// ErrAmbiguous is returned when an identifier names more than one member
// (a shared or refused identifier).
var ErrAmbiguous = errors.New("ambiguous")

// ErrRunInProgress is StartRun's answer while another hub process runs the
// job.
var ErrRunInProgress = errors.New("a run of this job is in progress")

// Store is the hub's persistence.
type Store interface {
	// EnsureTenant registers a tenant, creating its phone salt on first use
	// (or storing the given one), and returns the salt.
	EnsureTenant(ctx context.Context, tenant string, salt []byte) ([]byte, error)

	// StreamState returns a stream's state; a stream never run has a zero state.
	StreamState(ctx context.Context, tenant, job, stream string) (StreamState, error)
	// ListStreamStates returns every stream state of a tenant ("" for all).
	ListStreamStates(ctx context.Context, tenant string) ([]StreamState, error)
	// ResetStream drops a stream's checkpoint so its next run starts over.
	ResetStream(ctx context.Context, tenant, job, stream string) error
	// SetStreamStatus records a stream's status and last error.
	SetStreamStatus(ctx context.Context, tenant, job, stream, status, lastErr string) error

	// ApplyBatch upserts records, resolves their members, and commits the
	// checkpoint (when not nil) in one transaction.
	ApplyBatch(ctx context.Context, b Batch) (BatchResult, error)

	// Member returns one member by id (aliases resolve), or ErrNotFound.
	Member(ctx context.Context, tenant, memberID string) (*MemberView, error)
	// FindMember returns the member holding an identity, or ErrNotFound.
	FindMember(ctx context.Context, tenant string, id mapping.Identity) (*MemberView, error)
	// RecordCarries says whether one record of the connection carries every
	// identity of ids (false for none).
	RecordCarries(ctx context.Context, tenant, connection string, ids []mapping.Identity) (bool, error)
	// ExportMembers calls fn for every member of the tenant, in member id order.
	ExportMembers(ctx context.Context, tenant string, fn func(*MemberView) error) error
	// ExportOrders calls fn for every order of the tenant, in (platform,
	// shop, order id) order.
	ExportOrders(ctx context.Context, tenant string, fn func(*OrderView) error) error
	// Stats counts what the store holds for a tenant.
	Stats(ctx context.Context, tenant string) (Stats, error)

	// ChangeTags adds and removes hub tags on a member and queues the change
	// for every connection of the member whose connector can write it.
	ChangeTags(ctx context.Context, tenant, memberID string, add, remove []string, writers func(connection string) []string) (queued int, err error)
	// QueueAction queues one write-back action with params for every
	// connection of the member whose connector writes it (a level or a
	// points balance going back to the platforms), and returns the
	// connections queued.
	QueueAction(ctx context.Context, tenant, memberID, action string, params map[string]string, writers func(connection string) []string) ([]string, error)
	// PendingActions returns up to limit queued actions for a connection.
	PendingActions(ctx context.Context, tenant, connection string, types []string, limit int) ([]OutboxItem, error)
	// CompleteActions records the outcome of delivered actions.
	CompleteActions(ctx context.Context, tenant string, results []OutboxResult) error

	// StartRun and FinishRun record job runs. A run is also the job's
	// lease across hub processes sharing the store: StartRun refuses with
	// ErrRunInProgress while another live process runs the job, and marks
	// the runs of a process that is gone "interrupted". Heartbeat keeps a
	// running run's lease fresh.
	StartRun(ctx context.Context, tenant, job string, at time.Time) (int64, error)
	Heartbeat(ctx context.Context, id int64, at time.Time) error
	FinishRun(ctx context.Context, id int64, r RunResult) error
	// Runs lists the latest runs of a tenant's jobs, newest first.
	Runs(ctx context.Context, tenant string, limit int) ([]Run, error)
	// LastRuns lists the latest run of each of a tenant's jobs ("" for
	// every tenant), by tenant and job.
	LastRuns(ctx context.Context, tenant string) ([]Run, error)

	// SchedulerBeat records that this process runs the scheduler (hub
	// serve), started at started; it is called at the start and then
	// periodically, like a run's Heartbeat. SchedulerStopped ends the
	// record. Schedulers lists the processes running a scheduler at now,
	// oldest first: a process that stopped without saying so (killed) is
	// left out once it is gone, or once it missed its heartbeats.
	SchedulerBeat(ctx context.Context, started, at time.Time) error
	SchedulerStopped(ctx context.Context) error
	Schedulers(ctx context.Context, now time.Time) ([]Scheduler, error)
	// DeadLetters lists dead-lettered records of a tenant, newest first.
	DeadLetters(ctx context.Context, tenant string, limit int) ([]DeadLetter, error)
	// Outbox counts the write-back actions of a tenant ("" for all) by
	// connection and action, in each state.
	Outbox(ctx context.Context, tenant string) ([]OutboxCount, error)
	// OutboxEntries lists a tenant's write-back actions in one state
	// (pending, delivered, failed, refused), most recently updated first.
	OutboxEntries(ctx context.Context, tenant, status string, limit int) ([]OutboxEntry, error)
	// RequeueFailed puts a tenant's failed actions for a connection (of one
	// action type, when action is not "") back in the queue, to be
	// delivered by the next run of a job that writes them; it returns how
	// many. Refused actions stay refused.
	RequeueFailed(ctx context.Context, tenant, connection, action string) (int, error)

	// Explain says why each identifier of a member belongs to it: the
	// records carrying it, the merge journal and the refused merges.
	Explain(ctx context.Context, tenant, memberID string) (*Explanation, error)
	// Conflicts lists a tenant's refused merges and shared identifiers.
	Conflicts(ctx context.Context, tenant string, limit int) (*ConflictReport, error)
	// Unmerge detaches an identifier from a member: the pair is never merged
	// again and the member's component is resolved again without it.
	Unmerge(ctx context.Context, tenant, memberID string, id mapping.Identity, rules *identity.Rules) (*UnmergeResult, error)
	// Erase deletes a member's data (PIPL), keeps a tombstone of salted
	// hashes so later syncs do not bring the person back, and queues the
	// action eraseAction for every connection of the member whose connector
	// supports it (writers lists a connection's write actions). An
	// identifier the shared guard stopped that the member's records
	// carried is weighed again under rules without them.
	Erase(ctx context.Context, tenant, memberID, eraseAction string, writers func(connection string) []string, rules *identity.Rules) (*EraseResult, error)

	// QueueSMS checks every recipient of an SMS send against the tenant's
	// policy (consent, hours, frequency) and queues one ActionSMSSend per
	// allowed recipient for the connection; a refused recipient is recorded
	// with its reason, never dropped silently.
	QueueSMS(ctx context.Context, tenant string, req SMSRequest, policy *campaign.Policy) (*SMSResult, error)
	// SMSReport counts a tenant's SMS sends per campaign, with what the
	// providers' delivery receipts said of them.
	SMSReport(ctx context.Context, tenant string) ([]SMSCampaignReport, error)

	// ConfigPatch returns a connection's stored config patch (rotated tokens).
	ConfigPatch(ctx context.Context, tenant, connection string) ([]byte, error)
	// SaveConfigPatch merges patch into the connection's stored patch.
	SaveConfigPatch(ctx context.Context, tenant, connection string, patch []byte) error
	// ResetConfigPatch deletes the connection's stored patch and returns
	// the names of the fields it held (never their values).
	ResetConfigPatch(ctx context.Context, tenant, connection string) ([]string, error)

	Close() error
}

// StreamState is where one stream of a job stands.
type StreamState struct {
	Tenant string `json:"tenant"`
	Job    string `json:"job"`
	Stream string `json:"stream"`
	// Checkpoint is the last committed cursor; nil before the first one.
	Checkpoint []byte    `json:"checkpoint"`
	Records    int64     `json:"records"`
	Status     string    `json:"status"`
	LastError  string    `json:"last_error,omitempty"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}

// Batch is what ApplyBatch writes.
type Batch struct {
	Tenant, Job, Connection, Stream string
	Records                         []sdk.Record
	// Checkpoint, when not nil, is committed with the records.
	Checkpoint []byte
	// Status is the stream's status after the batch: "" for "running" (a
	// read in progress, "done" when it ends), StatusReceiving for a stream
	// the platform pushes to, which never ends.
	Status string
	// At is the time recorded for first/last seen.
	At time.Time
	// Rules are the tenant's identity rules; nil means the defaults.
	Rules *identity.Rules
	// Prepared is what a store that can prepare batches ahead (see the
	// sync engine) derived from Records; ApplyBatch then skips that work.
	Prepared any
}

// StatusReceiving is the status of a stream of pushed records (webhooks,
// what a write revealed): always open, never done.
const StatusReceiving = "receiving"

// BatchResult counts what ApplyBatch did.
type BatchResult struct {
	// Written records were new or changed; Unchanged were identical to what
	// was stored and cost no further work.
	Written, Unchanged, DeadLettered int
	NewMembers, Merges               int
	// Erased records belong to erased people (a tombstone matched): they
	// were dropped.
	Erased int
	// Receipts were filed with their outbox items; UnknownReceipts matched
	// no item (a message another system sent through the same account).
	Receipts, UnknownReceipts int
}

// MemberView is a unified member as the CLI and export show it.
type MemberView struct {
	MemberID   string            `json:"member_id"`
	Identities []IdentityView    `json:"identities"`
	Profile    Profile           `json:"profile"`
	Tags       []string          `json:"tags,omitempty"`
	Sources    []SourceRef       `json:"sources"`
	Aliases    []string          `json:"aliases,omitempty"`
	Orders     int               `json:"orders,omitempty"`
	Points     int64             `json:"points_balance,omitempty"`
	Consents   []mapping.Consent `json:"consents,omitempty"`
}

// IdentityView is an identity as shown outside the hub: phones as their
// salted hash, never in clear.
type IdentityView struct {
	Type  string `json:"type"`
	Scope string `json:"scope"`
	Value string `json:"value"`
}

// Profile is the unified profile: for each field, the newest non-empty value
// across the member's sources.
type Profile struct {
	Name       string `json:"name,omitempty"`
	Gender     string `json:"gender,omitempty"`
	Birthday   string `json:"birthday,omitempty"`
	City       string `json:"city,omitempty"`
	Province   string `json:"province,omitempty"`
	Country    string `json:"country,omitempty"`
	Level      string `json:"level,omitempty"`
	Subscribed bool   `json:"subscribed"`
}

// SourceRef names one platform record merged into a member.
type SourceRef struct {
	Connection string `json:"connection"`
	RecordID   string `json:"record_id"`
}

// Stats counts a tenant's data.
type Stats struct {
	Members, Sources, Identities, Orders, Merges int64
	// Conflicts are refused merges; Shared are identifiers the shared
	// guard stopped; Erased are erased members.
	Conflicts, Shared, Erased int64
	// Links are the (record, identifier) pairs of the evidence graph.
	Links int64
	// PointsEntries are the lines of the members' points ledgers.
	PointsEntries                                int64
	OutboxPending, OutboxDelivered, OutboxFailed int64
	DeadLetters                                  int64
}

// OutboxItem is one queued write-back action.
type OutboxItem struct {
	ID         int64
	Connection string
	MemberID   string
	Action     sdk.Action
	Attempts   int
}

// OutboxResult is the outcome of delivering an OutboxItem.
type OutboxResult struct {
	ID     int64
	Status sdk.ActionStatus
	// Retry keeps a failed action queued for another attempt.
	Retry bool
	Error string
	// PlatformRef is the platform's id for what was done; a later receipt
	// may name the action by it.
	PlatformRef string
}

// RunResult is how a run ended.
type RunResult struct {
	// At is when the run finished.
	At      time.Time `json:"finished_at,omitzero"`
	Status  string    `json:"status"` // ok, failed, deferred, cancelled
	Records int64     `json:"records"`
	Error   string    `json:"error,omitempty"`
}

// Run is one recorded job run.
type Run struct {
	ID        int64     `json:"id"`
	Tenant    string    `json:"tenant"`
	Job       string    `json:"job"`
	StartedAt time.Time `json:"started_at"`
	RunResult
}

// Scheduler is a hub process running the scheduler.
type Scheduler struct {
	// Process is host/pid.
	Process     string    `json:"process"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
}

// OutboxCount is how many write-back actions of one type a connection has
// waiting, delivered, failed for good, and refused (by the hub's policy
// before sending, or by the platform).
type OutboxCount struct {
	Tenant     string `json:"tenant"`
	Connection string `json:"connection"`
	Action     string `json:"action"`
	Pending    int64  `json:"pending"`
	Delivered  int64  `json:"delivered"`
	Failed     int64  `json:"failed"`
	Refused    int64  `json:"refused"`
}

// OutboxEntry is one write-back action as the outbox holds it.
type OutboxEntry struct {
	ID         int64     `json:"id"`
	Connection string    `json:"connection"`
	Action     string    `json:"action"`
	MemberID   string    `json:"member_id"`
	Status     string    `json:"status"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// DeadLetter is a record that could not be applied. The same row failing
// again for the same reason at the same location is one dead letter seen
// once more, not another one.
type DeadLetter struct {
	ID         int64  `json:"-"`
	Job        string `json:"job"`
	Connection string `json:"connection"`
	Stream     string `json:"stream"`
	RecordID   string `json:"record_id"`
	Reason     string `json:"reason"`
	Location   string `json:"location"`
	// Raw is the record as the connector sent it, which may hold phones:
	// the store keeps it sealed and opens it here. It is never encoded.
	Raw []byte `json:"-"`
	// Times is how many times the record failed; FirstSeen and LastSeen
	// are when it first and last did.
	Times     int       `json:"times"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Explanation is why a member is what it is.
type Explanation struct {
	MemberID    string                `json:"member_id"`
	Aliases     []string              `json:"aliases,omitempty"`
	Identifiers []ExplainedIdentifier `json:"identifiers"`
	Journal     []JournalEntry        `json:"journal"`
	Conflicts   []Conflict            `json:"conflicts"`
}

// ExplainedIdentifier is one identifier of a member with the records that
// carry it.
type ExplainedIdentifier struct {
	Identity IdentityView `json:"identity"`
	// Shared says the shared guard stopped it from linking.
	Shared  bool              `json:"shared,omitempty"`
	Records []ExplainedRecord `json:"records"`
}

// ExplainedRecord is a record carrying an identifier, with the other
// identifiers on it: the evidence that they are one person.
type ExplainedRecord struct {
	Connection string         `json:"connection"`
	Stream     string         `json:"stream"`
	RecordID   string         `json:"record_id"`
	With       []IdentityView `json:"with"`
}

// JournalEntry is one identity event.
type JournalEntry struct {
	At         time.Time     `json:"at"`
	Kind       string        `json:"kind"` // merge, split, refused, shared, unmerge, erased
	MemberID   string        `json:"member_id,omitempty"`
	OtherID    string        `json:"other_id,omitempty"`
	Identity   *IdentityView `json:"identity,omitempty"`
	Connection string        `json:"connection,omitempty"`
	Stream     string        `json:"stream,omitempty"`
	RecordID   string        `json:"record_id,omitempty"`
	Rule       string        `json:"rule,omitempty"`
	Detail     string        `json:"detail,omitempty"`
}

// Conflict is a refused merge as it stands.
type Conflict struct {
	Connection string       `json:"connection"`
	Stream     string       `json:"stream"`
	RecordID   string       `json:"record_id"`
	Identity   IdentityView `json:"identity"`
	MemberID   string       `json:"member_id"`
	OtherID    string       `json:"other_id"`
	Rule       string       `json:"rule"`
	Since      time.Time    `json:"since"`
}

// SharedIdentifier is an identifier the shared guard stopped from linking.
type SharedIdentifier struct {
	Identity IdentityView `json:"identity"`
	Members  int          `json:"members"`
	Since    time.Time    `json:"since"`
}

// ConflictReport lists what the identity rules refused.
type ConflictReport struct {
	Conflicts []Conflict         `json:"conflicts"`
	Shared    []SharedIdentifier `json:"shared"`
}

// UnmergeResult says where a member's records went.
type UnmergeResult struct {
	MemberID string `json:"member_id"`
	// Members now holding the records the member held before.
	Members []string `json:"members"`
}

// EraseResult counts what an erasure removed.
type EraseResult struct {
	MemberID string `json:"member_id"`
	Records  int    `json:"records"`
	Orders   int    `json:"orders"`
	Points   int    `json:"points"`
	// DeadLetters are the dead letters of the member's records.
	DeadLetters int      `json:"dead_letters"`
	Tombstones  int      `json:"tombstones"`
	Queued      []string `json:"queued,omitempty"` // connections asked to erase
}

// ActionSMSSend is the write-back action of an SMS to one member. Its
// target, resolved when it is delivered, is the member's phone in clear: the
// only member data the SMS plugin sees.
const ActionSMSSend = "sms.send"

// SMSRequest is one SMS send (a campaign or a notification).
type SMSRequest struct {
	// Connection is the SMS connection that sends.
	Connection string
	// Template is the provider's template code (declared in the policy);
	// Params its variables.
	Template string
	Params   map[string]string
	// Recipients: the given members, or every member with Tag, or All.
	Members []string
	Tag     string
	All     bool
	// At is the time the checks use.
	At time.Time
}

// SMSResult says what a send queued and refused.
type SMSResult struct {
	Campaign string       `json:"campaign"`
	Queued   int          `json:"queued"`
	Refused  []SMSRefusal `json:"refused"`
}

// SMSCampaignReport is where one campaign's messages stand.
type SMSCampaignReport struct {
	Campaign   string `json:"campaign"`
	Connection string `json:"connection"`
	Template   string `json:"template"`
	// By outbox status: waiting for a write run, refused by the policy or
	// the provider, accepted by the provider, failed.
	Queued  int `json:"queued"`
	Refused int `json:"refused"`
	Sent    int `json:"sent"`
	Failed  int `json:"failed"`
	// Of the sent: the receipt said it reached the handset, said it did not
	// (counted by the provider's code), or has not come yet.
	Delivered   int            `json:"delivered"`
	Undelivered map[string]int `json:"undelivered"`
	NoReceipt   int            `json:"no_receipt"`
}

// SMSRefusal is a recipient the policy refused, with why.
type SMSRefusal struct {
	MemberID string `json:"member_id"`
	Reason   string `json:"reason"`
}

// OrderView is an order as the CLI exports it: the canonical order (buyer
// phones as their salted hash) with the member it belongs to.
type OrderView struct {
	MemberID   string `json:"member_id"`
	Connection string `json:"connection"`
	mapping.Order
}
