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

const (
	auditHelpSyn  = "Find cloud objects this mount made that no lease holds, and index entries whose objects are gone."
	auditHelpDesc = `
Every object the plugin creates carries a mark naming this mount (settings
mount_id) and the provider instance: an AWS tag, an Ncloud loginId prefix and
memo, a Nomad token name prefix. audit/<provider> lists the cloud's marked
objects (paging through the cloud, through the instance's rate-limit-aware
call scheduler) and compares them with the index of live credentials and the
unfinished creates of the WAL:

  orphans  objects in the cloud that no live lease or unfinished create
           holds: a revoke Vault gave up on (an irrevocable lease), a lease
           revoked with -force, an engine disabled with live leases, a Vault
           restored from an old snapshot, a create lost in a crash;
  ghosts   index entries whose objects are gone from the cloud.

An index entry counts as abandoned (its objects become orphans) once its
lease expired, or its last revoke failed, more than abandon_after ago
without Vault revoking it since. Objects of other mounts on the same account,
and unmarked objects, are never listed.

tidy/<provider> removes the orphans older than min_age (default 1h) and drops
the ghosts from the index. It is a dry run unless dry_run=false. Set
tidy_interval on config/<provider> to tidy periodically.`
)

func (b *Backend) pathAudit() []*framework.Path {
	abandon := &framework.FieldSchema{
		Type:        framework.TypeDurationSecond,
		Description: "An index entry whose lease expired, or whose revoke failed, longer ago than this (and not revoked since) is abandoned (default 15m).",
		Default:     int(defaultAbandonAfter / time.Second),
	}
	return []*framework.Path{
		{
			Pattern: "audit/" + framework.GenericNameRegex("provider") + "$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationVerb:   "audit",
				OperationSuffix: "provider",
			},
			Fields: map[string]*framework.FieldSchema{"provider": providerField(), "abandon_after": abandon},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: &framework.PathOperation{
					Callback:                  b.handleAudit,
					Summary:                   "Compare the provider's marked cloud objects with the live leases and unfinished creates.",
					ForwardPerformanceStandby: true,
				},
			},
			HelpSynopsis:    auditHelpSyn,
			HelpDescription: strings.TrimSpace(auditHelpDesc),
		},
		{
			Pattern: "tidy/" + framework.GenericNameRegex("provider") + "$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationVerb:   "tidy",
				OperationSuffix: "provider",
			},
			Fields: map[string]*framework.FieldSchema{
				"provider":      providerField(),
				"abandon_after": abandon,
				"dry_run": {
					Type:        framework.TypeBool,
					Description: "Only report what would be removed (default true).",
					Default:     true,
				},
				"min_age": {
					Type:        framework.TypeDurationSecond,
					Description: "Remove only orphans the cloud made longer ago than this (default 1h).",
					Default:     int(defaultTidyMinAge / time.Second),
				},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: &framework.PathOperation{
					Callback:                  b.handleTidy,
					Summary:                   "Remove orphaned cloud objects and drop ghosts from the index (a dry run unless dry_run=false).",
					ForwardPerformanceStandby: true,
				},
			},
			HelpSynopsis:    auditHelpSyn,
			HelpDescription: strings.TrimSpace(auditHelpDesc),
		},
	}
}

func (b *Backend) handleAudit(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ctx, cancel, err := b.withRequestBudget(providers.WithOperation(ctx, providers.OpAdmin), req.Storage)
	if err != nil {
		return nil, err
	}
	defer cancel()
	r, _, err := b.audit(ctx, req.Storage, d.Get("provider").(string), time.Duration(d.Get("abandon_after").(int))*time.Second)
	if err != nil {
		return respondErr(err)
	}
	return &logical.Response{Data: reportData(r)}, nil
}

func (b *Backend) handleTidy(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ctx, cancel, err := b.withRequestBudget(providers.WithOperation(ctx, providers.OpAdmin), req.Storage)
	if err != nil {
		return nil, err
	}
	defer cancel()
	name := d.Get("provider").(string)
	minAge := time.Duration(d.Get("min_age").(int)) * time.Second
	if minAge < 0 {
		return respondErr(badRequest("min_age: must not be negative"))
	}
	dry := d.Get("dry_run").(bool)
	r, auditor, err := b.audit(ctx, req.Storage, name, time.Duration(d.Get("abandon_after").(int))*time.Second)
	if err != nil {
		return respondErr(err)
	}
	res := b.tidy(ctx, req.Storage, r, auditor, minAge, dry)
	data := reportData(r)
	data["dry_run"] = dry
	data["removed"] = orphansData(res.Removed)
	data["kept_younger_than_min_age"] = orphansData(res.Kept)
	data["dropped_index_entries"] = res.DroppedIndex
	data["failed"] = res.Failed
	resp := &logical.Response{Data: data}
	if len(res.Failed) > 0 {
		resp.AddWarning(fmt.Sprintf("%d removal(s) failed; run tidy again", len(res.Failed)))
	}
	return resp, nil
}

func reportData(r *auditReport) map[string]any {
	ghosts := make([]map[string]any, 0, len(r.Ghosts))
	for _, g := range r.Ghosts {
		ghosts = append(ghosts, map[string]any{
			"role": g.Entry.Role, "id": g.Entry.ID, "credential_type": g.Entry.CredentialType,
			"issue_time": rfc3339(g.Entry.IssueTime), "objects": objectsData(g.Entry.Objects), "reason": g.Reason,
		})
	}
	return map[string]any{
		"provider":           r.Instance,
		"mount_id":           r.Mount,
		"target":             r.Target.ID,
		"target_description": r.Target.Description,
		"scanned":            r.Scanned,
		"held":               r.Held,
		"cloud_calls":        r.Calls,
		"orphans":            orphansData(r.Orphans),
		"ghosts":             ghosts,
		"duration_seconds":   r.Duration.Seconds(),
	}
}

func orphansData(os []orphan) []map[string]any {
	out := make([]map[string]any, 0, len(os))
	now := time.Now()
	for _, o := range os {
		m := map[string]any{"kind": o.Object.Kind, "name": o.Object.Name, "reason": o.Reason}
		if o.Object.ID != "" {
			m["id"] = o.Object.ID
		}
		if !o.Object.Created.IsZero() {
			m["created"] = o.Object.Created.UTC().Format(time.RFC3339)
			m["age_seconds"] = int64(now.Sub(o.Object.Created).Seconds())
		}
		out = append(out, m)
	}
	return out
}

func objectsData(refs []providers.ObjectRef) []map[string]any {
	out := make([]map[string]any, 0, len(refs))
	for _, o := range refs {
		m := map[string]any{"kind": o.Kind, "name": o.Name}
		if o.ID != "" {
			m["id"] = o.ID
		}
		out = append(out, m)
	}
	return out
}
