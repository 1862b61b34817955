// Package sandbox is a local emulator of the Taobao Open Platform (TOP)
// router for the APIs the Taobao connector calls: an http.Handler that
// answers as the platform does, for tests and the demo.
//
// What it emulates (facts from shared/platforms/commerce.md §1):
//
//   - the router: one URL, method parameter, query and form fields merged;
//     app_key, v=2.0, timestamp in GMT+8 within ±10 minutes, sign over every
//     parameter but sign with md5, hmac or hmac-sha256 in upper-case hex
//     (top.Sign), session for the authorized APIs; answers flat
//     (simplify=true) or wrapped in <name>_response, errors as error_response
//     with the platform's codes (7, 15, 21–34, 40, 41) and HTTP 200;
//   - trades: taobao.trades.sold.get (by created, descending, 3 months),
//     taobao.trades.sold.increment.get (by modified, descending, span ≤ 1
//     day, both ends inclusive), taobao.trade.fullinfo.get, over seeded
//     trades in every status; Step moves trades along at the current time
//     and publishes their TMC messages;
//   - CRM: taobao.crm.members.get and .increment.get over the shop's members
//     (ouid per shop, omid per brand for 会员通 members, open_uid per app);
//     TouchMembers changes some;
//   - 会员通: tmall.mei.crm.member.sync sets points and level by mobile;
//     SPI calls (bind.query, bind, register) signed as Tmall signs them
//     (MemberSPIRequest);
//   - TMC: taobao.tmc.messages.consume / .confirm over one queue; consumed
//     messages not confirmed within Config.Redeliver are delivered again;
//     PublishPointChange adds tmall_mei_PointChange messages;
//   - sessions: expiry (ExpireSession) answering 27 invalid-sessionkey, and
//     taobao.top.auth.token.refresh rotating session and refresh token;
//   - trouble: a QPS limit and Ban answering code 7 accesscontrol.* with
//     "This ban will last for N more seconds", and injected faults (5xx,
//     delay, malformed body, any error) through InjectFault or
//     POST /sandbox/faults.
//
// People come from sandboxdata.Persons (those on "taobao"), so a person's
// Taobao identities belong to the same person as on the other sandboxes.
// ForHub builds a sandbox with a ready connection config for the hub.
//
// Differences from the platform, on purpose or for want of facts: the fields
// parameter is required but does not trim the answer; one TMC queue serves
// every group_name; sub_codes for an unknown trade or member are the
// sandbox's own; the SPI reply format and the tmall_mei_PointChange payload
// follow the choices documented in package top.
package sandbox
