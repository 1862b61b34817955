package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	douyinsandbox "github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/connectors/sandboxes"
	smssandbox "github.com/channelhub/channelhub/connectors/sms/sandbox"
	"github.com/channelhub/channelhub/connectors/taobao"
	taobaosandbox "github.com/channelhub/channelhub/connectors/taobao/sandbox"
	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/hub/config"
	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
)

// errFound stops a walk over members.
var errFound = errors.New("found")

func demoCmd(g *globals) *cobra.Command {
	var dir, pluginsDir string
	var members int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Sync every sandbox into a fresh SQLite store, push a tag change back, and print a summary",
		Long: `The main job on the embedded default: start the platform sandboxes in-process,
write DIR/hub.yaml for them, sync every connector into a fresh SQLite store under
DIR/data, change a tag on a member in the hub and deliver it back to the
platform, send levels and points balances to the membership platforms, erase
a Douyin shop member (PIPL), run an SMS campaign, then print records read per
connection, members, merges, write-backs, the erasure, the campaign and the
time taken.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			start := time.Now()
			if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			set, err := sandboxes.Start(ctx, sandboxes.Options{Members: members})
			if err != nil {
				return err
			}
			defer set.Close()
			cfgPath := filepath.Join(dir, "hub.yaml")
			abs, err := pluginsDirOrBeside(pluginsDir)
			if err != nil {
				return err
			}
			// The offline stores' member export, read by the file connector:
			// it links store members to WeChat followers by unionid and phone.
			absDir, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			fileConn, fileJob, err := sandboxes.FileExport(absDir, 1, members)
			if err != nil {
				return err
			}
			t := sandboxTenant(set, &fileConn, &fileJob)
			if t.SMS != nil {
				// The demo runs at any hour; a tenant's default window for
				// marketing SMS is 08:00–22:00.
				t.SMS.AllowedHours = "00:00-24:00"
			}
			// data_dir is taken from the config's directory: DIR/data.
			if err := writeHubConfig(cfgPath, t, "data", abs); err != nil {
				return err
			}
			a, err := openApp(ctx, cfgPath, g.stderr, g.logLevel, true)
			if err != nil {
				return err
			}
			defer a.Close()
			out := g.stdout
			fmt.Fprintf(out, "channelhub demo: %d sandboxes, %d seeded people, store %s\n\n", len(set.Running), members, filepath.Join(dir, "data", "hub.db"))
			tenant := &a.cfg.Tenants[0]
			// Tmall brand members earn and spend points on Tmall: each change
			// comes through TMC, lands in the hub's ledger, and is answered.
			pointChanges := demoPublishPointChanges(set)
			perConn := map[string]int64{}
			for _, job := range tenant.Jobs {
				res, err := a.engine.Run(ctx, engine.Request{Tenant: tenant.ID, Job: job.ID, Mode: "full", Progress: progressPrinter(g.stderr)})
				if err != nil {
					return fmt.Errorf("demo job %s: %w", job.ID, err)
				}
				perConn[job.Connection] += res.Records()
				printResult(out, res)
			}
			// A tag set in the hub goes back to the platform.
			var target *store.MemberView
			err = a.store.ExportMembers(ctx, tenant.ID, func(m *store.MemberView) error {
				for _, s := range m.Sources {
					if s.Connection == "wechat-oa" {
						target = m
						return errFound
					}
				}
				return nil
			})
			if err != nil && !errors.Is(err, errFound) {
				return err
			}
			delivered := 0
			if target != nil {
				if _, err := a.store.ChangeTags(ctx, tenant.ID, target.MemberID, []string{"demo-vip"}, nil, a.writers(tenant)); err != nil {
					return err
				}
				for _, j := range tenant.Jobs {
					if j.Connection != "wechat-oa" || len(j.Write) == 0 {
						continue
					}
					res, err := a.engine.Run(ctx, engine.Request{Tenant: tenant.ID, Job: j.ID})
					if err != nil {
						return fmt.Errorf("demo write-back: %w", err)
					}
					delivered += res.Writes.Delivered
				}
			}
			// The platforms push what pulls cannot see: Douyin shop members
			// joining and Tmall brand members binding or registering carry a
			// phone, which links their buyer ids to everyone else.
			pushed, err := demoPushes(ctx, a, tenant, set)
			if err != nil {
				return err
			}
			joins, err := demoTmallJoins(ctx, a, tenant, set)
			if err != nil {
				return err
			}
			// A level and the ledger's points balance go back to the
			// platforms that keep membership (Tmall 会员通, Douyin).
			levels, err := demoMembership(ctx, a, tenant)
			if err != nil {
				return err
			}
			// An SMS campaign: the hub checks consent, hours and per-number
			// limits before anything goes out; the provider's sandbox logs
			// what it really sent.
			campaignRes, campaignRep, err := demoCampaign(ctx, a, tenant, set)
			if err != nil {
				return err
			}
			answered, err := demoAnswerPointChanges(ctx, a, tenant, set, pointChanges)
			if err != nil {
				return err
			}
			// A person asks to be forgotten (PIPL): the hub deletes them and
			// ends their Douyin shop membership.
			erased, err := demoErasure(ctx, a, tenant, set)
			if err != nil {
				return err
			}
			st, err := a.store.Stats(ctx, tenant.ID)
			if err != nil {
				return err
			}
			// One ID at work: offline store members who are also WeChat
			// followers, now one member each.
			linked, crossPlatform := 0, 0
			err = a.store.ExportMembers(ctx, tenant.ID, func(m *store.MemberView) error {
				conns := map[string]bool{}
				for _, s := range m.Sources {
					conns[s.Connection] = true
				}
				if conns["pos-members"] && conns["wechat-oa"] {
					linked++
				}
				if len(conns) >= 3 {
					crossPlatform++
				}
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "\nsummary")
			for _, c := range tenant.Connections {
				fmt.Fprintf(out, "  %-22s %8d records read\n", c.ID, perConn[c.ID])
			}
			fmt.Fprintf(out, "  members                %8d\n", st.Members)
			fmt.Fprintf(out, "  merges                 %8d\n", st.Merges)
			fmt.Fprintf(out, "  store members linked   %8d (offline members joined to their WeChat follower)\n", linked)
			fmt.Fprintf(out, "  platform pushes        %8d (Douyin member joins)\n", pushed)
			fmt.Fprintf(out, "  tmall 会员通 joins     %8d asked by Tmall (bind.query, answered from the hub): %d members already, %d known from other channels (then bind), %d new (then register); asked again, %d answered as members\n",
				joins.asked, joins.bound, joins.known, joins.unknown, joins.again)
			if len(joins.took) > 0 {
				slices.Sort(joins.took)
				fmt.Fprintf(out, "                             answered in %s median, %s at most (Tmall waits ~1.2 s)\n",
					joins.took[len(joins.took)/2].Round(100*time.Microsecond), joins.took[len(joins.took)-1].Round(100*time.Microsecond))
			}
			fmt.Fprintf(out, "  members on 3+ channels %8d (e.g. WeChat, WeCom, mini-program, store, Taobao, Douyin)\n", crossPlatform)
			fmt.Fprintf(out, "  refused merges         %8d (hub identity conflicts)\n", st.Conflicts)
			fmt.Fprintf(out, "  shared identifiers     %8d (stopped linking)\n", st.Shared)
			fmt.Fprintf(out, "  identities             %8d\n", st.Identities)
			fmt.Fprintf(out, "  orders                 %8d\n", st.Orders)
			fmt.Fprintf(out, "  write-backs delivered  %8d", delivered+levels)
			if target != nil {
				fmt.Fprintf(out, " (tag demo-vip on member %s; %d levels and points balances to Taobao and Douyin)", target.MemberID, levels)
			}
			fmt.Fprintf(out, "\n  dead letters           %8d\n", st.DeadLetters)
			if len(pointChanges) > 0 {
				fmt.Fprintf(out, "  tmall point changes    %8d stored in the points ledger, then answered to Tmall as processed (%d ledger entries in all)\n", answered, st.PointsEntries)
			}
			if erased != "" {
				fmt.Fprintf(out, "  erasure (PIPL)         %8d member erased (%s): data deleted, tombstones kept, Douyin shop membership ended\n", st.Erased, erased)
			}
			if campaignRes != nil {
				fmt.Fprintf(out, "  sms campaign           %8d sent to members who opted in; refused:\n", campaignRep.Sent)
				printSMSRefusals(out, campaignRes.Refused, "                         ")
				undelivered := 0
				for _, n := range campaignRep.Undelivered {
					undelivered += n
				}
				fmt.Fprintf(out, "  sms receipts           %8d reached the handset, %d did not (hub sms report)\n", campaignRep.Delivered, undelivered)
			}
			fmt.Fprintf(out, "  time taken             %8s\n", time.Since(start).Round(time.Millisecond))
			if delivered == 0 {
				return fmt.Errorf("demo: the tag change was not delivered")
			}
			if campaignRes != nil && campaignRep.Sent == 0 {
				return fmt.Errorf("demo: the SMS campaign sent nothing")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".hub-demo", "working directory for the demo's config and store")
	cmd.Flags().StringVar(&pluginsDir, "plugins-dir", "", "directory of built plugins (default: plugins beside the hub binary, as make build lays them out)")
	cmd.Flags().IntVar(&members, "members", 3000, "how many people the sandboxes generate")
	return cmd
}

// demoCampaign sends the SMS sandbox's promotion to every member through
// the hub's checks and delivers it, then has the provider push its delivery
// receipts to the hub's webhook; it returns what was refused and the
// campaign's report.
func demoCampaign(ctx context.Context, a *app, tenant *config.Tenant, set *sandboxes.Set) (*store.SMSResult, *store.SMSCampaignReport, error) {
	const conn, job, promo = "sms-aliyun", "sms-aliyun", "SMS_100000003"
	var provider *smssandbox.Server
	for _, r := range set.Running {
		if r.Platform == conn {
			provider, _ = r.Server.(*smssandbox.Server)
		}
	}
	if provider == nil {
		return nil, nil, nil
	}
	res, err := a.store.QueueSMS(ctx, tenant.ID, store.SMSRequest{Connection: conn, Template: promo, All: true, At: time.Now()}, &tenant.SMS)
	if err != nil {
		return nil, nil, fmt.Errorf("demo campaign: %w", err)
	}
	run, err := a.engine.Run(ctx, engine.Request{Tenant: tenant.ID, Job: job})
	if err != nil {
		return nil, nil, fmt.Errorf("demo campaign delivery: %w", err)
	}
	sent := len(provider.Messages())
	if sent != run.Writes.Delivered || sent != res.Queued {
		return nil, nil, fmt.Errorf("demo campaign: %d queued, %d delivered, but the provider recorded %d messages", res.Queued, run.Writes.Delivered, sent)
	}
	// Alibaba pushes delivery reports (and replies) to the hub's webhook,
	// authenticated by the token in the URL.
	c, err := tenant.Connection(conn)
	if err != nil {
		return nil, nil, err
	}
	hub := httptest.NewServer(a.engine.WebhookHandler())
	defer hub.Close()
	token, _ := c.Config["callback_token"].(string)
	if _, err := provider.Push(ctx, hub.Client(), hub.URL+"/webhooks/"+tenant.ID+"/"+conn+"?token="+url.QueryEscape(token)); err != nil {
		return nil, nil, fmt.Errorf("demo campaign receipts: %w", err)
	}
	reports, err := a.store.SMSReport(ctx, tenant.ID)
	if err != nil {
		return nil, nil, err
	}
	for i := range reports {
		if r := &reports[i]; r.Campaign == res.Campaign {
			if r.NoReceipt != 0 || r.Sent != sent {
				return nil, nil, fmt.Errorf("demo campaign: %d sent, %d without a receipt after the provider's push", r.Sent, r.NoReceipt)
			}
			return res, r, nil
		}
	}
	return nil, nil, fmt.Errorf("demo campaign %s is not in the SMS report", res.Campaign)
}

// demoPushes delivers signed member pushes from the Douyin and Taobao
// sandboxes through the hub's webhook handler, as the platforms would.
func demoPushes(ctx context.Context, a *app, tenant *config.Tenant, set *sandboxes.Set) (int, error) {
	const perPlatform = 150
	handler := a.engine.WebhookHandler()
	var reqs []*http.Request
	for _, r := range set.Running {
		target := "http://hub/webhooks/" + tenant.ID + "/"
		switch srv := r.Server.(type) {
		case *douyinsandbox.Server:
			for i, b := range srv.Buyers() {
				if i >= perPlatform {
					break
				}
				req, err := srv.MemberSPIRequest(ctx, target+"douyin-shop", b.PersonIndex, doudian.MemberEventJoin)
				if err != nil {
					return 0, err
				}
				reqs = append(reqs, req)
			}
		}
	}
	for _, req := range reqs {
		if _, err := demoDeliver(handler, req); err != nil {
			return 0, err
		}
	}
	return len(reqs), nil
}

// demoDeliver passes one signed platform call to the hub's webhook handler
// and returns the answer's body.
func demoDeliver(handler http.Handler, req *http.Request) ([]byte, error) {
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		return nil, fmt.Errorf("demo push to %s: %d %s", req.URL.Path, rec.Code, rec.Body.String())
	}
	return rec.Body.Bytes(), nil
}

// tmallJoins counts how the brand members Tmall asked about were answered,
// and how many of them were asked again (and answered bound) afterwards.
type tmallJoins struct {
	asked, bound, known, unknown, again int
	// took is how long each bind.query took to answer (Tmall waits ~1.2 s).
	took []time.Duration
}

// demoTmallJoins runs Tmall 会员通's join flow for some of the sandbox's
// brand members: Tmall asks bind.query, which the hub answers from its
// members (SUC: a member already; E02: known from another channel; E01:
// nobody), then calls bind or register as the answer says.
func demoTmallJoins(ctx context.Context, a *app, tenant *config.Tenant, set *sandboxes.Set) (tmallJoins, error) {
	const asked = 150
	var n tmallJoins
	handler := a.engine.WebhookHandler()
	target := "http://hub/webhooks/" + tenant.ID + "/taobao-shop"
	for _, r := range set.Running {
		srv, ok := r.Server.(*taobaosandbox.Server)
		if !ok {
			continue
		}
		query := func(ouid string) (string, error) {
			req, err := srv.MemberSPIRequest(ctx, target, top.SPIBindQuery, ouid)
			if err != nil {
				return "", err
			}
			start := time.Now()
			body, err := demoDeliver(handler, req)
			if err != nil {
				return "", err
			}
			n.took = append(n.took, time.Since(start))
			var reply top.SPIReply
			if err := json.Unmarshal(body, &reply); err != nil {
				return "", fmt.Errorf("demo bind.query answer %q: %w", body, err)
			}
			return reply.QueryCode, nil
		}
		members := srv.BrandMembers()
		for _, m := range members {
			if n.asked == asked {
				break
			}
			code, err := query(m.OUID)
			if err != nil {
				return n, err
			}
			n.asked++
			next := ""
			switch code {
			case top.SPICodeOK:
				n.bound++
			case top.SPICodeNotBound:
				n.known++
				next = top.SPIBind
			case top.SPICodeNoMember:
				n.unknown++
				next = top.SPIRegister
			default:
				return n, fmt.Errorf("demo bind.query answered %s", code)
			}
			if next == "" {
				continue
			}
			req, err := srv.MemberSPIRequest(ctx, target, next, m.OUID)
			if err != nil {
				return n, err
			}
			if _, err := demoDeliver(handler, req); err != nil {
				return n, err
			}
		}
		// Asked again, the ones who just joined are members already.
		for _, m := range members[:min(10, n.asked)] {
			code, err := query(m.OUID)
			if err != nil {
				return n, err
			}
			n.again++
			if code != top.SPICodeOK {
				return n, fmt.Errorf("demo: a brand member who just joined was answered %s when asked again, want %s", code, top.SPICodeOK)
			}
		}
	}
	return n, nil
}

// demoMembership sets a level and pushes the ledger's points balance for a
// few members who joined a platform's membership, and delivers them.
func demoMembership(ctx context.Context, a *app, tenant *config.Tenant) (int, error) {
	var ids []string
	err := a.store.ExportMembers(ctx, tenant.ID, func(m *store.MemberView) error {
		for _, s := range m.Sources {
			if (s.Connection == "taobao-shop" || s.Connection == "douyin-shop") && len(ids) < 5 {
				ids = append(ids, m.MemberID)
				break
			}
		}
		if len(ids) == 5 {
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return 0, err
	}
	writers := a.writers(tenant)
	jobs := map[string]bool{}
	for _, id := range ids {
		m, err := a.store.Member(ctx, tenant.ID, id)
		if err != nil {
			return 0, err
		}
		for action, params := range map[string]map[string]string{"member.level": {"level": "2"}, "points.set": {"points": fmt.Sprint(m.Points)}} {
			conns, err := a.store.QueueAction(ctx, tenant.ID, id, action, params, writers)
			if err != nil {
				return 0, err
			}
			for _, c := range conns {
				jobs[c] = true
			}
		}
	}
	delivered := 0
	for _, j := range tenant.Jobs {
		if !jobs[j.Connection] || !slices.Contains(j.Write, "member.level") {
			continue
		}
		res, err := a.engine.Run(ctx, engine.Request{Tenant: tenant.ID, Job: j.ID})
		if err != nil {
			return 0, fmt.Errorf("demo membership write-back: %w", err)
		}
		if res.Writes.Failed > 0 {
			return 0, fmt.Errorf("demo membership write-back to %s: %d failed", j.Connection, res.Writes.Failed)
		}
		delivered += res.Writes.Delivered
	}
	return delivered, nil
}

// demoErasure erases a member who is a Douyin shop member and delivers the
// erasure; it fails unless the sandbox's membership has ended. It returns
// the member id ("" when no Douyin sandbox runs).
func demoErasure(ctx context.Context, a *app, tenant *config.Tenant, set *sandboxes.Set) (string, error) {
	r := set.Get("douyin")
	if r == nil {
		return "", nil
	}
	srv := r.Server.(*douyinsandbox.Server)
	var memberID, openID string
	err := a.store.ExportMembers(ctx, tenant.ID, func(m *store.MemberView) error {
		var open string
		member := false
		for _, id := range m.Identities {
			switch mapping.IdentityType(id.Type) {
			case mapping.IDDouyinOpenID:
				open = id.Value
			case mapping.IDDouyinUnionID:
				member = true // the platform gives union ids for members only
			}
		}
		if b, ok := srv.Member(open); member && ok && b.Active {
			memberID, openID = m.MemberID, open
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return "", err
	}
	if memberID == "" {
		return "", fmt.Errorf("demo erasure: no Douyin shop member in the store")
	}
	res, err := a.store.Erase(ctx, tenant.ID, memberID, ActionErase, a.writers(tenant), &tenant.Identity)
	if err != nil {
		return "", err
	}
	for _, j := range tenant.Jobs {
		if slices.Contains(res.Queued, j.Connection) && slices.Contains(j.Write, ActionErase) {
			if _, err := a.engine.Run(ctx, engine.Request{Tenant: tenant.ID, Job: j.ID}); err != nil {
				return "", fmt.Errorf("demo erasure: %w", err)
			}
		}
	}
	if b, _ := srv.Member(openID); b.Active {
		return "", fmt.Errorf("demo erasure: member %s is still a Douyin shop member", memberID)
	}
	return memberID, nil
}

// demoPublishPointChanges has the Taobao sandbox publish point changes of
// brand members on TMC (earning and spending) and returns their record ids.
func demoPublishPointChanges(set *sandboxes.Set) []string {
	r := set.Get("taobao")
	if r == nil {
		return nil
	}
	srv := r.Server.(*taobaosandbox.Server)
	var recs []string
	for i, m := range srv.BrandMembers() {
		if i == 20 {
			break
		}
		delta, biz := int64(100), "签到"
		if i%2 == 1 {
			delta, biz = -30, "兑换"
		}
		recs = append(recs, srv.PublishPointChange(m.OUID, delta, biz))
	}
	return recs
}

// demoAnswerPointChanges runs the jobs that read Taobao's tmc stream once
// more, which answers the changes the last run stored, and returns how many
// Tmall heard answered as processed; it fails unless every change was.
func demoAnswerPointChanges(ctx context.Context, a *app, tenant *config.Tenant, set *sandboxes.Set, recs []string) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	for _, j := range tenant.Jobs {
		if j.Connection == "taobao-shop" && slices.Contains(j.Read, taobao.StreamTMC) {
			if _, err := a.engine.Run(ctx, engine.Request{Tenant: tenant.ID, Job: j.ID}); err != nil {
				return 0, fmt.Errorf("demo point changes: %w", err)
			}
		}
	}
	srv := set.Get("taobao").Server.(*taobaosandbox.Server)
	answered := 0
	for _, rec := range recs {
		if as := srv.PointAnswers(rec); len(as) > 0 && as[0].Result == top.PointChangeDone {
			answered++
		}
	}
	if answered != len(recs) {
		return answered, fmt.Errorf("demo point changes: %d of %d answered to Tmall", answered, len(recs))
	}
	return answered, nil
}
