package wecom

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// library is the corp tag library: tags by name, each with id and group.
type library map[string][]libTag

type libTag struct{ id, group string }

func (k *Connector) library(ctx context.Context) (library, error) {
	var res tagGroups
	if err := k.c.call(ctx, "externalcontact.get_corp_tag_list", http.MethodPost, "/cgi-bin/externalcontact/get_corp_tag_list", nil, map[string]any{}, &res); err != nil {
		return nil, err
	}
	lib := library{}
	for _, g := range res.TagGroup {
		if g.Deleted {
			continue
		}
		for _, t := range g.Tag {
			if !t.Deleted {
				lib[t.Name] = append(lib[t.Name], libTag{id: t.ID, group: g.GroupName})
			}
		}
	}
	return lib, nil
}

// find returns the tags named name, in group when group is not empty.
func (l library) find(name, group string) []libTag {
	var out []libTag
	for _, t := range l[name] {
		if group == "" || t.group == group {
			out = append(out, t)
		}
	}
	return out
}

type addedTags struct {
	status
	TagGroup struct {
		GroupName string `json:"group_name"`
		Tag       []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"tag"`
	} `json:"tag_group"`
}

// tagToAdd resolves the tag a tags.add puts on: the one tag of that name
// (in the action's group, if given), else the one in tag_group, else a new
// one created in the action's group or tag_group.
func (k *Connector) tagToAdd(ctx context.Context, lib library, name, group string) (string, error) {
	found := lib.find(name, group)
	if len(found) > 1 && group == "" {
		if mine := lib.find(name, k.tagGroup); len(mine) == 1 {
			return mine[0].id, nil
		}
		return "", sdk.PermanentError("", "several corp tag groups have a tag %q: give the action a %q param", name, ParamGroup)
	}
	if len(found) > 0 {
		return found[0].id, nil
	}
	if group == "" {
		group = k.tagGroup
	}
	var res addedTags
	body := map[string]any{"group_name": group, "tag": []map[string]string{{"name": name}}}
	if err := k.c.call(ctx, "externalcontact.add_corp_tag", http.MethodPost, "/cgi-bin/externalcontact/add_corp_tag", nil, body, &res); err != nil {
		return "", err
	}
	for _, t := range res.TagGroup.Tag {
		if t.Name == name {
			lib[name] = append(lib[name], libTag{id: t.ID, group: res.TagGroup.GroupName})
			return t.ID, nil
		}
	}
	return "", sdk.UnavailableError(nil, "add_corp_tag: the answer lacks tag %q", name)
}

type customerAnswer struct {
	status
	ExternalContact externalContact `json:"external_contact"`
	FollowUser      []follow        `json:"follow_user"`
	NextCursor      string          `json:"next_cursor"`
}

// customer fetches a customer with every follow user (get pages above 500).
func (k *Connector) customer(ctx context.Context, ext string) (externalContact, []follow, error) {
	var (
		ec      externalContact
		follows []follow
		cur     string
	)
	for range 1000 {
		q := url.Values{"external_userid": {ext}}
		if cur != "" {
			q.Set("cursor", cur)
		}
		var res customerAnswer
		if err := k.c.call(ctx, "externalcontact.get", http.MethodGet, "/cgi-bin/externalcontact/get", q, nil, &res); err != nil {
			return ec, nil, err
		}
		ec = res.ExternalContact
		follows = append(follows, res.FollowUser...)
		if res.NextCursor == "" || res.NextCursor == cur {
			break
		}
		cur = res.NextCursor
	}
	return ec, follows, nil
}

// corpTagIDs returns the corp tag ids on a follow relation.
func corpTagIDs(f follow) []string {
	ids := slices.Clone(f.TagID)
	for _, t := range f.Tags {
		if t.Type == 1 || t.Type == 0 {
			ids = append(ids, t.TagID)
		}
	}
	return ids
}

// Write applies tags.add and tags.remove. WeCom tags a follow relation
// (staff member × customer), so each customer is fetched once
// (externalcontact/get) and every relation it has gets one mark_tag call
// with the difference the customer's actions make, in action order. Tagging
// is a set operation: a retried key changes nothing, and a relation already
// as wanted gets no call. When a call fails, every action on that customer
// fails with its error (retrying them is safe).
func (k *Connector) Write(ctx context.Context, actions []sdk.Action) []sdk.ActionResult {
	results := make([]sdk.ActionResult, len(actions))
	var customers []string
	byCustomer := map[string][]int{}
	for i, a := range actions {
		results[i] = sdk.ActionResult{Key: a.Key}
		switch ext := k.externalUserID(a); {
		case a.Type != ActionTagAdd && a.Type != ActionTagRemove:
			results[i].Status, results[i].Err = sdk.StatusFailed, sdk.PermanentError("", "wecom cannot %q", a.Type)
		case a.Params[ParamTag] == "":
			results[i].Status, results[i].Err = sdk.StatusFailed, sdk.PermanentError("", "%s without a %q param", a.Type, ParamTag)
		case ext == "":
			results[i].Status, results[i].Err = sdk.StatusFailed, sdk.PermanentError("", "member has no external_userid of corp %s", k.corpID)
		default:
			if _, seen := byCustomer[ext]; !seen {
				customers = append(customers, ext)
			}
			byCustomer[ext] = append(byCustomer[ext], i)
		}
	}
	if len(customers) == 0 {
		return results
	}
	lib, err := k.library(ctx)
	if err != nil {
		for _, ext := range customers {
			fail(results, byCustomer[ext], err)
		}
		return results
	}
	// Resolve tag ids per action: one id to add, every matching id to remove.
	ids := make([][]string, len(actions))
	for _, ext := range customers {
		kept := byCustomer[ext][:0]
		for _, i := range byCustomer[ext] {
			a := actions[i]
			if a.Type == ActionTagAdd {
				id, err := k.tagToAdd(ctx, lib, a.Params[ParamTag], a.Params[ParamGroup])
				if err != nil {
					fail(results, []int{i}, err)
					continue
				}
				ids[i] = []string{id}
			} else {
				for _, t := range lib.find(a.Params[ParamTag], a.Params[ParamGroup]) {
					ids[i] = append(ids[i], t.id)
				}
			}
			kept = append(kept, i)
		}
		byCustomer[ext] = kept
	}
	for _, ext := range customers {
		idx := byCustomer[ext]
		if len(idx) == 0 {
			continue
		}
		fail(results, idx, k.tagCustomer(ctx, ext, actions, ids, idx))
		if ctx.Err() != nil {
			break
		}
	}
	for i := range results {
		if results[i].Status == 0 {
			results[i].Status, results[i].Err = sdk.StatusFailed, ctx.Err()
		}
	}
	return results
}

// tagCustomer applies the actions idx to every relation of customer ext.
func (k *Connector) tagCustomer(ctx context.Context, ext string, actions []sdk.Action, ids [][]string, idx []int) error {
	_, follows, err := k.customer(ctx, ext)
	if platformCode(err) == codeNotExternalContact || platformCode(err) == codeInvalidExternalID {
		return sdk.PermanentError(strconv.FormatInt(platformCode(err), 10), "customer %s is no external contact of corp %s any more", ext, k.corpID)
	}
	if err != nil {
		return err
	}
	for _, f := range follows {
		have := corpTagIDs(f)
		want := slices.Clone(have)
		for _, i := range idx {
			for _, id := range ids[i] {
				if actions[i].Type == ActionTagAdd && !slices.Contains(want, id) {
					want = append(want, id)
				} else if actions[i].Type == ActionTagRemove {
					want = slices.DeleteFunc(want, func(x string) bool { return x == id })
				}
			}
		}
		var add, remove []string
		for _, id := range want {
			if !slices.Contains(have, id) {
				add = append(add, id)
			}
		}
		for _, id := range have {
			if !slices.Contains(want, id) {
				remove = append(remove, id)
			}
		}
		if len(add)+len(remove) == 0 {
			continue
		}
		body := map[string]any{"userid": f.UserID, "external_userid": ext, "add_tag": orEmpty(add), "remove_tag": orEmpty(remove)}
		var res status
		if err := k.c.call(ctx, "externalcontact.mark_tag", http.MethodPost, "/cgi-bin/externalcontact/mark_tag", nil, body, &res); err != nil {
			return err
		}
	}
	return nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// fail settles actions idx: applied when err is nil, failed with err
// otherwise. Actions already settled are left alone.
func fail(results []sdk.ActionResult, idx []int, err error) {
	for _, i := range idx {
		if results[i].Status != 0 {
			continue
		}
		if err != nil {
			results[i].Status, results[i].Err = sdk.StatusFailed, err
		} else {
			results[i].Status = sdk.StatusApplied
		}
	}
}

// externalUserID returns the action target's external_userid in this corp.
func (k *Connector) externalUserID(a sdk.Action) string {
	for _, id := range a.Target {
		if id.Type == mapping.IDWecomExternalUserID && id.Scope == k.corpID {
			return id.Value
		}
	}
	return ""
}
