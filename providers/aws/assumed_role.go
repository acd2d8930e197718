package aws

import (
	"context"
	"encoding/json"
	"fmt"
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

// sessionDuration is the lease TTL as an STS session duration: below
// STS's minimum is bad input; above STS's maximum it is capped (the lease
// is then capped at the session's expiration by the plugin).
func sessionDuration(ttl time.Duration) (time.Duration, error) {
	if ttl < minSessionDuration {
		return 0, providers.InvalidField("ttl", "assumed_role credentials live at least %s (STS's minimum), got %s; raise the role's or the request's ttl", minSessionDuration, ttl)
	}
	return min(ttl, maxSessionDuration), nil
}

// assumeRole issues STS credentials for the chosen role, for the lease TTL
// or as long as the role allows if that is shorter (see
// session_duration.go), with a warning saying so.
func (p *provider) assumeRole(ctx context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	roleARN, err := pickRoleARN(req)
	if err != nil {
		return nil, err
	}
	want, err := sessionDuration(req.TTL)
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
	}
	if doc != "" {
		in.Policy = awsv2.String(doc)
	}
	for _, arn := range req.RoleValues.Strings("policy_arns") {
		in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: awsv2.String(arn)})
	}

	dur, why := want, ""
	known := p.roleMaxSession(ctx, roleARN)
	if known > 0 && dur > known {
		dur, why = known, fmt.Sprintf("the IAM role allows sessions of at most %s (its MaxSessionDuration)", known)
	}
	if p.chained.Load() && dur > safeSessionDuration {
		dur, why = safeSessionDuration, "the plugin's credential is a role session, and AWS limits sessions assumed with one (role chaining) to 1h"
	}
	in.DurationSeconds = awsv2.Int32(int32(dur / time.Second))
	out, err := p.sts.AssumeRole(ctx, in)
	if refused, chaining := durationRefusal(err); refused {
		// The role allows less than we asked for: if its limit was read
		// before, it was lowered since, so read it again; else (a role of
		// another account, GetRole denied) fall back to one hour, which
		// every role allows.
		retry, retryWhy := safeSessionDuration, "STS refused a longer session for this role, whose MaxSessionDuration the plugin cannot read; every role allows 1h"
		switch {
		case chaining:
			p.chained.Store(true)
			retryWhy = "the plugin's credential is a role session, and AWS limits sessions assumed with one (role chaining) to 1h"
		case known > 0:
			p.forgetMaxSession(roleARN)
			if m := p.roleMaxSession(ctx, roleARN); m > 0 && m < dur {
				retry, retryWhy = m, fmt.Sprintf("the IAM role allows sessions of at most %s (its MaxSessionDuration)", m)
			}
		}
		if retry < dur {
			p.log.Info("STS refused the session duration; retrying with what the role allows", "role_arn", roleARN, "refused", dur, "retry", retry)
			dur, why = retry, retryWhy
			in.DurationSeconds = awsv2.Int32(int32(dur / time.Second))
			out, err = p.sts.AssumeRole(ctx, in)
		}
	}
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
	resp := &providers.CreateResponse{Data: data, Internal: internal, Renewable: false, Expiry: exp,
		Objects: []providers.ObjectRef{{Kind: "sts_session", Name: session, ID: awsv2.ToString(creds.AccessKeyId)}}}
	switch {
	case dur < req.TTL && why != "":
		resp.Warnings = append(resp.Warnings, fmt.Sprintf("the session and its lease last %s, not the %s asked for: %s", dur, req.TTL, why))
	case dur < req.TTL:
		resp.Warnings = append(resp.Warnings, fmt.Sprintf("the session and its lease last %s, not the %s asked for: STS sessions last at most %s", dur, req.TTL, maxSessionDuration))
	}
	return resp, nil
}
