// Package wecom is the WeCom customer-contact (企业微信客户联系) connector: it
// reads every relation between the corp's staff and their customers — the
// customer's external_userid and unionid, the staff member's remark, the add
// way and time, corp tags — writes corp tags back, and turns the signed,
// encrypted change_external_contact callbacks into records at once. Facts it
// follows: shared/platforms/wechat.md §3 and §5.
package wecom

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxcrypt"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Plugin is what plugins/wecom serves.
var Plugin = sdk.Plugin{Spec: Spec, New: New}

// Connector reads and writes one corp's customer contact.
type Connector struct {
	c              *client
	corpID         string
	openPlatformID string
	tagGroup       string
	pageSize       int
	crypt          *wxcrypt.Crypter // nil without token and encoding_aes_key
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
	k := &Connector{c: c, corpID: cfg.String(FieldCorpID), openPlatformID: cfg.String(FieldOpenPlatformID),
		tagGroup: cfg.String(FieldTagGroup), pageSize: int(cfg.Int(FieldPageSize))}
	if k.pageSize < 1 || k.pageSize > maxPerCall {
		return nil, sdk.ConfigError(FieldPageSize, "%d is not between 1 and %d", k.pageSize, maxPerCall)
	}
	token, key := cfg.Secret(FieldToken).Reveal(), cfg.Secret(FieldEncodingAESKey).Reveal()
	switch {
	case token == "" && key == "":
	case token == "":
		return nil, sdk.ConfigError(FieldToken, "is needed with encoding_aes_key")
	case key == "":
		return nil, sdk.ConfigError(FieldEncodingAESKey, "is needed with token: WeCom callbacks are always encrypted")
	default:
		if k.crypt, err = wxcrypt.New(token, key, k.corpID); err != nil {
			return nil, &sdk.Error{Class: sdk.ClassInvalidConfig, Field: FieldEncodingAESKey, Message: "unusable callback settings", Err: err}
		}
	}
	return k, nil
}

// Check fetches a token straight from the platform, so wrong credentials
// show even when a good token is cached, then lists the staff with customer
// contact, which fails when the secret lacks that permission.
func (k *Connector) Check(ctx context.Context) error {
	if _, err := k.c.fetchToken(ctx); err != nil {
		return err
	}
	_, err := k.staff(ctx)
	return err
}

// Close implements sdk.Connector.
func (k *Connector) Close(context.Context) error {
	k.c.http.CloseIdleConnections()
	return nil
}

// maxPerCall is both the most userids and the largest limit
// batch/get_by_user takes.
const maxPerCall = 100

type followUsers struct {
	status
	FollowUser []string `json:"follow_user"`
}

// staff returns the userids with customer contact, sorted and unique.
func (k *Connector) staff(ctx context.Context) ([]string, error) {
	var res followUsers
	if err := k.c.call(ctx, "externalcontact.get_follow_user_list", http.MethodGet, "/cgi-bin/externalcontact/get_follow_user_list", nil, nil, &res); err != nil {
		return nil, err
	}
	out := slices.Clone(res.FollowUser)
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out), nil
}

// cursor is the customers checkpoint. Staff are read in sorted batches of
// up to 100: Batch is the batch being read and Cursor its next_cursor;
// with no Batch, every staff member up to After is done.
type cursor struct {
	After  string   `json:"after,omitempty"`
	Batch  []string `json:"batch,omitempty"`
	Cursor string   `json:"cursor,omitempty"`
}

// externalContact is the external_contact object.
type externalContact struct {
	ExternalUserID string `json:"external_userid"`
	Name           string `json:"name"`
	Type           int    `json:"type"`
	Gender         int    `json:"gender"`
	UnionID        string `json:"unionid"`
	Position       string `json:"position"`
	CorpName       string `json:"corp_name"`
}

// follow is follow_info (batch/get_by_user: corp tag ids in tag_id) or a
// follow_user entry (externalcontact/get: tag objects in tags).
type follow struct {
	UserID         string   `json:"userid"`
	Remark         string   `json:"remark"`
	Description    string   `json:"description"`
	CreateTime     int64    `json:"createtime"`
	RemarkCorpName string   `json:"remark_corp_name"`
	OperUserID     string   `json:"oper_userid"`
	AddWay         int      `json:"add_way"`
	State          string   `json:"state"`
	TagID          []string `json:"tag_id"`
	Tags           []struct {
		GroupName string `json:"group_name"`
		TagName   string `json:"tag_name"`
		TagID     string `json:"tag_id"`
		Type      int    `json:"type"`
	} `json:"tags"`
}

type batchAnswer struct {
	status
	ExternalContactList []struct {
		ExternalContact externalContact `json:"external_contact"`
		FollowInfo      follow          `json:"follow_info"`
	} `json:"external_contact_list"`
	NextCursor string `json:"next_cursor"`
}

// Read implements sdk.Connector. Every read is full (the platform has no
// changed-since filter); a checkpoint follows every page.
func (k *Connector) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	if req.Stream != StreamCustomers {
		return sdk.ConfigError("stream", "wecom has no stream %q", req.Stream)
	}
	var cur cursor
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cur); err != nil {
			return sdk.PermanentError("", "customers checkpoint is unreadable (%v): reset the stream", err)
		}
	}
	staff, err := k.staff(ctx)
	if err != nil {
		return err
	}
	tags, err := k.corpTags(ctx)
	if err != nil {
		return err
	}
	var done int64
	batch, pageCursor := k.resume(cur, staff)
	for len(batch) > 0 {
		for {
			var res batchAnswer
			body := map[string]any{"userid_list": batch, "cursor": pageCursor, "limit": k.pageSize}
			err := k.c.call(ctx, "externalcontact.batch.get_by_user", http.MethodPost, "/cgi-bin/externalcontact/batch/get_by_user", nil, body, &res)
			if platformCode(err) == codeNotExternalContact {
				// None of these staff members has a customer (84061): an
				// empty batch, not a failure.
				err, res = nil, batchAnswer{}
			}
			if err != nil {
				return err
			}
			for _, e := range res.ExternalContactList {
				if err := out.Emit(ctx, k.relationRecord(e.ExternalContact, e.FollowInfo, tags)); err != nil {
					return err
				}
				done++
			}
			next := cursor{After: batch[len(batch)-1]}
			if res.NextCursor != "" {
				next = cursor{Batch: batch, Cursor: res.NextCursor}
			}
			if err := k.checkpoint(ctx, out, next); err != nil {
				return err
			}
			if err := out.Progress(ctx, done, 0); err != nil {
				return err
			}
			if res.NextCursor == "" {
				break
			}
			pageCursor = res.NextCursor
		}
		batch, pageCursor = nextBatch(staff, batch[len(batch)-1]), ""
	}
	return nil
}

// resume returns the batch to read first and its page cursor. A batch in
// progress resumes at its cursor when its staff are all still there; when
// some left, it restarts without cursor (WeCom's cursor belongs to the exact
// userid_list) and re-reads a few relations, which the hub's upserts absorb.
func (k *Connector) resume(cur cursor, staff []string) ([]string, string) {
	if len(cur.Batch) == 0 {
		return nextBatch(staff, cur.After), ""
	}
	kept := slices.DeleteFunc(slices.Clone(cur.Batch), func(u string) bool {
		_, found := slices.BinarySearch(staff, u)
		return !found
	})
	if len(kept) == len(cur.Batch) {
		return kept, cur.Cursor
	}
	if len(kept) == 0 {
		return nextBatch(staff, cur.Batch[len(cur.Batch)-1]), ""
	}
	return kept, ""
}

// nextBatch returns up to 100 staff userids after after ("" = from the
// start).
func nextBatch(staff []string, after string) []string {
	i := 0
	if after != "" {
		i, _ = slices.BinarySearch(staff, after)
		if i < len(staff) && staff[i] == after {
			i++
		}
	}
	return staff[i:min(i+maxPerCall, len(staff))]
}

func (k *Connector) checkpoint(ctx context.Context, out sdk.Emitter, c cursor) error {
	b, _ := json.Marshal(c)
	return out.Checkpoint(ctx, b)
}

// tagName is a corp tag's name and group.
type tagName struct{ name, group string }

type tagGroups struct {
	status
	TagGroup []struct {
		GroupID   string `json:"group_id"`
		GroupName string `json:"group_name"`
		Deleted   bool   `json:"deleted"`
		Tag       []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Deleted bool   `json:"deleted"`
		} `json:"tag"`
	} `json:"tag_group"`
}

// corpTags returns the corp tag library by tag id (deleted tags left out).
func (k *Connector) corpTags(ctx context.Context) (map[string]tagName, error) {
	var res tagGroups
	if err := k.c.call(ctx, "externalcontact.get_corp_tag_list", http.MethodPost, "/cgi-bin/externalcontact/get_corp_tag_list", nil, map[string]any{}, &res); err != nil {
		return nil, err
	}
	out := map[string]tagName{}
	for _, g := range res.TagGroup {
		if g.Deleted {
			continue
		}
		for _, t := range g.Tag {
			if !t.Deleted {
				out[t.ID] = tagName{name: t.Name, group: g.GroupName}
			}
		}
	}
	return out, nil
}

// RecordID is the record id of the relation of staff member userid and
// customer externalUserID.
func RecordID(externalUserID, userid string) string { return externalUserID + "/" + userid }

// addWays names follow_info.add_way codes (fact sheet §3.2).
var addWays = map[int]string{
	0: "unknown", 1: "qr_code", 2: "phone_search", 3: "card_share", 4: "group_chat", 5: "address_book",
	6: "wechat_contact", 7: "wechat_friend_request", 8: "third_party", 9: "email", 201: "internal_share", 202: "admin_assignment",
}

// customerTypes names external_contact.type.
var customerTypes = map[int]string{1: "wechat", 2: "wecom"}

// identities returns the customer's identities: external_userid in the
// corp, and the unionid when WeCom gave one and open_platform_id is set.
func (k *Connector) identities(ext, unionid string) []mapping.Identity {
	ids := []mapping.Identity{{Type: mapping.IDWecomExternalUserID, Scope: k.corpID, Value: ext}}
	if unionid != "" && k.openPlatformID != "" {
		ids = append(ids, mapping.Identity{Type: mapping.IDWechatUnionID, Scope: k.openPlatformID, Value: unionid})
	}
	return ids
}

// relationRecord maps one relation. Tags come from follow.TagID through the
// library (batch/get_by_user) or from follow.Tags of type 1 (get): corp tags
// only in both, so pulled and called-back records agree.
func (k *Connector) relationRecord(ec externalContact, f follow, tags map[string]tagName) sdk.Record {
	if ec.ExternalUserID == "" || f.UserID == "" {
		raw, _ := json.Marshal(struct {
			ExternalContact externalContact `json:"external_contact"`
			FollowInfo      follow          `json:"follow_info"`
		}{ec, f})
		return sdk.Record{Stream: StreamCustomers, Bad: &sdk.BadRecord{Reason: "relation without external_userid or userid", Raw: raw, Location: "externalcontact"}}
	}
	m := &mapping.Member{
		Identities: k.identities(ec.ExternalUserID, ec.UnionID),
		Name:       ec.Name,
		Subscribed: true,
	}
	if ec.Gender != 0 {
		m.Gender = mapping.NormalizeGender(strconv.Itoa(ec.Gender))
	}
	if f.CreateTime > 0 {
		m.SubscribedAt = time.Unix(f.CreateTime, 0).UTC()
	}
	for _, id := range f.TagID {
		if t, ok := tags[id]; ok {
			m.Tags = append(m.Tags, mapping.Tag{Name: t.name, Group: t.group})
		}
	}
	for _, t := range f.Tags {
		if t.Type == 1 || t.Type == 0 {
			m.Tags = append(m.Tags, mapping.Tag{Name: t.TagName, Group: t.GroupName})
		}
	}
	way, ok := addWays[f.AddWay]
	if !ok {
		way = strconv.Itoa(f.AddWay)
	}
	attrs := map[string]string{
		"staff_userid": f.UserID, "remark": f.Remark, "description": f.Description, "add_way": way,
		"state": f.State, "oper_userid": f.OperUserID, "remark_corp_name": f.RemarkCorpName,
		"customer_type": customerTypes[ec.Type], "position": ec.Position, "corp_name": ec.CorpName,
	}
	for key, v := range attrs {
		if v == "" {
			delete(attrs, key)
		}
	}
	m.Attributes = attrs
	return sdk.Record{Stream: StreamCustomers, ID: RecordID(ec.ExternalUserID, f.UserID), UpdatedAt: m.SubscribedAt, Member: m}
}
