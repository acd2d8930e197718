package awstest

import (
	"context"
	"fmt"
	"strconv"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// Cloud describes the AWS emulator to the programs that run every cloud
// (see emulator.Cloud).
var Cloud emulator.Cloud = cloud{}

type cloud struct{}

func (cloud) Name() string          { return "aws" }
func (cloud) Title() string         { return "IAM + STS" }
func (cloud) EnvPrefixes() []string { return []string{"AWS_"} }

// ciGroup is the IAM group the "ci" role of Roles puts its users in; New
// makes it.
const ciGroup = "ci-group"

// New builds an emulator with the "ci-group" IAM group. Options: page_size (most items of a List* page;
// default 2), key_delay (how long a new access key is refused, as IAM's
// eventual consistency does; a Go duration).
func (cloud) New(opts map[string]string) (emulator.Instance, error) {
	var o Options
	for k, v := range opts {
		switch k {
		case "page_size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return nil, fmt.Errorf("aws page_size: want 1..1000, got %q", v)
			}
			o.PageSize = n
		case "key_delay":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("aws key_delay: want a duration such as 5s, got %q", v)
			}
			o.KeyDelay = d
		default:
			return nil, fmt.Errorf("aws: unknown option %q (page_size, key_delay)", k)
		}
	}
	o.Groups = []string{ciGroup}
	return New(o), nil
}

// Use calls STS GetCallerIdentity with the credential, which the emulator
// accepts only if its SigV4 signature matches the key's secret.
func (cloud) Use(config, data map[string]any) error {
	ak, _ := data["access_key"].(string)
	sk, _ := data["secret_key"].(string)
	token, _ := data["session_token"].(string)
	endpoint, _ := config["sts_endpoint"].(string)
	region, _ := config["region"].(string)
	c := sts.New(sts.Options{
		Region:       region,
		BaseEndpoint: awsv2.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, token),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		return fmt.Errorf("STS GetCallerIdentity with the issued key: %w", err)
	}
	return nil
}

// Config is the aws driver's config for this emulator served at url.
func (s *Server) Config(url string) map[string]any {
	ak, sk := s.RootCredentials()
	return map[string]any{"access_key": ak, "secret_key": sk, "region": s.Region(), "iam_endpoint": url, "sts_endpoint": url}
}

// Roles are the roles the demo, the e2e tests, the reliability tests and
// the benchmark issue. The "ci" role uses each part of an IAM user the
// driver makes: two managed policies, an inline policy, a group and an
// access key.
func (s *Server) Roles() []emulator.Role {
	return []emulator.Role{{
		Name:  "ci",
		Title: "an IAM user with managed and inline policies, a group and an access key",
		Fields: map[string]any{"credential_type": "iam_user",
			"policy_arns":     "arn:aws:iam::aws:policy/ReadOnlyAccess,arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
			"policy_document": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`,
			"iam_groups":      ciGroup, "ttl": "10m", "max_ttl": "1h"},
		Revocable: true,
	}}
}

// ObjectKind is "users": an iam_user credential lives in one IAM user.
func (s *Server) ObjectKind() string { return "users" }

// ObjectNames are the names of the primary account's users, root
// included.
func (s *Server) ObjectNames() []string { return s.UserNames() }

// HasObject reports whether the primary account has the user name.
func (s *Server) HasObject(name string) bool { _, ok := s.User(name); return ok }

// CredFields are user_name and secret_key.
func (s *Server) CredFields() (object, secret string) { return "user_name", "secret_key" }

// CreateAction is CreateUser.
func (s *Server) CreateAction() string { return "CreateUser" }

// DeleteAction is DeleteUser (after the user's keys, policies and groups
// are removed).
func (s *Server) DeleteAction() string { return "DeleteUser" }

// ObjectLimit is 0: the emulator enforces no limit on the number of users.
func (s *Server) ObjectLimit() int { return 0 }
