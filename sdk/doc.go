// Package sdk is what a channelhub connector author imports: the Connector
// interface, Serve, classed errors, config specs, the host services, and the
// hub side of the plugin protocol.
//
// # A connector in four parts
//
// A connector is a Go package with a Spec, a constructor and a type that
// implements Connector; its plugin is a separate binary whose main is one
// line:
//
//	package main
//
//	func main() { sdk.Serve(mycrm.Plugin) } // Plugin = sdk.Plugin{Spec: Spec, New: New}
//
// Serve owns the process: the go-plugin handshake and AutoMTLS, raised gRPC
// message limits, a stdout guard (a library that prints to stdout while the
// plugin serves cannot break the handshake), JSON logs on stderr that the hub
// forwards into its own log, panic recovery (a panic becomes a permanent
// error, not a dead plugin), and exit when the hub that started the plugin is
// gone. Authors never import go-plugin or the generated protocol types.
//
// The stdout guard starts inside Serve: anything printed to stdout before
// (in main, or in a package's init) reaches the hub first and breaks the
// handshake. The hub then refuses the plugin with a permanent error that
// quotes the line, and does not retry it. Log to stderr, or through the
// Host's logger, and keep main to the one call.
//
// The hub starts a plugin with none of its own environment except the
// variables that reaching a platform needs: HTTP_PROXY, HTTPS_PROXY,
// NO_PROXY (and their lower-case forms), SSL_CERT_FILE, SSL_CERT_DIR and TZ.
// Everything else comes through the connection's config.
//
// # The spec is data
//
// Spec lists the streams Read serves (with their kind — members, orders,
// points — cursor kind and whether incremental reads work), the write actions
// Write applies, the config fields (type, default, example, enum, and Secret
// for credentials: a secret never prints, and the hub encrypts it at rest),
// and the platform's default rate limits. The spec travels to the hub's plugin
// catalog (run a plugin binary with SpecFlag to see it), so the hub validates
// a connection's config and prints its docs without starting the plugin.
// Spec.ParseConfig returns every problem at once, each naming its field.
//
// # Check, Read, Close
//
// New gets a validated Config and a *Host and returns the Connector; keep it
// cheap — no network. Check verifies credentials with the platform and
// returns a classed error naming what to fix. Read emits one stream's records
// through the Emitter:
//
//   - Emit one Record per platform record, with the platform's ID, once per
//     read: one Read call that is not interrupted returns each record at most
//     once (the kit fails a full read that returns one twice).
//   - Call Checkpoint only at a safe boundary: every record before it has been
//     emitted. The hub commits the records and the checkpoint in one
//     transaction and passes the last committed checkpoint back in
//     ReadRequest.Checkpoint after a crash or a retry; always resume from it
//     when it is set, whatever the Mode. A resumed read must lose nothing and
//     may repeat the records of the window that ended at the checkpoint (an
//     inclusive time bound, say), never older ones: repeats across a resume
//     are harmless, since the hub upserts by ID, but starting over is not
//     resuming.
//   - Give each record only identities that mapping.Identity.Validate
//     accepts: known types, with their scope. The hub keeps a record with a
//     malformed identity but drops that identity from its identity graph
//     (and logs it), so it joins nothing; the kit fails such a record. To be
//     written back to, a member must carry the platform's own id as an
//     identity (see Action).
//   - A record that cannot be mapped is emitted as Record{Bad: …}: it goes to
//     the dead-letter table with its reason and the run goes on.
//   - A platform's later report on an action the hub delivered (an SMS
//     delivery report) is emitted as Record{Receipt: …} on a stream of kind
//     KindReceipts: the hub files it with the action's outbox item, found by
//     the action key or by the PlatformRef the action's result returned.
//   - Return promptly with ctx.Err() when ctx is cancelled.
//
// # Errors and what the hub does with them
//
// Return the constructors' errors, wrapped as you like (errors.Is works on
// both sides of the wire):
//
//   - ThrottledError (with the platform's wait): the hub waits, then resumes
//     from the last checkpoint. Counts toward the circuit breaker.
//   - UnavailableError (network, 5xx, timeouts, malformed answers): the hub
//     retries with backoff from the last checkpoint. Counts toward the breaker.
//   - AuthError: credentials are wrong or expired beyond refresh; the run fails
//     and the user is told. Never counts toward the breaker.
//   - ConfigError: a config field is wrong; Field names it.
//   - PermanentError: retrying will not help.
//
// Do not sleep and retry inside Read: the hub owns retries, backoff and
// breakers, and retries on both sides multiply.
//
// # Host services
//
// Host.Token returns a token from the hub's credentials cache, which every
// plugin process of the hub shares, calling the given fetch function under a
// lease so that only one process fetches at a time (a WeChat app has one
// valid token: two processes fetching their own log each other out).
// Host.InvalidateToken drops a token the platform rejected. Host.Wait blocks
// under the shared rate budget of the connection. Host.UpdateConfig persists
// what the platform rotated (a refresh token) before you use it: only config
// fields the Spec declares (mark them Secret), or the hub refuses the patch;
// the hub stores patches encrypted. Host.LookupMember asks whether a member
// of the tenant holds an identifier (a phone in clear is hashed by the hub),
// for a platform that asks the brand synchronously, such as Tmall's
// bind.query: the answer names no member and no other identifier, and
// carries the points balance and level only when a record of this
// connection carries the identifier (with the sameRecord ones given). Host.Log is a logger tagged with the
// connector, tenant and connection; Host.Now the clock. Every Host method is
// safe on a nil *Host.
//
// # Optional abilities
//
// Implement Writer to apply write-back actions (each with an idempotency key:
// an action retried with the same key is applied once on the platform; the
// action names, their params and what Target holds are listed on Action),
// and
// WebhookHandler to take platform callbacks (verify the signature before
// parsing the body any further). Advertise them in the Spec (Actions,
// Webhook). An ActionResult carries the platform's id for what was done
// (PlatformRef, which later Receipts may name) and, when acting revealed
// the recipient's consent (a send refused because they unsubscribed), that
// Consent: the hub records it on the member.
//
// # Proving a connector
//
// Run the acceptance kit, sdk/conformance, from the connector's tests against
// its sandbox: it checks the spec (and that the connector implements what it
// advertises), Check with good and bad credentials, full reads (complete,
// each record once, identities valid), resuming from checkpoints,
// incremental reads, throttling waited out, cancellation and idempotent
// writes — each directly and over an in-memory gRPC connection
// (NewTestRemote), one after the other against the same sandbox. What its
// harness leaves out (Seeded, Mutate, VerifyWrite…) goes unchecked, and the
// test log says so.
package sdk
