package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// purgeAttempts bounds list-and-remove rounds when someone keeps adding
// things to a user while it is being deleted.
const purgeAttempts = 3

// deleteUser removes exactly what the lease recorded, concurrently, then
// the user: no List call unless DeleteUser answers DeleteConflict, when
// everything on the user is listed and removed. NoSuchEntity is success at
// every step, so it is idempotent.
func (p *provider) deleteUser(ctx context.Context, in userInternal) error {
	name := in.UserName
	var steps []*step
	if in.AccessKeyID != "" {
		steps = append(steps, p.deleteKeyStep(name, in.AccessKeyID))
	}
	for _, arn := range in.PolicyARNs {
		steps = append(steps, p.detachStep(name, arn))
	}
	if in.InlinePolicy != "" {
		steps = append(steps, p.deleteInlineStep(name, in.InlinePolicy))
	}
	for _, g := range in.Groups {
		steps = append(steps, p.removeFromGroupStep(name, g))
	}
	runSteps(ctx, steps)
	if err := firstFailed(steps); err != nil {
		return err
	}
	err := p.deleteUserOnly(ctx, name)
	if isDeleteConflict(err) {
		p.log.Info("IAM user has attachments its lease does not record; listing and removing them", "user", name)
		return p.purgeAttached(ctx, name)
	}
	return err
}

// purgeUser removes a user whose attachments are unknown (rollback): it
// checks the user exists, lists and removes everything on it, and deletes
// it. A credential that may not call iam:GetUser goes straight to the
// listings (which answer NoSuchEntity for a user that is gone).
func (p *provider) purgeUser(ctx context.Context, name string) error {
	if _, err := p.iam.GetUser(ctx, &iam.GetUserInput{UserName: &name}); err != nil {
		switch {
		case isNoSuchEntity(err):
			return nil
		case isAccessDenied(err):
			p.log.Warn("the plugin's credential may not call iam:GetUser; rolling back without checking that the user exists", "user", name)
		default:
			return cloudErr("GetUser", err)
		}
	}
	return p.purgeAttached(ctx, name)
}

// purgeAttached lists and removes everything on the user, then deletes it;
// if DeleteUser still conflicts (something was added meanwhile) it tries
// again, a bounded number of times. Kinds the credential may not list or
// remove are skipped after their first AccessDenied (see removeAll); if
// DeleteUser still conflicts, the error names them.
func (p *provider) purgeAttached(ctx context.Context, name string) error {
	denied := map[string]string{} // kind -> denied action
	var err error
	for range purgeAttempts {
		if err = p.removeAll(ctx, name, denied); err != nil {
			return err
		}
		if err = p.deleteUserOnly(ctx, name); !isDeleteConflict(err) {
			return err
		}
	}
	ce := cloudErr("DeleteUser", err).(*providers.CloudError)
	if len(denied) > 0 {
		var kinds []string
		for kind, action := range denied {
			kinds = append(kinds, fmt.Sprintf("%s (iam:%s denied)", kind, action))
		}
		sort.Strings(kinds)
		ce.Message += "; the plugin's credential may not remove " + strings.Join(kinds, ", ") +
			": grant those actions (see docs/providers/aws.md, minimal IAM policy) or remove them from the user by hand"
	}
	return ce
}

// deleteUserOnly calls DeleteUser; NoSuchEntity is success. A DeleteConflict
// is returned as is (callers check it with isDeleteConflict).
func (p *provider) deleteUserOnly(ctx context.Context, name string) error {
	_, err := p.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: &name})
	switch {
	case err == nil, isNoSuchEntity(err):
		return nil
	case isDeleteConflict(err):
		return err
	}
	return cloudErr("DeleteUser", err)
}

// lister lists one kind of thing on a user (all pages) and returns the
// removal steps for what it found.
type lister struct {
	op string
	// kind names what it lists, for messages.
	kind string
	// optional marks kinds the plugin never makes (console passwords, MFA,
	// SSH keys, signing certificates, service-specific credentials): a
	// minimal IAM policy need not allow them, so an AccessDenied on one of
	// them skips the kind with a warning instead of failing the delete.
	// If such a thing is really on the user, DeleteUser answers
	// DeleteConflict and the error names the kind.
	optional bool
	list     func(ctx context.Context, name string) ([]*step, error)
}

// removeAll lists every kind of attachment concurrently (each kind's
// pages in order) and removes what each listing finds as soon as it is
// known, concurrently. NoSuchEntity means nothing to remove. An
// AccessDenied on an optional kind (listing or removal) is logged, the kind
// is recorded in denied (kind -> action) and skipped from then on.
func (p *provider) removeAll(ctx context.Context, name string, denied map[string]string) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	skip := func(l lister, action string) {
		p.log.Warn("the plugin's credential may not "+action+"; skipping "+l.kind+" while deleting the IAM user (grant iam:"+action+" to clean them up)",
			"user", name)
		mu.Lock()
		denied[l.kind] = action
		mu.Unlock()
	}
	// The kinds to skip are read before any listing starts: the listings
	// write denied (under mu) while this loop still runs.
	var todo []lister
	for _, l := range p.listers() {
		if _, ok := denied[l.kind]; !ok {
			todo = append(todo, l)
		}
	}
	for _, l := range todo {
		wg.Go(func() {
			steps, err := l.list(ctx, name)
			switch {
			case err == nil, isNoSuchEntity(err):
			case l.optional && isAccessDenied(err):
				skip(l, l.op)
				return
			default:
				mu.Lock()
				errs = append(errs, cloudErr(l.op, err))
				mu.Unlock()
				return
			}
			runSteps(ctx, steps)
			var failed []*step
			for _, st := range steps {
				switch {
				case st.err == nil:
				case l.optional && isAccessDenied(st.err):
					skip(l, st.op)
				default:
					failed = append(failed, st)
				}
			}
			if err := firstFailed(failed); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("remove everything on IAM user %s: %w", name, errors.Join(errs...))
	}
	return nil
}

// listers are the listings of everything that keeps IAM from deleting a
// user. The login profile has no listing: DeleteLoginProfile is tried
// directly (one call instead of GetLoginProfile + delete).
func (p *provider) listers() []lister {
	return []lister{
		{op: "ListAccessKeys", kind: "access keys", list: func(ctx context.Context, name string) ([]*step, error) {
			var out []*step
			pg := iam.NewListAccessKeysPaginator(p.iam, &iam.ListAccessKeysInput{UserName: &name})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				if err != nil {
					return out, err
				}
				for _, k := range page.AccessKeyMetadata {
					out = append(out, p.deleteKeyStep(name, awsv2.ToString(k.AccessKeyId)))
				}
			}
			return out, nil
		}},
		{op: "ListAttachedUserPolicies", kind: "managed policies", list: func(ctx context.Context, name string) ([]*step, error) {
			var out []*step
			pg := iam.NewListAttachedUserPoliciesPaginator(p.iam, &iam.ListAttachedUserPoliciesInput{UserName: &name})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				if err != nil {
					return out, err
				}
				for _, ap := range page.AttachedPolicies {
					out = append(out, p.detachStep(name, awsv2.ToString(ap.PolicyArn)))
				}
			}
			return out, nil
		}},
		{op: "ListUserPolicies", kind: "inline policies", list: func(ctx context.Context, name string) ([]*step, error) {
			var out []*step
			pg := iam.NewListUserPoliciesPaginator(p.iam, &iam.ListUserPoliciesInput{UserName: &name})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				if err != nil {
					return out, err
				}
				for _, pn := range page.PolicyNames {
					out = append(out, p.deleteInlineStep(name, pn))
				}
			}
			return out, nil
		}},
		{op: "ListGroupsForUser", kind: "group memberships", list: func(ctx context.Context, name string) ([]*step, error) {
			var out []*step
			pg := iam.NewListGroupsForUserPaginator(p.iam, &iam.ListGroupsForUserInput{UserName: &name})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				if err != nil {
					return out, err
				}
				for _, g := range page.Groups {
					out = append(out, p.removeFromGroupStep(name, awsv2.ToString(g.GroupName)))
				}
			}
			return out, nil
		}},
		{op: "DeleteLoginProfile", kind: "the console password (login profile)", optional: true, list: func(ctx context.Context, name string) ([]*step, error) {
			_, err := p.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: &name})
			return nil, err
		}},
		{op: "ListMFADevices", kind: "MFA devices", optional: true, list: func(ctx context.Context, name string) ([]*step, error) {
			var out []*step
			pg := iam.NewListMFADevicesPaginator(p.iam, &iam.ListMFADevicesInput{UserName: &name})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				if err != nil {
					return out, err
				}
				for _, d := range page.MFADevices {
					serial := d.SerialNumber
					// Deactivate only: the device itself (a hardware token or a
					// virtual device someone else registered) is not ours.
					out = append(out, &step{op: "DeactivateMFADevice", run: ignoreNoSuchEntity(func(ctx context.Context) error {
						_, err := p.iam.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: &name, SerialNumber: serial})
						return err
					})})
				}
			}
			return out, nil
		}},
		{op: "ListSSHPublicKeys", kind: "SSH public keys", optional: true, list: func(ctx context.Context, name string) ([]*step, error) {
			var out []*step
			pg := iam.NewListSSHPublicKeysPaginator(p.iam, &iam.ListSSHPublicKeysInput{UserName: &name})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				if err != nil {
					return out, err
				}
				for _, k := range page.SSHPublicKeys {
					id := k.SSHPublicKeyId
					out = append(out, &step{op: "DeleteSSHPublicKey", run: ignoreNoSuchEntity(func(ctx context.Context) error {
						_, err := p.iam.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: &name, SSHPublicKeyId: id})
						return err
					})})
				}
			}
			return out, nil
		}},
		{op: "ListSigningCertificates", kind: "signing certificates", optional: true, list: func(ctx context.Context, name string) ([]*step, error) {
			var out []*step
			pg := iam.NewListSigningCertificatesPaginator(p.iam, &iam.ListSigningCertificatesInput{UserName: &name})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				if err != nil {
					return out, err
				}
				for _, c := range page.Certificates {
					id := c.CertificateId
					out = append(out, &step{op: "DeleteSigningCertificate", run: ignoreNoSuchEntity(func(ctx context.Context) error {
						_, err := p.iam.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: &name, CertificateId: id})
						return err
					})})
				}
			}
			return out, nil
		}},
		{op: "ListServiceSpecificCredentials", kind: "service-specific credentials", optional: true, list: func(ctx context.Context, name string) ([]*step, error) {
			var out []*step
			in := &iam.ListServiceSpecificCredentialsInput{UserName: &name}
			for {
				page, err := p.iam.ListServiceSpecificCredentials(ctx, in)
				if err != nil {
					return out, err
				}
				for _, c := range page.ServiceSpecificCredentials {
					id := c.ServiceSpecificCredentialId
					out = append(out, &step{op: "DeleteServiceSpecificCredential", run: ignoreNoSuchEntity(func(ctx context.Context) error {
						_, err := p.iam.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: &name, ServiceSpecificCredentialId: id})
						return err
					})})
				}
				if !page.IsTruncated || awsv2.ToString(page.Marker) == "" {
					return out, nil
				}
				in.Marker = page.Marker
			}
		}},
	}
}

func (p *provider) deleteKeyStep(name, id string) *step {
	return &step{op: "DeleteAccessKey", run: ignoreNoSuchEntity(func(ctx context.Context) error {
		_, err := p.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: &name, AccessKeyId: &id})
		return err
	})}
}

func (p *provider) detachStep(name, arn string) *step {
	return &step{op: "DetachUserPolicy", run: ignoreNoSuchEntity(func(ctx context.Context) error {
		_, err := p.iam.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: &name, PolicyArn: &arn})
		return err
	})}
}

func (p *provider) deleteInlineStep(name, policy string) *step {
	return &step{op: "DeleteUserPolicy", run: ignoreNoSuchEntity(func(ctx context.Context) error {
		_, err := p.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &name, PolicyName: &policy})
		return err
	})}
}

func (p *provider) removeFromGroupStep(name, group string) *step {
	return &step{op: "RemoveUserFromGroup", run: ignoreNoSuchEntity(func(ctx context.Context) error {
		_, err := p.iam.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: &name, GroupName: &group})
		return err
	})}
}

// ignoreNoSuchEntity treats "already gone" as done.
func ignoreNoSuchEntity(fn func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := fn(ctx); err != nil && !isNoSuchEntity(err) {
			return err
		}
		return nil
	}
}
