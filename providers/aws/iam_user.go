package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// waitUsableFor bounds wait_until_usable.
const waitUsableFor = 30 * time.Second

// undoTimeout bounds the clean-up of a failed create, which runs even when
// the request's context is cancelled.
const undoTimeout = 60 * time.Second

// step is one IAM call of a create, run concurrently with the others.
type step struct {
	op  string
	run func(ctx context.Context) error
	err error
}

// createUser makes the user, then its attachments and access key all at
// once. On any failure it removes what was made and returns the failing
// step as a *providers.CloudError.
func (p *provider) createUser(ctx context.Context, req *providers.CreateRequest, name string) (*providers.CreateResponse, error) {
	rv := req.RoleValues
	doc, err := compactPolicy("policy_document", rv.String("policy_document"), maxInlineUserPolicy)
	if err != nil {
		return nil, err
	}
	in := &iam.CreateUserInput{UserName: awsv2.String(name), Path: awsv2.String(rv.String("user_path"))}
	if in.Path == nil || *in.Path == "" {
		in.Path = awsv2.String("/")
	}
	if b := rv.String("permissions_boundary_arn"); b != "" {
		in.PermissionsBoundary = awsv2.String(b)
	}
	for _, k := range sortedKeys(rv.Map("iam_tags")) {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: awsv2.String(k), Value: awsv2.String(rv.Map("iam_tags")[k])})
	}
	// The mark, in the same call: the user never exists unmarked.
	in.Tags = append(in.Tags, markTags(req.Mark)...)
	if _, err := p.iam.CreateUser(ctx, in); err != nil && errorCode(err) != codeAlreadyExists {
		// EntityAlreadyExists: the name holds our unique id, so an earlier
		// attempt of this very call (answer lost) made it.
		return nil, cloudErr("CreateUser", err)
	}

	made := userInternal{UserName: name}
	var mu sync.Mutex // guards made and the key secret
	var secret string
	var steps []*step
	for _, arn := range rv.Strings("policy_arns") {
		steps = append(steps, &step{op: "AttachUserPolicy", run: func(ctx context.Context) error {
			_, err := p.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: &name, PolicyArn: awsv2.String(arn)})
			if err == nil {
				mu.Lock()
				made.PolicyARNs = append(made.PolicyARNs, arn)
				mu.Unlock()
			}
			return err
		}})
	}
	if doc != "" {
		policyName := inlinePolicyName(req.Role)
		steps = append(steps, &step{op: "PutUserPolicy", run: func(ctx context.Context) error {
			_, err := p.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &name, PolicyName: &policyName, PolicyDocument: &doc})
			if err == nil {
				mu.Lock()
				made.InlinePolicy = policyName
				mu.Unlock()
			}
			return err
		}})
	}
	for _, g := range rv.Strings("iam_groups") {
		steps = append(steps, &step{op: "AddUserToGroup", run: func(ctx context.Context) error {
			_, err := p.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: &name, GroupName: awsv2.String(g)})
			if err == nil {
				mu.Lock()
				made.Groups = append(made.Groups, g)
				mu.Unlock()
			}
			return err
		}})
	}
	steps = append(steps, &step{op: "CreateAccessKey", run: func(ctx context.Context) error {
		out, err := p.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &name})
		if err == nil {
			mu.Lock()
			made.AccessKeyID = awsv2.ToString(out.AccessKey.AccessKeyId)
			secret = awsv2.ToString(out.AccessKey.SecretAccessKey)
			mu.Unlock()
		}
		return err
	}})
	runSteps(ctx, steps)

	if failed := firstFailed(steps); failed != nil {
		// Keep the role's order in the record of what was made, then undo it.
		sortLike(made.PolicyARNs, rv.Strings("policy_arns"))
		sortLike(made.Groups, rv.Strings("iam_groups"))
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		defer cancel()
		if uerr := p.deleteUser(uctx, made); uerr != nil {
			p.log.Error("undoing a failed iam_user create failed; rollback will retry", "user", name, "error", uerr)
			return nil, fmt.Errorf("%w (undoing the create also failed: %v)", failed, uerr)
		}
		return nil, failed
	}
	made.PolicyARNs = append([]string(nil), rv.Strings("policy_arns")...)
	made.Groups = append([]string(nil), rv.Strings("iam_groups")...)

	resp := &providers.CreateResponse{
		Data: map[string]any{
			"access_key": made.AccessKeyID,
			"secret_key": secret,
			"user_name":  name,
		},
		Renewable: true,
		Objects:   []providers.ObjectRef{{Kind: "iam_user", Name: name}, {Kind: "access_key", Name: made.AccessKeyID}},
	}
	if rv.Bool("wait_until_usable") {
		if err := p.waitUsable(ctx, made.AccessKeyID, secret, waitUsableFor); err != nil {
			resp.Warnings = append(resp.Warnings, err.Error())
		}
	}
	if resp.Internal, err = json.Marshal(made); err != nil {
		return nil, err
	}
	p.log.Debug("issued iam_user", "user", name, "access_key_id", made.AccessKeyID)
	return resp, nil
}

// runSteps runs every step concurrently and waits for all of them. No step
// is cancelled when another fails: each must finish, so what exists is
// known and can be undone.
func runSteps(ctx context.Context, steps []*step) {
	var wg sync.WaitGroup
	for _, s := range steps {
		wg.Go(func() { s.err = s.run(ctx) })
	}
	wg.Wait()
}

// firstFailed returns the first failed step (in step order) as a
// *providers.CloudError, noting how many others failed.
func firstFailed(steps []*step) error {
	var first error
	others := 0
	for _, s := range steps {
		if s.err == nil {
			continue
		}
		if first == nil {
			first = cloudErr(s.op, s.err)
			continue
		}
		others++
	}
	var ce *providers.CloudError
	if others > 0 && errors.As(first, &ce) {
		ce.Message = fmt.Sprintf("%s (and %d more step(s) failed)", ce.Message, others)
	}
	return first
}

// waitUsable polls STS GetCallerIdentity with the new key until AWS
// accepts it, for at most d.
func (p *provider) waitUsable(ctx context.Context, accessKey, secretKey string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	client := p.keyClient(accessKey, secretKey)
	delay := 100 * time.Millisecond
	for {
		_, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the new access key %s was not yet accepted by STS after %s (%s); it should work shortly", accessKey, d, errorCode(err))
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// inlinePolicyName is the name of the role's inline policy on a user.
func inlinePolicyName(role string) string {
	n := "vault-" + sanitizeName(role)
	if len(n) > 128 {
		n = n[:128]
	}
	return n
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sortLike orders the subset s as its elements appear in order.
func sortLike(s, order []string) {
	idx := map[string]int{}
	for i, v := range order {
		idx[v] = i
	}
	sort.SliceStable(s, func(i, j int) bool { return idx[s[i]] < idx[s[j]] })
}
