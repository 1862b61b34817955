// Package sandbox is a local emulator of the Douyin Shop (抖店) open
// platform gateway: an http.Handler that answers the API paths the Douyin
// connector calls as the platform does, for tests and the demo.
//
// What it emulates (facts from shared/platforms/commerce.md §2):
//
//   - the gateway: path per method (/order/searchList), system parameters in
//     the query, param_json as the body; app_key, v, timestamp (Unix seconds
//     or GMT+8 wall clock, ±10 minutes), sign over the raw body bytes with md5
//     or hmac-sha256 (doudian.Sign), access_token; platform error codes and
//     sub_codes in the code/msg/sub_code/sub_msg/log_id envelope;
//   - tokens: token.create (authorization_self for the configured shop, or an
//     authorization code from AuthorizationCode), token.refresh rotating the
//     refresh token, expiry after the configured lifetimes;
//   - orders: order.searchList by create or update window with the platform's
//     limits (page from 0, size ≤ 100, starts within 90 days, at most 50,000
//     rows reachable per query) and order.orderDetail, over a seeded set of
//     orders in every status whose updates move (Advance, which moves the
//     clock; Step, which moves orders at the current time; TouchOrder);
//   - members (会员通): member.batchUpdate and
//     member.batchGetUnionIdByOpenIdList over the seeded shop members, with a
//     shop-scoped open_id and a brand-scoped union_id per person;
//   - push: signed order messages (event-sign) and member join/leave SPI
//     requests built for a target URL (PushRequest, MemberSPIRequest);
//   - trouble: a QPS limit answering code 60000, and injected faults (5xx,
//     delay, malformed body, any error code) through InjectFault or
//     POST /sandbox/faults.
//
// People come from sandboxdata.Persons (those on "douyin"), so one person's
// Douyin identities line up with their records on the other sandboxes.
// ForHub builds a sandbox with a ready douyin connection config for the hub's
// sandbox registry.
//
// Differences from the platform, on purpose or for want of facts: the
// implicit create_time_start of now−90 days is not applied (generated orders
// are younger than 90 days when the server starts); the sub_codes for a
// malformed request, an unknown order id and an unknown app_id are not
// documented and are the sandbox's own; order.searchList answers a page in
// time proportional to the page when it is ordered by the window's own time
// (update window ordered by update_time, or create window by create_time) and
// has no status filter, and in time proportional to the matching orders
// otherwise.
package sandbox
