// Package ark is a small client for the Xiaohongshu (小红书) open platform
// gateway, "ark", shared by the Xiaohongshu connector and its sandbox so that
// both sign, build and parse requests the same way.
//
// Every API, OAuth included, is one POST of a JSON object to a single URL
// ([EndpointPath] under [DefaultBaseURL]); the object carries the system
// parameters appId, timestamp, version, method, sign and (for merchant APIs)
// accessToken next to the business parameters. The package covers what the
// connector needs:
//
//   - request signing ([Sign]): lower-hex md5 of
//     method?appId=…&timestamp=…&version=… followed by the app secret;
//   - the response envelope and typed platform errors ([APIError],
//     [HTTPError], [IsThrottled], [IsAuthExpired], [IsAuthInvalid],
//     [IsUnavailable]);
//   - tokens: oauth.getAccessToken and oauth.refreshToken, which rotates the
//     pair near expiry ([Client.GetAccessToken], [Client.RefreshToken],
//     [Token.NeedsRefresh]);
//   - orders: order.getOrderList with the platform's window and paging limits
//     checked before sending ([OrderListRequest.Validate], [SplitWindow],
//     [Client.ScanOrders]) and order.getOrderDetail, amounts in fen as
//     [mapping.Fen];
//   - push: the webhook envelope, its sign header ([VerifyPushSign],
//     [ParsePush]) and the order status-change payload.
//
// Xiaohongshu has no member (CRM) API: the open-platform catalogue has no
// member category, so a Xiaohongshu connector reads orders only, and the only
// buyer identifier it gets is the order detail's userId (stored as
// mapping.IDXHSOpenID scoped to the shop). Receiver name, phone and address
// are not returned with orders; they come encrypted from
// order.getOrderReceiverInfo and decrypting them is scene-restricted, so the
// connector yields no phone identity.
//
// The package keeps no global state, reads the clock only through
// [Config.Now], and never logs. Access tokens travel in the request body, so
// they never appear in URLs or in the errors returned here.
//
// Facts follow shared/platforms/commerce.md §3. Where the sheet marks a fact
// as unconfirmed (the throttling and token-expiry error codes above all), the
// doc comment here says so and names the choice made.
package ark
