package sandbox

import (
	"cmp"
	"slices"
	"time"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// follower is one user who follows (or followed) the account. Kept small: a
// million of them live in memory.
type follower struct {
	openid     string
	unionid    string
	remark     string
	tags       []int32  // tag ids in the order they were put on
	profile    *profile // only with Config.LegacyProfile
	since      int64    // subscribe_time, unix seconds
	scene      uint8    // index for sceneName
	lang       uint8    // index for langName
	subscribed bool
}

// profile is what user info said about a person before 2021-12-27.
type profile struct {
	nickname, city, province string
	sex                      int
}

// Seeded tags. Ids of tags created through the API start at firstTagID, as
// on the real platform; id 2 is the system "星标组" tag every account has.
const (
	starTagID     = 2
	firstTagID    = 100
	tagVIP        = "VIP"
	tagNew        = "新客"
	tagDormant    = "沉睡"
	maxTags       = 100    // user tags per account (45056)
	maxTagName    = 30     // bytes (45158)
	maxTagsOnUser = 20     // tags per user (45059)
	maxTagCall    = 50     // openids per batch(un)tagging call (40032)
	maxBatchGet   = 100    // items per batchget call
	maxTagDelete  = 100000 // fans above which a tag cannot be deleted (45057)
)

// tag is one user tag.
type tag struct {
	id    int32
	name  string
	count int // subscribed followers carrying it
}

// OpenID returns the openid the sandbox gives person index on seed: "o" and
// 27 URL-safe characters, 28 in all like real openids.
func OpenID(seed uint64, index int) string {
	return "o" + sandboxdata.ID(seed, "wechat_openid", index, 27)
}

// seed fills followers and tags from sandboxdata. Followers are the people on
// "wechat", ordered by when they appeared (ties by index): the follow order
// /cgi-bin/user/get lists them in.
func (s *Server) seed() {
	people := sandboxdata.Persons(s.cfg.Seed, s.cfg.Members)
	// Sort (follow time, index) pairs, not the people: a million of them.
	type entry struct {
		since int64
		index int
	}
	order := make([]entry, 0, len(people)*9/10)
	for i := range people {
		if people[i].On["wechat"] {
			order = append(order, entry{people[i].Since.UnixNano(), i})
		}
	}
	slices.SortFunc(order, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.since, b.since), cmp.Compare(a.index, b.index))
	})

	s.tags = map[int32]*tag{starTagID: {id: starTagID, name: "星标组"}}
	vip := &tag{id: firstTagID, name: tagVIP}
	fresh := &tag{id: firstTagID + 1, name: tagNew}
	dormant := &tag{id: firstTagID + 2, name: tagDormant}
	for _, t := range []*tag{vip, fresh, dormant} {
		s.tags[t.id] = t
	}
	s.nextTagID = firstTagID + 3

	s.followers = make([]follower, len(order))
	s.index = make(map[string]int32, len(order))
	for pos, e := range order {
		p := &people[e.index]
		h := wxwire.Mix((s.cfg.Seed << 32) ^ uint64(p.Index))
		f := follower{
			openid:     OpenID(s.cfg.Seed, p.Index),
			unionid:    p.UnionID,
			since:      p.Since.Unix(),
			scene:      uint8(h % 100),
			lang:       uint8((h >> 8) % 100),
			subscribed: true,
		}
		if s.cfg.LegacyProfile {
			f.profile = &profile{nickname: p.Name, city: p.City, province: p.Province, sex: p.Gender}
		}
		// Deterministic tags: ~4% VIP (their remark is their name, as
		// operators do), the newest 5% "新客", ~15% of the older half "沉睡".
		if (h>>16)%100 < 4 {
			f.tags = append(f.tags, vip.id)
			vip.count++
			f.remark = p.Name
		}
		if pos >= len(order)-len(order)/20 {
			f.tags = append(f.tags, fresh.id)
			fresh.count++
		}
		if pos < len(order)/2 && (h>>24)%100 < 15 {
			f.tags = append(f.tags, dormant.id)
			dormant.count++
		}
		s.followers[pos] = f
		s.index[f.openid] = int32(pos)
	}
	s.subscribed = len(order)
	s.nextPerson = s.cfg.Members
}

// newFollower is person index following the account at now.
func (s *Server) newFollower(index int, now time.Time) follower {
	f := follower{
		openid: OpenID(s.cfg.Seed, index),
		// sandboxdata's unionid formula, so the person agrees with other
		// sandboxes generated with more members.
		unionid:    "o6_b" + sandboxdata.ID(s.cfg.Seed, "unionid", index, 24),
		since:      now.Unix(),
		scene:      0, // a QR code (sceneName)
		subscribed: true,
	}
	if s.cfg.LegacyProfile {
		f.profile = &profile{}
	}
	return f
}

// sceneName maps a follower's scene number (0–99) to subscribe_scene with a
// plausible spread.
func sceneName(n uint8) string {
	switch {
	case n < 35:
		return "ADD_SCENE_QR_CODE"
	case n < 55:
		return "ADD_SCENE_SEARCH"
	case n < 67:
		return "ADD_SCENE_PROFILE_CARD"
	case n < 75:
		return "ADD_SCENE_ACCOUNT_MIGRATION"
	case n < 82:
		return "ADD_SCENE_PROFILE_LINK"
	case n < 87:
		return "ADD_SCENE_WECHAT_ADVERTISEMENT"
	case n < 91:
		return "ADD_SCENE_CHANNELS"
	case n < 94:
		return "ADD_SCENE_LIVESTREAM"
	case n < 96:
		return "ADD_SCENE_PROFILE_ITEM"
	case n < 97:
		return "ADD_SCENE_PAID"
	case n < 98:
		return "ADD_SCENE_REPRINT"
	}
	return "ADD_SCENE_OTHERS"
}

// langName maps a follower's language number (0–99) to language.
func langName(n uint8) string {
	switch {
	case n < 90:
		return "zh_CN"
	case n < 96:
		return "zh_TW"
	}
	return "en"
}
