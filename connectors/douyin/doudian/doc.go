// Package doudian is a small client for the Douyin Shop (抖店) open platform
// gateway, shared by the Douyin connector and its sandbox so that both sign,
// canonicalise and parse the same way.
//
// It covers what the connector needs and no more:
//
//   - request signing: param_json in canonical form ([CanonicalJSON]) and the
//     gateway signature ([Sign]) with md5 or hmac-sha256;
//   - the response envelope and classed platform errors ([APIError],
//     [HTTPError], [IsThrottled], [IsAuthExpired], [IsAuthInvalid],
//     [IsUnavailable]);
//   - tokens: token.create and token.refresh, which rotates the refresh token
//     ([Client.CreateToken], [Client.RefreshToken]);
//   - orders: order.searchList by update-time window with the platform's paging
//     limits ([Client.OrderSearchList], [SplitWindow]) and order.orderDetail;
//   - membership: member.batchUpdate and member.batchGetUnionIdByOpenIdList;
//   - push: the message envelope and its event-sign header ([VerifyEventSign],
//     [ParsePush]), and SPI requests from the platform with their replies
//     ([ParseSPIRequest], [MemberSPIReply]).
//
// The package keeps no global state, reads the clock only through
// [Config.Now], and never logs; access tokens are scrubbed from the errors it
// returns. Amounts are integer fen ([mapping.Fen]) and times Unix seconds, as
// the platform sends them.
//
// Facts follow shared/platforms/commerce.md §2; where the sheet marks a fact
// uncertain, the doc comment here says so.
package doudian
