package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

const (
	confHelpSyn  = "Configure a provider instance: a cloud account or cluster and how to reach it."
	confHelpDesc = `
config/<provider> holds one provider instance's connection settings and root
credential. <provider> is an instance name; by default the name of a driver
(aws, ncloud, nomad). Write config/<name> with driver=<driver> to add another
instance of a driver, e.g. config/aws-prod driver=aws. The driver of an
instance never changes. Writes merge into the stored config. Reads never
return a secret: a secret field is reported as <field>_set.

Every credential is bound to the target (account, site, cluster) it was made
in. A write that would point an instance with live credentials or unfinished
creates at another target is refused, since their revokes would then act in
the wrong place; force=true writes it anyway (those revokes fail until the
config points back). Delete is refused while roles, live credentials or
unfinished creates of the instance exist; force=true deletes it despite live
credentials (their revokes fail until the instance is configured again).`
)

func providerField() *framework.FieldSchema {
	return &framework.FieldSchema{
		Type:        framework.TypeString,
		Description: "Provider instance name, e.g. aws or aws-prod.",
		Required:    true,
	}
}

func (b *Backend) pathConfig() []*framework.Path {
	fields := b.unionFields(func(d providers.DriverInfo) [][]providers.Field {
		return [][]providers.Field{d.ConfigFields}
	})
	fields["provider"] = providerField()
	fields["driver"] = &framework.FieldSchema{
		Type:          framework.TypeString,
		Description:   "Driver of the instance; defaults to the instance name. Cannot change after creation.",
		AllowedValues: anySlice(b.registry.Names()),
	}
	fields["tidy_interval"] = &framework.FieldSchema{
		Type:        framework.TypeDurationSecond,
		Description: "Run tidy on this instance this often (0, the default: never), from Vault's periodic rollback call on the active node.",
	}
	fields["tidy_min_age"] = &framework.FieldSchema{
		Type:        framework.TypeDurationSecond,
		Description: "Periodic tidy removes only orphans older than this (default 1h).",
	}
	fields["force"] = &framework.FieldSchema{
		Type:        framework.TypeBool,
		Description: "Write even though live credentials or unfinished creates were made in another target than the new config's; delete even though live credentials exist. Their revokes fail until the instance points at their target again.",
	}
	return []*framework.Path{
		{
			Pattern: "config/?$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "configs",
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{
					Callback: b.handleProvidersList,
					Summary:  "List the configured provider instances.",
				},
			},
			HelpSynopsis:    "List the configured provider instances.",
			HelpDescription: "Lists config/<provider> entries with their driver.",
		},
		{
			Pattern: "config/" + framework.GenericNameRegex("provider") + "$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "config",
			},
			Fields:         fields,
			ExistenceCheck: b.configExists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.CreateOperation: &framework.PathOperation{Callback: b.handleConfigWrite, Summary: "Configure a provider instance."},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.handleConfigWrite, Summary: "Update a provider instance's config (fields given are merged)."},
				logical.ReadOperation: &framework.PathOperation{
					Callback: b.handleConfigRead,
					Summary:  "Read a provider instance's config; secrets are never returned.",
				},
				logical.DeleteOperation: &framework.PathOperation{
					Callback: b.handleConfigDelete,
					Summary:  "Delete a provider instance's config; refused while it has roles.",
				},
			},
			HelpSynopsis:    confHelpSyn,
			HelpDescription: strings.TrimSpace(confHelpDesc),
		},
		b.pathRotateRoot(),
	}
}

// unionFields declares, for the OpenAPI document, every field any driver
// takes at a path. A name two drivers type differently is left out (the
// driver's own schema still types and validates it).
func (b *Backend) unionFields(pick func(providers.DriverInfo) [][]providers.Field) map[string]*framework.FieldSchema {
	out := map[string]*framework.FieldSchema{}
	conflict := map[string]bool{}
	for _, name := range b.registry.Names() {
		d, _ := b.registry.Driver(name)
		for _, group := range pick(d.Info()) {
			for fname, fs := range schemaFor(group) {
				if prev, ok := out[fname]; ok && prev.Type != fs.Type {
					conflict[fname] = true
					continue
				}
				if _, ok := out[fname]; !ok {
					fs.AllowedValues = nil // per-driver; validated by the driver schema
					out[fname] = fs
				}
			}
		}
	}
	for n := range conflict {
		delete(out, n)
	}
	return out
}

func (b *Backend) configExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	cfg, err := loadConfig(ctx, req.Storage, d.Get("provider").(string))
	return cfg != nil, err
}

func (b *Backend) handleConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ctx = providers.WithOperation(ctx, providers.OpValidate)
	name := d.Get("provider").(string)
	if !providers.ValidName(name) {
		return respondErr(badRequest(fmt.Sprintf("provider: %q is not a valid instance name (lowercase letters, digits and '-', starting with a letter, at most 63 characters)", name)))
	}
	lock := locksutil.LockForKey(b.configLocks, name)
	lock.Lock()
	defer lock.Unlock()

	existing, err := loadConfig(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	driverName, err := b.resolveDriver(name, existing, req.Data)
	if err != nil {
		return respondErr(err)
	}
	info, err := b.driverInfo(driverName)
	if err != nil {
		return respondErr(badRequest("driver: " + err.Error()))
	}
	force, err := boolParam(req.Data, "force")
	if err != nil {
		return respondErr(err)
	}
	raw := withoutPathKeys(req.Data, append([]string{"provider", "driver", "force"}, pluginConfigFields...)...)
	if unknown := unknownFields(raw, info.ConfigFields); len(unknown) > 0 {
		return respondErr(badRequest(unknownFieldError(unknown, info.ConfigFields, append([]string{"driver", "force"}, pluginConfigFields...)...).Error()))
	}
	given, err := parseFields(info.ConfigFields, raw)
	if err != nil {
		return respondErr(err)
	}

	merged := providers.Values{}
	if existing != nil {
		prev, err := decodeValues(info.ConfigFields, existing.Values)
		if err != nil {
			return nil, err
		}
		for _, f := range info.ConfigFields {
			if _, isSet := existing.Values[f.Name]; isSet {
				merged[f.Name] = prev[f.Name]
			}
		}
	}
	for k, v := range given {
		merged[k] = v
	}
	// Stored in the driver's current form (e.g. a template in a former
	// syntax, stored by an older version or written again, is converted).
	merged = upgradeConfig(b.mustDriver(driverName), merged)
	for _, f := range info.ConfigFields {
		if f.Required && !merged.Has(f.Name) {
			return respondErr(providers.InvalidField(f.Name, "is required"))
		}
	}

	cfg := &storedConfig{Driver: driverName, Values: encodeValues(merged)}
	if existing != nil {
		cfg.TidyInterval, cfg.TidyMinAge = existing.TidyInterval, existing.TidyMinAge
	}
	for _, field := range pluginConfigFields {
		v, ok, err := d.GetOkErr(field)
		if err != nil {
			return respondErr(badRequest(fmt.Sprintf("%s: %v", field, err)))
		}
		if !ok {
			continue
		}
		secs := int64(v.(int))
		if secs < 0 {
			return respondErr(badRequest(field + ": must not be negative"))
		}
		if field == "tidy_interval" {
			cfg.TidyInterval = secs
		} else {
			cfg.TidyMinAge = &secs
		}
	}
	if cfg.TidyInterval != 0 && cfg.TidyInterval < int64(minTidyInterval/time.Second) {
		return respondErr(badRequest(fmt.Sprintf("tidy_interval: must be 0 (off) or at least %s", minTidyInterval)))
	}
	p, err := b.open(ctx, name, cfg)
	if err != nil {
		return respondConfigErr(err)
	}
	var warnings []string
	if existing != nil {
		if warnings, err = b.checkRetarget(ctx, req, name, p, force); err != nil {
			_ = p.Close()
			return respondErr(err)
		}
	}
	if err := putJSON(ctx, req.Storage, configPrefix+name, cfg); err != nil {
		_ = p.Close()
		return nil, err
	}
	b.setInstance(name, &instance{cfg: cfg, provider: p})
	if len(warnings) == 0 {
		return nil, nil
	}
	return &logical.Response{Warnings: warnings}, nil
}

// checkRetarget refuses (unless force) a config that points an instance
// with live credentials or unfinished creates at another target than the
// ones they were made in. It asks the new provider for its target only
// when something is at stake.
func (b *Backend) checkRetarget(ctx context.Context, req *logical.Request, name string, p providers.Provider, force bool) ([]string, error) {
	live, err := summarizeLive(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	wals, err := b.walEntriesFor(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	made := map[string]int{}
	descr := map[string]string{}
	for t, n := range live.byTarget {
		made[t] += n
		descr[t] = live.descr[t]
	}
	for _, w := range wals {
		made[w.Target]++
		if w.TargetDescription != "" {
			descr[w.Target] = w.TargetDescription
		}
	}
	delete(made, "") // made before targets were recorded: not bound
	if len(made) == 0 {
		return nil, nil
	}
	now, terr := p.Target(ctx)
	var elsewhere []string
	stranded := 0
	for t, n := range made {
		if terr == nil && t == now.ID {
			continue
		}
		stranded += n
		elsewhere = append(elsewhere, fmt.Sprintf("%d in %s", n, providers.Target{ID: t, Description: descr[t]}))
	}
	if stranded == 0 {
		return nil, nil
	}
	sort.Strings(elsewhere)
	what := fmt.Sprintf("provider %q has %d live credential(s) or unfinished create(s) (%s)", name, stranded, strings.Join(elsewhere, "; "))
	if terr != nil {
		msg := fmt.Sprintf("%s, and the new config's target cannot be identified (%v), so it cannot be shown to be the same", what, terr)
		if force {
			return []string{msg + "; written anyway (force=true)"}, nil
		}
		return nil, badRequest(msg + ". Fix the config, or write it with force=true")
	}
	msg := fmt.Sprintf("the new config points at %s (%s), but %s; their revokes would act in the wrong place", now, now.ID, what)
	if force {
		return []string{msg + ". Written anyway (force=true): those revokes and rollbacks fail until the config points at their target again"}, nil
	}
	return nil, badRequest(fmt.Sprintf("%s. Revoke them first (vault lease revoke -prefix %screds/%s; list them with vault list %screds/%s/), "+
		"or add a new instance for the new target (config/<new name> driver=...), or write with force=true to accept that their revokes fail until the config points back",
		msg, req.MountPoint, name, req.MountPoint, name))
}

// boolParam reads an optional bool parameter that is not a driver field.
func boolParam(data map[string]any, name string) (bool, error) {
	v, ok := data[name]
	if !ok {
		return false, nil
	}
	fd := &framework.FieldData{Raw: map[string]any{name: v}, Schema: map[string]*framework.FieldSchema{name: {Type: framework.TypeBool}}}
	got, _, err := fd.GetOkErr(name)
	if err != nil {
		return false, badRequest(fmt.Sprintf("%s: must be a bool: %v", name, err))
	}
	b, _ := got.(bool)
	return b, nil
}

// respondConfigErr answers a config the driver refused: a cloud refusing
// the credential is the operator's input problem, so 400.
func respondConfigErr(err error) (*logical.Response, error) {
	var ce *providers.CloudError
	if errors.As(err, &ce) {
		return logical.ErrorResponse("config rejected by the cloud: " + err.Error()), nil
	}
	return respondErr(err)
}

// resolveDriver decides an instance's driver: the stored one (which never
// changes), else the driver field, else the driver named like the instance.
func (b *Backend) resolveDriver(name string, existing *storedConfig, data map[string]any) (string, error) {
	given, _ := data["driver"].(string)
	given = strings.TrimSpace(given)
	switch {
	case existing != nil && given != "" && given != existing.Driver:
		return "", badRequest(fmt.Sprintf("driver: the driver of provider %q is %q and cannot change; delete the config first", name, existing.Driver))
	case existing != nil:
		return existing.Driver, nil
	case given != "":
		if _, ok := b.registry.Driver(given); !ok {
			return "", badRequest(fmt.Sprintf("driver: unknown driver %q; registered drivers are: %s", given, strings.Join(b.registry.Names(), ", ")))
		}
		return given, nil
	}
	if _, ok := b.registry.Driver(name); ok {
		return name, nil
	}
	return "", badRequest(fmt.Sprintf("driver: required, since %q is not the name of a driver (registered drivers are: %s)", name, strings.Join(b.registry.Names(), ", ")))
}

func (b *Backend) handleConfigRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("provider").(string)
	cfg, err := loadConfig(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, nil
	}
	info, err := b.driverInfo(cfg.Driver)
	if err != nil {
		return nil, err
	}
	values, err := decodeValues(info.ConfigFields, cfg.Values)
	if err != nil {
		return nil, err
	}
	values = upgradeConfig(b.mustDriver(cfg.Driver), values)
	out := map[string]any{"driver": cfg.Driver, "tidy_interval": cfg.TidyInterval, "tidy_min_age": int64(cfg.tidyMinAge() / time.Second)}
	for _, f := range info.ConfigFields {
		if f.Secret {
			_, set := cfg.Values[f.Name]
			out[f.Name+"_set"] = set
			continue
		}
		if v, ok := values[f.Name]; ok {
			out[f.Name] = encodeValues(providers.Values{"v": v})["v"]
		}
	}
	return &logical.Response{Data: out}, nil
}

func (b *Backend) handleConfigDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("provider").(string)
	lock := locksutil.LockForKey(b.configLocks, name)
	lock.Lock()
	defer lock.Unlock()

	roles, err := req.Storage.List(ctx, rolePrefix+name+"/")
	if err != nil {
		return nil, err
	}
	if len(roles) > 0 {
		sort.Strings(roles)
		return respondErr(badRequest(fmt.Sprintf("provider %q still has %d role(s) (%s); delete them first", name, len(roles), strings.Join(roles, ", "))))
	}
	pending, err := b.walEntriesFor(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		return respondErr(badRequest(fmt.Sprintf("provider %q has %d unfinished create(s) awaiting rollback; retry after the rollback manager has run", name, len(pending))))
	}
	force, err := boolParam(req.Data, "force")
	if err != nil {
		return respondErr(err)
	}
	live, err := summarizeLive(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if live.total > 0 && !force {
		return respondErr(badRequest(fmt.Sprintf("provider %q has %d live credential(s) (roles: %s) whose revokes need this config. "+
			"Revoke them first (vault lease revoke -prefix %screds/%s; list them with vault list %screds/%s/), "+
			"or delete with force=true if they can never be revoked (their leases will fail to revoke until the instance is configured again)",
			name, live.total, strings.Join(live.roles, ", "), req.MountPoint, name, req.MountPoint, name)))
	}
	if err := req.Storage.Delete(ctx, configPrefix+name); err != nil {
		return nil, err
	}
	b.dropInstance(name)
	return nil, nil
}

// pluginConfigFields are config/<provider> fields the plugin itself takes,
// whatever the driver.
var pluginConfigFields = []string{"tidy_interval", "tidy_min_age"}

// decodeInto round-trips v through JSON into out (WAL and lease data
// arrive as generic maps).
func decodeInto(v any, out any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(buf, out)
}
