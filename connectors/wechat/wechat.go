// Package wechat is the WeChat Official Account (公众号) connector: it reads
// followers — openid, unionid, tags, subscription — and writes tag changes
// back. Facts it follows: shared/platforms/wechat.md §2.
package wechat

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/user"
	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/connectors/wechat/wxapi"
	"github.com/channelhub/channelhub/connectors/wechat/wxcrypt"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Plugin is what plugins/wechat serves.
var Plugin = sdk.Plugin{Spec: Spec, New: New}

// Connector reads and writes one official account.
type Connector struct {
	c              *wxapi.Client
	host           *sdk.Host
	appID          string
	openPlatformID string
	lang           string
	token          sdk.Secret       // push signature token; empty: no pushes
	crypt          *wxcrypt.Crypter // safe/compatible mode; nil without encoding_aes_key
}

var (
	_ sdk.Connector      = (*Connector)(nil)
	_ sdk.Writer         = (*Connector)(nil)
	_ sdk.WebhookHandler = (*Connector)(nil)
)

// New builds a connector from a validated config.
func New(_ context.Context, cfg sdk.Config, host *sdk.Host) (sdk.Connector, error) {
	c, err := newClient(cfg, host)
	if err != nil {
		return nil, err
	}
	k := &Connector{c: c, host: host, appID: cfg.String(FieldAppID), openPlatformID: cfg.String(FieldOpenPlatformID), lang: cfg.String(FieldLang),
		token: cfg.Secret(FieldToken)}
	if key := cfg.Secret(FieldEncodingAESKey).Reveal(); key != "" {
		if k.token.Reveal() == "" {
			return nil, sdk.ConfigError(FieldToken, "is needed with encoding_aes_key")
		}
		if k.crypt, err = wxcrypt.New(k.token.Reveal(), key, k.appID); err != nil {
			return nil, &sdk.Error{Class: sdk.ClassInvalidConfig, Field: FieldEncodingAESKey, Message: "unusable push settings", Err: err}
		}
	}
	return k, nil
}

// Check fetches a token straight from the platform, so wrong credentials
// show even when a good token is cached.
func (k *Connector) Check(ctx context.Context) error {
	_, err := k.c.FetchToken(ctx)
	return err
}

// Close implements sdk.Connector.
func (k *Connector) Close(context.Context) error {
	k.c.CloseIdleConnections()
	return nil
}

// cursor is the followers checkpoint: the next_openid a page was fetched
// with, and how many of that page's openids are done. The follower list is
// in follow order, so a cursor past the last page is where new followers
// will appear: an incremental read starts there.
type cursor struct {
	Page   string `json:"page"`
	Offset int    `json:"offset"`
}

// Batch sizes: batchget takes at most 100 openids; a checkpoint every
// checkpointEvery followers bounds what a crash re-reads.
const (
	batchGetMax     = 100
	checkpointEvery = 1000
)

// Read implements sdk.Connector.
func (k *Connector) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	if req.Stream != StreamFollowers {
		return sdk.ConfigError("stream", "wechat has no stream %q", req.Stream)
	}
	var cur cursor
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cur); err != nil {
			return sdk.PermanentError("", "followers checkpoint is unreadable (%v): reset the stream", err)
		}
	}
	tags, err := k.tagNames(ctx)
	if err != nil {
		return err
	}
	var done int64
	for {
		var page user.OpenidList
		q := url.Values{}
		if cur.Page != "" {
			q.Set("next_openid", cur.Page)
		}
		if err := k.c.Call(ctx, "user.get", http.MethodGet, "/cgi-bin/user/get", q, nil, &page); err != nil {
			return err
		}
		ids := page.Data.OpenIDs
		if page.Count == 0 || len(ids) == 0 {
			return nil
		}
		offset := min(cur.Offset, len(ids))
		sinceCheckpoint := 0
		for i := offset; i < len(ids); i += batchGetMax {
			chunk := ids[i:min(i+batchGetMax, len(ids))]
			if err := k.emitUsers(ctx, chunk, tags, out); err != nil {
				return err
			}
			done += int64(len(chunk))
			sinceCheckpoint += len(chunk)
			end := i + len(chunk)
			switch {
			case end == len(ids) && page.NextOpenID != "":
				if err := k.checkpoint(ctx, out, cursor{Page: page.NextOpenID}); err != nil {
					return err
				}
			case sinceCheckpoint >= checkpointEvery:
				if err := k.checkpoint(ctx, out, cursor{Page: cur.Page, Offset: end}); err != nil {
					return err
				}
				sinceCheckpoint = 0
			}
		}
		if err := out.Progress(ctx, done, int64(page.Total)); err != nil {
			return err
		}
		if page.NextOpenID == "" {
			return nil
		}
		cur = cursor{Page: page.NextOpenID}
	}
}

func (k *Connector) checkpoint(ctx context.Context, out sdk.Emitter, c cursor) error {
	b, _ := json.Marshal(c)
	return out.Checkpoint(ctx, b)
}

// emitUsers fetches user info for up to 100 openids and emits them.
func (k *Connector) emitUsers(ctx context.Context, openids []string, tags map[int32]string, out sdk.Emitter) error {
	params := user.BatchGetUserInfoParams{UserList: make([]user.BatchGetUserListItem, len(openids))}
	for i, id := range openids {
		params.UserList[i] = user.BatchGetUserListItem{OpenID: id, Lang: k.lang}
	}
	var res infoList
	if err := k.c.Call(ctx, "user.info.batchget", http.MethodPost, "/cgi-bin/user/info/batchget", nil, params, &res); err != nil {
		return err
	}
	for _, u := range res.UserInfoList {
		if err := out.Emit(ctx, k.userRecord(u, tags, "user/info/batchget")); err != nil {
			return err
		}
	}
	return nil
}

// userInfo is a user info object (fact sheet §2.4). silenceper's type for
// it is unexported, so this one mirrors the fields mapped.
type userInfo struct {
	Subscribe      int32   `json:"subscribe"`
	OpenID         string  `json:"openid"`
	Sex            int32   `json:"sex"`
	City           string  `json:"city"`
	Country        string  `json:"country"`
	Province       string  `json:"province"`
	Language       string  `json:"language"`
	SubscribeTime  int32   `json:"subscribe_time"`
	UnionID        string  `json:"unionid"`
	Remark         string  `json:"remark"`
	TagIDList      []int32 `json:"tagid_list"`
	SubscribeScene string  `json:"subscribe_scene"`
	QrSceneStr     string  `json:"qr_scene_str"`
}

// infoList is the answer of /cgi-bin/user/info/batchget.
type infoList struct {
	util.CommonError
	UserInfoList []userInfo `json:"user_info_list"`
}

// infoAnswer is the answer of /cgi-bin/user/info.
type infoAnswer struct {
	util.CommonError
	userInfo
}

// userRecord maps one user info answer: a follower, or a deleted record for
// someone who no longer follows (subscribe 0), or a bad record without
// openid.
func (k *Connector) userRecord(u userInfo, tags map[int32]string, location string) sdk.Record {
	if u.OpenID == "" {
		raw, _ := json.Marshal(u)
		return sdk.Record{Stream: StreamFollowers, Bad: &sdk.BadRecord{Reason: "user info without openid", Raw: raw, Location: location}}
	}
	m := &mapping.Member{
		Identities: []mapping.Identity{{Type: mapping.IDWechatOpenID, Scope: k.appID, Value: u.OpenID}},
		City:       u.City, Province: u.Province, Country: u.Country,
		Subscribed: u.Subscribe == 1,
	}
	if u.UnionID != "" {
		m.Identities = append(m.Identities, mapping.Identity{Type: mapping.IDWechatUnionID, Scope: k.openPlatformID, Value: u.UnionID})
	}
	if u.Sex != 0 {
		m.Gender = mapping.NormalizeGender(strconv.Itoa(int(u.Sex)))
	}
	if u.SubscribeTime > 0 {
		m.SubscribedAt = time.Unix(int64(u.SubscribeTime), 0).UTC()
	}
	for _, id := range u.TagIDList {
		if name, ok := tags[id]; ok {
			m.Tags = append(m.Tags, mapping.Tag{Name: name, Group: "wechat"})
		}
	}
	attrs := map[string]string{"remark": u.Remark, "subscribe_scene": u.SubscribeScene, "language": u.Language, "qr_scene_str": u.QrSceneStr}
	for key, v := range attrs {
		if v == "" {
			delete(attrs, key)
		}
	}
	if len(attrs) > 0 {
		m.Attributes = attrs
	}
	return sdk.Record{Stream: StreamFollowers, ID: u.OpenID, UpdatedAt: m.SubscribedAt, Member: m, Deleted: u.Subscribe == 0}
}

type tagList struct {
	util.CommonError
	Tags []user.TagInfo `json:"tags"`
}

// tagNames returns the account's tags by id. (silenceper's GetTag ignores
// errcode, so an expired token would look like "no tags".)
func (k *Connector) tagNames(ctx context.Context) (map[int32]string, error) {
	var res tagList
	if err := k.c.Call(ctx, "tags.get", http.MethodGet, "/cgi-bin/tags/get", nil, nil, &res); err != nil {
		return nil, err
	}
	out := make(map[int32]string, len(res.Tags))
	for _, t := range res.Tags {
		out[t.ID] = t.Name
	}
	return out, nil
}
