package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/lease"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

const (
	roleHelpSyn  = "Manage the roles of a provider instance."
	roleHelpDesc = `
roles/<provider>/<name> describes one kind of credential: its credential_type
(one of the driver's types; the driver's first type by default), ttl, max_ttl
and the driver's own fields (see "vault read <mount>/providers"). A field the
driver does not take for that credential type is refused with the list of
valid fields. Updates merge into the stored role.`
)

// commonRoleFields are taken by every role, whatever the driver.
var commonRoleFields = []string{"credential_type", "ttl", "max_ttl"}

func (b *Backend) pathRoles() []*framework.Path {
	fields := b.unionFields(func(d providers.DriverInfo) [][]providers.Field {
		var out [][]providers.Field
		for _, c := range d.CredentialTypes {
			out = append(out, c.RoleFields)
		}
		return out
	})
	fields["provider"] = providerField()
	fields["name"] = &framework.FieldSchema{Type: framework.TypeString, Description: "Role name.", Required: true}
	fields["credential_type"] = &framework.FieldSchema{Type: framework.TypeString, Description: "Credential type; one of the driver's types (default: its first)."}
	fields["ttl"] = &framework.FieldSchema{Type: framework.TypeDurationSecond, Description: "Default lease TTL of the role's credentials (default: the mount's)."}
	fields["max_ttl"] = &framework.FieldSchema{Type: framework.TypeDurationSecond, Description: "Max lease TTL of the role's credentials (default: the mount's)."}

	return []*framework.Path{
		{
			Pattern: "roles/" + framework.GenericNameRegex("provider") + "/?$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "roles",
			},
			Fields: map[string]*framework.FieldSchema{"provider": providerField()},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{Callback: b.handleRoleList, Summary: "List the roles of a provider instance."},
			},
			HelpSynopsis:    roleHelpSyn,
			HelpDescription: strings.TrimSpace(roleHelpDesc),
		},
		{
			Pattern: "roles/" + framework.GenericNameRegex("provider") + "/" + framework.GenericNameRegex("name") + "$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "role",
			},
			Fields:         fields,
			ExistenceCheck: b.roleExists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.CreateOperation: &framework.PathOperation{Callback: b.handleRoleWrite, Summary: "Create a role."},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.handleRoleWrite, Summary: "Update a role (fields given are merged)."},
				logical.ReadOperation:   &framework.PathOperation{Callback: b.handleRoleRead, Summary: "Read a role."},
				logical.DeleteOperation: &framework.PathOperation{Callback: b.handleRoleDelete, Summary: "Delete a role; its live leases still renew and revoke."},
			},
			HelpSynopsis:    roleHelpSyn,
			HelpDescription: strings.TrimSpace(roleHelpDesc),
		},
	}
}

func (b *Backend) roleExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	r, err := loadRole(ctx, req.Storage, d.Get("provider").(string), d.Get("name").(string))
	return r != nil, err
}

func (b *Backend) handleRoleList(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, rolePrefix+d.Get("provider").(string)+"/")
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(keys), nil
}

func (b *Backend) handleRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ctx = providers.WithOperation(ctx, providers.OpValidate)
	instName, name := d.Get("provider").(string), d.Get("name").(string)
	// Held until the role is stored, so a concurrent config delete cannot
	// leave a role without a config.
	lock := locksutil.LockForKey(b.configLocks, instName)
	lock.RLock()
	defer lock.RUnlock()
	inst, err := b.provider(ctx, req.Storage, instName)
	if err != nil {
		return respondErr(err)
	}
	info, err := b.driverInfo(inst.cfg.Driver)
	if err != nil {
		return nil, err
	}
	existing, err := loadRole(ctx, req.Storage, instName, name)
	if err != nil {
		return nil, err
	}

	role := &storedRole{CredentialType: info.CredentialTypes[0].Name}
	if existing != nil {
		role.CredentialType, role.TTL, role.MaxTTL = existing.CredentialType, existing.TTL, existing.MaxTTL
	}
	if v, ok := d.GetOk("credential_type"); ok {
		role.CredentialType = strings.TrimSpace(v.(string))
	}
	ctype, ok := info.CredentialType(role.CredentialType)
	if !ok {
		return respondErr(providers.InvalidField("credential_type", "must be one of %s, got %q", strings.Join(info.CredentialTypeNames(), ", "), role.CredentialType))
	}
	if v, ok := d.GetOk("ttl"); ok {
		role.TTL = int64(v.(int))
	}
	if v, ok := d.GetOk("max_ttl"); ok {
		role.MaxTTL = int64(v.(int))
	}
	if err := lease.ValidateRole(time.Duration(role.TTL)*time.Second, time.Duration(role.MaxTTL)*time.Second); err != nil {
		return respondErr(badRequest(err.Error()))
	}

	raw := withoutPathKeys(req.Data, append([]string{"provider", "name"}, commonRoleFields...)...)
	if unknown := unknownFields(raw, ctype.RoleFields); len(unknown) > 0 {
		return respondErr(badRequest(fmt.Sprintf("credential_type %s of driver %s: %s", ctype.Name, info.Name, unknownFieldError(unknown, ctype.RoleFields, commonRoleFields...))))
	}
	given, err := parseFields(ctype.RoleFields, raw)
	if err != nil {
		return respondErr(err)
	}
	merged := providers.Values{}
	if existing != nil {
		// Keep the stored values the (possibly new) credential type takes.
		prev, err := parseFields(ctype.RoleFields, existing.Values)
		if err != nil {
			return nil, err
		}

		for k, v := range prev {
			merged[k] = v
		}
	}
	for k, v := range given {
		merged[k] = v
	}
	merged = upgradeRole(b.mustDriver(inst.cfg.Driver), ctype.Name, merged)
	for _, f := range ctype.RoleFields {
		if f.Required && !merged.Has(f.Name) {
			return respondErr(providers.InvalidField(f.Name, "is required for credential_type %s", ctype.Name))
		}
	}
	if err := inst.provider.ValidateRole(ctx, providers.ValidateRoleRequest{
		Role:           name,
		CredentialType: ctype.Name,
		Values:         withDefaults(ctype.RoleFields, merged),
		TTL:            time.Duration(role.TTL) * time.Second,
		MaxTTL:         time.Duration(role.MaxTTL) * time.Second,
	}); err != nil {
		return respondErr(err)
	}
	role.Values = encodeValues(merged)

	var resp *logical.Response
	sys := b.System()
	if max := sys.MaxLeaseTTL(); max > 0 && time.Duration(role.MaxTTL)*time.Second > max {
		resp = &logical.Response{}
		resp.AddWarning(fmt.Sprintf("max_ttl %s is greater than the mount's max lease TTL %s; leases are capped at the latter", time.Duration(role.MaxTTL)*time.Second, max))
	}
	if err := putJSON(ctx, req.Storage, roleKey(instName, name), role); err != nil {
		return nil, err
	}
	return resp, nil
}

func (b *Backend) handleRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	instName, name := d.Get("provider").(string), d.Get("name").(string)
	role, err := loadRole(ctx, req.Storage, instName, name)
	if err != nil || role == nil {
		return nil, err
	}
	data := map[string]any{
		"credential_type": role.CredentialType,
		"ttl":             role.TTL,
		"max_ttl":         role.MaxTTL,
	}
	values := providers.Values{}
	cfg, err := loadConfig(ctx, req.Storage, instName)
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		if info, err := b.driverInfo(cfg.Driver); err == nil {
			if ctype, ok := info.CredentialType(role.CredentialType); ok {
				if values, err = decodeValues(ctype.RoleFields, role.Values); err != nil {
					return nil, err
				}
				values = upgradeRole(b.mustDriver(cfg.Driver), ctype.Name, values)
			}
		}
	}
	for k, v := range encodeValues(values) {
		data[k] = v
	}
	return &logical.Response{Data: data}, nil
}

func (b *Backend) handleRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	return nil, req.Storage.Delete(ctx, roleKey(d.Get("provider").(string), d.Get("name").(string)))
}
