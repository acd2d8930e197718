package lease

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestValidateRole(t *testing.T) {
	cases := []struct {
		name     string
		ttl, max time.Duration
		wantErr  error
	}{
		{"zero", 0, 0, nil},
		{"ttl only", time.Hour, 0, nil},
		{"equal", time.Hour, time.Hour, nil},
		{"negative ttl", -time.Second, 0, ErrNegativeTTL},
		{"negative max", 0, -time.Second, ErrNegativeMaxTTL},
		{"ttl over max", 2 * time.Hour, time.Hour, ErrTTLOverMax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateRole(tc.ttl, tc.max)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestIssue(t *testing.T) {
	mount := Limits{MountDefaultTTL: time.Hour, MountMaxTTL: 24 * time.Hour}
	withRole := func(ttl, max time.Duration) Limits {
		l := mount
		l.RoleTTL, l.RoleMaxTTL = ttl, max
		return l
	}
	cases := []struct {
		name      string
		requested time.Duration
		limits    Limits
		wantTTL   time.Duration
		wantMax   time.Duration
		warnings  int
		wantErr   error
	}{
		{"mount default", 0, mount, time.Hour, 24 * time.Hour, 0, nil},
		{"role ttl", 0, withRole(10*time.Minute, 0), 10 * time.Minute, 24 * time.Hour, 0, nil},
		{"requested wins", 5 * time.Minute, withRole(10*time.Minute, time.Hour), 5 * time.Minute, time.Hour, 0, nil},
		{"requested over role max capped", 2 * time.Hour, withRole(0, time.Hour), time.Hour, time.Hour, 1, nil},
		{"requested over mount max capped", 48 * time.Hour, mount, 24 * time.Hour, 24 * time.Hour, 1, nil},
		{"role max over mount max capped", 0, withRole(0, 48*time.Hour), time.Hour, 24 * time.Hour, 1, nil},
		{"role ttl over role max", 0, withRole(2*time.Hour, time.Hour), 0, 0, 0, ErrTTLOverMax},
		{"no mount default: max", 0, Limits{MountMaxTTL: time.Hour}, time.Hour, time.Hour, 0, nil},
		{"negative request", -time.Second, mount, 0, 0, 0, ErrNegativeTTL},
		{"no mount max", 0, Limits{}, 0, 0, 0, ErrNoLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Issue(tc.requested, tc.limits)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantTTL, g.TTL)
			require.Equal(t, tc.wantMax, g.MaxTTL)
			require.Len(t, g.Warnings, tc.warnings)
		})
	}
}

func TestCapAtExpiry(t *testing.T) {
	g := Grant{TTL: time.Hour, MaxTTL: 2 * time.Hour}
	cases := []struct {
		name     string
		expiry   time.Time
		wantTTL  time.Duration
		wantMax  time.Duration
		warnings int
		wantErr  error
	}{
		{"no expiry", time.Time{}, time.Hour, 2 * time.Hour, 0, nil},
		{"expiry after max", t0.Add(3 * time.Hour), time.Hour, 2 * time.Hour, 0, nil},
		{"expiry between ttl and max", t0.Add(90 * time.Minute), time.Hour, 90 * time.Minute, 0, nil},
		{"expiry before ttl", t0.Add(15 * time.Minute), 15 * time.Minute, 15 * time.Minute, 1, nil},
		{"expiry a second before ttl: capped, no warning", t0.Add(time.Hour - time.Second), time.Hour - time.Second, time.Hour - time.Second, 0, nil},
		{"expired", t0, 0, 0, 0, ErrExpired},
		{"expired in the past", t0.Add(-time.Minute), 0, 0, 0, ErrExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := CapAtExpiry(g, t0, tc.expiry)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantTTL, out.TTL)
			require.Equal(t, tc.wantMax, out.MaxTTL)
			require.Len(t, out.Warnings, tc.warnings)
		})
	}
}

func TestRenew(t *testing.T) {
	mount := Limits{MountDefaultTTL: time.Hour, MountMaxTTL: 24 * time.Hour}
	role := Limits{RoleTTL: 15 * time.Minute, RoleMaxTTL: 2 * time.Hour, MountDefaultTTL: time.Hour, MountMaxTTL: 24 * time.Hour}
	cases := []struct {
		name     string
		in       RenewInput
		wantTTL  time.Duration
		wantMax  time.Duration
		warnings int
		wantErr  error
	}{
		{"increment", RenewInput{Increment: 30 * time.Minute, Limits: role, IssueTime: t0, Now: t0.Add(time.Minute)}, 30 * time.Minute, 2 * time.Hour, 0, nil},
		{"role ttl when no increment", RenewInput{Limits: role, IssueTime: t0, Now: t0.Add(time.Minute)}, 15 * time.Minute, 2 * time.Hour, 0, nil},
		{"mount default when no role ttl", RenewInput{Limits: mount, IssueTime: t0, Now: t0}, time.Hour, 24 * time.Hour, 0, nil},
		{"no default: what is left", RenewInput{Limits: Limits{MountMaxTTL: time.Hour}, IssueTime: t0, Now: t0.Add(20 * time.Minute)}, 40 * time.Minute, time.Hour, 0, nil},
		{"capped at role max", RenewInput{Increment: 2 * time.Hour, Limits: role, IssueTime: t0, Now: t0.Add(90 * time.Minute)}, 30 * time.Minute, 2 * time.Hour, 1, nil},
		{"capped at hard expiry", RenewInput{Increment: time.Hour, Limits: role, IssueTime: t0, Now: t0.Add(5 * time.Minute), Expiry: t0.Add(15 * time.Minute)}, 10 * time.Minute, 15 * time.Minute, 1, nil},
		{"expiry after max keeps max", RenewInput{Increment: time.Hour, Limits: role, IssueTime: t0, Now: t0, Expiry: t0.Add(5 * time.Hour)}, time.Hour, 2 * time.Hour, 0, nil},
		{"at hard expiry", RenewInput{Increment: time.Hour, Limits: role, IssueTime: t0, Now: t0.Add(15 * time.Minute), Expiry: t0.Add(15 * time.Minute)}, 0, 0, 0, ErrExpired},
		{"past hard expiry", RenewInput{Increment: time.Hour, Limits: role, IssueTime: t0, Now: t0.Add(time.Hour), Expiry: t0.Add(15 * time.Minute)}, 0, 0, 0, ErrExpired},
		{"past max ttl", RenewInput{Limits: role, IssueTime: t0, Now: t0.Add(3 * time.Hour)}, 0, 0, 0, ErrPastMaxTTL},
		{"negative increment", RenewInput{Increment: -time.Second, Limits: role, IssueTime: t0, Now: t0}, 0, 0, 0, ErrNegativeTTL},
		{"no mount max", RenewInput{IssueTime: t0, Now: t0}, 0, 0, 0, ErrNoLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Renew(tc.in)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantTTL, g.TTL)
			require.Equal(t, tc.wantMax, g.MaxTTL)
			require.Len(t, g.Warnings, tc.warnings)
			// Invariant: the lease never ends after the hard expiry.
			if !tc.in.Expiry.IsZero() {
				require.False(t, tc.in.Now.Add(g.TTL).After(tc.in.Expiry))
				require.False(t, tc.in.IssueTime.Add(g.MaxTTL).After(tc.in.Expiry))
			}
		})
	}
}
