package plugin

import (
	"context"
	"sort"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

const operationPrefix = "multicloud"

func (b *Backend) pathProviders() []*framework.Path {
	return []*framework.Path{{
		Pattern: "providers/?$",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationSuffix: "providers",
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: &framework.PathOperation{
				Callback: b.handleProvidersRead,
				Summary:  "Describe the registered drivers and the configured provider instances.",
				Responses: map[int][]framework.Response{
					200: {{Description: "OK", Fields: map[string]*framework.FieldSchema{
						"drivers":   {Type: framework.TypeMap, Description: "Registered drivers with their config fields and credential types."},
						"instances": {Type: framework.TypeMap, Description: "Configured provider instances and their driver."},
					}}},
				},
			},
			logical.ListOperation: &framework.PathOperation{
				Callback: b.handleProvidersList,
				Summary:  "List the configured provider instances.",
			},
		},
		HelpSynopsis:    "Registered drivers and configured provider instances.",
		HelpDescription: "Read returns every driver compiled into the plugin (its config fields and credential types) and every configured provider instance; list returns the instance names.",
	}}
}

func (b *Backend) handleProvidersRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	drivers := map[string]any{}
	for _, name := range b.registry.Names() {
		d, _ := b.registry.Driver(name)
		drivers[name] = describeDriver(d.Info())
	}
	instances, err := b.instanceDrivers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for name, driver := range instances {
		out[name] = map[string]any{"driver": driver}
	}
	return &logical.Response{Data: map[string]any{"drivers": drivers, "instances": out}}, nil
}

func (b *Backend) handleProvidersList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	instances, err := b.instanceDrivers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(instances))
	info := map[string]any{}
	for name, driver := range instances {
		keys = append(keys, name)
		info[name] = map[string]any{"driver": driver}
	}
	sort.Strings(keys)
	return logical.ListResponseWithInfo(keys, info), nil
}

// instanceDrivers maps every configured instance to its driver.
func (b *Backend) instanceDrivers(ctx context.Context, s logical.Storage) (map[string]string, error) {
	names, err := s.List(ctx, configPrefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		cfg, err := loadConfig(ctx, s, n)
		if err != nil {
			return nil, err
		}
		if cfg != nil {
			out[n] = cfg.Driver
		}
	}
	return out, nil
}

func describeDriver(info providers.DriverInfo) map[string]any {
	types := map[string]any{}
	for _, c := range info.CredentialTypes {
		types[c.Name] = map[string]any{
			"description":    c.Description,
			"role_fields":    describeFields(c.RoleFields),
			"request_fields": describeFields(c.RequestFields),
		}
	}
	return map[string]any{
		"description":             info.Description,
		"config_fields":           describeFields(info.ConfigFields),
		"credential_types":        types,
		"default_credential_type": info.CredentialTypes[0].Name,
	}
}

func describeFields(fields []providers.Field) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		d := map[string]any{"type": f.Type.String(), "description": f.Description}
		if f.Secret {
			d["secret"] = true
		}
		if f.Required {
			d["required"] = true
		}
		if f.Default != nil {
			d["default"] = encodeValues(providers.Values{"v": f.Default})["v"]
		}
		if len(f.AllowedValues) > 0 {
			d["allowed_values"] = f.AllowedValues
		}
		out[f.Name] = d
	}
	return out
}
