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

// New builds an emulator. Options: page_size (most items of a List* page;
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

// Roles are the roles the demo, the e2e tests and the benchmark issue.
func (s *Server) Roles() []emulator.Role {
	return []emulator.Role{{
		Name:      "ci",
		Title:     "an IAM user with a managed policy and an access key",
		Fields:    map[string]any{"credential_type": "iam_user", "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess", "ttl": "10m", "max_ttl": "1h"},
		Revocable: true,
	}}
}
