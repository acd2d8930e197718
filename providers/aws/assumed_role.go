package aws

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// STS AssumeRole DurationSeconds bounds.
const (
	minSessionDuration = 15 * time.Minute
	maxSessionDuration = 12 * time.Hour
)

// pickRoleARN returns the role ARN to assume: the request's role_arn, which
// must be one of the role's, or the role's only one.
func pickRoleARN(req *providers.CreateRequest) (string, error) {
	roles := req.RoleValues.Strings("role_arns")
	want := req.Params.String("role_arn")
	switch {
	case want != "" && slices.Contains(roles, want):
		return want, nil
	case want != "":
		return "", providers.InvalidField("role_arn", "%q is not one of the role's role_arns (%s)", want, strings.Join(roles, ", "))
	case len(roles) == 1:
		return roles[0], nil
	case len(roles) == 0:
		return "", providers.InvalidField("role_arns", "the role has no role ARN")
	}
	return "", providers.InvalidField("role_arn", "is required because the role has several role_arns: %s", strings.Join(roles, ", "))
}

// sessionDuration is the lease TTL as STS DurationSeconds: below STS's
// minimum is bad input; above its maximum it is capped (the lease is then
// capped at the session's expiration by the plugin).
func sessionDuration(ttl time.Duration) (int32, error) {
	if ttl < minSessionDuration {
		return 0, providers.InvalidField("ttl", "assumed_role credentials live at least %s (STS's minimum), got %s; raise the role's or the request's ttl", minSessionDuration, ttl)
	}
	return int32(min(ttl, maxSessionDuration) / time.Second), nil
}

// assumeRole issues STS credentials for the chosen role.
func (p *provider) assumeRole(ctx context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	roleARN, err := pickRoleARN(req)
	if err != nil {
		return nil, err
	}
	dur, err := sessionDuration(req.TTL)
	if err != nil {
		return nil, err
	}
	doc, err := compactPolicy("policy_document", req.RoleValues.String("policy_document"), maxSessionPolicy)
	if err != nil {
		return nil, err
	}
	session, err := p.s.sessionTpl.Render(p.nameData(req))
	if err != nil {
		return nil, err
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         awsv2.String(roleARN),
		RoleSessionName: awsv2.String(session),
		DurationSeconds: awsv2.Int32(dur),
	}
	if doc != "" {
		in.Policy = awsv2.String(doc)
	}
	for _, arn := range req.RoleValues.Strings("policy_arns") {
		in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: awsv2.String(arn)})
	}
	out, err := p.sts.AssumeRole(ctx, in)
	if err != nil {
		return nil, cloudErr("AssumeRole", err)
	}
	creds := out.Credentials
	if creds == nil || creds.Expiration == nil {
		return nil, &providers.CloudError{Op: "AssumeRole", Message: "the answer has no credentials"}
	}
	exp := creds.Expiration.UTC()
	internal, err := json.Marshal(sessionInternal{
		RoleARN:     roleARN,
		AccessKeyID: awsv2.ToString(creds.AccessKeyId),
		Expiration:  exp.Unix(),
	})
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		"access_key":       awsv2.ToString(creds.AccessKeyId),
		"secret_key":       awsv2.ToString(creds.SecretAccessKey),
		"session_token":    awsv2.ToString(creds.SessionToken),
		"role_arn":         roleARN,
		"expiration":       exp.Format(time.RFC3339),
		"assumed_role_arn": "",
	}
	if out.AssumedRoleUser != nil {
		data["assumed_role_arn"] = awsv2.ToString(out.AssumedRoleUser.Arn)
	}
	return &providers.CreateResponse{Data: data, Internal: internal, Renewable: false, Expiry: exp,
		Objects: []providers.ObjectRef{{Kind: "sts_session", Name: session, ID: awsv2.ToString(creds.AccessKeyId)}}}, nil
}
