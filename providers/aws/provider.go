package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/go-hclog"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// provider is one configured AWS instance. Its clients are safe for
// concurrent use; its only other mutable state is the cached account of
// its credential, the roles' session limits and the users the last audit
// listed.
type provider struct {
	instance string
	s        *settings
	log      hclog.Logger
	cfg      awsv2.Config
	iam      *iam.Client
	sts      *sts.Client
	// sem caps the IAM calls in flight (see limitConcurrency).
	sem chan struct{}

	// idMu guards id: the account of the instance's credential, from STS
	// GetCallerIdentity on first need, for the access key id it was asked
	// with (see callerAccount).
	idMu sync.Mutex
	id   callerIdentity

	// maxSess caches roles' MaxSessionDuration (see session_duration.go);
	// chained is set once STS said the credential is a role session,
	// whose AssumeRole calls are limited to one hour (role chaining).
	maxSess maxSessions
	chained atomic.Bool
}

// callerIdentity is the account of one access key.
type callerIdentity struct {
	keyID, partition, account string
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
	case CredentialIAMUser:
		if err := validateIAMUser(req.Values, p.s.maxManaged); err != nil {
			return err
		}
		if err := p.s.userTpl.CheckRole(req.Role); err != nil {
			return err
		}
		return p.checkUserObjects(ctx, req.Role, req.Values)
	case CredentialAssumedRole:
		if err := validateAssumedRole(req.Values); err != nil {
			return err
		}
		if err := p.s.sessionTpl.CheckRole(req.Role); err != nil {
			return err
		}
		return p.checkRoleARNs(ctx, req.Role, req.Values.Strings("role_arns"))
	}
	return providers.InvalidField("credential_type", "unknown credential type %q", req.CredentialType)
}

// Target implements providers.Provider: the partition and account of the
// instance's credential (STS GetCallerIdentity, signed with the very key
// in use, cached per key: see callerAccount), plus each endpoint that is
// not AWS's own.
//
// Why this is the identity: a credential belongs to exactly one account
// and every IAM endpoint of AWS (global, regional, FIPS, VPC) acts on that
// account's one IAM, so the account and partition alone say where a
// "NoSuchEntity" comes from; AWS's own endpoints are left out so that
// moving between them strands no lease. A custom IAM endpoint (an
// emulator, a proxy) is another place that answers for itself, so it is
// part of the identity. A custom STS endpoint is where the account
// answer comes from, so it is part of the identity too (when it differs
// from the IAM endpoint).
func (p *provider) Target(ctx context.Context) (providers.Target, error) {
	partition, account, err := p.callerAccount(ctx)
	if err != nil {
		return providers.Target{}, cloudErr("GetCallerIdentity", err)
	}
	t := providers.Target{
		ID:          "aws:" + partition + ":" + account,
		Description: fmt.Sprintf("AWS account %s (partition %s)", account, partition),
	}
	iamEP, stsEP := p.s.customEndpoints()
	if iamEP != "" {
		t.ID += "@" + iamEP
		t.Description += " at " + iamEP
	}
	if stsEP != "" && stsEP != iamEP {
		t.ID += ";sts=" + stsEP
		t.Description += " (account answered by STS at " + stsEP + ")"
	}
	return t, nil
}

// Prepare implements providers.Provider: it decides the IAM user name
// (the intent) for iam_user, and checks the request of assumed_role.
func (p *provider) Prepare(_ context.Context, req *providers.CreateRequest) (*providers.Intent, error) {
	switch req.CredentialType {
	case CredentialIAMUser:
		if err := validateIAMUser(req.RoleValues, p.s.maxManaged); err != nil {
			return nil, err
		}
		name, err := p.s.userTpl.Render(p.nameData(req))
		if err != nil {
			return nil, err
		}
		data, err := json.Marshal(userIntent{UserName: name})
		if err != nil {
			return nil, err
		}
		return &providers.Intent{Data: data, Objects: []providers.ObjectRef{{Kind: "iam_user", Name: name}}}, nil
	case CredentialAssumedRole:
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

// Create implements providers.Provider.
func (p *provider) Create(ctx context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	switch req.CredentialType {
	case CredentialIAMUser:
		var in userIntent
		if err := json.Unmarshal(req.Intent, &in); err != nil || in.UserName == "" {
			return nil, fmt.Errorf("iam_user create without a user name in its intent: %v", err)
		}
		return p.createUser(ctx, req, in.UserName)
	case CredentialAssumedRole:
		return p.assumeRole(ctx, req)
	}
	return nil, providers.InvalidField("credential_type", "unknown credential type %q", req.CredentialType)
}

// Renew implements providers.Provider: an IAM user has no expiry; an STS
// session's is recorded in the lease. Lease data that cannot be read, or
// of an unknown credential type, can never be renewed: an error wrapping
// providers.ErrUnrecoverable.
func (p *provider) Renew(_ context.Context, req *providers.RenewRequest) (*providers.RenewResponse, error) {
	switch req.CredentialType {
	case CredentialIAMUser:
		if _, err := readUserInternal(req.Internal); err != nil {
			return nil, err
		}
		return &providers.RenewResponse{}, nil
	case CredentialAssumedRole:
		in, err := readSessionInternal(req.Internal)
		if err != nil {
			return nil, err
		}
		return &providers.RenewResponse{Expiry: time.Unix(in.Expiration, 0)}, nil
	}
	return nil, fmt.Errorf("a lease of unknown credential type %q cannot be renewed: %w", req.CredentialType, providers.ErrUnrecoverable)
}

// Revoke implements providers.Provider. Lease data that cannot be read, or
// of an unknown credential type, is providers.ErrUnrecoverable: no retry
// can tell what to delete.
func (p *provider) Revoke(ctx context.Context, req *providers.RevokeRequest) (*providers.RevokeResponse, error) {
	switch req.CredentialType {
	case CredentialAssumedRole:
		if _, err := readSessionInternal(req.Internal); err != nil {
			p.log.Error("assumed_role lease data cannot be read", "error", err)
			return nil, providers.ErrUnrecoverable
		}
		return &providers.RevokeResponse{Warnings: []string{
			"AWS STS credentials cannot be revoked before they expire; this lease is gone, the session keys stay valid until their expiration",
		}}, nil
	case CredentialIAMUser:
		in, err := readUserInternal(req.Internal)
		if err != nil {
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
// so everything on it is listed and removed. An intent that cannot be read
// can never be acted on: it is logged and dropped (nil), as keeping it
// would fail forever.
func (p *provider) Rollback(ctx context.Context, req *providers.RollbackRequest) error {
	var in userIntent
	if err := json.Unmarshal(req.Intent, &in); err != nil || in.UserName == "" {
		p.log.Error("an unfinished create's WAL intent names no IAM user; it is dropped, check the account for a user left behind by hand", "error", err)
		return nil
	}
	return p.purgeUser(ctx, in.UserName)
}

// readUserInternal reads an iam_user lease's data; an error wraps
// providers.ErrUnrecoverable.
func readUserInternal(raw []byte) (userInternal, error) {
	var in userInternal
	if err := json.Unmarshal(raw, &in); err != nil || in.UserName == "" {
		return in, fmt.Errorf("iam_user lease data names no user (%v): %w", err, providers.ErrUnrecoverable)
	}
	return in, nil
}

// readSessionInternal reads an assumed_role lease's data; an error wraps
// providers.ErrUnrecoverable.
func readSessionInternal(raw []byte) (sessionInternal, error) {
	var in sessionInternal
	if err := json.Unmarshal(raw, &in); err != nil || in.RoleARN == "" || in.Expiration == 0 {
		return in, fmt.Errorf("assumed_role lease data has no role or expiration (%v): %w", err, providers.ErrUnrecoverable)
	}
	return in, nil
}

// Close implements providers.Provider. The SDK clients hold no resources
// beyond idle connections.
func (p *provider) Close() error { return nil }
