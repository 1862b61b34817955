// Package top is a small client for the Taobao Open Platform (TOP, 淘宝开放平台)
// router, shared by the Taobao connector and its sandbox so that both sign,
// format and parse the same way.
//
// It covers what the connector needs and no more:
//
//   - request signing ([Sign], [SignString]): every parameter but sign, sorted
//     by name, name+value concatenated; md5 = secret+str+secret, hmac
//     (HMAC-MD5) and hmac-sha256 keyed with the secret; upper-case hex;
//   - the system parameters, GMT+8 timestamps ([FormatTime]) and the form
//     POST ([Client.Call]);
//   - the response envelope (flat with simplify=true, or wrapped in
//     <name>_response) and error_response as classed [APIError] values
//     ([IsThrottled] with [BanWait], [IsSessionExpired], [IsAuthInvalid],
//     [IsUnavailable]);
//   - trades (taobao.trades.sold.get, taobao.trades.sold.increment.get,
//     taobao.trade.fullinfo.get), CRM members (taobao.crm.members.get,
//     taobao.crm.members.increment.get), TMC pull (taobao.tmc.messages.consume
//     and .confirm), 会员通 write-back (tmall.mei.crm.member.sync) and token
//     refresh (taobao.top.auth.token.refresh);
//   - the Tmall brand-membership SPI: requests Tmall sends to the brand
//     ([ParseSPI], [SPIRequest.Verify], [NewSPIRequest]) and their replies
//     ([SPIReply]).
//
// The package keeps no global mutable state, reads the clock only through
// [Config.Now], never logs, and never puts the session (access token) or the
// secret into an error. Amounts stay decimal yuan strings as the platform
// sends them; convert them with mapping.ParseYuan, never through a float.
//
// Facts follow shared/platforms/commerce.md §1; where the sheet marks a fact
// uncertain, the doc comment here says so.
package top
