package mapping

import "time"

// Member is a person's profile as one platform record reports it. The hub
// merges the Member records of every channel into one unified member (One ID);
// a Member here is one such source record.
type Member struct {
	// Identities are every identifier this record carries. A record with two or
	// more is evidence that they belong to one person.
	Identities []Identity `json:"identities"`
	Name       string     `json:"name,omitempty"`
	Gender     Gender     `json:"gender,omitempty"`
	// Birthday is a date (YYYY-MM-DD); empty when unknown.
	Birthday string `json:"birthday,omitempty"`
	City     string `json:"city,omitempty"`
	Province string `json:"province,omitempty"`
	Country  string `json:"country,omitempty"`
	// Level is the member level (grade) the platform reports.
	Level string `json:"level,omitempty"`
	// Points is the balance the platform reports; the hub's own balance is the
	// sum of the points ledger.
	Points int64 `json:"points,omitempty"`
	// Tags are the platform's tags on this member, by name.
	Tags     []Tag     `json:"tags,omitempty"`
	Consents []Consent `json:"consents,omitempty"`
	// Subscribed is false when the member has left the channel (unfollowed).
	Subscribed   bool      `json:"subscribed"`
	SubscribedAt time.Time `json:"subscribed_at,omitzero"`
	// Attributes are platform fields without a canonical home (remark, scene…).
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Tag is a label on a member. Source names where it was set: a connection id,
// or "hub" for tags set in the hub.
type Tag struct {
	Name   string `json:"name"`
	Group  string `json:"group,omitempty"`
	Source string `json:"source,omitempty"`
}

// ConsentChannel is the channel a consent applies to.
type ConsentChannel string

// Consent channels.
const (
	ConsentSMS    ConsentChannel = "sms"
	ConsentWechat ConsentChannel = "wechat"
	ConsentEmail  ConsentChannel = "email"
)

// Consent records a member's marketing opt-in or opt-out on one channel, with
// where and when it was given.
type Consent struct {
	Channel ConsentChannel `json:"channel"`
	OptIn   bool           `json:"opt_in"`
	Source  string         `json:"source,omitempty"`
	At      time.Time      `json:"at"`
}

// LifecycleStage is where a member stands, computed from orders.
type LifecycleStage string

// Lifecycle stages.
const (
	StageIntroduction LifecycleStage = "introduction"
	StageGrowth       LifecycleStage = "growth"
	StageMature       LifecycleStage = "mature"
	StageDormant      LifecycleStage = "dormant"
	StageChurned      LifecycleStage = "churned"
)

// PointsKind classifies a points ledger entry.
type PointsKind string

// Points entry kinds.
const (
	PointsEarn     PointsKind = "earn"
	PointsRedeem   PointsKind = "redeem"
	PointsExpire   PointsKind = "expire"
	PointsClawback PointsKind = "clawback"
	PointsAdjust   PointsKind = "adjust"
)

// PointsEntry is one line of a member's points ledger. Balances are rebuilt by
// summing entries, never kept only as a number.
type PointsEntry struct {
	// EntryID is unique within the source connection (platform change id).
	EntryID string `json:"entry_id"`
	// Member names the member by one of its identities on the platform.
	Member     Identity   `json:"member"`
	Kind       PointsKind `json:"kind"`
	Delta      int64      `json:"delta"`
	Reason     string     `json:"reason,omitempty"`
	OrderID    string     `json:"order_id,omitempty"`
	OccurredAt time.Time  `json:"occurred_at"`
}

// LevelChange records a member's level moving on a platform.
type LevelChange struct {
	Member     Identity  `json:"member"`
	From       string    `json:"from,omitempty"`
	To         string    `json:"to"`
	OccurredAt time.Time `json:"occurred_at"`
}
