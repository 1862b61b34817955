// Package identity decides which records are one person (One ID).
//
// Every record that carries two or more identifiers is evidence that they
// belong to one person. Identifiers are matched as Keys: scoped types
// (openid per app, external_userid per corp, ouid per shop…) only within
// their scope, phones by the tenant's salted hash of their E.164 form, never
// in clear.
//
// The package is pure: Rules.Key turns an identity into its matching key (or
// drops it as blocked), Rules.Partition groups records into members under the
// tenant's priorities, limits and never-merge pairs, and Rules.Shared counts
// what the shared-identifier guard needs. The store feeds it the records of
// the graph components a batch touches and writes back what changed, so the
// cost of a batch follows the batch, not the whole graph.
package identity
