// Package sandboxdata generates the seeded, reproducible set of people that
// every platform sandbox serves. One person shows up on several platforms under
// each platform's own identifiers, joined where the platforms reveal a shared
// key (WeChat unionid, a phone number), so that a demo and the tests can show
// one person's records joined into one member.
//
// The same (seed, count) always gives the same people, on every machine.
package sandboxdata

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"
)

// OpenPlatformID is the WeChat open-platform account every sandbox WeChat app
// (official account, mini-program, WeCom developer id) is bound to: the scope of
// the unionids it hands out.
const OpenPlatformID = "open-sandbox"

// Person is one seeded person.
type Person struct {
	// Index is the person's position in the set, 0-based.
	Index    int
	Name     string
	Gender   int // WeChat code: 0 unknown, 1 male, 2 female
	Birthday string
	Province string
	City     string
	// Phone is a mainland mobile in E.164. Some people share one (a family).
	Phone string
	// UnionID is the person's WeChat unionid under OpenPlatformID.
	UnionID string
	// On says on which platforms the person has an account.
	On map[string]bool
	// Since is when the person first appeared anywhere.
	Since time.Time
}

// Platforms are the platform names used in Person.On.
var Platforms = []string{"wechat", "wecom", "miniprogram", "taobao", "douyin", "xiaohongshu", "file"}

var (
	surnames  = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"}
	givens    = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "婷", "雪", "晨", "欣怡", "子涵", "浩然"}
	provinces = [][2]string{{"上海", "上海"}, {"北京", "北京"}, {"广东", "广州"}, {"广东", "深圳"}, {"浙江", "杭州"}, {"江苏", "南京"}, {"四川", "成都"}, {"湖北", "武汉"}, {"福建", "厦门"}, {"陕西", "西安"}}
	// presence is the share of people on each platform, in percent.
	presence = map[string]int{"wechat": 85, "wecom": 30, "miniprogram": 50, "taobao": 60, "douyin": 40, "xiaohongshu": 25, "file": 35}
	epoch    = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Persons returns count people generated from seed. Every 50th person shares
// the phone of the person before them (a family on one number).
func Persons(seed uint64, count int) []Person {
	people := make([]Person, count)
	for i := range people {
		people[i] = person(seed, i)
		if i > 0 && i%50 == 0 {
			people[i].Phone = people[i-1].Phone
		}
	}
	return people
}

func person(seed uint64, i int) Person {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	loc := provinces[r.IntN(len(provinces))]
	p := Person{
		Index:    i,
		Name:     surnames[r.IntN(len(surnames))] + givens[r.IntN(len(givens))],
		Gender:   1 + r.IntN(2),
		Birthday: time.Date(1960+r.IntN(45), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
		Province: loc[0],
		City:     loc[1],
		// 13x–19x prefixes, 8 more digits derived from the index so phones are unique.
		Phone:   fmt.Sprintf("+861%d%d%08d", 3+r.IntN(7), r.IntN(10), (i*7919+int(seed%1000)*104729)%100000000),
		UnionID: "o6_b" + ID(seed, "unionid", i, 24),
		On:      map[string]bool{},
		Since:   epoch.Add(time.Duration(r.Int64N(int64(5 * 365 * 24 * time.Hour)))),
	}
	for _, name := range Platforms {
		if r.IntN(100) < presence[name] {
			p.On[name] = true
		}
	}
	return p
}

// ID derives a stable platform identifier for person i on a platform: n
// URL-safe characters from sha256(seed, platform, i). Sandboxes use it for
// openids, buyer ids and the like, so ids survive restarts of a sandbox.
func ID(seed uint64, platform string, i, n int) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seed)
	binary.BigEndian.PutUint64(b[8:], uint64(i))
	sum := sha256.Sum256(append(b[:], platform...))
	s := base64.RawURLEncoding.EncodeToString(sum[:])
	if n > len(s) {
		n = len(s)
	}
	return s[:n]
}
