package aws

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"github.com/hashicorp/go-hclog"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

// attemptTimeout bounds one HTTP attempt, so a hung connection is retried
// instead of eating the whole request's time.
const attemptTimeout = 20 * time.Second

// baseBackoff is the first retry's backoff ceiling (doubling per attempt).
const baseBackoff = 100 * time.Millisecond

// settings are the validated config values of one instance.
type settings struct {
	accessKey, secretKey     string
	region                   string
	iamEndpoint, stsEndpoint string
	maxRetries               int
	maxBackoff               time.Duration
	maxConcurrent            int
	maxManaged               int
	useAmbient               bool
	userTpl, sessionTpl      *naming.Template
}

// parseSettings validates a config; every error is a *FieldError.
func parseSettings(v providers.Values) (*settings, error) {
	s := &settings{
		accessKey:     v.String("access_key"),
		secretKey:     v.String("secret_key"),
		region:        v.String("region"),
		iamEndpoint:   v.String("iam_endpoint"),
		stsEndpoint:   v.String("sts_endpoint"),
		maxRetries:    v.Int("max_retries"),
		maxBackoff:    v.Duration("retry_max_backoff"),
		maxConcurrent: v.Int("max_concurrent_iam_calls"),
		maxManaged:    v.Int("max_managed_policies_per_user"),
		useAmbient:    v.Bool("use_ambient_credentials"),
	}
	if (s.accessKey == "") != (s.secretKey == "") {
		if s.accessKey == "" {
			return nil, providers.InvalidField("access_key", "is required when secret_key is set")
		}
		return nil, providers.InvalidField("secret_key", "is required when access_key is set")
	}
	for _, ep := range []struct{ field, val string }{{"iam_endpoint", s.iamEndpoint}, {"sts_endpoint", s.stsEndpoint}} {
		if ep.val == "" {
			continue
		}
		u, err := url.Parse(ep.val)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, providers.InvalidField(ep.field, "must be an http(s) URL such as https://iam.amazonaws.com, got %q", ep.val)
		}
	}
	if err := s.checkAmbient(); err != nil {
		return nil, err
	}
	if s.maxRetries < 0 || s.maxRetries > 30 {
		return nil, providers.InvalidField("max_retries", "must be between 0 and 30, got %d", s.maxRetries)
	}
	if s.maxBackoff <= 0 {
		return nil, providers.InvalidField("retry_max_backoff", "must be positive")
	}
	if total := time.Duration(s.maxRetries) * s.maxBackoff; total > maxRetrySleep {
		return nil, providers.InvalidField("max_retries", "max_retries × retry_max_backoff is %s, more than %s: one call would retry past Vault's 90s request timeout", total, maxRetrySleep)
	}
	if s.maxConcurrent < 1 || s.maxConcurrent > 1000 {
		return nil, providers.InvalidField("max_concurrent_iam_calls", "must be between 1 and 1000, got %d", s.maxConcurrent)
	}
	if s.maxManaged < 1 || s.maxManaged > maxManagedPerUser {
		return nil, providers.InvalidField("max_managed_policies_per_user", "must be between 1 and %d (IAM's quota is 10 unless raised, at most %d), got %d", maxManagedPerUser, maxManagedPerUser, s.maxManaged)
	}
	var err error
	if s.userTpl, err = parseNameTemplate(v.String("username_template"), userNameRules); err != nil {
		return nil, err
	}
	if s.sessionTpl, err = parseNameTemplate(v.String("session_name_template"), sessionNameRules); err != nil {
		return nil, err
	}
	return s, nil
}

// checkAmbient enforces where ambient credentials may go. Without a
// configured key the SDK's default credential chain signs the requests
// (the environment's AWS_ACCESS_KEY_ID, shared files, web identity,
// instance roles): those credentials belong to the environment Vault runs
// in and are sent only to AWS's own endpoints (or to the endpoints the
// same environment names, AWS_ENDPOINT_URL_*), never to an endpoint taken
// from the config, unless the config says use_ambient_credentials=true.
// A signed request is replayable for minutes and a session token is sent
// as is, so a config naming a foreign endpoint must not receive them.
func (s *settings) checkAmbient() error {
	if s.accessKey != "" {
		if s.useAmbient {
			return providers.InvalidField("use_ambient_credentials", "cannot be true when access_key is set: the configured key is used")
		}
		return nil
	}
	if s.useAmbient {
		return nil
	}
	for _, ep := range []struct{ field, val string }{{"iam_endpoint", s.iamEndpoint}, {"sts_endpoint", s.stsEndpoint}} {
		if ep.val != "" && !isAWSEndpoint(ep.val) {
			return providers.InvalidField(ep.field, "%q is not one of AWS's own endpoints, and no access_key is configured: "+
				"the credentials of Vault's environment (the AWS SDK's default chain) are never sent to an endpoint taken from the config. "+
				"Configure access_key and secret_key for it, or set use_ambient_credentials=true if that endpoint may receive them", ep.val)
		}
	}
	return nil
}

// customEndpoints returns the configured IAM and STS endpoints that are
// not AWS's own, normalized ("" for AWS's own or none).
func (s *settings) customEndpoints() (iamEP, stsEP string) {
	if s.iamEndpoint != "" && !isAWSEndpoint(s.iamEndpoint) {
		iamEP = normalizeEndpoint(s.iamEndpoint)
	}
	if s.stsEndpoint != "" && !isAWSEndpoint(s.stsEndpoint) {
		stsEP = normalizeEndpoint(s.stsEndpoint)
	}
	return iamEP, stsEP
}

// Open implements providers.Driver. It makes no AWS call: credentials of
// the default chain are resolved lazily, on the first call.
func (d *Driver) Open(ctx context.Context, req providers.OpenRequest) (providers.Provider, error) {
	s, err := parseSettings(req.Config)
	if err != nil {
		return nil, err
	}
	logger := req.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	var httpClient awsv2.HTTPClient = awshttp.NewBuildableClient().WithTimeout(attemptTimeout)
	if d.httpClient != nil {
		httpClient = d.httpClient
	}
	cfg, err := s.awsConfig(ctx, httpClient)
	if err != nil {
		return nil, err
	}
	p := &provider{
		instance: req.Instance,
		s:        s,
		log:      logger,
		cfg:      cfg,
		sem:      make(chan struct{}, s.maxConcurrent),
	}
	p.iam = iam.NewFromConfig(cfg, func(o *iam.Options) {
		if s.iamEndpoint != "" {
			o.BaseEndpoint = awsv2.String(s.iamEndpoint)
		}
		o.APIOptions = append(o.APIOptions, p.limitConcurrency)
	})
	p.sts = sts.NewFromConfig(cfg, p.stsOptions)
	return p, nil
}

// awsConfig builds the SDK config: static credentials when configured,
// else the default credential chain; the tuned retryer; the HTTP client
// (by default with a per-attempt timeout).
func (s *settings) awsConfig(ctx context.Context, httpClient awsv2.HTTPClient) (awsv2.Config, error) {
	retryer := func() awsv2.Retryer { return s.retryer() }
	if s.accessKey != "" {
		region := s.region
		if region == "" {
			region = defaultRegion
		}
		return awsv2.Config{
			Region:      region,
			Credentials: credentials.NewStaticCredentialsProvider(s.accessKey, s.secretKey, ""),
			Retryer:     retryer,
			HTTPClient:  httpClient,
		}, nil
	}
	opts := []func(*config.LoadOptions) error{config.WithRetryer(retryer), config.WithHTTPClient(httpClient)}
	if s.region != "" {
		opts = append(opts, config.WithRegion(s.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return awsv2.Config{}, fmt.Errorf("load the AWS SDK default configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	return cfg, nil
}

// retryer is the SDK's standard retryer (throttling codes, 5xx, connection
// errors) with our backoff and without the client-side retry token bucket,
// which bulk revocations against a throttling account would exhaust,
// turning retryable throttles into failures.
func (s *settings) retryer() awsv2.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = s.maxRetries + 1
		o.MaxBackoff = s.maxBackoff
		o.Backoff = fullJitter{base: min(baseBackoff, s.maxBackoff), max: s.maxBackoff}
		o.RateLimiter = ratelimit.None
	})
}

// fullJitter is exponential backoff with full jitter: a uniformly random
// sleep in [0, min(max, base·2^attempt)).
type fullJitter struct{ base, max time.Duration }

// BackoffDelay implements retry.BackoffDelayer.
func (j fullJitter) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceil := j.max
	if attempt < 30 {
		if c := j.base << attempt; c > 0 && c < ceil {
			ceil = c
		}
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1)), nil
}

// stsOptions points an STS client at the configured endpoint.
func (p *provider) stsOptions(o *sts.Options) {
	if p.s.stsEndpoint != "" {
		o.BaseEndpoint = awsv2.String(p.s.stsEndpoint)
	}
}

// keyClient returns an STS client signing with the given key and no
// retries (the caller polls), for checking that a new key works.
func (p *provider) keyClient(accessKey, secretKey string) *sts.Client {
	return sts.NewFromConfig(p.cfg, p.stsOptions, func(o *sts.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")
		o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1)
	})
}

// limitConcurrency adds the IAM call semaphore to a client's stack. It
// sits in the Deserialize step, which runs once per attempt, so a call
// sleeping between retries holds no slot.
func (p *provider) limitConcurrency(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("IAMConcurrencyLimit",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			select {
			case p.sem <- struct{}{}:
			case <-ctx.Done():
				return middleware.DeserializeOutput{}, middleware.Metadata{}, ctx.Err()
			}
			defer func() { <-p.sem }()
			return next.HandleDeserialize(ctx, in)
		}), middleware.Before)
}
