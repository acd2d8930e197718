package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	awsdriver "github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// auditResult is the audit case (issue 14): the plugin's audit/<provider>
// of one AWS account that holds Leases users of live leases issued through
// the plugin, Orphans users with this mount's mark made behind its back,
// OtherMount users with another mount's mark and Unmarked users, read
// through Vault under an account-wide rate limit; then tidy removes the
// orphans, and revoke -prefix the leases, and the other users must all
// still be there.
type auditResult struct {
	Leases     int `json:"leases"`
	Orphans    int `json:"orphans"`
	OtherMount int `json:"other_mount"`
	Unmarked   int `json:"unmarked"`
	// Users is every IAM user in the account when audit ran (the root
	// user of the emulator included).
	Users        int     `json:"users"`
	RateLimitRPS float64 `json:"rate_limit_rps"`
	LatencyMS    int     `json:"latency_ms"`
	PageSize     int     `json:"page_size"`
	// GAAD is the audit with iam:GetAccountAuthorizationDetails allowed;
	// Fallback with it denied (ListUsers + ListUserTags), only in a full
	// run.
	GAAD     auditRun  `json:"get_account_authorization_details"`
	Fallback *auditRun `json:"list_users_fallback,omitempty"`
	// TidyS is how long tidy (dry_run=false, min_age=0s, no rate limit)
	// took, Removed what it removed, TidyFailed what it could not.
	TidyS      float64 `json:"tidy_s"`
	Removed    int     `json:"removed"`
	TidyFailed int     `json:"tidy_failed"`
	// UsersLeft is the users beyond those before the case once the leases
	// were revoked: the other mount's and the unmarked ones, untouched.
	UsersLeft   int `json:"users_left"`
	LeasesLeft  int `json:"leases_left"`
	Irrevocable int `json:"irrevocable"`
}

// auditRun is one read of audit/<provider>.
type auditRun struct {
	// OK is false when the read failed (Error says why, masked).
	OK        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
	DurationS float64 `json:"duration_s"`
	Scanned   int     `json:"scanned"`
	Held      int     `json:"held"`
	Orphans   int     `json:"orphans"`
	Ghosts    int     `json:"ghosts"`
	// Requests is every request the account answered during the read,
	// Throttled those it answered with Throttling (over the rate limit).
	Requests  int            `json:"requests"`
	Throttled int            `json:"throttled"`
	Counts    map[string]int `json:"counts"`
}

// auditInstance is the plugin's provider instance of the audit case.
const auditInstance = "aws-audit"

// awsAuditOurs issues the audit case's live leases.
var awsAuditOurs = engine{Name: "multicloud", Creds: "multicloud/creds/" + auditInstance + "/bench"}

// gaadDenier answers iam:GetAccountAuthorizationDetails with IAM's
// AccessDenied while deny is set, as AWS does for a credential whose
// policy does not allow it (the driver then falls back to ListUsers +
// ListUserTags); every other request goes to the emulator.
type gaadDenier struct {
	http.Handler
	deny atomic.Bool
}

func newGAADDenier(next http.Handler) *gaadDenier {
	g := &gaadDenier{}
	g.Handler = awstest.Deny(next, func(action string) bool {
		return g.deny.Load() && action == "GetAccountAuthorizationDetails"
	})
	return g
}

// auditCase runs the audit case (see auditResult).
func (b *bench) auditCase(ctx context.Context, o options) (*auditResult, error) {
	a := b.clouds.audit
	res := &auditResult{Leases: o.auditLeases, Orphans: o.auditOrphans, OtherMount: o.auditOthers, Unmarked: o.auditOthers,
		RateLimitRPS: o.auditRate, LatencyMS: o.latencyMS, PageSize: auditPageSize}
	if err := a.admin.setFaults(ctx, emulator.Faults{}); err != nil {
		return nil, err
	}
	st, err := a.admin.state(ctx)
	if err != nil {
		return nil, err
	}
	base := st["users"]
	n, err := b.issueMany(ctx, awsAuditOurs, o.auditLeases)
	if err != nil {
		return nil, err
	}
	if n != o.auditLeases {
		return nil, fmt.Errorf("issued %d of %d leases at %s", n, o.auditLeases, awsAuditOurs.Creds)
	}
	sec, err := b.s.client.Logical().ReadWithContext(ctx, "multicloud/settings")
	if err != nil || sec == nil {
		return nil, fmt.Errorf("read multicloud/settings: %v", err)
	}
	mount, _ := sec.Data["mount_id"].(string)
	if mount == "" {
		return nil, fmt.Errorf("multicloud/settings has no mount_id after %d issues", n)
	}
	other := "abcdefgh"
	if mount == other {
		other = "hgfedcba"
	}
	if err := a.createUsers(ctx, res.Orphans, res.OtherMount, res.Unmarked, mount, other); err != nil {
		return nil, err
	}
	st, err = a.admin.state(ctx)
	if err != nil {
		return nil, err
	}
	res.Users = st["users"]
	fmt.Printf("   %d users in the account: %d of live leases, %d orphans, %d of another mount, %d unmarked\n",
		res.Users, res.Leases, res.Orphans, res.OtherMount, res.Unmarked)

	limited := emulator.Faults{LatencyMS: o.latencyMS, RateLimitRPS: o.auditRate}
	if err := a.admin.setFaults(ctx, limited); err != nil {
		return nil, err
	}
	// A full bucket for each read.
	time.Sleep(time.Second)
	if res.GAAD, err = b.auditRead(ctx, a); err != nil {
		return nil, err
	}
	fmt.Printf("   audit (GetAccountAuthorizationDetails): %s\n", res.GAAD.text())
	if !o.quick {
		time.Sleep(time.Second)
		a.denier.deny.Store(true)
		fb, err := b.auditRead(ctx, a)
		a.denier.deny.Store(false)
		if err != nil {
			return nil, err
		}
		res.Fallback = &fb
		fmt.Printf("   audit (ListUsers + ListUserTags):           %s\n", fb.text())
	}

	// Clean up without a rate limit: tidy removes the orphans, revoke
	// -prefix the leases; the other mount's and the unmarked users stay.
	if err := a.admin.setFaults(ctx, emulator.Faults{LatencyMS: o.latencyMS}); err != nil {
		return nil, err
	}
	start := time.Now()
	sec, err = b.s.client.Logical().WriteWithContext(ctx, "multicloud/tidy/"+auditInstance,
		map[string]any{"dry_run": false, "min_age": "0s"})
	if err != nil || sec == nil {
		return nil, fmt.Errorf("tidy %s: %v", auditInstance, err)
	}
	res.TidyS = round1(time.Since(start).Seconds())
	res.Removed = lenOf(sec.Data["removed"])
	res.TidyFailed = lenOf(sec.Data["failed"])
	if err := b.revokePrefix(ctx, awsAuditOurs.Creds); err != nil {
		return nil, err
	}
	keep := res.OtherMount + res.Unmarked
	for start := time.Now(); ; {
		st, err := a.admin.state(ctx)
		if err != nil {
			return nil, err
		}
		res.UsersLeft = st["users"] - base
		if res.UsersLeft <= keep || time.Since(start) > 2*time.Minute {
			break
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	time.Sleep(time.Second)
	side := &bulkSide{Prefix: awsAuditOurs.Creds}
	if err := b.leasesLeft(ctx, side); err != nil {
		return nil, err
	}
	res.LeasesLeft, res.Irrevocable = side.LeasesLeft, side.Irrevocable
	fmt.Printf("   tidy removed %d orphans in %.1fs (%d failed); after revoke -prefix %d users left (the %d of another mount or unmarked), %d leases, %d irrevocable\n",
		res.Removed, res.TidyS, res.TidyFailed, res.UsersLeft, keep, res.LeasesLeft, res.Irrevocable)
	return res, nil
}

// auditRead reads audit/<auditInstance> once, with a client that waits
// longer than Vault's request timeout (90 s), so that Vault's answer is
// what is measured.
func (b *bench) auditRead(ctx context.Context, a auditCloud) (auditRun, error) {
	var r auditRun
	c0, err := a.admin.calls(ctx)
	if err != nil {
		return r, err
	}
	client, err := b.s.client.Clone()
	if err != nil {
		return r, err
	}
	client.SetToken(b.s.client.Token())
	client.SetClientTimeout(3 * time.Minute)
	start := time.Now()
	sec, err := client.Logical().ReadWithContext(ctx, "multicloud/audit/"+auditInstance)
	r.DurationS = round1(time.Since(start).Seconds())
	switch {
	case err != nil:
		r.Error = errText(b.s.masker.mask(err.Error()))
	case sec == nil:
		r.Error = "no answer"
	default:
		r.OK = true
		r.Scanned, r.Held = intOf(sec.Data["scanned"]), intOf(sec.Data["held"])
		r.Orphans, r.Ghosts = lenOf(sec.Data["orphans"]), lenOf(sec.Data["ghosts"])
	}
	// Calls still running when Vault gave up finish within a few seconds.
	if !r.OK {
		time.Sleep(5 * time.Second)
	}
	c1, err := a.admin.calls(ctx)
	if err != nil {
		return r, err
	}
	d := callsBetween(c0, c1, start)
	r.Requests, r.Counts = d.Total, d.Counts
	for _, e := range c1.Log {
		if !e.Start.Before(start) && e.Fault == emulator.Throttle.String() {
			r.Throttled++
		}
	}
	return r, nil
}

func (r auditRun) text() string {
	if !r.OK {
		return fmt.Sprintf("FAILED after %.1fs (%s); %d requests, %d throttled", r.DurationS, r.Error, r.Requests, r.Throttled)
	}
	return fmt.Sprintf("%.1fs, %d marked users scanned, %d held, %d orphans, %d ghosts; %d requests, %d throttled",
		r.DurationS, r.Scanned, r.Held, r.Orphans, r.Ghosts, r.Requests, r.Throttled)
}

// auditPageSize is the most users the audit account returns per page:
// IAM's largest MaxItems, which the driver asks for.
const auditPageSize = 1000

// auditCloud is the audit case's account, served behind a gaadDenier.
type auditCloud struct {
	awsCloud
	denier *gaadDenier
}

// createUsers makes, with the account's root key through the IAM SDK,
// orphans users with this mount's mark (instance auditInstance), others
// with another mount's and unmarked more without a mark.
func (a auditCloud) createUsers(ctx context.Context, orphans, others, unmarked int, mount, otherMount string) error {
	client := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(a.url),
		Credentials: credentials.NewStaticCredentialsProvider(a.accessKey, a.secretKey, "")})
	total := orphans + others + unmarked
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				in := &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("bench-audit-%05d", i))}
				switch {
				case i < orphans:
					in.Tags = markTags(mount, auditInstance)
				case i < orphans+others:
					in.Tags = markTags(otherMount, auditInstance)
				}
				if _, err := client.CreateUser(ctx, in); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("iam CreateUser: %w", err)
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// markTags are the tags the AWS driver marks its users with.
func markTags(mount, instance string) []iamtypes.Tag {
	return []iamtypes.Tag{
		{Key: aws.String(awsdriver.MarkMountTag), Value: aws.String(mount)},
		{Key: aws.String(awsdriver.MarkInstanceTag), Value: aws.String(instance)},
	}
}

func lenOf(v any) int {
	l, _ := v.([]any)
	return len(l)
}

func intOf(v any) int {
	switch x := v.(type) {
	case interface{ Int64() (int64, error) }:
		n, _ := x.Int64()
		return int(n)
	case float64:
		return int(x)
	case int:
		return x
	}
	return -1
}
