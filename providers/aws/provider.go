package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/go-hclog"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// provider is one configured AWS instance. Its clients are safe for
// concurrent use; its only other mutable state is the cached account of
// its credential.
type provider struct {
	instance string
	s        *settings
	log      hclog.Logger
	cfg      awsv2.Config
	iam      *iam.Client
	sts      *sts.Client
	// sched paces the IAM and STS calls (see sched.go).
	sched schedulers

	// idMu guards partition and account: those of the instance's
	// credential, from STS GetCallerIdentity on first need (see
	// callerAccount), "" until then.
	idMu               sync.Mutex
	partition, account string
}

var _ providers.Provider = (*provider)(nil)

// userIntent is the WAL intent of an iam_user create: the user's name.
type userIntent struct {
	UserName string `json:"user_name"`
}

// userInternal is what an iam_user lease records: exactly what Create
// attached, so revoke removes it without listing. Never a secret.
type userInternal struct {
	UserName     string   `json:"user_name"`
	PolicyARNs   []string `json:"policy_arns,omitempty"`
	InlinePolicy string   `json:"inline_policy,omitempty"`
	Groups       []string `json:"groups,omitempty"`
	AccessKeyID  string   `json:"access_key_id,omitempty"`
}

// sessionInternal is what an assumed_role lease records.
type sessionInternal struct {
	RoleARN     string `json:"role_arn"`
	AccessKeyID string `json:"access_key_id"`
	Expiration  int64  `json:"expiration"`
}

// ValidateRole implements providers.Provider: the fields' rules first (no
// AWS call), then that every policy, boundary, group and role the role
// names exists, one concurrent read each (see exists.go). It creates
// nothing.
func (p *provider) ValidateRole(ctx context.Context, req providers.ValidateRoleRequest) error {
	switch req.CredentialType {
	case TypeIAMUser:
		if err := validateIAMUser(req.Values); err != nil {
			return err
		}
		return p.checkUserObjects(ctx, req.Role, req.Values)
	case TypeAssumedRole:
		if err := validateAssumedRole(req.Values); err != nil {
			return err
		}
		return p.checkRoleARNs(ctx, req.Role, req.Values.Strings("role_arns"))
	}
	return providers.InvalidField("credential_type", "unknown credential type %q", req.CredentialType)
}

// Prepare implements providers.Provider: it decides the IAM user name
// (the intent) for iam_user, and checks the request of assumed_role.
func (p *provider) Prepare(_ context.Context, req *providers.CreateRequest) (json.RawMessage, error) {
	switch req.CredentialType {
	case TypeIAMUser:
		if err := validateIAMUser(req.RoleValues); err != nil {
			return nil, err
		}
		return json.Marshal(userIntent{UserName: p.s.userTpl.render(p.vars(req))})
	case TypeAssumedRole:
		if _, err := pickRoleARN(req); err != nil {
			return nil, err
		}
		if _, err := sessionDuration(req.TTL); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return nil, providers.InvalidField("credential_type", "unknown credential type %q", req.CredentialType)
}

func (p *provider) vars(req *providers.CreateRequest) tplVars {
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	return tplVars{Role: req.Role, DisplayName: req.DisplayName, Instance: p.instance, ID: req.ID, UnixTime: now.Unix()}
}

// Create implements providers.Provider.
func (p *provider) Create(ctx context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	switch req.CredentialType {
	case TypeIAMUser:
		var in userIntent
		if err := json.Unmarshal(req.Intent, &in); err != nil || in.UserName == "" {
			return nil, fmt.Errorf("iam_user create without a user name in its intent: %v", err)
		}
		return p.createUser(ctx, req, in.UserName)
	case TypeAssumedRole:
		return p.assumeRole(ctx, req)
	}
	return nil, providers.InvalidField("credential_type", "unknown credential type %q", req.CredentialType)
}

// Renew implements providers.Provider: an IAM user has no expiry; an STS
// session's is recorded in the lease.
func (p *provider) Renew(_ context.Context, req *providers.RenewRequest) (*providers.RenewResponse, error) {
	if req.CredentialType != TypeAssumedRole {
		return &providers.RenewResponse{}, nil
	}
	var in sessionInternal
	if err := json.Unmarshal(req.Internal, &in); err != nil {
		return nil, fmt.Errorf("assumed_role lease data: %w", err)
	}
	return &providers.RenewResponse{Expiry: time.Unix(in.Expiration, 0)}, nil
}

// Revoke implements providers.Provider.
func (p *provider) Revoke(ctx context.Context, req *providers.RevokeRequest) (*providers.RevokeResponse, error) {
	switch req.CredentialType {
	case TypeAssumedRole:
		return &providers.RevokeResponse{Warnings: []string{
			"AWS STS credentials cannot be revoked before they expire; this lease is gone, the session keys stay valid until their expiration",
		}}, nil
	case TypeIAMUser:
		var in userInternal
		if err := json.Unmarshal(req.Internal, &in); err != nil || in.UserName == "" {
			p.log.Error("iam_user lease data names no user; it cannot be revoked", "error", err)
			return nil, providers.ErrUnrecoverable
		}
		if err := p.deleteUser(ctx, in); err != nil {
			return nil, err
		}
		return &providers.RevokeResponse{}, nil
	}
	p.log.Error("lease of an unknown credential type cannot be revoked", "credential_type", req.CredentialType)
	return nil, providers.ErrUnrecoverable
}

// Rollback implements providers.Provider: the intent names only the user,
// so everything on it is listed and removed.
func (p *provider) Rollback(ctx context.Context, req *providers.RollbackRequest) error {
	var in userIntent
	if err := json.Unmarshal(req.Intent, &in); err != nil || in.UserName == "" {
		return fmt.Errorf("rollback intent names no IAM user: %v", err)
	}
	return p.purgeUser(ctx, in.UserName)
}

// Close implements providers.Provider. The SDK clients hold no resources
// beyond idle connections.
func (p *provider) Close() error { return nil }
