package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// settingsKey stores the mount-wide settings (no secret).
const settingsKey = "settings"

const (
	// defaultWALRollbackMinAge is how old a WAL entry must be before the
	// rollback manager undoes it. A create never runs longer than Vault's
	// request timeout (90 s), so 5 minutes (what Vault's AWS engine uses)
	// never rolls back a create still in flight on another node.
	defaultWALRollbackMinAge = 5 * time.Minute
	// minWALRollbackMinAge and maxWALRollbackMinAge bound the setting.
	minWALRollbackMinAge = time.Second
	maxWALRollbackMinAge = 24 * time.Hour
	// safeWALRollbackMinAge: below it, a create still running (Vault's
	// request timeout is 90 s) on a node that just lost leadership could be
	// rolled back under its feet; the write answers with a warning.
	safeWALRollbackMinAge = 90 * time.Second

	// defaultRequestTimeout is Vault's default max_request_duration.
	defaultRequestTimeout = 90 * time.Second
	// minRequestTimeout and maxRequestTimeout bound request_timeout: audit
	// and tidy keep tidyMargin of it for their answer.
	minRequestTimeout = 20 * time.Second
	maxRequestTimeout = time.Hour
)

const (
	settingsHelpSyn  = "Mount-wide settings of the multicloud engine."
	settingsHelpDesc = `
settings holds what applies to the whole mount rather than to one provider.

wal_rollback_min_age is how old an unfinished create's write-ahead-log entry
must be before Vault's rollback manager (which runs every minute on the active
node) undoes it and deletes what the create made. The default, 5m, is what
Vault's AWS engine uses. Shorter ages clean up after a crash sooner; but below
90s (Vault's request timeout) a create still running on a node that has just
lost leadership could be rolled back while it runs. Creates in flight on the
active node itself are never rolled back, whatever the age.

request_timeout is how long Vault lets a request to this mount run (the
server's max_request_duration, 90s unless its configuration says otherwise).
Vault does not tell a plugin a request's deadline, so audit and tidy count it
themselves and answer 10s before it, with what they did and what is left.`
)

// storedSettings is the settings entry.
type storedSettings struct {
	// WALRollbackMinAge is in seconds (0: the default).
	WALRollbackMinAge int64 `json:"wal_rollback_min_age,omitempty"`
	// MountID identifies this mount in the marks put on cloud objects
	// (see providers.Mark); generated on first need.
	MountID string `json:"mount_id,omitempty"`
	// RequestTimeout is in seconds (0: the default).
	RequestTimeout int64 `json:"request_timeout,omitempty"`
}

func (s *storedSettings) walRollbackMinAge() time.Duration {
	if s == nil || s.WALRollbackMinAge == 0 {
		return defaultWALRollbackMinAge
	}
	return time.Duration(s.WALRollbackMinAge) * time.Second
}

func (s *storedSettings) requestTimeout() time.Duration {
	if s == nil || s.RequestTimeout == 0 {
		return defaultRequestTimeout
	}
	return time.Duration(s.RequestTimeout) * time.Second
}

func loadSettings(ctx context.Context, st logical.Storage) (*storedSettings, error) {
	var s storedSettings
	if _, err := getJSON(ctx, st, settingsKey, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (b *Backend) pathSettings() []*framework.Path {
	return []*framework.Path{{
		Pattern: "settings$",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationSuffix: "settings",
		},
		Fields: map[string]*framework.FieldSchema{
			"wal_rollback_min_age": {
				Type:        framework.TypeDurationSecond,
				Description: "How old an unfinished create's WAL entry must be before the rollback manager undoes it (default 5m; 1s to 24h; below 90s see the help).",
				Default:     int(defaultWALRollbackMinAge / time.Second),
			},
			"request_timeout": {
				Type:        framework.TypeDurationSecond,
				Description: "How long Vault lets a request to this mount run: the server's max_request_duration (default 90s; 20s to 1h). Audit and tidy answer 10s before it.",
				Default:     int(defaultRequestTimeout / time.Second),
			},
			"mount_id": {
				Type:        framework.TypeString,
				Description: "This mount's id in the marks put on cloud objects (8 characters of a-z and 2-7; generated on first use). Set it only to adopt the objects of a mount that no longer exists (see audit).",
			},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: &framework.PathOperation{
				Callback: b.handleSettingsRead,
				Summary:  "Read the mount-wide settings.",
			},
			logical.UpdateOperation: &framework.PathOperation{
				Callback:                  b.handleSettingsWrite,
				Summary:                   "Change the mount-wide settings (fields given are merged).",
				ForwardPerformanceStandby: true,
			},
		},
		HelpSynopsis:    settingsHelpSyn,
		HelpDescription: strings.TrimSpace(settingsHelpDesc),
	}}
}

func (b *Backend) handleSettingsRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	s, err := loadSettings(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"wal_rollback_min_age": int64(s.walRollbackMinAge() / time.Second),
		"mount_id":             s.MountID,
		"request_timeout":      int64(s.requestTimeout() / time.Second),
	}}, nil
}

func (b *Backend) handleSettingsWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	b.settingsMu.Lock()
	defer b.settingsMu.Unlock()
	s, err := loadSettings(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	resp := &logical.Response{}
	if v, ok, err := d.GetOkErr("wal_rollback_min_age"); err != nil {
		return respondErr(badRequest("wal_rollback_min_age: " + err.Error()))
	} else if ok {
		age := time.Duration(v.(int)) * time.Second
		if age < minWALRollbackMinAge || age > maxWALRollbackMinAge {
			return respondErr(badRequest(fmt.Sprintf("wal_rollback_min_age: must be between %s and %s, got %s", minWALRollbackMinAge, maxWALRollbackMinAge, age)))
		}
		if age < safeWALRollbackMinAge {
			resp.AddWarning(fmt.Sprintf("wal_rollback_min_age %s is below Vault's request timeout (90s): after a leader change, a create still running on the old leader could be rolled back while it runs; use it for tests only", age))
		}
		s.WALRollbackMinAge = int64(age / time.Second)
	}
	if v, ok, err := d.GetOkErr("request_timeout"); err != nil {
		return respondErr(badRequest("request_timeout: " + err.Error()))
	} else if ok {
		rt := time.Duration(v.(int)) * time.Second
		if rt < minRequestTimeout || rt > maxRequestTimeout {
			return respondErr(badRequest(fmt.Sprintf("request_timeout: must be between %s and %s, got %s", minRequestTimeout, maxRequestTimeout, rt)))
		}
		s.RequestTimeout = int64(rt / time.Second)
	}
	if v, ok := d.GetOk("mount_id"); ok {
		id := strings.TrimSpace(v.(string))
		if !providers.ValidMountID(id) {
			return respondErr(badRequest(fmt.Sprintf("mount_id: must be 8 characters of a-z and 2-7, got %q", id)))
		}
		if s.MountID != "" && id != s.MountID {
			resp.AddWarning(fmt.Sprintf("mount_id changed from %s to %s: objects made under the old id are no longer this mount's in audit and tidy", s.MountID, id))
		}
		s.MountID = id
	}
	if err := putJSON(ctx, req.Storage, settingsKey, s); err != nil {
		return nil, err
	}
	b.mountIDCache.Store("")
	if len(resp.Warnings) == 0 {
		return nil, nil
	}
	return resp, nil
}

// mountID returns the mount's id, generating and storing it on first need.
func (b *Backend) mountID(ctx context.Context, st logical.Storage) (string, error) {
	if id, _ := b.mountIDCache.Load().(string); id != "" {
		return id, nil
	}
	b.settingsMu.Lock()
	defer b.settingsMu.Unlock()
	s, err := loadSettings(ctx, st)
	if err != nil {
		return "", err
	}
	if s.MountID == "" {
		id, err := newID()
		if err != nil {
			return "", err
		}
		s.MountID = id[:8]
		if err := putJSON(ctx, st, settingsKey, s); err != nil {
			return "", fmt.Errorf("store the mount id: %w", err)
		}
	}
	b.mountIDCache.Store(s.MountID)
	return s.MountID, nil
}
