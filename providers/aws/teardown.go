package aws

import (
	"context"
	"errors"
	"fmt"
	"sync"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
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
// checks the user exists, lists and removes everything on it, and deletes it.
func (p *provider) purgeUser(ctx context.Context, name string) error {
	if _, err := p.iam.GetUser(ctx, &iam.GetUserInput{UserName: &name}); err != nil {
		if isNoSuchEntity(err) {
			return nil
		}
		return cloudErr("GetUser", err)
	}
	return p.purgeAttached(ctx, name)
}

// purgeAttached lists and removes everything on the user, then deletes it;
// if DeleteUser still conflicts (something was added meanwhile) it tries
// again, a bounded number of times.
func (p *provider) purgeAttached(ctx context.Context, name string) error {
	var err error
	for range purgeAttempts {
		if err = p.removeAll(ctx, name); err != nil {
			return err
		}
		if err = p.deleteUserOnly(ctx, name); !isDeleteConflict(err) {
			return err
		}
	}
	return err
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
	op   string
	list func(ctx context.Context, name string) ([]*step, error)
}

// removeAll lists every kind of attachment concurrently (each kind's
// pages in order) and removes what each listing finds as soon as it is
// known, concurrently. NoSuchEntity means nothing to remove.
func (p *provider) removeAll(ctx context.Context, name string) error {
	listers := p.listers()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, l := range listers {
		wg.Go(func() {
			steps, err := l.list(ctx, name)
			if err != nil && !isNoSuchEntity(err) {
				mu.Lock()
				errs = append(errs, cloudErr(l.op, err))
				mu.Unlock()
				return
			}
			runSteps(ctx, steps)
			if err := firstFailed(steps); err != nil {
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
		{"ListAccessKeys", func(ctx context.Context, name string) ([]*step, error) {
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
		{"ListAttachedUserPolicies", func(ctx context.Context, name string) ([]*step, error) {
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
		{"ListUserPolicies", func(ctx context.Context, name string) ([]*step, error) {
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
		{"ListGroupsForUser", func(ctx context.Context, name string) ([]*step, error) {
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
		{"DeleteLoginProfile", func(ctx context.Context, name string) ([]*step, error) {
			_, err := p.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: &name})
			return nil, err
		}},
		{"ListMFADevices", func(ctx context.Context, name string) ([]*step, error) {
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
		{"ListSSHPublicKeys", func(ctx context.Context, name string) ([]*step, error) {
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
		{"ListSigningCertificates", func(ctx context.Context, name string) ([]*step, error) {
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
		{"ListServiceSpecificCredentials", func(ctx context.Context, name string) ([]*step, error) {
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
