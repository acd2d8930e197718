package ncloud

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/NaverCloudPlatform/ncloud-sdk-go-v2/ncloud/credentials"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// credRefreshMargin: expiring credentials (a server role's) are fetched
// again this long before they expire.
const credRefreshMargin = 5 * time.Minute

// credSource holds the key pair the client signs with: the config's, or
// what one provider of the SDK's credential chain returned (re-fetched
// before it expires when it has an expiration, as a server role's does).
type credSource struct {
	source   string               // "config" or the SDK provider's name
	provider credentials.Provider // nil for config keys
	now      func() time.Time

	mu    sync.Mutex
	value credentials.Value
}

func (c *credSource) fromConfig() bool { return c.provider == nil }

// get returns the key pair to sign with.
func (c *credSource) get() (accessKey, secretKey string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil && !c.value.Expiration.IsZero() && c.now().Add(credRefreshMargin).After(c.value.Expiration) {
		v, err := retrieve(c.provider)
		if err != nil {
			return "", "", fmt.Errorf("refresh credentials from %s: %w", c.source, err)
		}
		c.value = v
	}
	return c.value.AccessKey, c.value.SecretKey, nil
}

// resolveCredentials returns the config's keys, else the first credentials
// the SDK's chain (env, ~/.ncloud/configure, server role) yields. It never
// calls anything that can exit the process (ncloud.Keys does).
func (d *Driver) resolveCredentials(v providers.Values) (*credSource, error) {
	ak, sk := strings.TrimSpace(v.String(fieldAccessKey)), strings.TrimSpace(v.String(fieldSecretKey))
	switch {
	case ak != "" && sk != "":
		return &credSource{source: "config", now: d.now, value: credentials.Value{AccessKey: ak, SecretKey: sk}}, nil
	case ak != "":
		return nil, providers.InvalidField(fieldSecretKey, "is required when access_key is set")
	case sk != "":
		return nil, providers.InvalidField(fieldAccessKey, "is required when secret_key is set")
	}
	var tried []string
	for _, p := range d.chain() {
		val, err := retrieve(p)
		if err == nil {
			return &credSource{source: p.Name(), provider: p, now: d.now, value: val}, nil
		}
		tried = append(tried, p.Name()+": "+err.Error())
	}
	return nil, providers.InvalidField(fieldAccessKey,
		"no Ncloud credentials: set access_key and secret_key, or NCLOUD_ACCESS_KEY and NCLOUD_SECRET_KEY in Vault's environment, "+
			"or ~/.ncloud/configure (ncloud_access_key_id, ncloud_secret_access_key), or run Vault on an Ncloud server with a server role (tried %s)",
		strings.Join(tried, "; "))
}

// retrieve calls p.Retrieve, turning a panic (the SDK's config-file parser
// indexes a line without '=') and an incomplete pair into errors.
func retrieve(p credentials.Provider) (v credentials.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("malformed credentials")
		}
	}()
	v, err = p.Retrieve()
	if err != nil {
		return credentials.Value{}, err
	}
	if v.AccessKey == "" || v.SecretKey == "" {
		return credentials.Value{}, errors.New("no access key and secret key found")
	}
	return v, nil
}
