package plugin

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

const (
	credsListHelpSyn  = "List live credentials."
	credsListHelpDesc = `
The plugin keeps an index of the credentials it issued whose leases are live
(written at issue, removed at revoke; never a secret).

  vault list <mount>/creds/<provider>/        roles with live credentials
  vault list <mount>/creds/<provider>/<role>/ live credential ids, with each
                                              one's issue and expire times, the
                                              target it was made in and its
                                              cloud objects (in key_info)

To revoke them, use Vault's lease API: vault lease revoke -prefix
<mount>/creds/<provider>/<role>.`
)

func (b *Backend) pathCredsList() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: "creds/" + framework.GenericNameRegex("provider") + "/?$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationVerb:   "list",
				OperationSuffix: "roles-with-live-credentials",
			},
			Fields: map[string]*framework.FieldSchema{"provider": providerField()},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{
					Callback: b.handleLiveRolesList,
					Summary:  "List the roles of a provider instance that have live credentials.",
				},
			},
			HelpSynopsis:    credsListHelpSyn,
			HelpDescription: strings.TrimSpace(credsListHelpDesc),
		},
		{
			Pattern: "creds/" + framework.GenericNameRegex("provider") + "/" + framework.GenericNameRegex("name") + "/$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationVerb:   "list",
				OperationSuffix: "live-credentials",
			},
			Fields: map[string]*framework.FieldSchema{
				"provider": providerField(),
				"name":     {Type: framework.TypeString, Description: "Role name.", Required: true},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{
					Callback: b.handleLiveList,
					Summary:  "List a role's live credentials: ids, issue and expire times, target and cloud objects (no secrets).",
				},
			},
			HelpSynopsis:    credsListHelpSyn,
			HelpDescription: strings.TrimSpace(credsListHelpDesc),
		},
	}
}

func (b *Backend) handleLiveRolesList(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	roles, err := liveRoles(ctx, req.Storage, d.Get("provider").(string))
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(roles), nil
}

func (b *Backend) handleLiveList(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	entries, err := liveOfRole(ctx, req.Storage, d.Get("provider").(string), d.Get("name").(string))
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(entries))
	info := make(map[string]any, len(entries))
	for _, e := range entries {
		keys = append(keys, e.ID)
		objects := make([]map[string]any, 0, len(e.Objects))
		for _, o := range e.Objects {
			m := map[string]any{"kind": o.Kind, "name": o.Name}
			if o.ID != "" {
				m["id"] = o.ID
			}
			objects = append(objects, m)
		}
		item := map[string]any{
			"credential_type": e.CredentialType,
			"issue_time":      rfc3339(e.IssueTime),
			"expire_time":     rfc3339(e.ExpireTime),
			"max_expire_time": rfc3339(e.MaxExpireTime),
			"objects":         objects,
		}
		if e.Target != "" {
			item["target"] = e.Target
			item["target_description"] = e.TargetDescription
		}
		if e.SelfExpiring {
			item["self_expiring"] = true
		}
		info[e.ID] = item
	}
	sort.Strings(keys)
	return logical.ListResponseWithInfo(keys, info), nil
}

func rfc3339(unix int64) string {
	if unix == 0 {
		return ""
	}
	return time.Unix(unix, 0).UTC().Format(time.RFC3339)
}
