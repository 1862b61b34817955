package sandbox

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// customer is one external contact of the corp.
type customer struct {
	ext     string // external_userid
	unionid string // only for people also on "wechat"
	name    string
	gender  int
	person  int
	follows []*relation // live relations, oldest first
}

// relation is one staff member following one customer: what
// follow_user / follow_info describe.
type relation struct {
	userid      string
	cust        *customer
	createtime  int64
	remark      string
	description string
	addWay      int
	state       string
	operUserID  string
	tags        []string // corp tag ids, in the order they were put on
}

// tagGroup is one group of the corp tag library.
type tagGroup struct {
	id, name   string
	createTime int64
	order      int
	tags       []*corpTag
}

type corpTag struct {
	id, name   string
	createTime int64
	order      int
	group      *tagGroup
}

// ExternalUserID returns the external_userid the sandbox gives person index
// on seed: "wm" and 30 URL-safe characters, 32 in all like real ones of
// WeChat users.
func ExternalUserID(seed uint64, index int) string {
	return "wm" + sandboxdata.ID(seed, "wecom_external_userid", index, 30)
}

// StaffUserID returns the userid of staff member n (0-based).
func StaffUserID(n int) string { return fmt.Sprintf("staff%03d", n+1) }

// addWays are the add_way codes seeded relations use (fact sheet §3.2).
var addWays = [...]int{1, 1, 1, 2, 3, 4, 5, 6, 7, 201, 202}

// seed builds staff, customers, relations and the tag library.
func (s *Server) seed() {
	for n := range s.cfg.Staff {
		s.staff = append(s.staff, StaffUserID(n))
	}
	slices.Sort(s.staff)
	s.byExt = map[string]*customer{}
	s.byStaff = map[string][]*relation{}
	base := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	s.groups = []*tagGroup{
		{id: s.newTagID("etG"), name: "客户等级", createTime: base, order: 1},
		{id: s.newTagID("etG"), name: "来源", createTime: base, order: 2},
	}
	for i, name := range []string{"VIP", "普通客户"} {
		s.addTag(s.groups[0], name, base, i+1)
	}
	for i, name := range []string{"门店", "线上商城", "直播间"} {
		s.addTag(s.groups[1], name, base, i+1)
	}
	people := sandboxdata.Persons(s.cfg.Seed, s.cfg.Members)
	for i := range people {
		if p := &people[i]; p.On["wecom"] {
			s.addCustomer(p.Index, p.Name, p.Gender, p.UnionID, p.On["wechat"], p.Since.Unix())
		}
	}
	s.nextPerson = s.cfg.Members
}

// withCustomers is how many staff members (the first ones) have customers.
func (s *Server) withCustomers() int { return len(s.staff) - 2 }

// addCustomer adds person index as a customer followed by one to three
// staff members chosen from its hash, and returns it. Guarded by mu (or
// called from New).
func (s *Server) addCustomer(index int, name string, gender int, unionid string, onWechat bool, since int64) *customer {
	c := &customer{ext: ExternalUserID(s.cfg.Seed, index), name: name, gender: gender, person: index}
	if onWechat {
		c.unionid = unionid
	}
	s.customers = append(s.customers, c)
	s.byExt[c.ext] = c
	h := wxwire.Mix(s.cfg.Seed<<32 ^ uint64(index) ^ 0x3ec0)
	n := 1
	switch {
	case h%10 >= 9:
		n = 3
	case h%10 >= 6:
		n = 2
	}
	first := int((h >> 8) % uint64(s.withCustomers()))
	for j := range n {
		staff := s.staff[(first+j*5)%s.withCustomers()]
		if c.follow(staff) != nil {
			continue
		}
		r := &relation{
			userid:     staff,
			cust:       c,
			createtime: since + int64(j)*86400 + int64((h>>16)%86400),
			addWay:     addWays[(h>>24)%uint64(len(addWays))],
			operUserID: staff,
		}
		if (h>>32)%100 < 30 {
			r.remark = name
		}
		if (h>>40)%100 < 10 {
			r.state = "store-qr"
		}
		// Deterministic corp tags: ~10% VIP, ~40% 普通客户, a source tag for half.
		switch v := (h >> 48) % 100; {
		case v < 10:
			r.tags = append(r.tags, s.groups[0].tags[0].id)
		case v < 50:
			r.tags = append(r.tags, s.groups[0].tags[1].id)
		}
		if (h>>56)%2 == 0 {
			r.tags = append(r.tags, s.groups[1].tags[int(h>>57)%len(s.groups[1].tags)].id)
		}
		s.link(r)
	}
	return c
}

// link adds a live relation to its customer and staff member. Guarded by mu.
func (s *Server) link(r *relation) {
	c := r.cust
	c.follows = append(c.follows, r)
	c.sortFollows()
	list := s.byStaff[r.userid]
	i, _ := slices.BinarySearchFunc(list, r, byTimeThenExt)
	s.byStaff[r.userid] = slices.Insert(list, i, r)
}

// unlink removes a relation. Guarded by mu.
func (s *Server) unlink(r *relation) {
	c := r.cust
	c.follows = slices.DeleteFunc(c.follows, func(x *relation) bool { return x == r })
	s.byStaff[r.userid] = slices.DeleteFunc(s.byStaff[r.userid], func(x *relation) bool { return x == r })
}

func byTimeThenExt(a, b *relation) int {
	return cmp.Or(cmp.Compare(a.createtime, b.createtime), cmp.Compare(a.cust.ext, b.cust.ext))
}

func (c *customer) follow(userid string) *relation {
	for _, r := range c.follows {
		if r.userid == userid {
			return r
		}
	}
	return nil
}

func (c *customer) sortFollows() {
	slices.SortFunc(c.follows, func(a, b *relation) int {
		return cmp.Or(cmp.Compare(a.createtime, b.createtime), cmp.Compare(a.userid, b.userid))
	})
}

// newTagID makes a corp tag or group id shaped like WeCom's ("et" + 20
// URL-safe characters).
func (s *Server) newTagID(prefix string) string {
	s.tagSeq++
	return prefix + sandboxdata.ID(s.cfg.Seed, "wecom_tag", s.tagSeq, 19)
}

func (s *Server) addTag(g *tagGroup, name string, at int64, order int) *corpTag {
	t := &corpTag{id: s.newTagID("etT"), name: name, createTime: at, order: order, group: g}
	g.tags = append(g.tags, t)
	return t
}

// tagByID finds a corp tag. Guarded by mu.
func (s *Server) tagByID(id string) *corpTag {
	for _, g := range s.groups {
		for _, t := range g.tags {
			if t.id == id {
				return t
			}
		}
	}
	return nil
}

// relationsOf returns staff userid's live relations, oldest first (ties by
// external_userid). Guarded by mu.
func (s *Server) relationsOf(userid string) []*relation { return s.byStaff[userid] }
