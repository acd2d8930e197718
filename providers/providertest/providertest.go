// Package providertest is a driver for tests: its "cloud" is an in-memory
// Cloud whose objects, call counts and failure switches tests inspect. It
// lets the plugin's backend be tested for real, through the whole
// providers contract, without any cloud.
//
// A credential is made of Parts objects: a principal and Parts-1
// attachments, each one mutating "cloud call", so tests can fail or crash a
// create halfway.
package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// DriverName is the default driver name.
const DriverName = "memory"

// Cloud is the in-memory cloud behind one or more Drivers. Safe for
// concurrent use.
type Cloud struct {
	mu      sync.Mutex
	objects map[string]*Object // principal name -> object
	calls   map[string]int

	// Hook, if set, runs before every mutating step ("create-principal",
	// "attach-N", "delete-principal") with the principal's name, and
	// before a role is validated ("validate", with the role's name); a
	// non-nil error fails that step. Tests use it to fail, block or crash
	// (runtime.Goexit) a create at a chosen step.
	Hook func(step, principal string) error

	// FailOpen makes Open fail with a cloud error (a credential the cloud
	// refuses).
	FailOpen bool
	// FailTarget makes Target fail with a cloud error (the cloud cannot
	// be reached to say whose credential this is).
	FailTarget bool

	core *emulator.Core
}

// Object is one credential's principal in the cloud.
type Object struct {
	Name        string
	Instance    string
	Role        string
	Attachments []string
	SecretKey   string
	Expiry      time.Time
	// Mark is the mark it was created with (a tag, in a real cloud).
	Mark    providers.Mark
	Created time.Time
}

// Delete removes an object behind the plugin's back.
func (c *Cloud) Delete(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.objects[name]; !ok {
		return fmt.Errorf("no object %q", name)
	}
	delete(c.objects, name)
	return nil
}

// AddObject puts an object in the cloud behind the plugin's back (as an
// operator or another mount would), with the given mark and age.
func (c *Cloud) AddObject(name string, mark providers.Mark, created time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objects[name] = &Object{Name: name, Instance: mark.Instance, Mark: mark, Created: created}
}

// NewCloud returns an empty cloud.
func NewCloud() *Cloud {
	return &Cloud{objects: map[string]*Object{}, calls: map[string]int{}, core: emulator.NewCore()}
}

// Core is the cloud's fault-injection core, shared with the emulators:
// FailActions with a step's name ("create-principal", "attach-N",
// "delete-principal") fails that step, as an emulator fails an action.
func (c *Cloud) Core() *emulator.Core { return c.core }

// Objects returns the sorted principal names that exist.
func (c *Cloud) Objects() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.objects))
	for n := range c.objects {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Object returns a copy of one object.
func (c *Cloud) Object(name string) (Object, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.objects[name]
	if !ok {
		return Object{}, false
	}
	cp := *o
	cp.Attachments = append([]string(nil), o.Attachments...)
	return cp, true
}

// Calls returns how many times an operation ran ("open", "create",
// "revoke", "rollback", "rotate", and the mutating steps).
func (c *Cloud) Calls(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

func (c *Cloud) count(op string) {
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
}

func (c *Cloud) step(step, principal string) error {
	c.count(step)
	fault, done := c.core.Enter(step)
	done()
	if fault != emulator.None {
		return fmt.Errorf("%w: %s", ErrInjected, fault)
	}
	if c.Hook != nil {
		return c.Hook(step, principal)
	}
	return nil
}

// ErrInjected is returned by steps a test made fail.
var ErrInjected = errors.New("injected failure")

// Driver is the test driver.
type Driver struct {
	name  string
	cloud *Cloud
}

// New returns a driver named name (DriverName if empty) on cloud.
func New(name string, cloud *Cloud) *Driver {
	if name == "" {
		name = DriverName
	}
	return &Driver{name: name, cloud: cloud}
}

var _ providers.Driver = (*Driver)(nil)

// Info implements providers.Driver.
func (d *Driver) Info() providers.DriverInfo {
	return providers.DriverInfo{
		Name:        d.name,
		Description: "In-memory test cloud.",
		ConfigFields: []providers.Field{
			{Name: "endpoint", Type: providers.TypeString, Description: "Where the cloud is.", Default: "memory://"},
			{Name: "access_key", Type: providers.TypeString, Description: "Root access key id."},
			{Name: "secret_key", Type: providers.TypeString, Description: "Root secret.", Secret: true},
			{Name: "max_parts", Type: providers.TypeInt, Description: "Most parts a role may have.", Default: 10},
			{Name: "account", Type: providers.TypeString, Description: "Account the instance acts in (part of its target).", Default: "000000000000"},
		},
		CredentialTypes: []providers.CredentialType{
			{
				Name:        "key",
				Description: "A principal with attachments and a key; revocable.",
				RoleFields: []providers.Field{
					{Name: "parts", Type: providers.TypeInt, Description: "Objects per credential (principal + attachments).", Default: 3},
					{Name: "scopes", Type: providers.TypeStringList, Description: "Scopes."},
					{Name: "tags", Type: providers.TypeKVPairs, Description: "Tags."},
					{Name: "lifetime", Type: providers.TypeDuration, Description: "Cloud-side hard expiry after issue (0: none)."},
					{Name: "note", Type: providers.TypeString, Description: "Stored in the lease's internal data under the key private_key_type (not a secret)."},
					{Name: "leak", Type: providers.TypeBool, Description: "A driver bug: the key's secret is put in the lease's internal data under an innocent key."},
				},
				RequestFields: []providers.Field{
					{Name: "label", Type: providers.TypeString, Description: "Free label."},
				},
				ResponseFields: []providers.Field{
					{Name: "access_key", Type: providers.TypeString, Description: "The principal's name."},
					{Name: "secret_key", Type: providers.TypeString, Secret: true, Description: "The key's secret."},
					{Name: "scopes", Type: providers.TypeStringList, Description: "The role's scopes."},
				},
			},
			{
				Name:        "token",
				Description: "A self-expiring token; not renewable, revoke is a no-op.",
				RoleFields: []providers.Field{
					{Name: "lifetime", Type: providers.TypeDuration, Description: "Token lifetime.", Default: time.Hour},
				},
				ResponseFields: []providers.Field{
					{Name: "token_id", Type: providers.TypeString, Description: "The token's id."},
					{Name: "token", Type: providers.TypeString, Secret: true, Description: "The token."},
					{Name: "expires", Type: providers.TypeString, Description: "When it expires."},
				},
				SelfExpiring: true,
			},
		},
	}
}

// Open implements providers.Driver.
func (d *Driver) Open(_ context.Context, req providers.OpenRequest) (providers.Provider, error) {
	d.cloud.count("open")
	if ep := req.Config.String("endpoint"); !strings.HasPrefix(ep, "memory://") {
		return nil, providers.InvalidField("endpoint", "must start with memory://, got %q", ep)
	}
	if req.Config.String("secret_key") == "bad" || d.cloud.FailOpen {
		return nil, &providers.CloudError{Op: "GetCallerIdentity", Code: "InvalidClientTokenId", StatusCode: 403, Message: "the security token included in the request is invalid"}
	}
	return &provider{d: d, instance: req.Instance, cfg: req.Config}, nil
}

type provider struct {
	d        *Driver
	instance string
	cfg      providers.Values
}

var _ providers.Provider = (*provider)(nil)

var scopeRE = regexp.MustCompile(`^[a-z0-9:*-]+$`)

func (p *provider) ValidateRole(_ context.Context, req providers.ValidateRoleRequest) error {
	if err := p.d.cloud.step("validate", req.Role); err != nil {
		return err
	}
	switch req.CredentialType {
	case "token":
		return nil
	case "key":
	default:
		return unknownType(req.CredentialType)
	}
	if n := req.Values.Int("parts"); n < 1 || n > p.cfg.Int("max_parts") {
		return providers.InvalidField("parts", "must be between 1 and %d, got %d", p.cfg.Int("max_parts"), n)
	}
	for _, s := range req.Values.Strings("scopes") {
		if !scopeRE.MatchString(s) {
			return providers.InvalidField("scopes", "scope %q must match %s", s, scopeRE)
		}
	}
	return nil
}

type intent struct {
	Principal string `json:"principal"`
}

type internal struct {
	Principal   string   `json:"principal"`
	Attachments []string `json:"attachments,omitempty"`
	Token       string   `json:"token_id,omitempty"`
	Note        string   `json:"private_key_type,omitempty"`
	Memo        string   `json:"memo,omitempty"`
}

// Target implements providers.Provider: the endpoint and account.
func (p *provider) Target(_ context.Context) (providers.Target, error) {
	p.d.cloud.count("target")
	if p.d.cloud.FailTarget {
		return providers.Target{}, &providers.CloudError{Op: "GetCallerIdentity", Code: "ServiceUnavailable", StatusCode: 503, Message: "try again"}
	}
	ep, acct := p.cfg.String("endpoint"), p.cfg.String("account")
	return providers.Target{ID: "memory:" + ep + ":" + acct, Description: fmt.Sprintf("memory account %s at %s", acct, ep)}, nil
}

func (p *provider) Prepare(_ context.Context, req *providers.CreateRequest) (*providers.Intent, error) {
	if req.Params.String("label") == "bad" {
		return nil, providers.InvalidField("label", "must not be %q", "bad")
	}
	switch req.CredentialType {
	case "token":
		return nil, nil
	case "key":
	default:
		return nil, unknownType(req.CredentialType)
	}
	name := fmt.Sprintf("%s-%s-%s", p.instance, req.Role, req.ID)
	data, err := json.Marshal(intent{Principal: name})
	if err != nil {
		return nil, err
	}
	return &providers.Intent{Data: data, Objects: []providers.ObjectRef{{Kind: "principal", Name: name}}}, nil
}

func (p *provider) Create(_ context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	c := p.d.cloud
	c.count("create")
	if req.CredentialType != "key" && req.CredentialType != "token" {
		return nil, unknownType(req.CredentialType)
	}
	if req.CredentialType == "token" {
		id := "tok-" + req.ID
		exp := req.Now.Add(req.RoleValues.Duration("lifetime"))
		in, _ := json.Marshal(internal{Token: id})
		return &providers.CreateResponse{
			Data:     map[string]any{"token_id": id, "token": "secret-" + req.ID, "expires": exp.Format(time.RFC3339)},
			Internal: in, Renewable: false, Expiry: exp,
			Objects: []providers.ObjectRef{{Kind: "token", Name: id}},
		}, nil
	}
	var it intent
	if err := json.Unmarshal(req.Intent, &it); err != nil {
		return nil, err
	}
	name := it.Principal
	if err := c.step("create-principal", name); err != nil {
		return nil, &providers.CloudError{Op: "create-principal", Code: "InternalError", StatusCode: 500, Err: err}
	}
	obj := &Object{Name: name, Instance: p.instance, Role: req.Role, SecretKey: "secret-" + req.ID, Mark: req.Mark, Created: time.Now()}
	if lt := req.RoleValues.Duration("lifetime"); lt > 0 {
		obj.Expiry = req.Now.Add(lt)
	}
	c.mu.Lock()
	c.objects[name] = obj
	c.mu.Unlock()

	parts := req.RoleValues.Int("parts")
	var attached []string
	for i := 1; i < parts; i++ {
		step := fmt.Sprintf("attach-%d", i)
		if err := c.step(step, name); err != nil {
			// Clean up what was made before returning the error.
			_ = p.remove(name)
			return nil, &providers.CloudError{Op: step, Code: "InternalError", StatusCode: 500, Err: err}
		}
		c.mu.Lock()
		obj.Attachments = append(obj.Attachments, step)
		c.mu.Unlock()
		attached = append(attached, step)
	}
	in := internal{Principal: name, Attachments: attached, Note: req.RoleValues.String("note")}
	if req.RoleValues.Bool("leak") {
		in.Memo = obj.SecretKey
	}
	inJSON, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	return &providers.CreateResponse{
		Data:      map[string]any{"access_key": name, "secret_key": obj.SecretKey, "scopes": req.RoleValues.Strings("scopes")},
		Internal:  inJSON,
		Renewable: true,
		Expiry:    obj.Expiry,
		Objects:   []providers.ObjectRef{{Kind: "principal", Name: name}},
	}, nil
}

func (p *provider) Renew(_ context.Context, req *providers.RenewRequest) (*providers.RenewResponse, error) {
	p.d.cloud.count("renew")
	in, err := parseInternal(req.CredentialType, req.Internal)
	if err != nil {
		return nil, err
	}
	if o, ok := p.d.cloud.Object(in.Principal); ok {
		return &providers.RenewResponse{Expiry: o.Expiry}, nil
	}
	return &providers.RenewResponse{}, nil
}

func (p *provider) Revoke(_ context.Context, req *providers.RevokeRequest) (*providers.RevokeResponse, error) {
	p.d.cloud.count("revoke")
	in, err := parseInternal(req.CredentialType, req.Internal)
	if err != nil {
		return nil, err
	}
	if req.CredentialType == "token" {
		return &providers.RevokeResponse{Warnings: []string{"tokens cannot be revoked early; it expires by itself"}}, nil
	}
	if err := p.remove(in.Principal); err != nil {
		return nil, err
	}
	return &providers.RevokeResponse{}, nil
}

// parseInternal reads a lease's internal data; what cannot be read (or
// names an unknown credential type) can never be revoked.
func parseInternal(ctype string, raw json.RawMessage) (*internal, error) {
	var in internal
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("lease internal data: %v: %w", err, providers.ErrUnrecoverable)
	}
	switch {
	case ctype == "key" && in.Principal == "":
		return nil, fmt.Errorf("lease internal data names no principal: %w", providers.ErrUnrecoverable)
	case ctype == "token" && in.Token == "":
		return nil, fmt.Errorf("lease internal data names no token: %w", providers.ErrUnrecoverable)
	case ctype != "key" && ctype != "token":
		return nil, fmt.Errorf("unknown credential type %q: %w", ctype, providers.ErrUnrecoverable)
	}
	return &in, nil
}

func (p *provider) Rollback(_ context.Context, req *providers.RollbackRequest) error {
	p.d.cloud.count("rollback")
	var it intent
	if err := json.Unmarshal(req.Intent, &it); err != nil || it.Principal == "" {
		// Nothing can ever be found from it: drop the WAL entry.
		return nil
	}
	return p.remove(it.Principal)
}

func unknownType(t string) error {
	return providers.InvalidField("credential_type", "must be key or token, got %q", t)
}

// remove deletes a principal and its attachments; gone is success.
func (p *provider) remove(name string) error {
	if err := p.d.cloud.step("delete-principal", name); err != nil {
		return &providers.CloudError{Op: "delete-principal", Code: "InternalError", StatusCode: 500, Err: err}
	}
	p.d.cloud.mu.Lock()
	delete(p.d.cloud.objects, name)
	p.d.cloud.mu.Unlock()
	return nil
}

func (p *provider) RotateRoot(_ context.Context) (*providers.RotateRootResponse, error) {
	p.d.cloud.count("rotate")
	if p.cfg.String("access_key") == "" {
		return nil, providers.InvalidField("access_key", "no root key is configured, so there is nothing to rotate")
	}
	next := p.cfg.String("access_key") + "-r"
	return &providers.RotateRootResponse{
		Config: providers.Values{"access_key": next, "secret_key": "rotated-secret"},
		Data:   map[string]any{"access_key": next},
		Commit: func(context.Context) error { p.d.cloud.count("rotate-commit"); return nil },
		Abort: func(ctx context.Context) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			p.d.cloud.count("rotate-abort")
			return nil
		},
	}, nil
}

func (p *provider) Close() error { return nil }

var _ providers.Auditor = (*provider)(nil)

// Inventory implements providers.Auditor: the principals carrying mark.
func (p *provider) Inventory(ctx context.Context, mark providers.Mark) (*providers.Inventory, error) {
	c := p.d.cloud
	if err := c.step("list-principals", ""); err != nil {
		return nil, &providers.CloudError{Op: "list-principals", Code: "InternalError", StatusCode: 500, Err: err}
	}
	// A real listing cut by its context fails the same way.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list-principals: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	inv := &providers.Inventory{Kinds: []string{"principal"}, Calls: 1}
	for _, o := range c.objects {
		if o.Mark == mark {
			inv.Objects = append(inv.Objects, providers.CloudObject{ObjectRef: providers.ObjectRef{Kind: "principal", Name: o.Name}, Created: o.Created})
		}
	}
	sort.Slice(inv.Objects, func(i, j int) bool { return inv.Objects[i].Name < inv.Objects[j].Name })
	return inv, nil
}

// Remove implements providers.Auditor.
func (p *provider) Remove(_ context.Context, mark providers.Mark, obj providers.CloudObject) error {
	if obj.Kind != "principal" {
		return fmt.Errorf("cannot remove a %s", obj.Kind)
	}
	if o, ok := p.d.cloud.Object(obj.Name); ok && o.Mark != mark {
		return fmt.Errorf("%s does not carry the mark of mount %s and instance %s: not removed", obj.Name, mark.Mount, mark.Instance)
	}
	return p.remove(obj.Name)
}

// SetExpiry changes an object's cloud-side expiry, as time passing would.
func (c *Cloud) SetExpiry(name string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o, ok := c.objects[name]; ok {
		o.Expiry = t
	}
}
