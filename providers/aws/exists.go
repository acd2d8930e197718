package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// Role-write existence checks. A role naming a well-formed but nonexistent
// managed policy, boundary, group or role would otherwise be accepted and
// make every issue fail with a 502 after creating and undoing a user. At
// role write, each named object is read once (GetPolicy, GetGroup,
// GetRole), all concurrently, through the instance's IAM client (so the
// max_concurrent_iam_calls semaphore and the retryer apply). The reads
// create nothing.
//
// The answer of each read decides:
//   - found: fine;
//   - NoSuchEntity: the role is refused, a 400 naming the field;
//   - IAM rejecting the name itself (ValidationError, InvalidInput): a 400
//     with IAM's message;
//   - AccessDenied: the plugin's credential may not read it (Vault's
//     recommended policy for its AWS engine grants no iam:Get*); the check
//     is skipped with a warning in the log and the role is accepted;
//   - anything else (throttling or 5xx after the retries, network): a
//     *providers.CloudError, so the role write fails with 502 and can be
//     retried.

// lookupResult classifies the answer of one existence read.
type lookupResult int

const (
	lookupFound   lookupResult = iota // the object exists
	lookupMissing                     // NoSuchEntity
	lookupInvalid                     // IAM refused the name itself
	lookupDenied                      // the credential may not read it
	lookupFailed                      // throttling, 5xx, network: retry later
)

// accessDeniedCodes are the error codes AWS answers for a call the
// caller's policies do not allow.
var accessDeniedCodes = map[string]bool{
	"AccessDenied":          true,
	"AccessDeniedException": true,
	"UnauthorizedOperation": true,
	"UnauthorizedAccess":    true,
}

// classifyLookup classifies the error of an existence read (nil: found).
func classifyLookup(err error) lookupResult {
	if err == nil {
		return lookupFound
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return lookupFailed
	}
	switch code := ae.ErrorCode(); {
	case code == codeNoSuchEntity:
		return lookupMissing
	case accessDeniedCodes[code]:
		return lookupDenied
	case code == "ValidationError" || code == "InvalidInput":
		return lookupInvalid
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden &&
		strings.Contains(ae.ErrorMessage(), "not authorized to perform") {
		return lookupDenied
	}
	return lookupFailed
}

// lookup is the existence read of one named object.
type lookup struct {
	fields []string // the role fields that name it, in field order
	kind   string   // e.g. "managed policy", for messages
	name   string   // as the role names it
	op     string   // the IAM action, e.g. "GetPolicy"
	run    func(ctx context.Context) error
	err    error
}

// checkUserObjects checks that an iam_user role's managed policies,
// permissions boundary and groups exist: one read per distinct object
// (a boundary also listed in policy_arns is read once).
func (p *provider) checkUserObjects(ctx context.Context, role string, v providers.Values) error {
	var ls []*lookup
	byARN := map[string]*lookup{}
	policy := func(field, arn string) {
		if l, ok := byARN[arn]; ok {
			l.fields = append(l.fields, field)
			return
		}
		l := &lookup{fields: []string{field}, kind: "managed policy", name: arn, op: "GetPolicy",
			run: func(ctx context.Context) error {
				_, err := p.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: awsv2.String(arn)})
				return err
			}}
		byARN[arn] = l
		ls = append(ls, l)
	}
	for _, arn := range v.Strings("policy_arns") {
		policy("policy_arns", arn)
	}
	if b := v.String("permissions_boundary_arn"); b != "" {
		policy("permissions_boundary_arn", b)
	}
	for _, g := range v.Strings("iam_groups") {
		ls = append(ls, &lookup{fields: []string{"iam_groups"}, kind: "IAM group", name: g, op: "GetGroup",
			run: func(ctx context.Context) error {
				// MaxItems 1: only the group matters, not its members.
				_, err := p.iam.GetGroup(ctx, &iam.GetGroupInput{GroupName: awsv2.String(g), MaxItems: awsv2.Int32(1)})
				return err
			}})
	}
	return p.runLookups(ctx, role, []string{"policy_arns", "permissions_boundary_arn", "iam_groups"}, ls)
}

// checkRoleARNs checks that an assumed_role role's role ARNs exist. Only
// roles of the credential's own account (and partition) can be read;
// roles of other accounts (cross-account access) are left to AssumeRole.
func (p *provider) checkRoleARNs(ctx context.Context, role string, arns []string) error {
	if len(arns) == 0 {
		return nil
	}
	partition, account, err := p.callerAccount(ctx)
	switch classifyLookup(err) {
	case lookupFound:
	case lookupDenied:
		p.log.Warn("cannot tell the account of the plugin's credential (sts:GetCallerIdentity denied); role_arns are not checked",
			"role", role, "code", errorCode(err))
		return nil
	default:
		return cloudErr("GetCallerIdentity", err)
	}
	var ls []*lookup
	var foreign []string
	for _, arn := range arns {
		part, acct, name := splitRoleARN(arn)
		if part != partition || acct != account {
			foreign = append(foreign, arn)
			continue
		}
		ls = append(ls, &lookup{fields: []string{"role_arns"}, kind: "IAM role", name: arn, op: "GetRole",
			run: func(ctx context.Context) error {
				out, err := p.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: awsv2.String(name)})
				if err == nil && out.Role != nil {
					// Issues ask for no longer a session than the role allows.
					max := safeSessionDuration
					if out.Role.MaxSessionDuration != nil {
						max = time.Duration(*out.Role.MaxSessionDuration) * time.Second
					}
					p.rememberMaxSession(arn, max)
				}
				return err
			}})
	}
	if len(foreign) > 0 {
		p.log.Debug("role_arns of another account are not checked at role write", "role", role, "account", account, "role_arns", foreign)
	}
	return p.runLookups(ctx, role, []string{"role_arns"}, ls)
}

// splitRoleARN returns the partition, account and role name (the last
// path segment) of a role ARN already matched by reRoleARN.
func splitRoleARN(arn string) (partition, account, name string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return "", "", ""
	}
	res := parts[5]
	return parts[1], parts[4], res[strings.LastIndexByte(res, '/')+1:]
}

// callerAccount returns the partition and account id of the instance's
// credential, from STS GetCallerIdentity, cached per access key id. The
// key is retrieved first (cheap: the SDK caches it) and GetCallerIdentity
// is signed with that very key, so the cached account is that key's. A
// credential of the default chain that changes under a running instance
// (a refreshed role session, a changed web identity or profile) has a new
// key id and is asked again: its account may differ, and a stale answer
// would let revokes run in another account and count "not found" as done.
func (p *provider) callerAccount(ctx context.Context) (partition, account string, err error) {
	if p.cfg.Credentials == nil {
		return "", "", fmt.Errorf("no AWS credentials are configured")
	}
	creds, err := p.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", "", fmt.Errorf("retrieve the AWS credentials: %w", err)
	}
	p.idMu.Lock()
	id := p.id
	p.idMu.Unlock()
	if id.account != "" && id.keyID == creds.AccessKeyID {
		return id.partition, id.account, nil
	}
	out, err := p.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		o.Credentials = credentials.StaticCredentialsProvider{Value: creds}
	})
	if err != nil {
		return "", "", err
	}
	account = awsv2.ToString(out.Account)
	if parts := strings.SplitN(awsv2.ToString(out.Arn), ":", 3); len(parts) == 3 {
		partition = parts[1]
	}
	if account == "" || partition == "" {
		return "", "", fmt.Errorf("GetCallerIdentity answered no account or ARN")
	}
	p.idMu.Lock()
	p.id = callerIdentity{keyID: creds.AccessKeyID, partition: partition, account: account}
	p.idMu.Unlock()
	return partition, account, nil
}

// runLookups runs every lookup concurrently, waits for all of them (so the
// number of calls does not depend on timing) and turns their answers into
// the role write's answer: a *providers.FieldError for the first field (in
// fieldOrder) naming a missing object, else a *providers.CloudError for the
// first failed read, else nil, with a warning logged for reads the
// credential may not make.
func (p *provider) runLookups(ctx context.Context, role string, fieldOrder []string, ls []*lookup) error {
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() { l.err = l.run(ctx) })
	}
	wg.Wait()

	missing := map[string][]string{} // field -> names
	kinds := map[string]string{}     // field -> kind of object
	invalid := map[string]*lookup{}
	var failed *lookup
	denied := map[string][]string{} // IAM action -> names not checked
	for _, l := range ls {
		switch classifyLookup(l.err) {
		case lookupMissing:
			for _, f := range l.fields {
				missing[f] = append(missing[f], l.name)
				kinds[f] = l.kind
			}
		case lookupInvalid:
			for _, f := range l.fields {
				if invalid[f] == nil {
					invalid[f] = l
				}
			}
		case lookupDenied:
			denied[l.op] = append(denied[l.op], l.name)
		case lookupFailed:
			if failed == nil {
				failed = l
			}
		}
	}
	for _, f := range fieldOrder {
		if names := missing[f]; len(names) > 0 {
			return providers.InvalidField(f, "%s", missingReason(kinds[f], names))
		}
		if l := invalid[f]; l != nil {
			var ae smithy.APIError
			errors.As(l.err, &ae)
			return providers.InvalidField(f, "%s %q: %s: %s", l.kind, l.name, ae.ErrorCode(), ae.ErrorMessage())
		}
	}
	if failed != nil {
		return cloudErr(failed.op, failed.err)
	}
	for _, op := range []string{"GetPolicy", "GetGroup", "GetRole"} {
		if names := denied[op]; len(names) > 0 {
			p.log.Warn("the plugin's credential may not call iam:"+op+"; the role is accepted without checking that what it names exists (grant iam:"+op+" to enable the check)",
				"role", role, "unchecked", names)
		}
	}
	return nil
}

// missingReason words the missing objects of one field, e.g. `managed
// policy "a" does not exist in the account`.
func missingReason(kind string, names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	if len(names) == 1 {
		return fmt.Sprintf("%s %s does not exist in the account", kind, quoted[0])
	}
	plural := kind + "s"
	if strings.HasSuffix(kind, "y") {
		plural = strings.TrimSuffix(kind, "y") + "ies"
	}
	last := len(quoted) - 1
	return fmt.Sprintf("%s %s and %s do not exist in the account", plural, strings.Join(quoted[:last], ", "), quoted[last])
}
