package aws

import (
	"context"
	"fmt"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// rotateWait bounds how long Commit waits for the new root key to work
// before it deletes the old one.
const rotateWait = 30 * time.Second

// RotateRoot implements providers.Provider: it creates a second access key
// for the configured IAM user. Commit waits until the new key is accepted,
// then deletes the old key with it; Abort deletes the new key.
func (p *provider) RotateRoot(ctx context.Context) (*providers.RotateRootResponse, error) {
	oldKey := p.s.accessKey
	if oldKey == "" {
		return nil, providers.InvalidField("access_key", "no access key is configured (the default credential chain is in use), so there is nothing to rotate")
	}
	u, err := p.iam.GetUser(ctx, &iam.GetUserInput{})
	if err != nil {
		return nil, cloudErr("GetUser", err)
	}
	name := awsv2.ToString(u.User.UserName)
	out, err := p.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &name})
	if err != nil {
		return nil, cloudErr("CreateAccessKey", err)
	}
	newKey, newSecret := awsv2.ToString(out.AccessKey.AccessKeyId), awsv2.ToString(out.AccessKey.SecretAccessKey)
	p.log.Info("rotate-root: created a new access key", "user", name, "access_key_id", newKey)

	return &providers.RotateRootResponse{
		Config: providers.Values{"access_key": newKey, "secret_key": newSecret},
		Data:   map[string]any{"access_key": newKey, "user_name": name},
		Commit: func(ctx context.Context) error {
			// IAM is eventually consistent: delete the old key only once the
			// new one works, or the instance would have no working key.
			if err := p.waitUsable(ctx, newKey, newSecret, rotateWait); err != nil {
				return fmt.Errorf("old access key %s kept: %w", oldKey, err)
			}
			// Deleted with the new key: the old one is no longer in use.
			_, err := p.iamWithKey(newKey, newSecret).DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: &name, AccessKeyId: &oldKey})
			if err != nil && !isNoSuchEntity(err) {
				return cloudErr("DeleteAccessKey", err)
			}
			p.log.Info("rotate-root: deleted the old access key", "user", name, "access_key_id", oldKey)
			return nil
		},
		Abort: func(ctx context.Context) error {
			_, err := p.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: &name, AccessKeyId: &newKey})
			if err != nil && !isNoSuchEntity(err) {
				return cloudErr("DeleteAccessKey", err)
			}
			return nil
		},
	}, nil
}

// iamWithKey returns an IAM client like the instance's, signing with the
// given key.
func (p *provider) iamWithKey(accessKey, secretKey string) *iam.Client {
	return iam.NewFromConfig(p.cfg, func(o *iam.Options) {
		if p.s.iamEndpoint != "" {
			o.BaseEndpoint = awsv2.String(p.s.iamEndpoint)
		}
		o.Credentials = credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")
		o.APIOptions = append(o.APIOptions, p.limitConcurrency)
	})
}
