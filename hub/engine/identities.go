package engine

import (
	"maps"
	"slices"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/sdk"
)

// maxIdentityWarnings is how many dropped identities one read or callback
// logs one by one; the rest are counted in its summary.
const maxIdentityWarnings = 10

// identityWarnings reports the identities the store drops from the records
// of one read (or one callback) because they are malformed: a type the hub
// does not know, a scoped type without its scope, an empty value. The record
// itself is kept and stored — it carries its data and maybe other identities,
// and a bad record (Record.Bad) is what goes to the dead-letter table — but
// a dropped identity joins nothing, so it must not go unnoticed: the first
// few are logged one by one (warn: connection, stream, record id, identity
// type and the problem, never the value) and summary logs the count.
// Identities the tenant's rules block (placeholder phones) are dropped by
// policy, not reported.
type identityWarnings struct {
	log     zerolog.Logger
	dropped int
	byType  map[string]int
}

func (e *Engine) identityWarnings(tenant, connection, stream string) *identityWarnings {
	return &identityWarnings{
		log:    e.log.With().Str("tenant", tenant).Str("connection", connection).Str("stream", stream).Logger(),
		byType: map[string]int{},
	}
}

// check looks at the identities of records.
func (w *identityWarnings) check(records []sdk.Record) {
	for _, r := range records {
		for _, id := range r.Identities() {
			err := id.Validate()
			if err == nil {
				continue
			}
			w.dropped++
			w.byType[string(id.Type)]++
			if w.dropped <= maxIdentityWarnings {
				// Validate's message names the type and scope, never the value.
				w.log.Warn().Str("record", r.ID).Str("identity_type", string(id.Type)).Str("problem", err.Error()).
					Msg("malformed identity dropped: the record is kept but this identity joins nothing; fix the connector")
			}
		}
	}
}

// summary logs how many identities were dropped, if any.
func (w *identityWarnings) summary() {
	if w.dropped == 0 {
		return
	}
	d := zerolog.Dict()
	for _, t := range slices.Sorted(maps.Keys(w.byType)) {
		d = d.Int(t, w.byType[t])
	}
	w.log.Warn().Int("dropped", w.dropped).Dict("by_type", d).Msg("malformed identities dropped from this read's records")
}
