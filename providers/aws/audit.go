package aws

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

var _ providers.Auditor = (*provider)(nil)

// kindIAMUser is the kind of the objects Inventory lists: an iam_user
// credential's user, which owns everything else the credential made.
const kindIAMUser = "iam_user"

// listPageSize is MaxItems of every listing: IAM's maximum (the model's
// maxItemsType, 1 to 1000).
const listPageSize = 1000

// Inventory implements providers.Auditor: every IAM user of the account
// that carries mark (see mark.go), under any path, with its creation date.
//
// It reads the account's users with their tags through
// GetAccountAuthorizationDetails (Filter=User, MaxItems=1000): about one
// call per 1000 users of the account, marked or not. ListUsers would page
// as cheaply but "does not return ... Tags" (IAM API Reference,
// ListUsers), so it costs one more ListUserTags call per user of the
// account: only when the credential may not call
// GetAccountAuthorizationDetails (AccessDenied on the first page) does
// Inventory fall back to it. Either listing must be complete: any other
// error fails the inventory, since a user missing from it would make its
// lease's index entry look like a ghost.
func (p *provider) Inventory(ctx context.Context, mark providers.Mark) (*providers.Inventory, error) {
	if mark.Mount == "" || mark.Instance == "" {
		return nil, fmt.Errorf("an inventory needs the mount id and the instance name of the mark, got %+v", mark)
	}
	var calls atomic.Int64
	counted := func(o *iam.Options) { o.APIOptions = append(o.APIOptions, countAttempts(&calls)) }
	inv := &providers.Inventory{Kinds: []string{kindIAMUser}}
	add := func(name, id string, created *time.Time, tags []iamtypes.Tag) {
		if !carriesMark(tags, mark) {
			return
		}
		inv.Objects = append(inv.Objects, providers.CloudObject{
			ObjectRef: providers.ObjectRef{Kind: kindIAMUser, Name: name, ID: id},
			Created:   awsv2.ToTime(created),
		})
	}

	denied, err := p.listByAuthorizationDetails(ctx, counted, add)
	if denied {
		p.log.Warn("the plugin's credential may not call iam:GetAccountAuthorizationDetails; listing every IAM user and its tags instead (one iam:ListUserTags call per user of the account: grant iam:GetAccountAuthorizationDetails, see docs/providers/aws.md)")
		inv.Objects = nil
		if err = p.listByUserTags(ctx, counted, add); err != nil {
			err = fmt.Errorf("iam:GetAccountAuthorizationDetails is denied to the plugin's credential (grant it: see docs/providers/aws.md), and listing the users one by one failed: %w", err)
		}
	}
	inv.Calls = int(calls.Load())
	if err != nil {
		return nil, err
	}
	sort.Slice(inv.Objects, func(i, j int) bool { return inv.Objects[i].Name < inv.Objects[j].Name })
	return inv, nil
}

// listByAuthorizationDetails pages through GetAccountAuthorizationDetails
// with Filter=User; its UserDetail carries each user's Tags and CreateDate
// (IAM API model, UserDetail). denied says the credential may not call it
// at all (AccessDenied on the first page); other errors are
// *providers.CloudError.
func (p *provider) listByAuthorizationDetails(ctx context.Context, counted func(*iam.Options), add func(string, string, *time.Time, []iamtypes.Tag)) (denied bool, err error) {
	pg := iam.NewGetAccountAuthorizationDetailsPaginator(p.iam, &iam.GetAccountAuthorizationDetailsInput{
		Filter: []iamtypes.EntityType{iamtypes.EntityTypeUser}, MaxItems: awsv2.Int32(listPageSize)})
	for first := true; pg.HasMorePages(); first = false {
		page, err := pg.NextPage(ctx, counted)
		if err != nil {
			return first && isAccessDenied(err), cloudErr("GetAccountAuthorizationDetails", err)
		}
		for _, u := range page.UserDetailList {
			add(awsv2.ToString(u.UserName), awsv2.ToString(u.UserId), u.CreateDate, u.Tags)
		}
	}
	return false, nil
}

// listByUserTags pages through ListUsers (every path) and reads each
// user's tags with ListUserTags (all pages), at most
// max_concurrent_iam_calls at once. A user deleted between the two calls
// (NoSuchEntity) is skipped.
func (p *provider) listByUserTags(ctx context.Context, counted func(*iam.Options), add func(string, string, *time.Time, []iamtypes.Tag)) error {
	var users []iamtypes.User
	pg := iam.NewListUsersPaginator(p.iam, &iam.ListUsersInput{MaxItems: awsv2.Int32(listPageSize)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx, counted)
		if err != nil {
			return cloudErr("ListUsers", err)
		}
		users = append(users, page.Users...)
	}

	tags := make([][]iamtypes.Tag, len(users))
	errs := make([]error, len(users))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(p.s.maxConcurrent, len(users)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(users) || ctx.Err() != nil {
					return
				}
				tags[i], errs[i] = p.userTags(ctx, awsv2.ToString(users[i].UserName), counted)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list the tags of %d IAM users: %w", len(users), err)
	}
	for i, u := range users {
		switch err := errs[i]; {
		case err == nil:
			add(awsv2.ToString(u.UserName), awsv2.ToString(u.UserId), u.CreateDate, tags[i])
		case isNoSuchEntity(err):
		default:
			return cloudErr("ListUserTags", err)
		}
	}
	return nil
}

// userTags returns every tag of one user (all pages of ListUserTags).
func (p *provider) userTags(ctx context.Context, name string, counted func(*iam.Options)) ([]iamtypes.Tag, error) {
	var out []iamtypes.Tag
	in := &iam.ListUserTagsInput{UserName: &name, MaxItems: awsv2.Int32(maxUserTags)}
	for {
		page, err := p.iam.ListUserTags(ctx, in, counted)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Tags...)
		if !page.IsTruncated || awsv2.ToString(page.Marker) == "" {
			return out, nil
		}
		in.Marker = page.Marker
	}
}

// Remove implements providers.Auditor: it deletes an IAM user an Inventory
// of this instance listed, and everything on it, after checking with
// GetUser (whose User carries the user's Tags: IAM API model, User) that
// the user is still the one listed (same user id) and still carries the
// mark it was listed with. A user that is gone is success; one that was
// replaced, or lost its mark, is not touched (an error says why). The
// removal itself is the list-everything path of rollback (see
// purgeAttached).
func (p *provider) Remove(ctx context.Context, mark providers.Mark, obj providers.CloudObject) error {
	if obj.Kind != kindIAMUser {
		return fmt.Errorf("the aws driver removes only %s objects, not %q", kindIAMUser, obj.Kind)
	}
	if obj.Name == "" || obj.ID == "" || mark.Mount == "" || mark.Instance != p.instance {
		return fmt.Errorf("IAM user %q (id %q) is not an object this instance (%s) listed for mount %q: not removed", obj.Name, obj.ID, p.instance, mark.Mount)
	}
	out, err := p.iam.GetUser(ctx, &iam.GetUserInput{UserName: &obj.Name})
	switch {
	case isNoSuchEntity(err):
		return nil
	case err != nil:
		return cloudErr("GetUser", err)
	}
	if id := awsv2.ToString(out.User.UserId); id != obj.ID {
		return fmt.Errorf("IAM user %s not removed: it was deleted and made again since the inventory (user id %s, not %s)", obj.Name, id, obj.ID)
	}
	if !carriesMark(out.User.Tags, mark) {
		return fmt.Errorf("IAM user %s not removed: it no longer carries this mount's mark (%s=%s, %s=%s)", obj.Name, MarkMountTag, mark.Mount, MarkInstanceTag, mark.Instance)
	}
	p.log.Info("removing an orphaned IAM user and everything on it", "user", obj.Name, "user_id", obj.ID)
	return p.purgeAttached(ctx, obj.Name)
}

// countAttempts counts every HTTP attempt of a call (retries included):
// the Deserialize step runs once per attempt.
func countAttempts(n *atomic.Int64) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("CountAttempts",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				n.Add(1)
				return next.HandleDeserialize(ctx, in)
			}), middleware.After)
	}
}
