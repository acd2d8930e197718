package nomadtest

import (
	"fmt"
	"time"
)

// validateToken is structs.ACLToken.Validate: it returns the multierror
// items in Nomad's order; existing is nil for a creation.
func validateToken(t *aclToken, minTTL, maxTTL time.Duration, existing *aclToken) []string {
	var msgs []string
	if len(t.Name) > maxTokenNameLength {
		msgs = append(msgs, "token name too long")
	}
	switch t.Type {
	case typeClient:
		if len(t.Policies) == 0 && len(t.Roles) == 0 {
			msgs = append(msgs, "client token missing policies or roles")
		}
	case typeManagement:
		if len(t.Policies) != 0 || len(t.Roles) != 0 {
			msgs = append(msgs, "management token cannot be associated with policies or roles")
		}
	default:
		msgs = append(msgs, "token type must be client or management")
	}
	if existing == nil {
		if t.ExpirationTTL < 0 {
			msgs = append(msgs, fmt.Sprintf("token expiration TTL '%s' should not be negative", t.ExpirationTTL))
		}
		if t.ExpirationTime != nil && !t.ExpirationTime.IsZero() {
			if t.CreateTime.After(*t.ExpirationTime) {
				msgs = append(msgs, "expiration time cannot be before create time")
			}
			expiresIn := t.ExpirationTime.Sub(t.CreateTime)
			if expiresIn > maxTTL {
				msgs = append(msgs, fmt.Sprintf("expiration time cannot be more than %s in the future (was %s)", maxTTL, expiresIn))
			} else if expiresIn < minTTL {
				msgs = append(msgs, fmt.Sprintf("expiration time cannot be less than %s in the future (was %s)", minTTL, expiresIn))
			}
		}
		return msgs
	}
	if existing.Global != t.Global {
		msgs = append(msgs, "cannot toggle global mode")
	}
	if existing.ExpirationTTL != t.ExpirationTTL {
		msgs = append(msgs, "cannot update expiration TTL")
	}
	if t.ExpirationTime != nil && (existing.ExpirationTime == nil || !existing.ExpirationTime.Equal(*t.ExpirationTime)) {
		msgs = append(msgs, "cannot update expiration time")
	}
	return msgs
}

// validatePolicy is structs.ACLPolicy.Validate (rules are checked by
// parseRules, see policies.go).
func validatePolicy(p *aclPolicy) []string {
	var msgs []string
	if !validName.MatchString(p.Name) {
		msgs = append(msgs, fmt.Sprintf("invalid name '%s'", p.Name))
	}
	if err := parseRules(p.Rules); err != nil {
		msgs = append(msgs, fmt.Sprintf("failed to parse rules: %v", err))
	}
	if len(p.Description) > maxDescriptionLength {
		msgs = append(msgs, fmt.Sprintf("description longer than %d", maxDescriptionLength))
	}
	if j := p.JobACL; j != nil {
		if j.JobID != "" && j.Namespace == "" {
			msgs = append(msgs, "namespace must be set to set job ID")
		}
		if j.Group != "" && j.JobID == "" {
			msgs = append(msgs, "job ID must be set to set group")
		}
		if j.Task != "" && j.Group == "" {
			msgs = append(msgs, "group must be set to set task")
		}
	}
	return msgs
}

// validateRole is structs.ACLRole.Validate.
func validateRole(r *aclRole) []string {
	var msgs []string
	if !validName.MatchString(r.Name) {
		msgs = append(msgs, fmt.Sprintf("invalid name '%s'", r.Name))
	}
	if len(r.Description) > maxDescriptionLength {
		msgs = append(msgs, fmt.Sprintf("description longer than %d", maxDescriptionLength))
	}
	if len(r.Policies) < 1 {
		msgs = append(msgs, "at least one policy should be specified")
	}
	return msgs
}
