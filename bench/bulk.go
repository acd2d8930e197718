package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// bulkResult is the bulk case: Leases IAM users per engine, each engine on
// its own emulated account with the same request-rate limit, emptied by an
// asynchronous `vault lease revoke -prefix` of the role; the plugin's
// first, then the builtin engine's, so that each has all of Vault's
// revocation workers.
type bulkResult struct {
	Leases       int     `json:"leases"`
	RateLimitRPS float64 `json:"rate_limit_rps"`
	LatencyMS    int     `json:"latency_ms"`
	// CallsNeeded is what the revokes need (Leases × 8 IAM calls), FloorS
	// the least time the account allows for them (CallsNeeded / rate).
	CallsNeeded int     `json:"calls_needed"`
	FloorS      float64 `json:"floor_s"`
	// CapS is the longest the benchmark waits for the builtin engine.
	CapS    float64  `json:"cap_s"`
	Ours    bulkSide `json:"multicloud"`
	Builtin bulkSide `json:"builtin"`
	// RSSBeforeMB is the plugin process's resident memory before the bulk
	// case's leases were issued (after every other phase). LiveLeases is
	// how many leases the plugin held when RSSLiveMB was read (the bulk
	// role's and KeepLeases more on another account); RSSRevokeMaxMB is
	// the most the plugin process held while it revoked.
	RSSBeforeMB    float64 `json:"rss_before_mb"`
	LiveLeases     int     `json:"live_leases"`
	RSSLiveMB      float64 `json:"rss_live_mb"`
	RSSRevokeMaxMB float64 `json:"rss_revoke_max_mb"`
	// Keep is the clean-up of the KeepLeases other leases (no rate limit).
	KeepLeases int       `json:"keep_leases"`
	Keep       *bulkSide `json:"keep,omitempty"`
}

// bulkSide is one engine's outcome in the bulk case.
type bulkSide struct {
	Engine string `json:"engine"`
	Prefix string `json:"prefix"`
	// IssueErrors counts failed issues while the leases were made.
	IssueErrors int `json:"issue_errors"`
	// EmptyS is when the account held none of the leases' users any more
	// (Reached false: not within the cap; EmptyS is then the cap).
	EmptyS  float64 `json:"empty_s"`
	Reached bool    `json:"reached"`
	// UsersLeft is the users still in the account at the end of the
	// wait; LeasesLeft the leases Vault still held under the prefix, of
	// which Irrevocable marked irrevocable.
	UsersLeft   int `json:"users_left"`
	LeasesLeft  int `json:"leases_left"`
	Irrevocable int `json:"irrevocable"`
	// Calls is the IAM calls of the revokes (throttled ones included).
	Calls int `json:"calls"`
	// Series are the IAM users left, sampled every half second from the
	// revoke -prefix (the plot draws them all); SeriesJSON, written to
	// results.json, keeps one sample in four and the one that reached 0.
	Series     []bulkPoint `json:"-"`
	SeriesJSON []bulkPoint `json:"series,omitempty"`
}

// bulkPoint is one sample of the objects left.
type bulkPoint struct {
	TS   float64 `json:"t_s"`
	Left int     `json:"left"`
}

// bulkChunk is how many issues of the bulk case run at once.
const bulkChunk = 50

// bulkCase runs the bulk case (see bulkResult).
func (b *bench) bulkCase(ctx context.Context, o options) (*bulkResult, error) {
	c := b.clouds
	res := &bulkResult{Leases: o.prefixLeases, RateLimitRPS: o.prefixRate, LatencyMS: o.prefixLatencyMS,
		CallsNeeded: o.prefixLeases * callsPerAWSOp, CapS: o.builtinCap.Seconds(), KeepLeases: o.keepLeases}
	res.FloorS = float64(res.CallsNeeded) / o.prefixRate
	res.Ours = bulkSide{Engine: awsBulkOurs.Name, Prefix: credsPrefix(awsBulkOurs)}
	res.Builtin = bulkSide{Engine: awsBulkBuiltin.Name, Prefix: credsPrefix(awsBulkBuiltin)}
	noLimit := emulator.Faults{LatencyMS: o.prefixLatencyMS}
	for _, a := range []admin{c.bulkOurs.admin, c.bulkBuiltin.admin, c.keep.admin} {
		if err := a.setFaults(ctx, noLimit); err != nil {
			return nil, err
		}
	}
	base := map[*awsCloud]int{}
	for _, a := range []*awsCloud{&c.bulkOurs, &c.bulkBuiltin, &c.keep} {
		st, err := a.admin.state(ctx)
		if err != nil {
			return nil, err
		}
		base[a] = st["users"]
	}

	if rss, err := b.s.pluginRSS(); err == nil {
		res.RSSBeforeMB = mb(rss)
	}
	// The leases: the bulk role on both sides, and more of the plugin's on
	// a third account, all issued without a rate limit.
	for _, x := range []struct {
		e    engine
		n    int
		errs *int
	}{{awsBulkOurs, o.prefixLeases, &res.Ours.IssueErrors}, {awsBulkBuiltin, o.prefixLeases, &res.Builtin.IssueErrors}, {awsKeepOurs, o.keepLeases, nil}} {
		n, err := b.issueMany(ctx, x.e, x.n)
		if err != nil {
			return nil, err
		}
		if x.errs != nil {
			*x.errs = x.n - n
		}
		if x.e.Creds != awsBulkBuiltin.Creds {
			res.LiveLeases += n
		}
		fmt.Printf("   issued %d of %d at %s\n", n, x.n, x.e.Creds)
	}
	if rss, err := b.s.pluginRSS(); err == nil {
		res.RSSLiveMB = mb(rss)
	} else {
		fmt.Println("   plugin memory not measured:", err)
	}

	limited := emulator.Faults{LatencyMS: o.prefixLatencyMS, RateLimitRPS: o.prefixRate}
	// The plugin's wait is bounded well past its floor; the builtin
	// engine's by the cap.
	oursLimit := max(o.builtinCap, time.Duration(3*res.FloorS*float64(time.Second))+time.Minute)
	for _, x := range []struct {
		a     *awsCloud
		side  *bulkSide
		rss   bool
		limit time.Duration
	}{{&c.bulkOurs, &res.Ours, true, oursLimit}, {&c.bulkBuiltin, &res.Builtin, false, o.builtinCap}} {
		if err := x.a.admin.setFaults(ctx, limited); err != nil {
			return nil, err
		}
		c0, err := x.a.admin.calls(ctx)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if err := b.revokePrefix(ctx, x.side.Prefix); err != nil {
			return nil, err
		}
		onSample := func() {}
		if x.rss {
			onSample = func() {
				if rss, err := b.s.pluginRSS(); err == nil {
					res.RSSRevokeMaxMB = max(res.RSSRevokeMaxMB, mb(rss))
				}
			}
		}
		if err := b.watchSide(ctx, x.a, base[x.a], x.side, start, x.limit, onSample); err != nil {
			return nil, err
		}
		x.side.SeriesJSON = thin(x.side.Series, 4)
		c1, err := x.a.admin.calls(ctx)
		if err != nil {
			return nil, err
		}
		x.side.Calls = c1.Total - c0.Total
		// Vault deletes a lease right after the revoke that emptied its user.
		time.Sleep(time.Second)
		if err := b.leasesLeft(ctx, x.side); err != nil {
			return nil, err
		}
		fmt.Printf("   %-10s %s (floor %.0fs), %d calls, %d users / %d leases left, %d irrevocable\n",
			x.side.Engine+":", emptyText(*x.side), res.FloorS, x.side.Calls, x.side.UsersLeft, x.side.LeasesLeft, x.side.Irrevocable)
	}
	fmt.Printf("   plugin RSS %.1f MB before, %.1f MB with %d live leases, at most %.1f MB while revoking\n", res.RSSBeforeMB, res.RSSLiveMB, res.LiveLeases, res.RSSRevokeMaxMB)

	if o.keepLeases > 0 {
		keep, err := b.cleanKeep(ctx, base[&c.keep])
		if err != nil {
			return nil, err
		}
		res.Keep = keep
	}
	return res, nil
}

// thin keeps every k-th point and the last.
func thin(ps []bulkPoint, k int) []bulkPoint {
	var out []bulkPoint
	for i, p := range ps {
		if i%k == 0 || i == len(ps)-1 {
			out = append(out, p)
		}
	}
	return out
}

// issueMany issues n credentials of e, bulkChunk at a time, and returns
// how many succeeded.
func (b *bench) issueMany(ctx context.Context, e engine, n int) (int, error) {
	ok := 0
	for done := 0; done < n; done += bulkChunk {
		k := min(bulkChunk, n-done)
		_, errs, _ := batch(ctx, k, true, func(ctx context.Context, _ int) error {
			_, _, err := b.issue(ctx, e)
			return err
		})
		for _, err := range errs {
			if err == nil {
				ok++
			}
		}
		if ctx.Err() != nil {
			return ok, ctx.Err()
		}
	}
	return ok, nil
}

// watchSide samples an account every half second until it holds none of
// the leases' users or limit has passed, and calls onSample each time.
func (b *bench) watchSide(ctx context.Context, a *awsCloud, base int, side *bulkSide, start time.Time, limit time.Duration, onSample func()) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		now := time.Since(start)
		st, err := a.admin.state(ctx)
		if err != nil {
			return err
		}
		p := bulkPoint{TS: round1(now.Seconds()), Left: st["users"] - base}
		side.Series = append(side.Series, p)
		side.UsersLeft = p.Left
		onSample()
		if p.Left <= 0 || now >= limit {
			side.Reached, side.EmptyS = p.Left <= 0, p.TS
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// leasesLeft counts the leases Vault still holds under each side's prefix
// and those of them marked irrevocable.
func (b *bench) leasesLeft(ctx context.Context, sides ...*bulkSide) error {
	irrevocable, err := b.irrevocable(ctx)
	if err != nil {
		return err
	}
	for _, side := range sides {
		sec, err := b.s.client.Logical().ListWithContext(ctx, "sys/leases/lookup/"+side.Prefix+"/")
		if err != nil {
			return fmt.Errorf("list leases of %s: %w", side.Prefix, err)
		}
		side.LeasesLeft = 0
		if sec != nil {
			if keys, ok := sec.Data["keys"].([]any); ok {
				side.LeasesLeft = len(keys)
			}
		}
		side.Irrevocable = 0
		for _, id := range irrevocable {
			if strings.HasPrefix(id, side.Prefix+"/") {
				side.Irrevocable++
			}
		}
	}
	return nil
}

// irrevocable lists the ids of the leases Vault has marked irrevocable.
func (b *bench) irrevocable(ctx context.Context) ([]string, error) {
	sec, err := b.s.client.Logical().ReadWithDataWithContext(ctx, "sys/leases", map[string][]string{"type": {"irrevocable"}, "limit": {"none"}})
	if err != nil {
		return nil, fmt.Errorf("list irrevocable leases: %w", err)
	}
	var ids []string
	if sec == nil {
		return nil, nil
	}
	leases, _ := sec.Data["leases"].([]any)
	for _, l := range leases {
		if m, ok := l.(map[string]any); ok {
			ids = append(ids, fmt.Sprint(m["lease_id"]))
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// cleanKeep revokes the plugin's other leases (no rate limit) and waits
// at most two minutes for their users to go.
func (b *bench) cleanKeep(ctx context.Context, baseUsers int) (*bulkSide, error) {
	side := &bulkSide{Engine: awsKeepOurs.Name, Prefix: credsPrefix(awsKeepOurs)}
	c0, err := b.clouds.keep.admin.calls(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := b.revokePrefix(ctx, side.Prefix); err != nil {
		return nil, err
	}
	for {
		st, err := b.clouds.keep.admin.state(ctx)
		if err != nil {
			return nil, err
		}
		side.UsersLeft = st["users"] - baseUsers
		if side.UsersLeft <= 0 || time.Since(start) > 2*time.Minute {
			side.Reached, side.EmptyS = side.UsersLeft <= 0, round1(time.Since(start).Seconds())
			break
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c1, err := b.clouds.keep.admin.calls(ctx)
	if err != nil {
		return nil, err
	}
	side.Calls = c1.Total - c0.Total
	// Vault deletes a lease right after the revoke that emptied its user.
	time.Sleep(time.Second)
	if err := b.leasesLeft(ctx, side); err != nil {
		return nil, err
	}
	fmt.Printf("   clean-up of the %s leases: %s, %d users / %d leases left, %d irrevocable\n", side.Prefix, emptyText(*side), side.UsersLeft, side.LeasesLeft, side.Irrevocable)
	return side, nil
}

// revokePrefix is `vault lease revoke -prefix` (asynchronous: Vault
// answers 202 and its revocation workers revoke the leases). The API's
// sync parameter defaults to true; the CLI sends false unless -sync.
func (b *bench) revokePrefix(ctx context.Context, prefix string) error {
	if _, err := b.s.client.Logical().WriteWithContext(ctx, "sys/leases/revoke-prefix/"+prefix, map[string]any{"sync": false}); err != nil {
		return fmt.Errorf("revoke -prefix %s: %w", prefix, err)
	}
	return nil
}

// credsPrefix is the lease prefix of an engine's role ("<mount>/creds/<role>").
func credsPrefix(e engine) string { return e.Creds }

func emptyText(s bulkSide) string {
	if s.Reached {
		return fmt.Sprintf("empty after %.1fs", s.EmptyS)
	}
	return fmt.Sprintf("NOT empty after %.0fs (capped)", s.EmptyS)
}

func mb(bytes int64) float64 { return round1(float64(bytes) / (1 << 20)) }

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
