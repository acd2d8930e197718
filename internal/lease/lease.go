// Package lease holds the TTL arithmetic of the plugin as pure functions:
// no clock, no storage, no Vault calls. Every input, including "now", is a
// parameter, so each rule is table-tested.
//
// The rules follow Vault's own framework.CalculateTTL (the mount's max caps
// everything, a TTL above the max is capped with a warning, a zero TTL falls
// back to the mount default) and add what Vault cannot know: a cloud's hard
// expiry, past which a credential is dead whatever its lease says. Because
// Vault ignores the TTL a backend returns on renew whenever the caller asks
// for an increment, a hard expiry is always expressed as a MaxTTL counted
// from the issue time (see docs/reference/vault-internals.md §5).
package lease

import (
	"errors"
	"fmt"
	"time"
)

// Limits are the TTL bounds that apply to one credential: the role's and the
// mount's (the mount's values already include the system defaults, as
// logical.SystemView reports them).
type Limits struct {
	// RoleTTL is the role's default TTL; 0 means "use the mount default".
	RoleTTL time.Duration
	// RoleMaxTTL is the role's max TTL; 0 means "use the mount max".
	RoleMaxTTL time.Duration
	// MountDefaultTTL is the mount's (or system's) default lease TTL.
	MountDefaultTTL time.Duration
	// MountMaxTTL is the mount's (or system's) max lease TTL.
	MountMaxTTL time.Duration
}

// Validation errors. They name the field so the backend can answer 400.
var (
	ErrNegativeTTL    = errors.New("ttl must not be negative")
	ErrNegativeMaxTTL = errors.New("max_ttl must not be negative")
	ErrTTLOverMax     = errors.New("ttl must not be greater than max_ttl")
	ErrExpired        = errors.New("the credential has reached its hard expiry; the lease is not renewable")
	ErrPastMaxTTL     = errors.New("the lease has reached its max TTL; it is not renewable")
	ErrNoLimit        = errors.New("the mount's max lease TTL must be greater than zero")
)

// ValidateRole checks a role's ttl and max_ttl on their own.
func ValidateRole(ttl, maxTTL time.Duration) error {
	switch {
	case ttl < 0:
		return ErrNegativeTTL
	case maxTTL < 0:
		return ErrNegativeMaxTTL
	case maxTTL > 0 && ttl > maxTTL:
		return fmt.Errorf("%w (ttl %s, max_ttl %s)", ErrTTLOverMax, ttl, maxTTL)
	}
	return nil
}

// Grant is the outcome of a TTL computation.
type Grant struct {
	// TTL is the lease TTL to return (Secret.TTL).
	TTL time.Duration
	// MaxTTL is the lease's max TTL counted from its issue time
	// (Secret.MaxTTL). It is always set, so Vault caps every renew by it.
	MaxTTL time.Duration
	// Warnings explain every cap that was applied.
	Warnings []string
}

// EffectiveMax returns the max TTL of a lease before any cloud expiry: the
// mount max, lowered to the role max when that is smaller. A role max above
// the mount max is capped (with a warning), as Vault does.
func EffectiveMax(l Limits) (time.Duration, []string, error) {
	if l.MountMaxTTL <= 0 {
		return 0, nil, ErrNoLimit
	}
	max := l.MountMaxTTL
	var warnings []string
	if l.RoleMaxTTL > 0 {
		if l.RoleMaxTTL <= max {
			max = l.RoleMaxTTL
		} else {
			warnings = append(warnings, fmt.Sprintf("the role's max_ttl of %s exceeds the mount's max lease TTL of %s; it is capped accordingly", l.RoleMaxTTL, max))
		}
	}
	return max, warnings, nil
}

// Issue computes the TTL of a new lease before the cloud call: the requested
// TTL, else the role's, else the mount default, capped at the effective max.
// A negative request is an error; a request above the max is capped with a
// warning (Vault's behaviour), never refused.
func Issue(requested time.Duration, l Limits) (Grant, error) {
	if requested < 0 {
		return Grant{}, ErrNegativeTTL
	}
	if err := ValidateRole(l.RoleTTL, l.RoleMaxTTL); err != nil {
		return Grant{}, err
	}
	max, warnings, err := EffectiveMax(l)
	if err != nil {
		return Grant{}, err
	}
	ttl := requested
	switch {
	case ttl > 0:
	case l.RoleTTL > 0:
		ttl = l.RoleTTL
	case l.MountDefaultTTL > 0:
		ttl = l.MountDefaultTTL
	default:
		ttl = max
	}
	if ttl > max {
		warnings = append(warnings, fmt.Sprintf("ttl of %s exceeds the effective max_ttl of %s; it is capped accordingly", ttl, max))
		ttl = max
	}
	return Grant{TTL: ttl, MaxTTL: max, Warnings: warnings}, nil
}

// expiryTolerance is how much shorter than the TTL asked a credential's
// remaining lifetime may be without a warning.
const expiryTolerance = 10 * time.Second

// CapAtExpiry lowers a grant made at issue time "now" so the lease never
// outlives a cloud's hard expiry. A zero expiry means the cloud imposes
// none. An expiry at or before now is an error: the credential is dead.
func CapAtExpiry(g Grant, now, expiry time.Time) (Grant, error) {
	if expiry.IsZero() {
		return g, nil
	}
	left := expiry.Sub(now)
	if left <= 0 {
		return Grant{}, ErrExpired
	}
	if g.TTL > left {
		// A cloud that sets the credential's lifetime from the TTL asked
		// (STS DurationSeconds) counts it from its own clock, to the
		// second, before the lease's clock starts: a shortfall of a few
		// seconds is the create's latency, not worth a warning.
		if g.TTL-left > expiryTolerance {
			g.Warnings = append(g.Warnings, fmt.Sprintf("ttl of %s exceeds the credential's lifetime in the cloud; the lease ends with it, in %s", g.TTL, left.Truncate(time.Second)))
		}
		g.TTL = left
	}
	if g.MaxTTL > left {
		g.MaxTTL = left
	}
	return g, nil
}

// RenewInput is everything one renew needs.
type RenewInput struct {
	// Increment is the caller's requested increment (0: none asked).
	Increment time.Duration
	// Limits are the role's (as of now, or as recorded at issue when the
	// role is gone) and the mount's.
	Limits Limits
	// IssueTime is when the lease was issued.
	IssueTime time.Time
	// Now is the time of the renew.
	Now time.Time
	// Expiry is the cloud's hard expiry of the credential, zero if none.
	Expiry time.Time
}

// Renew computes the TTL and max TTL (counted from IssueTime) a renew
// response must carry. The new TTL is the increment, else the role TTL,
// else the mount default, capped so the lease ends no later than
// IssueTime+max and the cloud's hard expiry.
func Renew(in RenewInput) (Grant, error) {
	if in.Increment < 0 {
		return Grant{}, ErrNegativeTTL
	}
	max, warnings, err := EffectiveMax(in.Limits)
	if err != nil {
		return Grant{}, err
	}
	if !in.Expiry.IsZero() {
		if !in.Expiry.After(in.Now) {
			return Grant{}, ErrExpired
		}
		if untilExpiry := in.Expiry.Sub(in.IssueTime); untilExpiry < max {
			max = untilExpiry
		}
	}
	end := in.IssueTime.Add(max)
	left := end.Sub(in.Now)
	if left <= 0 {
		return Grant{}, ErrPastMaxTTL
	}
	ttl := in.Increment
	switch {
	case ttl > 0:
	case in.Limits.RoleTTL > 0:
		ttl = in.Limits.RoleTTL
	case in.Limits.MountDefaultTTL > 0:
		ttl = in.Limits.MountDefaultTTL
	default:
		ttl = left
	}
	if ttl > left {
		warnings = append(warnings, fmt.Sprintf("ttl of %s exceeds what is left of the lease's max TTL; it is capped at %s", ttl, left.Truncate(time.Second)))
		ttl = left
	}
	return Grant{TTL: ttl, MaxTTL: max, Warnings: warnings}, nil
}
