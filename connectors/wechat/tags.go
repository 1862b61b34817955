package wechat

import (
	"context"
	"net/http"

	"github.com/silenceper/wechat/v2/officialaccount/user"
	"github.com/silenceper/wechat/v2/util"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// tagCallMax is how many openids one batchtagging call takes.
const tagCallMax = 50

// ack is an answer that carries only errcode and errmsg.
type ack struct{ util.CommonError }

type tagCreated struct {
	util.CommonError
	Tag user.TagInfo `json:"tag"`
}

// Write applies tags.add and tags.remove. Tagging is a set operation on the
// platform, so an action retried with the same key changes nothing twice.
// Actions are grouped by tag and sent 50 openids a call; when a call fails
// for one follower (too many tags, openid not of this app), its openids are
// retried one by one so each action gets its own result.
func (k *Connector) Write(ctx context.Context, actions []sdk.Action) []sdk.ActionResult {
	results := make([]sdk.ActionResult, len(actions))
	type group struct {
		typ, tag string
		idx      []int
	}
	var groups []*group
	byKey := map[string]*group{}
	for i, a := range actions {
		results[i] = sdk.ActionResult{Key: a.Key}
		tag := a.Params["tag"]
		switch {
		case a.Type != ActionTagAdd && a.Type != ActionTagRemove:
			results[i].Status, results[i].Err = sdk.StatusFailed, sdk.PermanentError("", "wechat cannot %q", a.Type)
			continue
		case tag == "":
			results[i].Status, results[i].Err = sdk.StatusFailed, sdk.PermanentError("", "%s without a tag param", a.Type)
			continue
		case k.openID(a) == "":
			results[i].Status, results[i].Err = sdk.StatusFailed, sdk.PermanentError("", "member has no openid of app %s", k.appID)
			continue
		}
		g := byKey[a.Type+"\x00"+tag]
		if g == nil {
			g = &group{typ: a.Type, tag: tag}
			byKey[a.Type+"\x00"+tag] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
	}
	if len(groups) == 0 {
		return results
	}
	names, err := k.tagNames(ctx)
	if err != nil {
		for _, g := range groups {
			fail(results, g.idx, err)
		}
		return results
	}
	ids := map[string]int32{}
	for id, name := range names {
		ids[name] = id
	}
	for _, g := range groups {
		id, ok := ids[g.tag]
		if !ok && g.typ == ActionTagRemove {
			// Nobody can carry a tag that does not exist: removed already.
			for _, i := range g.idx {
				results[i].Status = sdk.StatusApplied
			}
			continue
		}
		if !ok {
			var created tagCreated
			body := map[string]any{"tag": map[string]string{"name": g.tag}}
			if err := k.c.Call(ctx, "tags.create", http.MethodPost, "/cgi-bin/tags/create", nil, body, &created); err != nil {
				fail(results, g.idx, err)
				continue
			}
			id = created.Tag.ID
			ids[g.tag] = id
		}
		path := "/cgi-bin/tags/members/batchtagging"
		if g.typ == ActionTagRemove {
			path = "/cgi-bin/tags/members/batchuntagging"
		}
		for start := 0; start < len(g.idx); start += tagCallMax {
			chunk := g.idx[start:min(start+tagCallMax, len(g.idx))]
			err := k.tagCall(ctx, path, id, actions, chunk)
			if err != nil && len(chunk) > 1 && sdk.ClassOf(err) == sdk.ClassPermanent {
				for _, i := range chunk {
					k.settle(results, []int{i}, k.tagCall(ctx, path, id, actions, []int{i}))
				}
				continue
			}
			k.settle(results, chunk, err)
		}
	}
	return results
}

func (k *Connector) tagCall(ctx context.Context, path string, tagID int32, actions []sdk.Action, idx []int) error {
	openids := make([]string, len(idx))
	for j, i := range idx {
		openids[j] = k.openID(actions[i])
	}
	var res ack
	body := map[string]any{"openid_list": openids, "tagid": tagID}
	return k.c.Call(ctx, "tags.members", http.MethodPost, path, nil, body, &res)
}

func (k *Connector) settle(results []sdk.ActionResult, idx []int, err error) {
	if err != nil {
		fail(results, idx, err)
		return
	}
	for _, i := range idx {
		results[i].Status = sdk.StatusApplied
	}
}

func fail(results []sdk.ActionResult, idx []int, err error) {
	for _, i := range idx {
		results[i].Status, results[i].Err = sdk.StatusFailed, err
	}
}

// openID returns the action target's openid of this app.
func (k *Connector) openID(a sdk.Action) string {
	for _, id := range a.Target {
		if id.Type == mapping.IDWechatOpenID && id.Scope == k.appID {
			return id.Value
		}
	}
	return ""
}
