package aws

import (
	"context"
	"strings"
	"sync"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// An IAM role's MaxSessionDuration (3600 to 43200 seconds, 3600 unless
// set: IAM API Reference, CreateRole) bounds AssumeRole's DurationSeconds:
// "If you specify a value higher than this setting ..., the operation
// fails" (STS API Reference, AssumeRole), with 400 ValidationError "The
// requested DurationSeconds exceeds the MaxSessionDuration set for this
// role.". Sessions assumed with role-session credentials (role chaining)
// are limited to one hour the same way. So the driver asks for no more
// than the role allows: it reads MaxSessionDuration with iam:GetRole for
// roles of the credential's own account (at role write, and at issue when
// its cached value is missing or older than maxSessionCacheFor), and when
// STS still refuses the duration (a role of another account, GetRole
// denied, a value lowered since it was read, role chaining) it retries
// once with what the role allows, or one hour, which every role allows.
const (
	// maxSessionCacheFor bounds how long a role's MaxSessionDuration is
	// trusted without reading it again.
	maxSessionCacheFor = 15 * time.Minute
	// safeSessionDuration is what every role allows (the least
	// MaxSessionDuration, and the limit of role chaining).
	safeSessionDuration = time.Hour
)

// maxSessionEntry is a role's MaxSessionDuration as read at some time
// (max 0: it could not be read, e.g. a role of another account).
type maxSessionEntry struct {
	max  time.Duration
	read time.Time
}

// maxSessions caches roles' MaxSessionDuration, with at most one GetRole
// in flight per role.
type maxSessions struct {
	mu       sync.Mutex
	byARN    map[string]maxSessionEntry
	inflight map[string]chan struct{}
}

// roleMaxSession returns the role's MaxSessionDuration, 0 if it cannot be
// known (a role of another account, GetRole denied or failing).
func (p *provider) roleMaxSession(ctx context.Context, roleARN string) time.Duration {
	m := &p.maxSess
	for {
		m.mu.Lock()
		if e, ok := m.byARN[roleARN]; ok && time.Since(e.read) < maxSessionCacheFor {
			m.mu.Unlock()
			return e.max
		}
		wait, busy := m.inflight[roleARN]
		if !busy {
			if m.inflight == nil {
				m.inflight = map[string]chan struct{}{}
			}
			done := make(chan struct{})
			m.inflight[roleARN] = done
			m.mu.Unlock()
			max := p.readMaxSession(ctx, roleARN)
			m.mu.Lock()
			delete(m.inflight, roleARN)
			close(done)
			m.mu.Unlock()
			return max
		}
		m.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return 0
		}
	}
}

// readMaxSession reads the role's MaxSessionDuration with GetRole (roles
// of the credential's own account only) and caches the answer.
func (p *provider) readMaxSession(ctx context.Context, roleARN string) time.Duration {
	part, acct, name := splitRoleARN(roleARN)
	partition, account, err := p.callerAccount(ctx)
	if err != nil {
		return 0 // not cached: the next issue asks again
	}
	if part != partition || acct != account {
		p.rememberMaxSession(roleARN, 0)
		return 0
	}
	out, err := p.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: awsv2.String(name)})
	switch {
	case err == nil && out.Role != nil && out.Role.MaxSessionDuration != nil:
		max := time.Duration(*out.Role.MaxSessionDuration) * time.Second
		p.rememberMaxSession(roleARN, max)
		return max
	case err == nil:
		max := safeSessionDuration // IAM's default when the role has none set
		p.rememberMaxSession(roleARN, max)
		return max
	case isAccessDenied(err):
		p.log.Warn("the plugin's credential may not call iam:GetRole, so the role's MaxSessionDuration is learned from STS's refusals (grant iam:GetRole to save an AssumeRole)",
			"role_arn", roleARN)
		p.rememberMaxSession(roleARN, 0)
	default:
		p.log.Debug("could not read the role's MaxSessionDuration", "role_arn", roleARN, "code", errorCode(err))
	}
	return 0
}

// rememberMaxSession caches a role's MaxSessionDuration (0: unknown).
func (p *provider) rememberMaxSession(roleARN string, max time.Duration) {
	m := &p.maxSess
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byARN == nil {
		m.byARN = map[string]maxSessionEntry{}
	}
	m.byARN[roleARN] = maxSessionEntry{max: max, read: time.Now()}
}

// forgetMaxSession drops a role's cached MaxSessionDuration.
func (p *provider) forgetMaxSession(roleARN string) {
	m := &p.maxSess
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byARN, roleARN)
}

// durationRefusal says whether err is STS refusing DurationSeconds as
// longer than the role (or role chaining) allows, and whether it was role
// chaining. STS has no error code of its own for it (a ValidationError,
// like every malformed parameter), so its message is the only sign.
func durationRefusal(err error) (refused, chaining bool) {
	if errorCode(err) != "ValidationError" {
		return false, false
	}
	msg := errorMessage(err)
	if !strings.Contains(msg, "DurationSeconds exceeds") {
		return false, false
	}
	return true, strings.Contains(msg, "role chaining")
}
