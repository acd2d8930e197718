// Package providers is the contract between the Vault backend (package
// plugin) and the cloud drivers (packages providers/aws, providers/ncloud,
// providers/nomad, ...), in the manner of database/sql and its drivers.
//
// A driver knows its cloud and nothing about Vault storage or leases: it
// describes its config and role fields, opens a Provider for one configured
// instance, and creates, revokes and rolls back credentials in its cloud.
// The plugin knows Vault and nothing about any cloud: it stores configs and
// roles, computes TTLs, writes the WAL before a driver's first mutating
// call, and turns the driver's answers into Vault responses and leases.
//
// Drivers are registered explicitly by the program that assembles them
// (see Registry); nothing here has package-level mutable state.
package providers

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Driver is one cloud's implementation. A Driver must be safe for
// concurrent use; it holds no per-instance state (that lives in Provider).
type Driver interface {
	// Info describes the driver: its name, its config fields and its
	// credential types with their role fields.
	Info() DriverInfo
	// Open validates a configuration and returns a ready Provider for one
	// instance. It may call the cloud cheaply (e.g. to resolve the caller
	// identity) but must not create anything. A bad value is a
	// *FieldError naming the field.
	Open(ctx context.Context, req OpenRequest) (Provider, error)
}

// OpenRequest carries one instance's configuration to Driver.Open.
type OpenRequest struct {
	// Instance is the provider instance name (e.g. "aws" or "aws-prod").
	Instance string
	// Config holds the stored configuration, typed by the driver's
	// ConfigFields (defaults applied).
	Config Values
	// Logger is where the driver logs; never log a secret.
	Logger hclog.Logger
}

// Provider is one configured instance of a driver. All methods must be safe
// for concurrent use: Vault's revocation workers call Revoke for many leases
// of one mount at the same time.
type Provider interface {
	// ValidateRole checks a role (typed by the credential type's role
	// fields) against this instance's configuration. It must not create
	// anything in the cloud.
	ValidateRole(ctx context.Context, req ValidateRoleRequest) error

	// Target identifies the account, site or cluster this instance acts
	// on. The plugin records it in every lease and WAL entry and refuses
	// to revoke or roll back through an instance that now points at
	// another target, where "not found" would be a lie. It may call the
	// cloud (e.g. STS GetCallerIdentity) the first time and cache the
	// answer; it must not create anything.
	Target(ctx context.Context) (Target, error)

	// Prepare decides everything a Create will make (names of cloud
	// objects) and validates the request, without changing anything in the
	// cloud. A non-nil Intent is written to the WAL by the plugin before
	// Create is called, so a create interrupted at any point can be rolled
	// back by Rollback. A nil Intent means Create makes nothing that needs
	// undoing (e.g. temporary STS keys that expire by themselves).
	Prepare(ctx context.Context, req *CreateRequest) (*Intent, error)

	// Create issues one credential. req.Intent is what Prepare returned.
	// If Create fails it should remove what it made before returning; the
	// plugin then also calls Rollback with the intent, and keeps the WAL
	// entry for Vault's rollback manager if that fails too.
	Create(ctx context.Context, req *CreateRequest) (*CreateResponse, error)

	// Renew reports how far the credential may live. Most drivers answer
	// from the internal data alone; a driver whose cloud can extend a
	// credential does so here.
	Renew(ctx context.Context, req *RenewRequest) (*RenewResponse, error)

	// Revoke removes the credential and everything its Create made. It is
	// idempotent: "not found" in the cloud is success. It returns an error
	// only when retrying can help, or ErrUnrecoverable when nothing can.
	Revoke(ctx context.Context, req *RevokeRequest) (*RevokeResponse, error)

	// Rollback undoes a Create that did not finish, from its Intent alone.
	// It is idempotent: objects already gone are success.
	Rollback(ctx context.Context, req *RollbackRequest) error

	// RotateRoot replaces the instance's root credential in the cloud. It
	// returns the config values to store and a Commit that deletes the old
	// credential once the new config is stored (or Abort, which deletes the
	// new one if storing fails). A driver that cannot rotate returns a
	// *FieldError or ErrNotSupported.
	RotateRoot(ctx context.Context) (*RotateRootResponse, error)

	// Close releases the instance's clients. It is called when the config
	// changes or is deleted, and on backend cleanup.
	Close() error
}

// ValidateRoleRequest is a role to check.
type ValidateRoleRequest struct {
	// Role is the role's name.
	Role string
	// CredentialType is one of the driver's credential types.
	CredentialType string
	// Values are the role's fields, typed by the credential type's schema.
	Values Values
	// TTL and MaxTTL are the role's ttl and max_ttl (0: the mount's), so a
	// driver whose cloud bounds credential lifetimes can refuse a role
	// whose leases could not fit them.
	TTL, MaxTTL time.Duration
}

// CreateRequest asks for one credential.
type CreateRequest struct {
	// Instance is the provider instance name.
	Instance string
	// Role is the role's name.
	Role string
	// CredentialType is the role's credential type.
	CredentialType string
	// RoleValues are the role's driver fields.
	RoleValues Values
	// Params are the request's driver parameters (the credential type's
	// RequestFields), e.g. which of several role ARNs to assume.
	Params Values
	// TTL is the lease TTL the plugin computed; drivers with cloud-side
	// lifetimes derive them from it.
	TTL time.Duration
	// MaxTTL is the lease's max TTL; the credential never needs to outlive it.
	MaxTTL time.Duration
	// DisplayName is the Vault display name of the requester (sanitised
	// by the driver to its cloud's naming rules).
	DisplayName string
	// ID is unique to this request (lowercase letters and digits), for
	// unique cloud object names.
	ID string
	// Now is the issue time.
	Now time.Time
	// Intent is the Data of what Prepare returned (set by the plugin
	// before Create; nil when Prepare returned no Intent).
	Intent json.RawMessage
	// Mark identifies the mount and instance; the driver puts it on every
	// object it creates where the cloud allows (see Auditor).
	Mark Mark
}

// Target identifies where a provider instance acts: an AWS account (and
// partition), an Ncloud account and site, a Nomad cluster and region.
type Target struct {
	// ID is canonical and stable: two instances act on the same target
	// exactly when their IDs are equal, e.g. "aws:aws:123456789012". It
	// never holds a secret. An empty ID means the driver cannot tell; its
	// leases are then not bound to a target.
	ID string `json:"id"`
	// Description says it for people, e.g. "AWS account 123456789012
	// (partition aws)".
	Description string `json:"description"`
}

// String returns the description, or the ID when there is none.
func (t Target) String() string {
	if t.Description != "" {
		return t.Description
	}
	if t.ID == "" {
		return "an unknown target"
	}
	return t.ID
}

// Intent is what a Create will make, decided before any cloud call.
type Intent struct {
	// Data is the driver's own JSON (e.g. the name of the user it will
	// create), written to the WAL before Create and handed back to
	// Rollback. It never holds a secret.
	Data json.RawMessage
	// Objects name the cloud objects Create will make, for operators'
	// listings and for audit.
	Objects []ObjectRef
}

// ObjectRef names one cloud object a credential is made of. It never
// holds a secret.
type ObjectRef struct {
	// Kind is the driver's kind of object, e.g. "iam_user",
	// "access_key", "sub_account" or "token".
	Kind string `json:"kind"`
	// Name is the object's name or id in the cloud.
	Name string `json:"name"`
	// ID is the cloud's id of the object when it differs from Name (e.g.
	// a sub account's id beside its loginId); empty otherwise.
	ID string `json:"id,omitempty"`
}

// CreateResponse is an issued credential.
type CreateResponse struct {
	// Data is what the user sees (keys, secrets, ids).
	Data map[string]any
	// Internal is exactly what Revoke and Renew need, JSON encoded. It
	// must never hold a secret: it is stored with the lease.
	Internal json.RawMessage
	// Renewable reports whether the lease may be renewed.
	Renewable bool
	// Expiry is the cloud's hard expiry of the credential (zero: none).
	// The lease never outlives it.
	Expiry time.Time
	// Objects name the cloud objects the credential is made of (listed
	// at creds/<provider>/<role>/ and used by audit).
	Objects []ObjectRef
	// Warnings are shown to the user.
	Warnings []string
}

// RenewRequest asks whether a credential may live longer.
type RenewRequest struct {
	// CredentialType is the lease's credential type.
	CredentialType string
	// Internal is what Create returned.
	Internal json.RawMessage
	// Increment is the increment the caller asked for (0: none).
	Increment time.Duration
	// IssueTime is when the lease was issued.
	IssueTime time.Time
}

// RenewResponse says how far a credential may live.
type RenewResponse struct {
	// Expiry is the cloud's hard expiry (zero: none). The plugin refuses
	// to renew past it.
	Expiry time.Time
	// Warnings are shown to the user.
	Warnings []string
}

// RevokeRequest asks to remove a credential.
type RevokeRequest struct {
	// CredentialType is the lease's credential type.
	CredentialType string
	// Internal is what Create returned.
	Internal json.RawMessage
}

// RevokeResponse reports a finished revoke.
type RevokeResponse struct {
	// Warnings are shown to the user (e.g. "STS keys cannot be revoked
	// early").
	Warnings []string
}

// RollbackRequest asks to undo an unfinished create.
type RollbackRequest struct {
	// Intent is what Prepare returned.
	Intent json.RawMessage
}

// RotateRootResponse is a rotated root credential.
type RotateRootResponse struct {
	// Config are the config values to merge into the stored config.
	Config Values
	// Data is shown to the operator (never a secret, e.g. the new key id).
	Data map[string]any
	// Commit deletes the old credential; called after the new config is
	// stored. It acts with the new credential (which it knows), so it
	// also proves the new credential works.
	Commit func(ctx context.Context) error
	// Abort deletes the new credential; called if storing fails, with a
	// context that outlives the request's cancellation.
	Abort func(ctx context.Context) error
}
