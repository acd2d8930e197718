package plugin

import (
	"context"
	"fmt"

	"github.com/hashicorp/vault/sdk/logical"
)

const (
	configPrefix = "config/"
	rolePrefix   = "roles/"
)

// storedConfig is config/<instance>. Values are JSON-safe (durations in
// seconds) and typed again through the driver's schema when read. The
// config/ prefix is seal-wrapped (PathsSpecial.SealWrapStorage).
type storedConfig struct {
	Driver string         `json:"driver"`
	Values map[string]any `json:"values"`
	// TidyInterval (seconds; 0: off) runs tidy/<instance> periodically,
	// removing orphans older than TidyMinAge (seconds; nil: the default).
	TidyInterval int64  `json:"tidy_interval,omitempty"`
	TidyMinAge   *int64 `json:"tidy_min_age,omitempty"`
}

// storedRole is roles/<instance>/<name>.
type storedRole struct {
	CredentialType string         `json:"credential_type"`
	TTL            int64          `json:"ttl"`
	MaxTTL         int64          `json:"max_ttl"`
	Values         map[string]any `json:"values"`
}

func roleKey(instance, name string) string { return rolePrefix + instance + "/" + name }

func loadConfig(ctx context.Context, s logical.Storage, name string) (*storedConfig, error) {
	var c storedConfig
	ok, err := getJSON(ctx, s, configPrefix+name, &c)
	if err != nil || !ok {
		return nil, err
	}
	return &c, nil
}

func loadRole(ctx context.Context, s logical.Storage, instance, name string) (*storedRole, error) {
	var r storedRole
	ok, err := getJSON(ctx, s, roleKey(instance, name), &r)
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}

func getJSON(ctx context.Context, s logical.Storage, key string, out any) (bool, error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if e == nil {
		return false, nil
	}
	if err := e.DecodeJSON(out); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	e, err := logical.StorageEntryJSON(key, v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := s.Put(ctx, e); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}
