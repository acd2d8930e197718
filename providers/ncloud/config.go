package ncloud

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// Sites and their API Gateway domains. Public and gov hosts are documented
// (management-sts, pub-iam-v2-overview, gov-iam-v2-overview); fin follows
// the same <service>.apigw.fin-ntruss.com rule as every other fin service.
const (
	sitePublic = "public"
	siteGov    = "gov"
	siteFin    = "fin"
)

var siteDomains = map[string]string{
	sitePublic: "apigw.ntruss.com",
	siteGov:    "apigw.gov-ntruss.com",
	siteFin:    "apigw.fin-ntruss.com",
}

// config is one instance's validated configuration.
type config struct {
	site               string
	stsEndpoint        string
	subAccountEndpoint string
	requestTimeout     time.Duration
	maxRetries         int
	rootSubAccountID   string
	// overrides names the endpoint fields set in the config (not the
	// site's own Ncloud hosts).
	overrides []string
	// useAmbient allows credentials from outside the config to go to
	// overridden endpoints.
	useAmbient bool
	// fromConfig: the keys were given in the config (not found by the
	// SDK's credential chain).
	fromConfig bool
}

// parseConfig validates the non-credential config values.
func parseConfig(v providers.Values) (*config, error) {
	c := &config{
		site:             v.String(fieldSite),
		requestTimeout:   v.Duration(fieldRequestTimeout),
		maxRetries:       v.Int(fieldMaxRetries),
		rootSubAccountID: strings.TrimSpace(v.String(fieldRootSubAccountID)),
		useAmbient:       v.Bool(fieldUseAmbient),
	}
	if c.site == "" {
		c.site = sitePublic
	}
	domain, ok := siteDomains[c.site]
	if !ok {
		return nil, providers.InvalidField(fieldSite, "must be one of public, gov, fin, got %q", c.site)
	}
	if c.requestTimeout <= 0 {
		c.requestTimeout = defaultRequestTimeout
	}
	if c.requestTimeout > 60*time.Second {
		return nil, providers.InvalidField(fieldRequestTimeout, "must be at most 60s (Vault gives a request 90s), got %s", c.requestTimeout)
	}
	if c.maxRetries < 0 || c.maxRetries > 10 {
		return nil, providers.InvalidField(fieldMaxRetries, "must be between 0 and 10, got %d", c.maxRetries)
	}
	var err error
	if c.stsEndpoint, err = endpoint(v, fieldSTSEndpoint, "https://sts."+domain); err != nil {
		return nil, err
	}
	if c.subAccountEndpoint, err = endpoint(v, fieldSubAccountEndpoint, "https://subaccount."+domain); err != nil {
		return nil, err
	}
	for _, f := range []string{fieldSTSEndpoint, fieldSubAccountEndpoint} {
		if strings.TrimSpace(v.String(f)) != "" {
			c.overrides = append(c.overrides, f)
		}
	}
	if c.rootSubAccountID != "" && !isUUID(c.rootSubAccountID) {
		return nil, providers.InvalidField(fieldRootSubAccountID, "must be a sub account id (UUID), got %q", c.rootSubAccountID)
	}
	return c, nil
}

// endpoint returns the override of field (an absolute http(s) URL without
// query) or def.
func endpoint(v providers.Values, field, def string) (string, error) {
	s := strings.TrimSpace(v.String(field))
	if s == "" {
		return def, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", providers.InvalidField(field, "must be an absolute http(s) URL without query, got %q", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// Open validates a config, resolves its credentials (the config's keys, else
// the SDK's credential chain) and returns a Provider. It makes no call to
// Ncloud.
func (d *Driver) Open(_ context.Context, req providers.OpenRequest) (providers.Provider, error) {
	cfg, err := parseConfig(req.Config)
	if err != nil {
		return nil, err
	}
	if err := checkAmbient(req.Config, cfg); err != nil {
		return nil, err
	}
	creds, err := d.resolveCredentials(req.Config)
	if err != nil {
		return nil, err
	}
	cfg.fromConfig = creds.fromConfig()
	logger := req.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	hc := d.httpClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport}
	}
	p := &provider{
		instance: req.Instance,
		cfg:      cfg,
		logger:   logger,
		sts:      newClient(hc, apiSTS, cfg.stsEndpoint, creds, d.now, cfg.requestTimeout, cfg.maxRetries),
		sub:      newClient(hc, apiSubAccount, cfg.subAccountEndpoint, creds, d.now, cfg.requestTimeout, cfg.maxRetries),
		now:      d.now,
	}
	logger.Debug("opened", "site", cfg.site, "sts_endpoint", cfg.stsEndpoint, "subaccount_endpoint", cfg.subAccountEndpoint, "credentials", creds.source)
	return p, nil
}

// checkAmbient refuses a config that would send credentials found outside
// it (the environment, ~/.ncloud/configure, a server role) to an endpoint
// taken from it, unless use_ambient_credentials says so: a config write
// naming someone else's host must not collect Vault's ambient key. It runs
// before any credential is looked up.
func checkAmbient(v providers.Values, cfg *config) error {
	keys := strings.TrimSpace(v.String(fieldAccessKey)) != "" || strings.TrimSpace(v.String(fieldSecretKey)) != ""
	if keys || len(cfg.overrides) == 0 || cfg.useAmbient {
		return nil
	}
	verb := "is"
	if len(cfg.overrides) > 1 {
		verb = "are"
	}
	return providers.InvalidField(fieldAccessKey, "is required when %s %s set: credentials from Vault's environment (NCLOUD_ACCESS_KEY/NCLOUD_SECRET_KEY, ~/.ncloud/configure, a server role) "+
		"are only sent to the site's own Ncloud endpoints; set access_key and secret_key, or %s=true to send them to %s",
		strings.Join(cfg.overrides, " and "), verb, fieldUseAmbient, strings.Join(cfg.overrides, " and "))
}

// isUUID reports whether s has the 8-4-4-4-12 hex form of Ncloud ids.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
			return false
		}
	}
	return true
}
